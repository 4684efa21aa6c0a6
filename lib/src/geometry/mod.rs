//! Time, sun position, viewing geometry, sensor model, DEM.
