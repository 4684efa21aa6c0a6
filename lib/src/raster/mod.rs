//! GDAL raster I/O: strips sized by --ram, typed reads and writes, GeoTIFF/COG creation,
//! atomic output.
//!
//! Only this module talks to GDAL rasters (DESIGN.md §3). A typical writer:
//!
//! ```no_run
//! # fn main() -> vip::Result<()> {
//! use std::path::Path;
//! use vip::raster::{self, RasterSpec, SampleType, Staged, Strips};
//!
//! let src = raster::open(Path::new("in.tif"))?;
//! let spec = RasterSpec { data_type: SampleType::F32, ..raster::spec_like(&src)? };
//! let staged = Staged::file(Path::new("out.tif"), false)?;
//! let mut dst = raster::create_geotiff(staged.path(), &spec, &[])?;
//! for win in Strips::for_budget(spec.height, spec.width, 1 << 30, 2 + 4) {
//!     let counts: Vec<u16> = raster::read_rows(&src, 1, win)?;
//!     let out: Vec<f32> = counts.iter().map(|&c| c as f32 * 1e-3).collect();
//!     raster::write_window(&mut dst, 1, (0, win.row), (spec.width, win.rows), &out)?;
//! }
//! raster::finish(dst, staged.dest())?;
//! staged.commit()?;
//! # Ok(())
//! # }
//! ```

mod create;
mod distribution;
mod io;
mod rpc;
mod staged;
mod strips;

#[cfg(test)]
mod tests;

pub use create::{
    cog_defaults, create_geotiff, epsg, geo_transform, geotiff_defaults, merge_options,
    projected_in_metres, set_write_threads, spec_like, srs_wkt, srs_wkt_from_epsg, write_cog,
    RasterSpec, SampleType,
};
pub use distribution::{
    copy_band, copy_raster, derive_band, derive_mask, distribution_defaults, quicklook_jpeg,
    split_bands, BandCopy, Layout,
};
pub use io::{
    block_size, dataset_path, expect_shape, finish, flush, open, read_bands_into,
    read_bands_parallel, read_rows, read_window, read_window_into, write_window, RowsPerRun,
};
pub use rpc::{read_rpc, write_rpc_vrt, RPC_DOMAIN};
pub use staged::{ensure_dir, Staged, StagedProduct, EXISTS_MSG};
pub use strips::{
    budget_beside, cap_block_cache, strip_rows, Strips, Window, STRIP_SHARE, TILE_ROWS,
};

/// `x` moved half a unit away from zero: the cast to an integer, which truncates, then rounds
/// it half away from zero, as coding a value into an integer sample wants (`f64::round` and
/// `f64::trunc` are libm calls per value on the baseline x86-64 target; the cast is one
/// instruction). Clamping before the cast gives the same integer as rounding first.
pub fn half_away(x: f64) -> f64 {
    x + 0.5f64.copysign(x)
}
