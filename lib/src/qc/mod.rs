//! Quality control: statistics, checks and comparisons of products.
//!
//! [`input::Input`] opens what vip-qc is given (an L1C or L1A global header, or any raster);
//! [`stats`] computes exact per-band statistics; [`series`]
//! follows a site through time.

pub mod check;
pub mod compare;
pub mod geom;
pub mod input;
pub mod masks;
pub mod plot;
pub mod report;
pub mod series;

pub mod stats;

pub use input::{Input, Kind, Layer, Role};
pub use stats::{stats, ProductStats, StatsOptions};
pub mod run;
