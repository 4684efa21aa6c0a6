//! `vip-l1`: raw L1A to L1C. This version checks every input the processing will need (the
//! product and each band image, the GIPP set for the site and date, the DEM) and refuses with
//! the error of the first bad one; the processing itself comes with the L1 issue.

use std::path::{Path, PathBuf};

use crate::cli::Options;
use crate::ee::gipp::{GippCatalogue, GippQuery};
use crate::error::{Result, VipError};
use crate::product::L1a;
use crate::raster::{self, Strips};

/// GIPPs needed per band and TDI configuration.
pub const PER_BAND_GIPPS: [&str; 4] = ["GIP_DARKCU", "GIP_RELSEN", "GIP_VIEDIR", "GIP_OUTORD"];
/// GIPPs needed once per acquisition.
pub const GLOBAL_GIPPS: [&str; 2] = ["GIP_PHGAIN", "GIP_REFLEC"];

/// Checks the inputs of one L1A → L1C run; every problem is a bad-input error naming the file.
pub fn check_inputs(l1a: &Path, gipp: &Path, dem: &Path, opts: &Options) -> Result<L1a> {
    let product = L1a::open(l1a)?;
    let dir = l1a.parent().unwrap_or(Path::new("."));
    for band in &product.bands {
        let path = product.band_image_path(dir, &band.code);
        let ds = raster::open(&path)?;
        if ds.raster_size() != (band.cols, band.lines) {
            return Err(VipError::bad_input(
                &path,
                format!(
                    "image is {} × {}, the header says {} × {}",
                    ds.raster_size().0,
                    ds.raster_size().1,
                    band.cols,
                    band.lines
                ),
            ));
        }
        for win in Strips::for_budget(band.lines, band.cols, opts.ram_bytes, 2) {
            raster::read_rows::<u16>(&ds, 1, win)?;
        }
    }
    let catalogue = GippCatalogue::scan(gipp)?;
    let query = |file_type, band, tdi| GippQuery {
        file_type,
        site: &product.nick,
        when: product.acquisition,
        band,
        tdi,
    };
    for file_type in GLOBAL_GIPPS {
        catalogue.select(&query(file_type, None, None))?;
    }
    for band in &product.bands {
        let tdi = Some(band.tdi);
        for file_type in PER_BAND_GIPPS {
            let tdi = if file_type == "GIP_OUTORD" { None } else { tdi };
            catalogue.select(&query(file_type, Some(&band.code), tdi))?;
        }
    }
    raster::open(dem)?;
    Ok(product)
}

/// Runs vip-l1 on each input: checks it, then says the processing is not in this version.
pub fn run(inputs: &[PathBuf], gipp: &Path, dem: &Path, opts: &Options) -> Result<Vec<PathBuf>> {
    for l1a in inputs {
        check_inputs(l1a, gipp, dem, opts)?;
    }
    Err(VipError::not_yet("vip-l1", "L1A to L1C processing"))
}
