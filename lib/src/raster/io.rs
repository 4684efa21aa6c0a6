//! Opening rasters and typed reads and writes of windows.
//!
//! GDAL failures become errors that name the file: bad input (exit 3) when reading, output
//! errors (exit 5) when writing.

use std::path::{Path, PathBuf};

use gdal::errors::GdalError;
use gdal::raster::{Buffer, GdalType};
use gdal::{Dataset, DatasetOptions, GdalOpenFlags, Metadata};
use rayon::prelude::*;

use super::strips::Window;
use crate::error::{Result, VipError};

/// Opens the raster at `path` read-only. A missing file, or one GDAL cannot read as a raster,
/// is a bad input (exit 3) naming the file and the problem.
pub fn open(path: &Path) -> Result<Dataset> {
    if !is_gdal_virtual(path) {
        match std::fs::metadata(path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(VipError::bad_input(path, "no such file"))
            }
            Err(e) => return Err(VipError::input_io(path, &e)),
        }
    }
    let options = DatasetOptions {
        open_flags: GdalOpenFlags::GDAL_OF_RASTER | GdalOpenFlags::GDAL_OF_READONLY,
        ..Default::default()
    };
    let ds = Dataset::open_ex(path, options).map_err(|e| {
        VipError::bad_input(
            path,
            with_detail("not a raster GDAL can read", &gdal_message(&e, path)),
        )
    })?;
    if ds.raster_count() == 0 {
        return Err(VipError::bad_input(path, "has no raster band"));
    }
    Ok(ds)
}

/// Opens the raster at `path` and checks that it is `width` × `height` pixels with `bands`
/// bands, as the header describing it says; otherwise a bad input (exit 3) naming the file
/// and both sizes. Returns the open dataset.
pub fn expect_shape(path: &Path, (width, height): (usize, usize), bands: usize) -> Result<Dataset> {
    let ds = open(path)?;
    let (w, h) = ds.raster_size();
    let n = ds.raster_count();
    if (w, h, n) != (width, height, bands) {
        return Err(VipError::bad_input(
            path,
            format!(
                "image is {w} × {h} pixels, {n} bands; its header says {width} × {height}, \
                 {bands} bands"
            ),
        ));
    }
    Ok(ds)
}

/// The file a dataset was opened or created from (its GDAL description).
pub fn dataset_path(ds: &Dataset) -> PathBuf {
    PathBuf::from(ds.description().unwrap_or_default())
}

/// Reads band `band` (1-based), columns `col0..col0 + width`, rows `row0..row0 + rows` into
/// `buf` (row-major, `width * rows` values), converting to `T` if the band's type differs.
/// A read failure (truncated or corrupt file) is a bad input naming the file.
pub fn read_window_into<T: GdalType + Copy>(
    ds: &Dataset,
    band: usize,
    (col0, row0): (usize, usize),
    (width, rows): (usize, usize),
    buf: &mut [T],
) -> Result<()> {
    check_window(ds, band, (col0, row0), (width, rows), buf.len())?;
    let path = dataset_path(ds);
    let fail = |e: GdalError| {
        VipError::bad_input(
            &path,
            with_detail(
                &format!(
                    "band {band}, rows {row0}..{}: cannot read pixels, truncated or corrupt file",
                    row0 + rows
                ),
                &block_cause(&gdal_message(&e, &path)),
            ),
        )
    };
    let b = ds.rasterband(band).map_err(fail)?;
    b.read_into_slice(
        (col0 as isize, row0 as isize),
        (width, rows),
        (width, rows),
        buf,
        None,
    )
    .map_err(fail)
}

/// Reads bands `bands` (1-based) of the window of `size` (columns, rows) at `(col0, row0)`
/// into `buf`, band after band, each resampled (nearest) to `out` (columns, rows): `buf` holds
/// `bands.len() * out.0 * out.1` values. One call decodes each block once for all the bands,
/// which matters for a pixel-interleaved file whose tiles hold every band. A read failure is a
/// bad input naming the file.
pub fn read_bands_into<T: GdalType + Copy>(
    ds: &Dataset,
    bands: &[usize],
    (col0, row0): (usize, usize),
    (width, rows): (usize, usize),
    out: (usize, usize),
    buf: &mut [T],
) -> Result<()> {
    for &b in bands {
        check_window(ds, b, (col0, row0), (width, rows), width * rows)?;
    }
    check_buffer(buf.len(), bands.len(), out)?;
    let c = |v: usize| v as std::ffi::c_int;
    // One band at a time: GDAL's dataset-level read of several bands of a band-interleaved
    // (PLANARCONFIG=SEPARATE) GeoTIFF corrupts the heap in the GDAL this project is built
    // against (seen as "Bad value 14 for ExtraSamples" and malloc aborts on the 15-band L1C);
    // band reads of a pixel-interleaved file decode each tile once all the same, its other
    // bands going to GDAL's block cache.
    let n = out.0 * out.1;
    let mut err = gdal_sys::CPLErr::CE_None;
    for (k, &b) in bands.iter().enumerate() {
        let band = ds
            .rasterband(b)
            .map_err(|e| VipError::Internal(format!("band {b}: {e}")))?;
        let chunk = &mut buf[k * n..(k + 1) * n];
        // SAFETY: the window is inside the raster (checked above), the band exists and
        // `chunk` holds exactly out.0 × out.1 values of T, row-major with default spacings.
        err = unsafe {
            gdal_sys::CPLErrorReset();
            gdal_sys::GDALRasterIO(
                band.c_rasterband(),
                gdal_sys::GDALRWFlag::GF_Read,
                c(col0),
                c(row0),
                c(width),
                c(rows),
                chunk.as_mut_ptr() as *mut std::ffi::c_void,
                c(out.0),
                c(out.1),
                T::gdal_ordinal(),
                0,
                0,
            )
        };
        if err != gdal_sys::CPLErr::CE_None {
            break;
        }
    }
    if err == gdal_sys::CPLErr::CE_None {
        return Ok(());
    }
    let path = dataset_path(ds);
    let detail = last_failure().unwrap_or_default();
    Err(VipError::bad_input(
        &path,
        with_detail(
            &format!(
                "bands {bands:?}, rows {row0}..{}: cannot read pixels, truncated or corrupt file",
                row0 + rows
            ),
            &block_cause(&strip_path(&detail, &path)),
        ),
    ))
}

