//! Time, sun position, viewing geometry, sensor model, DEM.

pub mod dem;
pub mod lonlat;
pub mod rpc;
pub mod sensor;
pub mod sun;
pub mod time;
