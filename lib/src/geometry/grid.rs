//! The output grid of a site: north-up, square pixels, in a UTM projection (`site.json`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Result, VipError};

/// The site grid (DESIGN.md §7 `site.json`): north-up UTM grid of 5 m pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Site {
    /// Site name as given.
    pub name: String,
    /// 8-character nick name used in file names.
    pub nick: String,
    pub epsg: u32,
    /// Upper-left corner of the upper-left pixel, metres.
    pub ulx: f64,
    pub uly: f64,
    pub pixel_m: f64,
    pub lines: usize,
    pub cols: usize,
    /// Scene-centre acquisition time, `YYYY-MM-DDThh:mm:ss` UTC.
    pub acquisition: String,
}

impl Site {
    /// GDAL geotransform of the site grid.
    pub fn geo_transform(&self) -> [f64; 6] {
        [self.ulx, self.pixel_m, 0.0, self.uly, 0.0, -self.pixel_m]
    }

    /// Map coordinates of the centre of pixel (row, col).
    pub fn pixel_centre(&self, row: f64, col: f64) -> (f64, f64) {
        (
            self.ulx + (col + 0.5) * self.pixel_m,
            self.uly - (row + 0.5) * self.pixel_m,
        )
    }

    /// Map coordinates of the grid centre.
    pub fn centre(&self) -> (f64, f64) {
        self.pixel_centre(self.lines as f64 / 2.0 - 0.5, self.cols as f64 / 2.0 - 0.5)
    }

    /// The four outer corners (UL, UR, LR, LL) of the grid.
    pub fn corners(&self) -> [(f64, f64); 4] {
        let (w, h) = (
            self.cols as f64 * self.pixel_m,
            self.lines as f64 * self.pixel_m,
        );
        [
            (self.ulx, self.uly),
            (self.ulx + w, self.uly),
            (self.ulx + w, self.uly - h),
            (self.ulx, self.uly - h),
        ]
    }
}

impl Site {
    /// Reads a `site.json` (as vip-sim writes it).
    pub fn read(path: &Path) -> Result<Site> {
        let text = std::fs::read_to_string(path).map_err(|e| VipError::input_io(path, &e))?;
        let site: Site = serde_json::from_str(&text)
            .map_err(|e| VipError::bad_input(path, format!("not a site definition: {e}")))?;
        if site.lines == 0 || site.cols == 0 || site.pixel_m.is_nan() || site.pixel_m <= 0.0 {
            return Err(VipError::bad_input(path, "site grid has no pixels"));
        }
        Ok(site)
    }
}
