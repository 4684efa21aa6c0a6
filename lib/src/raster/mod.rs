//! GDAL raster I/O: strips sized by --ram, typed reads and writes, GeoTIFF/COG creation,
//! atomic output.

mod staged;
mod strips;

pub use staged::{ensure_dir, Staged, EXISTS_MSG};
pub use strips::{strip_rows, Strips, Window, STRIP_SHARE, TILE_ROWS};
