//! Product models: raw L1A and L1C (layout, open, create, band list).
//!
//! Each model names every file of its product, writes the Earth Explorer headers (the rasters
//! are written by other code at the paths the model gives) and reads a product back from its
//! global header, checking that the files it lists are there. The layout of each product is
//! described at the top of its module: [`l1a`] (raw, sensor geometry) and [`l1c`] (TOA
//! reflectance on the site grid).

mod common;
mod ids;
pub mod l1a;
pub mod l1c;

pub use common::{mjd_epoch, raster_beside, AngleSet};
pub use l1a::{L1a, LineDatation, RawBand, RawGeometry, StraylightCorrection};
pub use l1c::{L1c, ProcessingFlags};
