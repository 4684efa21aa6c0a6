//! The per-site L2 history (MAJA's private L2 data): the composite of the last clear
//! observation per pixel, its dates, the stack of recent correlation-band reflectances, the
//! last cloud mask and altitude and the water history; read by the next date, updated
//! atomically.
//!
//! On disk (docs/context.md): a folder holding `CURRENT`, which names the live version folder
//! `YYYYMMDD-N/`, which holds `context.json` and the rasters RCR, PXD, STO, CLD, CLA and WAM on
//! the site's L2 grid. A date's L2 reads the old context strip by strip and writes the new one
//! the same way:
//!
//! ```no_run
//! use std::ops::Range;
//! use std::path::Path;
//!
//! use chrono::NaiveDate;
//! use vip::context::{Context, ContextWriter, Mode, Observation, Rule, Strip, Update};
//! use vip::geometry::grid::Site;
//! use vip::raster::Strips;
//!
//! fn update(
//!     dir: &Path,
//!     site: &Site,
//!     date: NaiveDate,
//!     observe: impl Fn(Range<usize>) -> vip::Result<Observation<'static>>,
//! ) -> vip::Result<()> {
//!     let old = Context::open(dir)?;
//!     if let Some(c) = &old {
//!         c.check(site, date)?;
//!     }
//!     let mode = if old.is_some() { Mode::Nominal } else { Mode::Init };
//!     let rule = Rule { max_age_days: 30, n_stack: 10 };
//!     let update = Update::new(old.as_ref().map(Context::header), site, date, mode, &rule)?;
//!     let mut writer = ContextWriter::create(dir, update.header(), &[])?;
//!     let per_pixel = 3 * Strip::bytes_per_pixel(rule.n_stack);
//!     for win in Strips::for_budget(site.lines, site.cols, 1 << 30, per_pixel) {
//!         let rows = win.row..win.end();
//!         let before = old.as_ref().map(|c| c.read_strip(rows.clone())).transpose()?;
//!         let after = update.apply(before.as_ref(), &observe(rows.clone())?)?;
//!         writer.write_strip(rows, &after)?;
//!     }
//!     writer.commit()?; // or drop the writer (too cloudy): the context stays as it was
//!     Ok(())
//! }
//! ```

mod header;
mod layout;
mod strip;
mod writer;

#[cfg(test)]
mod tests;

use std::fs;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::error::{Result, VipError};
use crate::geometry::grid::Site;
use crate::raster;

pub use header::{
    Grid, Header, Mode, DEFAULT_REFERENCE, FORMAT, FORMAT_VERSION, PXD_NODATA, REFLECTANCE_NODATA,
    REFLECTANCE_QUANTIFICATION,
};
pub use layout::{CURRENT, HEADER, LOCK};
pub use strip::{Observation, Rule, Strip, Update, BANDS};
pub use writer::ContextWriter;

use layout::Layer;

/// A context as read from its folder: the header, and the rasters open for strip reads. Like a
/// GDAL dataset it is `Send` but not `Sync`: read strips on one thread, compute on many.
pub struct Context {
    dir: PathBuf,
    version: PathBuf,
    header: Header,
    rcr: gdal::Dataset,
    pxd: gdal::Dataset,
    sto: gdal::Dataset,
    cld: gdal::Dataset,
    cla: gdal::Dataset,
    wam: gdal::Dataset,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("version", &self.version)
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// Opens the context in `dir`, the version its `CURRENT` file names. `None` when `dir` is
    /// missing or holds no context yet (no `CURRENT`, nothing but leftovers of an update that
    /// never committed). A corrupt or incomplete context (bad `CURRENT` or header, a missing
    /// or malformed raster) is bad input (exit 3) naming the file.
    pub fn open(dir: &Path) -> Result<Option<Context>> {
        match fs::metadata(dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(VipError::bad_input(dir, "is not a context folder")),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(VipError::input_io(dir, &e)),
        }
        let Some(name) = layout::read_current(dir)? else {
            let entries = fs::read_dir(dir).map_err(|e| VipError::input_io(dir, &e))?;
            for entry in entries {
                let entry = entry.map_err(|e| VipError::input_io(dir, &e))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if !layout::is_ours(&name) {
                    return Err(VipError::bad_input(
                        dir,
                        format!(
                            "is not a context folder (no {CURRENT} file, holds {name}); give a \
                             context folder, or an empty or new one to start a context"
                        ),
                    ));
                }
            }
            return Ok(None);
        };
        // A writer may switch CURRENT and remove the version read meanwhile: read again then.
        let mut name = name;
        for _ in 0..3 {
            match Context::open_version(dir, &name) {
                Err(e) => match layout::read_current(dir)? {
                    Some(now) if now != name => name = now,
                    _ => return Err(e),
                },
                done => return done.map(Some),
            }
        }
        Context::open_version(dir, &name).map(Some)
    }

