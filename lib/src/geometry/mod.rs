//! Time, the Earth's shape and rotation, sun position, viewing geometry, sensor model, DEM.

pub mod dem;
pub mod directions;
pub mod earth;
pub mod grid;
pub mod lonlat;
pub mod orbit;
pub mod orbital;
pub mod ortho;
pub mod refine;
pub mod resample;
pub mod rpc;
pub mod sensor;
pub mod shift;
pub mod sun;
pub mod time;
