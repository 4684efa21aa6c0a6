//! The context header (`context.json`): site, grid, dates, mode and version.

use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{Result, VipError};
use crate::geometry::grid::Site;

/// Value of the `format` field of every context header.
pub const FORMAT: &str = "VIP-L2-CONTEXT";
/// Version of the on-disk format this code reads and writes.
pub const FORMAT_VERSION: u32 = 2;
/// Reflectance quantification of RCR and STO (physical = value × 0.001), as the L2A.
pub const REFLECTANCE_QUANTIFICATION: f64 = 0.001;
/// No-data value of RCR and STO, as the L2A.
pub const REFLECTANCE_NODATA: i16 = -10000;
/// No-data value of PXD (a pixel never seen clear, or forgotten).
pub const PXD_NODATA: i16 = i16::MIN;
/// Reference date of PXD in a new context: PXD = days since this date.
pub const DEFAULT_REFERENCE: NaiveDate = match NaiveDate::from_ymd_opt(2000, 1, 1) {
    Some(d) => d,
    None => panic!("valid date"),
};

/// The processing mode that produced a context (MAJA's `INIT_MODE`, `STANDARD_MODE`,
/// `BACKWARD_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// First date of a site, no history.
    Init,
    /// One date and the previous context.
    Nominal,
    /// History built from dates processed in reverse order.
    Backward,
}

/// The L2 grid of a context (the L1C/L2A grid of its site): north-up, square pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    /// EPSG code of the projection.
    pub epsg: u32,
    /// Upper-left corner of the upper-left pixel, metres.
    pub ulx: f64,
    /// Upper-left corner of the upper-left pixel, metres.
    pub uly: f64,
    /// Pixel size, metres.
    pub pixel_m: f64,
    /// Rows.
    pub lines: usize,
    /// Columns.
    pub cols: usize,
}

impl Grid {
    /// The grid of a site.
    pub fn of(site: &Site) -> Grid {
        Grid {
            epsg: site.epsg,
            ulx: site.ulx,
            uly: site.uly,
            pixel_m: site.pixel_m,
            lines: site.lines,
            cols: site.cols,
        }
    }

    /// GDAL geotransform of the grid.
    pub fn geo_transform(&self) -> [f64; 6] {
        [self.ulx, self.pixel_m, 0.0, self.uly, 0.0, -self.pixel_m]
    }

    /// Whether `other` is the same grid (corners within a thousandth of a pixel).
    pub fn same(&self, other: &Grid) -> bool {
        let tol = 1e-3 * self.pixel_m.abs();
        self.epsg == other.epsg
            && self.lines == other.lines
            && self.cols == other.cols
            && (self.ulx - other.ulx).abs() <= tol
            && (self.uly - other.uly).abs() <= tol
            && (self.pixel_m - other.pixel_m).abs() <= tol / self.lines.max(self.cols) as f64
    }

    /// `epsg:E ul=(x, y) p m L × C` for messages.
    pub fn describe(&self) -> String {
        format!(
            "EPSG:{} UL ({}, {}) {} m, {} lines × {} columns",
            self.epsg, self.ulx, self.uly, self.pixel_m, self.lines, self.cols
        )
    }
}

/// What a context header says: the site and grid it belongs to, the dates it holds, the mode
/// and version that produced it.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// Site nick name (8 characters).
    pub nick: String,
    /// The L2 grid every raster of the context is on.
    pub grid: Grid,
    /// PXD holds days since this date.
    pub reference_date: NaiveDate,
    /// The last date processed (the date of the L2A that wrote the context).
    pub last_date: NaiveDate,
    /// Dates of the STO planes, plane 1 first: the most recently processed date first. Never
    /// empty; its first date is `last_date`.
    pub stack_dates: Vec<NaiveDate>,
    /// The mode of the run that wrote the context.
    pub mode: Mode,
    /// Version of VIP that wrote the context.
    pub vip_version: String,
}