    fn open_version(dir: &Path, name: &str) -> Result<Context> {
        let version = dir.join(name);
        if !version.is_dir() {
            return Err(VipError::bad_input(
                dir.join(CURRENT),
                format!("names version {name}, which is missing"),
            ));
        }
        let header_path = version.join(HEADER);
        let text = fs::read_to_string(&header_path).map_err(|e| match e.kind() {
            io::ErrorKind::InvalidData => VipError::bad_input(&header_path, "not UTF-8 text"),
            _ => VipError::input_io(&header_path, &e),
        })?;
        let header = Header::from_json(&text, &header_path)?;
        let planes = header.stack_dates.len();
        let open = |layer: &Layer, bands: usize| open_layer(&version, layer, bands, &header.grid);
        Ok(Context {
            rcr: open(&layout::RCR, BANDS)?,
            pxd: open(&layout::PXD, 1)?,
            sto: open(&layout::STO, planes)?,
            cld: open(&layout::CLD, 1)?,
            cla: open(&layout::CLA, 1)?,
            wam: open(&layout::WAM, 1)?,
            dir: dir.to_path_buf(),
            version,
            header,
        })
    }

    /// Refuses (bad input, exit 3, one line naming the context and what to do) a context of
    /// another site (nick) or grid than `site`, or whose last date is not strictly before
    /// `date`.
    pub fn check(&self, site: &Site, date: NaiveDate) -> Result<()> {
        let h = &self.header;
        let fix = "give this site's context, or run with --mode init or backward";
        if h.nick != site.nick {
            return Err(VipError::bad_input(
                &self.dir,
                format!("context of site {}, not {}; {fix}", h.nick, site.nick),
            ));
        }
        let grid = Grid::of(site);
        if !h.grid.same(&grid) {
            return Err(VipError::bad_input(
                &self.dir,
                format!(
                    "context on grid {}, not the product's {}; {fix}",
                    h.grid.describe(),
                    grid.describe()
                ),
            ));
        }
        if h.last_date >= date {
            return Err(VipError::bad_input(
                &self.dir,
                format!(
                    "context last updated on {}, not before {date}; give the context as it was \
                     before this date, or run with --mode init or backward",
                    h.last_date
                ),
            ));
        }
        Ok(())
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The folder given to [`Context::open`].
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The version folder read.
    pub fn version_dir(&self) -> &Path {
        &self.version
    }

    /// The last date processed.
    pub fn last_date(&self) -> NaiveDate {
        self.header.last_date
    }

    /// The dates of the stack planes, the most recently processed first.
    pub fn stack_dates(&self) -> &[NaiveDate] {
        &self.header.stack_dates
    }

    /// Days from the last date processed to `date` (negative when `date` is earlier).
    pub fn age_days(&self, date: NaiveDate) -> i64 {
        (date - self.header.last_date).num_days()
    }

    /// Every plane of the full-width rows `rows`. A read failure (truncated or corrupt file)
    /// is bad input naming the file.
    pub fn read_strip(&self, rows: Range<usize>) -> Result<Strip> {
        let (w, h) = self.strip_size(&rows)?;
        let planes = self.header.stack_dates.len();
        let mut s = Strip::empty(w * h, planes);
        let at = (0, rows.start);
        let all = |n: usize| (1..=n).collect::<Vec<_>>();
        s.rcr = self.read_rcr(rows)?;
        raster::read_window_into(&self.pxd, 1, at, (w, h), &mut s.pxd)?;
        raster::read_bands_into(&self.sto, &all(planes), at, (w, h), (w, h), &mut s.sto)?;
        raster::read_window_into(&self.cld, 1, at, (w, h), &mut s.cld)?;
        raster::read_window_into(&self.cla, 1, at, (w, h), &mut s.cla)?;
        raster::read_window_into(&self.wam, 1, at, (w, h), &mut s.wam)?;
        Ok(s)
    }

    /// The composite (RCR) of the full-width rows `rows`, as [`Strip::rcr`].
    pub fn read_rcr(&self, rows: Range<usize>) -> Result<Vec<i16>> {
        let (w, h) = self.strip_size(&rows)?;
        let mut rcr = vec![REFLECTANCE_NODATA; BANDS * w * h];
        let all: Vec<usize> = (1..=BANDS).collect();
        raster::read_bands_into(&self.rcr, &all, (0, rows.start), (w, h), (w, h), &mut rcr)?;
        Ok(rcr)
    }

    /// Columns and lines of the strip `rows`, which must lie in the grid.
    fn strip_size(&self, rows: &Range<usize>) -> Result<(usize, usize)> {
        let g = &self.header.grid;
        if rows.start > rows.end || rows.end > g.lines {
            return Err(VipError::Internal(format!(
                "rows {rows:?} asked of a context of {} lines",
                g.lines
            )));
        }
        Ok((g.cols, rows.len()))
    }
}

/// Opens a raster of a version and checks it is on `grid` with `bands` bands of the layer's
/// type; otherwise bad input naming the file.
fn open_layer(version: &Path, layer: &Layer, bands: usize, grid: &Grid) -> Result<gdal::Dataset> {
    let path = version.join(layer.name);
    raster::expect_shape(&path, (grid.cols, grid.lines), bands)?;
    let ds = raster::open(&path)?;
    let spec = raster::spec_like(&ds)?;
    if spec.data_type != layer.data_type {
        return Err(VipError::bad_input(
            &path,
            format!(
                "sample type is {:?}, not {:?}",
                spec.data_type, layer.data_type
            ),
        ));
    }
    let gt = spec.geo_transform;
    let want = grid.geo_transform();
    let tol = 1e-3 * grid.pixel_m;
    if gt.iter().zip(want).any(|(a, b)| (a - b).abs() > tol) {
        return Err(VipError::bad_input(
            &path,
            "georeferencing differs from the grid of the context header",
        ));
    }
    Ok(ds)
}