/// For runs of columns `width` wide (from column 0), the rows each needs read (`None`: none):
/// what a reader that decodes only the blocks it needs is given.
pub type RowsPerRun<'a> = dyn Fn(usize) -> Vec<Option<std::ops::Range<usize>>> + 'a;

/// Width and height of the blocks (tiles or strips) of band `band` (1-based): windows aligned
/// on them read each block once.
pub fn block_size(ds: &Dataset, band: usize) -> (usize, usize) {
    ds.rasterband(band).map_or((1, 1), |b| {
        (b.block_size().0.max(1), b.block_size().1.max(1))
    })
}

/// Reads a window of band `band` (1-based) as a new row-major vector; see [`read_window_into`].
pub fn read_window<T: GdalType + Copy + Default>(
    ds: &Dataset,
    band: usize,
    (col0, row0): (usize, usize),
    (width, rows): (usize, usize),
) -> Result<Vec<T>> {
    let mut buf = vec![T::default(); width * rows];
    read_window_into(ds, band, (col0, row0), (width, rows), &mut buf)?;
    Ok(buf)
}

/// Reads the full-width rows of `win` from band `band` (1-based).
pub fn read_rows<T: GdalType + Copy + Default>(
    ds: &Dataset,
    band: usize,
    win: Window,
) -> Result<Vec<T>> {
    let width = ds.raster_size().0;
    read_window(ds, band, (0, win.row), (width, win.rows))
}

/// Writes `data` (row-major, `width * rows` values) to band `band` (1-based) at columns
/// `col0..col0 + width`, rows `row0..row0 + rows`. A write failure (disk full, ...) is an
/// output error naming the file; GDAL may only report some of them at [`finish`].
pub fn write_window<T: GdalType + Copy>(
    ds: &mut Dataset,
    band: usize,
    (col0, row0): (usize, usize),
    (width, rows): (usize, usize),
    data: &[T],
) -> Result<()> {
    check_window(ds, band, (col0, row0), (width, rows), data.len())?;
    let path = dataset_path(ds);
    let fail = |e: GdalError| {
        VipError::output(
            &path,
            with_detail(
                &format!("band {band}, rows {row0}..{}: cannot write", row0 + rows),
                &gdal_message(&e, &path),
            ),
        )
    };
    let mut b = ds.rasterband(band).map_err(fail)?;
    // GDAL may modify the buffer it writes from (byte swapping), so it gets its own copy.
    let mut buffer = Buffer::new((width, rows), data.to_vec());
    b.write((col0 as isize, row0 as isize), (width, rows), &mut buffer)
        .map_err(fail)
}

/// Writes out the blocks of `ds` that GDAL's cache holds (a strip's worth), compressed by the
/// encoder's threads. Called after each strip, so that reading the next strip does not evict
/// them one block at a time and compress them on the reading thread.
pub fn flush(ds: &mut Dataset) -> Result<()> {
    match flush_failure(ds) {
        Some(msg) => {
            let path = dataset_path(ds);
            Err(VipError::output(
                &path,
                with_detail("cannot write", &strip_path(&msg, &path)),
            ))
        }
        None => Ok(()),
    }
}

/// Flushes `ds`'s cache and returns the failure GDAL reported doing it, if any (GDAL 3.6
/// returns nothing from flush and close, so look at the error they leave behind).
fn flush_failure(ds: &mut Dataset) -> Option<String> {
    // SAFETY: resets the calling thread's GDAL error state.
    unsafe { gdal_sys::CPLErrorReset() };
    let _ = ds.flush_cache();
    last_failure()
}

