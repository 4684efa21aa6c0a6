//! Writing a new version of a context and switching to it atomically.
//!
//! The new version is written whole under a temporary folder, flushed to the disk, renamed to
//! its version name, and only then named by `CURRENT` (replaced by write, flush, rename). A
//! process killed at any moment leaves `CURRENT` naming either the old version or the new one,
//! each whole; leftovers are removed by the next writer.

use std::fs;
use std::ops::Range;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use super::header::Header;
use super::layout::{self, Layer, CURRENT, HEADER, LOCK};
use super::strip::{Strip, BANDS};
use crate::error::{Result, VipError};
use crate::raster::{self, RasterSpec, Staged};

/// A new version of a context being written strip by strip. [`ContextWriter::commit`] makes
/// it the context; dropped without commit (a date too cloudy to update it, an error), it
/// leaves the context as it was and removes what it wrote.
pub struct ContextWriter {
    // Declared before `staged` so the rasters are closed before the folder is removed.
    layers: Option<Layers>,
    staged: Option<Staged>,
    dir: PathBuf,
    name: String,
    header: Header,
    written: Vec<bool>,
    _lock: Lock,
}

impl std::fmt::Debug for ContextWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContextWriter")
            .field("dir", &self.dir)
            .field("version", &self.name)
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

struct Layers {
    rcr: gdal::Dataset,
    pxd: gdal::Dataset,
    sto: gdal::Dataset,
    cld: gdal::Dataset,
    cla: gdal::Dataset,
    wam: gdal::Dataset,
}

impl ContextWriter {
    /// Starts a new version of the context in `dir` (created when missing) described by
    /// `header` (usually [`Update::header`](super::Update::header)); `creation_options`
    /// override the GeoTIFF defaults key by key (`--co`). Takes the context's lock: another
    /// process updating the same context is an output error (exit 5). Removes leftovers of
    /// updates that never committed.
    pub fn create(
        dir: &Path,
        header: &Header,
        creation_options: &[(String, String)],
    ) -> Result<ContextWriter> {
        check_header(header)?;
        raster::ensure_dir(dir)?;
        let lock = lock(dir)?;
        let current = layout::read_current(dir)?;
        remove_all_but(dir, current.as_deref());
        let name = layout::next_version(current.as_deref(), header.last_date);
        let staged = Staged::dir(&dir.join(&name), true)?;
        let tmp = staged.path().to_path_buf();
        let g = &header.grid;
        let srs_wkt = raster::srs_wkt_from_epsg(g.epsg)?;
        let create = |layer: &Layer, bands: usize| {
            let spec = RasterSpec {
                geo_transform: g.geo_transform(),
                srs_wkt: srs_wkt.clone(),
                nodata: layer.nodata,
                ..RasterSpec::new(g.cols, g.lines, bands, layer.data_type)
            };
            raster::create_geotiff(&tmp.join(layer.name), &spec, creation_options)
        };
        let layers = Layers {
            rcr: create(&layout::RCR, BANDS)?,
            pxd: create(&layout::PXD, 1)?,
            sto: create(&layout::STO, header.stack_dates.len())?,
            cld: create(&layout::CLD, 1)?,
            cla: create(&layout::CLA, 1)?,
            wam: create(&layout::WAM, 1)?,
        };
        Ok(ContextWriter {
            layers: Some(layers),
            staged: Some(staged),
            dir: dir.to_path_buf(),
            name,
            header: header.clone(),
            written: vec![false; g.lines],
            _lock: lock,
        })
    }

    /// Writes every plane of the full-width rows `rows`. Each row is written once.
    pub fn write_strip(&mut self, rows: Range<usize>, strip: &Strip) -> Result<()> {
        let g = &self.header.grid;
        if rows.start > rows.end || rows.end > g.lines {
            return Err(VipError::Internal(format!(
                "rows {rows:?} written to a context of {} lines",
                g.lines
            )));
        }
        let (w, h) = (g.cols, rows.len());
        let n = w * h;
        strip.check_shape(n, self.header.stack_dates.len())?;
        let l = self
            .layers
            .as_mut()
            .ok_or_else(|| VipError::Internal("context writer already closed".into()))?;
        let at = (0, rows.start);
        for b in 0..BANDS {
            raster::write_window(&mut l.rcr, b + 1, at, (w, h), strip.rcr_band(b))?;
        }
        raster::write_window(&mut l.pxd, 1, at, (w, h), &strip.pxd)?;
        for k in 0..strip.stack_planes() {
            raster::write_window(&mut l.sto, k + 1, at, (w, h), strip.sto_plane(k))?;
        }
        raster::write_window(&mut l.cld, 1, at, (w, h), &strip.cld)?;
        raster::write_window(&mut l.cla, 1, at, (w, h), &strip.cla)?;
        raster::write_window(&mut l.wam, 1, at, (w, h), &strip.wam)?;
        self.written[rows].iter_mut().for_each(|r| *r = true);
        Ok(())
    }

