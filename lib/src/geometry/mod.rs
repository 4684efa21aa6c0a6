//! Time, sun position, viewing geometry, sensor model, DEM.

pub mod sun;
pub mod time;