/// A buffer of `len` values must hold `bands` bands of `out` (columns, rows).
fn check_buffer(len: usize, bands: usize, out: (usize, usize)) -> Result<()> {
    if len == bands * out.0 * out.1 {
        return Ok(());
    }
    Err(VipError::Internal(format!(
        "buffer of {len} values for {bands} bands of {}x{}",
        out.0, out.1
    )))
}

/// [`read_bands_into`] from the raster file `path`, its bands shared among the threads, each
/// reading its share through its own handle: GDAL decodes tiles on the thread that reads, so
/// the bands of a band-interleaved file decode in parallel this way (GDAL's own multi-threaded
/// reading, `GDAL_NUM_THREADS`, deadlocked a full-scene vip-l1 in the GDAL this project is
/// built against).
pub fn read_bands_parallel<T: GdalType + Copy + Send>(
    path: &Path,
    bands: &[usize],
    origin: (usize, usize),
    size: (usize, usize),
    out: (usize, usize),
    buf: &mut [T],
) -> Result<()> {
    check_buffer(buf.len(), bands.len(), out)?;
    let n = out.0 * out.1;
    let share = bands
        .len()
        .div_ceil(rayon::current_num_threads().max(1))
        .max(1);
    bands
        .par_chunks(share)
        .zip(buf.par_chunks_mut(share * n))
        .try_for_each(|(some, part)| read_bands_into(&open(path)?, some, origin, size, out, part))
}

/// Flushes and closes a dataset that was written, reporting the write errors GDAL only sees
/// then (disk full, ...) as an output error about `dest`.
pub fn finish(mut ds: Dataset, dest: &Path) -> Result<()> {
    let after_flush = flush_failure(&mut ds);
    let _ = ds.close();
    match after_flush.or_else(last_failure) {
        Some(msg) => Err(VipError::output(
            dest,
            with_detail("cannot write", &strip_path(&msg, dest)),
        )),
        None => Ok(()),
    }
}

fn last_failure() -> Option<String> {
    // SAFETY: these read and reset the calling thread's GDAL error state.
    let class = unsafe { gdal_sys::CPLGetLastErrorType() };
    if class == gdal_sys::CPLErr::CE_Failure || class == gdal_sys::CPLErr::CE_Fatal {
        let msg = unsafe { std::ffi::CStr::from_ptr(gdal_sys::CPLGetLastErrorMsg()) }
            .to_string_lossy()
            .into_owned();
        unsafe { gdal_sys::CPLErrorReset() };
        Some(msg)
    } else {
        None
    }
}

fn check_window(
    ds: &Dataset,
    band: usize,
    (col0, row0): (usize, usize),
    (width, rows): (usize, usize),
    len: usize,
) -> Result<()> {
    let (w, h) = ds.raster_size();
    if band == 0 || band > ds.raster_count() {
        return Err(VipError::Internal(format!(
            "band {band} asked of a raster with {} bands",
            ds.raster_count()
        )));
    }
    if col0 + width > w || row0 + rows > h {
        return Err(VipError::Internal(format!(
            "window {width}x{rows} at ({col0}, {row0}) outside a {w}x{h} raster"
        )));
    }
    if len != width * rows {
        return Err(VipError::Internal(format!(
            "buffer of {len} values for a {width}x{rows} window"
        )));
    }
    Ok(())
}

/// Whether GDAL resolves `path` itself (`/vsimem/`, `/vsizip/`, ...), not the file system.
fn is_gdal_virtual(path: &Path) -> bool {
    path.to_str().is_some_and(|s| s.starts_with("/vsi"))
}

/// GDAL's own words for an error, on one line, without the file name our message already has.
pub(crate) fn gdal_message(e: &GdalError, path: &Path) -> String {
    let msg = match e {
        GdalError::CplError { msg, .. } | GdalError::NullPointer { msg, .. } => msg.clone(),
        other => other.to_string(),
    };
    strip_path(&msg, path)
}

fn strip_path(msg: &str, path: &Path) -> String {
    let mut msg = msg.replace(['\n', '\r'], " ");
    let p = path.display().to_string();
    if !p.is_empty() {
        msg = msg
            .replace(&format!("`{p}'"), "")
            .replace(&format!("'{p}'"), "")
            .replace(&p, "");
    }
    msg.trim_matches(|c: char| c.is_whitespace() || c == ':' || c == ',')
        .to_string()
}

/// The cause at the end of GDAL's "band N: IReadBlock failed at X offset ..: cause" chain.
fn block_cause(msg: &str) -> String {
    match msg.rsplit_once(": ") {
        Some((chain, cause)) if chain.contains("IReadBlock failed") => {
            cause.trim_end_matches('.').to_string()
        }
        _ => msg.to_string(),
    }
}

/// `what`, followed by GDAL's detail when it says more than `what` does.
pub(crate) fn with_detail(what: &str, detail: &str) -> String {
    if detail.is_empty() || detail.contains("not recognized as a supported file format") {
        what.to_string()
    } else {
        format!("{what} ({detail})")
    }
}