    /// Makes the new version the context: closes and flushes its files, renames its folder
    /// into place, points `CURRENT` at it (write a temporary file, flush, rename), then removes
    /// the old version. Returns the new version folder. Every row must have been written.
    pub fn commit(mut self) -> Result<PathBuf> {
        if let Some(row) = self.written.iter().position(|&w| !w) {
            return Err(VipError::Internal(format!(
                "context committed with row {row} not written"
            )));
        }
        let staged = self
            .staged
            .take()
            .ok_or_else(|| VipError::Internal("context writer already committed".into()))?;
        let tmp = staged.path().to_path_buf();
        let dest = staged.dest().to_path_buf();
        if let Some(l) = self.layers.take() {
            for (ds, layer) in [
                (l.rcr, &layout::RCR),
                (l.pxd, &layout::PXD),
                (l.sto, &layout::STO),
                (l.cld, &layout::CLD),
                (l.cla, &layout::CLA),
                (l.wam, &layout::WAM),
            ] {
                raster::finish(ds, &dest.join(layer.name))?;
                let path = tmp.join(layer.name);
                layout::sync(&path).map_err(|e| VipError::output_io(dest.join(layer.name), &e))?;
            }
        }
        let header_path = tmp.join(HEADER);
        layout::write_synced(&header_path, &self.header.to_json())
            .map_err(|e| VipError::output_io(dest.join(HEADER), &e))?;
        layout::sync(&tmp).map_err(|e| VipError::output_io(&dest, &e))?;
        let version = staged.commit()?;
        let sync_dir = || layout::sync(&self.dir).map_err(|e| VipError::output_io(&self.dir, &e));
        sync_dir()?;
        let pointer = self
            .dir
            .join(format!(".{CURRENT}.tmp-{}", std::process::id()));
        let current = self.dir.join(CURRENT);
        layout::write_synced(&pointer, &format!("{}\n", self.name))
            .and_then(|()| fs::rename(&pointer, &current))
            .map_err(|e| {
                let _ = fs::remove_file(&pointer);
                VipError::output_io(&current, &e)
            })?;
        sync_dir()?;
        remove_all_but(&self.dir, Some(&self.name));
        Ok(version)
    }
}

/// The header a writer accepts: a stack with the last date first, every date PXD can hold.
fn check_header(h: &Header) -> Result<()> {
    let ok = h.stack_dates.first() == Some(&h.last_date)
        && h.stack_dates.iter().all(|&d| h.pxd_code(d).is_some())
        && h.grid.lines > 0
        && h.grid.cols > 0;
    if ok {
        Ok(())
    } else {
        Err(VipError::Internal(format!(
            "context header to write is not valid: {h:?}"
        )))
    }
}

/// The exclusive lock of a context, released when dropped (also when the process is killed).
struct Lock(fs::File);

impl Drop for Lock {
    fn drop(&mut self) {
        // unlocked explicitly: a process another thread is spawning holds a copy of the
        // descriptor until it execs, and closing this one alone would leave the lock held
        // until then
        // SAFETY: flock on the descriptor this lock owns.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

/// Takes the exclusive lock of the context in `dir`.
fn lock(dir: &Path) -> Result<Lock> {
    let path = dir.join(LOCK);
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| VipError::output_io(&path, &e))?;
    // SAFETY: flock on a file descriptor this function owns.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
            return Err(VipError::output(
                dir,
                "another run is updating this context; wait for it to end",
            ));
        }
        return Err(VipError::output_io(&path, &e));
    }
    Ok(Lock(file))
}

/// Removes the version folders other than `keep` and the temporary entries of `dir`: what an
/// update that never committed, or did not get to clean up, left. Failures are only logged:
/// the context named by `CURRENT` is whole either way.
fn remove_all_but(dir: &Path, keep: Option<&str>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let stale = if name.starts_with('.') {
            name.contains(".tmp-") || name.contains(".old-")
        } else {
            layout::parse_version(&name).is_some() && Some(name.as_str()) != keep
        };
        if stale {
            let path = entry.path();
            let removed = if path.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
            if let Err(e) = removed {
                log::warn!(
                    "{}: cannot remove an old context version: {e}",
                    path.display()
                );
            }
        }
    }
}
