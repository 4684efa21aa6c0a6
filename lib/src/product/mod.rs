//! Product models: raw L1A, L1C, L2A and L3A (layout, open, create, band list).
//!
//! Each model names every file of its product, writes the Earth Explorer headers (the rasters
//! are written by other code at the paths the model gives) and reads a product back from its
//! global header, checking that the files it lists are there. The layout of each product is
//! described at the top of its module: [`l1a`] (raw, sensor geometry), [`l1c`] (TOA
//! reflectance on the site grid), [`l2a`] (surface reflectance, atmosphere and masks) and
//! [`l3a`] (weighted-average synthesis of the L2A flat reflectances over a window of days).
//!
//! The site products (L1C, L2A, L3A) embed one [`SiteHeader`]: names, acquisition, site grid,
//! angles, DEM, quantification and provenance, written and read by the same code for the
//! three. Every id and path of a product derives from its [`crate::ee::ProductId`].

mod common;
pub mod l1a;
pub mod l1c;
pub mod l2a;
pub mod l3a;
pub mod muscate;

pub use common::SiteHeader;
pub use common::{mjd_epoch, raster_beside, AngleSet};
pub use l1a::{L1a, LineDatation, RawBand, RawGeometry, StraylightCorrection};
pub use l1c::{L1c, ProcessingFlags};
pub use l2a::L2a;
pub use l3a::{L3a, L3aInput};
