//! Time, sun position, viewing geometry, sensor model, DEM.

pub mod dem;
pub mod grid;
pub mod lonlat;
<<<<<<< HEAD
pub mod ortho;
pub mod resample;
=======
pub mod rpc;
>>>>>>> rpc
pub mod sensor;
pub mod sun;
pub mod time;