/// `context.json` as stored: dates as `YYYY-MM-DD` text, the encodings spelt out.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderFile {
    format: String,
    format_version: u32,
    nick: String,
    grid: Grid,
    reference_date: String,
    last_date: String,
    stack_dates: Vec<String>,
    mode: Mode,
    vip_version: String,
    reflectance_quantification: f64,
    reflectance_nodata: i16,
    pxd_nodata: i16,
}

impl Header {
    /// Days from the reference date to `date` as stored in PXD, when it fits in int16 (and is
    /// not the no-data value).
    pub fn pxd_code(&self, date: NaiveDate) -> Option<i16> {
        pxd_code(self.reference_date, date)
    }

    /// The date a PXD value stands for (`None` for no-data).
    pub fn pxd_date(&self, code: i16) -> Option<NaiveDate> {
        (code != PXD_NODATA).then(|| self.reference_date + chrono::Duration::days(i64::from(code)))
    }

    /// The header as `context.json` text (deterministic: same header, same bytes).
    pub fn to_json(&self) -> String {
        let file = HeaderFile {
            format: FORMAT.to_string(),
            format_version: FORMAT_VERSION,
            nick: self.nick.clone(),
            grid: self.grid.clone(),
            reference_date: ymd(self.reference_date),
            last_date: ymd(self.last_date),
            stack_dates: self.stack_dates.iter().map(|&d| ymd(d)).collect(),
            mode: self.mode,
            vip_version: self.vip_version.clone(),
            reflectance_quantification: REFLECTANCE_QUANTIFICATION,
            reflectance_nodata: REFLECTANCE_NODATA,
            pxd_nodata: PXD_NODATA,
        };
        let mut text = serde_json::to_string_pretty(&file).expect("a header serialises");
        text.push('\n');
        text
    }

    /// Parses and checks `context.json` text; errors are bad input naming `path`.
    pub fn from_json(text: &str, path: &Path) -> Result<Header> {
        let bad = |msg: String| VipError::bad_input(path, format!("bad context header: {msg}"));
        let f: HeaderFile = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        if f.format != FORMAT {
            return Err(bad(format!("format is {:?}, not {FORMAT:?}", f.format)));
        }
        if f.format_version != FORMAT_VERSION {
            return Err(bad(format!(
                "format version {} (this VIP reads {FORMAT_VERSION})",
                f.format_version
            )));
        }
        if f.reflectance_quantification != REFLECTANCE_QUANTIFICATION
            || f.reflectance_nodata != REFLECTANCE_NODATA
            || f.pxd_nodata != PXD_NODATA
        {
            return Err(bad(
                "encodings differ from quantification 0.001, nodata -10000 and PXD nodata -32768"
                    .into(),
            ));
        }
        let g = &f.grid;
        if g.lines == 0
            || g.cols == 0
            || g.pixel_m.is_nan()
            || g.pixel_m <= 0.0
            || !g.ulx.is_finite()
            || !g.uly.is_finite()
        {
            return Err(bad("the grid has no pixels".into()));
        }
        let date = |s: &str| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| bad(format!("{s:?} is not a date (YYYY-MM-DD)")))
        };
        let stack_dates = f
            .stack_dates
            .iter()
            .map(|s| date(s))
            .collect::<Result<Vec<_>>>()?;
        let header = Header {
            nick: f.nick,
            grid: f.grid,
            reference_date: date(&f.reference_date)?,
            last_date: date(&f.last_date)?,
            stack_dates,
            mode: f.mode,
            vip_version: f.vip_version,
        };
        if header.stack_dates.first() != Some(&header.last_date) {
            return Err(bad("the first stack date is not the last date".into()));
        }
        for &d in &header.stack_dates {
            if header.pxd_code(d).is_none() {
                return Err(bad(format!("date {d} is out of the PXD range")));
            }
        }
        Ok(header)
    }
}

/// Days from `reference` to `date`, when it fits in int16 and is not [`PXD_NODATA`].
pub(crate) fn pxd_code(reference: NaiveDate, date: NaiveDate) -> Option<i16> {
    i16::try_from((date - reference).num_days())
        .ok()
        .filter(|&c| c != PXD_NODATA)
}

fn ymd(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}
