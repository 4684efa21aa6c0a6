//! Atmospheric correction: radiative-transfer look-up tables and the terms they give
//! (gases, Rayleigh, aerosols), the LUT probe. Aerosol and water-vapour retrieval, adjacency
//! and slope correction build on these.

pub mod aot;
pub mod environment;
pub mod field;
pub mod luts;
pub mod probe;
pub mod single_scattering;
pub mod surface;
pub mod table;
pub mod vapour;

pub use luts::{AtGeometry, BandLuts, Conditions, LutSet, Terms};
