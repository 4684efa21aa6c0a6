//! `vip-straylight`: a raw L1A in, the same product corrected for stray light out.
//!
//! 1. Each band is read once: its counts become equalised signal (DARKCU, RELSEN), block-averaged
//!    to the correction's resolution ([`FACTOR`]) while the image streams in strips; the raw
//!    counts stay in memory when the memory budget allows (otherwise step 3 reads the files
//!    again).
//! 2. `true = observed − A(true)` is solved at that resolution by fixed-point iteration; the
//!    iteration count comes from the operator's norm bound ρ (ρⁿ⁺¹ < [`TOLERANCE`]), and it
//!    goes on until the last update, measured and recorded, is under [`TOLERANCE`] too.
//! 3. Each band is streamed in strips: its in-band stray term, up-sampled bilinearly, and its
//!    cross-talk term, computed at full resolution from the same rows (plus the kernel's
//!    halo) of the source band corrected by its up-sampled stray term, are removed from the
//!    full-resolution signal, which goes back to counts (float32; saturated and defective
//!    samples are passed through unchanged).

use std::borrow::Cow;
use std::ops::Range;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{
    with_crosstalk, BlockMeans, Image, InBandUpsampler, Operator, SourceRows, StripTerm, Terms,
    FACTOR, TOLERANCE,
};
use crate::cli::Options;
use crate::ee::gipp::{GippCatalogue, GippQuery};
use crate::ee::gipps;
use crate::ee::strlgt::{read_correction_scenario, read_strlgt, Scenario, StrayLightFilters};
use crate::error::{Result, VipError};
use crate::geometry::time::seconds_between;
use crate::mission::venus;
use crate::product::{L1a, StraylightCorrection};
use crate::radiometry::{interpolate_defective, BandCalibration};
use crate::raster::{self, RasterSpec, SampleType, StagedProduct, Strips, Window};
use gdal::Dataset;

/// Corrects each input; returns the corrected products' headers.
pub fn run(inputs: &[PathBuf], gipp: &Path, opts: &Options) -> Result<Vec<PathBuf>> {
    inputs.iter().map(|p| process(p, gipp, opts)).collect()
}

struct BandInputs {
    calibration: BandCalibration,
    filters: StrayLightFilters,
    image: PathBuf,
}

/// One raw L1A → stray-light-corrected raw L1A in `opts.output`.
pub fn process(l1a: &Path, gipp: &Path, opts: &Options) -> Result<PathBuf> {
    let product = L1a::open(l1a)?;
    if product.straylight.is_some() {
        return Err(VipError::bad_input(
            l1a,
            "already corrected for stray light",
        ));
    }
    let dir = l1a.parent().unwrap_or(Path::new("."));
    if same_dir(dir, &opts.output) {
        return Err(VipError::Usage(format!(
            "-o {}: the corrected product would replace its input; choose another folder",
            opts.output.display()
        )));
    }
    let catalogue = GippCatalogue::scan(gipp)?;
    let mut used = Vec::new();
    let mut find = |file_type: &'static str, band: &str, tdi: Option<u8>| {
        let e = catalogue.select(&GippQuery {
            file_type,
            site: &product.nick,
            when: product.acquisition,
            band: Some(band),
            tdi,
        })?;
        if file_type == "GIP_STRLGT" {
            used.push((file_type.to_string(), e.id.clone()));
        }
        Ok::<PathBuf, VipError>(e.path.clone())
    };
    let mut bands = Vec::new();
    for band in &product.bands {
        let (code, tdi) = (band.code.as_str(), Some(band.tdi));
        let strlgt = find("GIP_STRLGT", code, None)?;
        let filters = read_strlgt(&strlgt)?;
        check_filters(&filters, &product, band.lines, band.cols, &strlgt)?;
        let dark = gipps::read_darkcu(&find("GIP_DARKCU", code, tdi)?)?;
        let relsen = gipps::read_relsen(&find("GIP_RELSEN", code, tdi)?)?;
        let outord = gipps::read_outord(&find("GIP_OUTORD", code, None)?)?;
        bands.push(BandInputs {
            calibration: BandCalibration::new(1.0, &dark, &relsen, &outord, band.tdi)?,
            filters,
            image: product.band_image_path(dir, code),
        });
    }
    let first = product.geometry.first_detector;
    let clock = std::time::Instant::now();
    let keep = kept_bands(&product, opts);
    let (observed, kept): (Vec<Image>, Vec<Option<Vec<u16>>>) = bands
        .par_iter()
        .zip(&product.bands)
        .enumerate()
        .map(|(i, (b, raw))| first_read(b, raw.cols, raw.lines, first, i < keep, opts))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .unzip();
    log::debug!(
        "{} of {} bands' counts kept in memory",
        kept.iter().flatten().count(),
        kept.len()
    );

    // A RADIOV GIPP in the folder says which terms to remove; both without one.
    let radiov = catalogue
        .entries()
        .iter()
        .any(|e| e.file_type == "GIP_RADIOV");
    if radiov {
        let e = catalogue.select(&GippQuery {
            file_type: "GIP_RADIOV",
            site: &product.nick,
            when: product.acquisition,
            band: None,
            tdi: None,
        })?;
        let scenario = read_correction_scenario(&e.path)?;
        used.push(("GIP_RADIOV".to_string(), e.id.clone()));
        for b in &mut bands {
            match scenario {
                Scenario::Type1 => b.filters.type2.clear(),
                Scenario::Type2 => b.filters.type1.clear(),
                Scenario::Both => {}
            }
        }
    }
    let filters = all_bands(&product, &bands);
    // Lines pair by acquisition time: offsets between the bands' line 0, in line periods.
    let te = product.bands[0].datation.te;
    let t0 = product.bands[0].datation.time_of_line(0.0);
    let op = Operator {
        filters: &filters,
        first_detector: first,
        line_offsets: product
            .bands
            .iter()
            .map(|b| seconds_between(t0, b.datation.time_of_line(0.0)) / te)
            .collect(),
        factor: FACTOR,
    };
    let rho = op.norm_bound();
    if rho >= 0.5 {
        return Err(VipError::Processing(format!(
            "stray-light filters spread {rho:.2} of the signal: too strong to invert by iteration"
        )));
    }
    let iterations =
        ((TOLERANCE.ln() / rho.max(1e-12).ln()).ceil() as usize).clamp(1, MAX_ITERATIONS);
    log::debug!(
        "low-resolution signal read in {:.1} s",
        clock.elapsed().as_secs_f64()
    );
    let (stray, residual, iterations) = solve(&op, observed, iterations);
    log::debug!(
        "fixed point solved at {:.1} s",
        clock.elapsed().as_secs_f64()
    );
    log::info!(
        "{}: stray light norm bound {rho:.4}, {iterations} iterations, last relative update {residual:.2e}",
        product.global_id()
    );

    let mut out = product.clone();
    out.creation = crate::ee::header::creation_time();
    out.creator = "vip-straylight".into();
    out.straylight = Some(StraylightCorrection {
        gipps: used,
        type1: bands.iter().any(|b| !b.filters.type1.is_empty()),
        type2: bands.iter().any(|b| !b.filters.type2.is_empty()),
        iterations,
        residual,
    });
    let stage = StagedProduct::new(&opts.output, &out.global_id(), opts.overwrite)?;
    out.write_headers(stage.path())?;
    let full = Operator { factor: 1, ..op };
    let lines: Vec<usize> = product.bands.iter().map(|b| b.lines).collect();
    let sources = Sources {
        bands: &bands,
        kept: &kept,
        stray: &stray,
        totals: stray
            .in_band
            .iter()
            .zip(&stray.crosstalk)
            .map(|(t, x)| with_crosstalk(t, x, FACTOR))
            .collect(),
        lines: &lines,
        cols: product.bands.iter().map(|b| b.cols).collect(),
        first,
    };
    // Bands in parallel: each reads its own files and writes its own image.
    (0..bands.len())
        .into_par_iter()
        .map(|b| {
            let raw = &product.bands[b];
            let path = out.band_image_path(stage.path(), &raw.code);
            write_corrected(&full, &sources, b, &path, opts)?;
            log::debug!(
                "{} written at {:.1} s",
                raw.code,
                clock.elapsed().as_secs_f64()
            );
            Ok(())
        })
        .collect::<Result<Vec<()>>>()?;
    stage.commit()
}

/// Rows per strip of the full-resolution passes (at most; the memory budget may ask for fewer):
/// a multiple of the 256-row output tiles and of [`FACTOR`], tall enough that the cross-talk
/// kernel's halo adds little.
const STRIP_ROWS: usize = 512;

/// How many bands' raw counts (`u16`) stay in memory after the first read: as many as fit in
/// half the memory budget (the rest is for the strips, the low-resolution images and GDAL's
/// block cache).
fn kept_bands(product: &L1a, opts: &Options) -> usize {
    let largest = product
        .bands
        .iter()
        .map(|b| (b.lines * b.cols * 2) as u64)
        .max()
        .unwrap_or(1)
        .max(1);
    usize::try_from(opts.ram_bytes / 2 / largest).unwrap_or(usize::MAX)
}

/// A band's raw counts after the first read: kept in memory, or read again from the file.
enum Counts<'a> {
    Kept(&'a [u16], usize),
    File(Dataset),
}

impl<'a> Counts<'a> {
    fn new(b: &BandInputs, kept: Option<&'a [u16]>, cols: usize) -> Result<Self> {
        Ok(match kept {
            Some(k) => Counts::Kept(k, cols),
            None => Counts::File(raster::open(&b.image)?),
        })
    }

    /// Full-width rows `rows` as float counts.
    fn rows(&self, rows: Range<usize>) -> Result<Vec<f32>> {
        match self {
            Counts::Kept(k, cols) => Ok(k[rows.start * cols..rows.end * cols]
                .iter()
                .map(|&v| f32::from(v))
                .collect()),
            Counts::File(ds) => raster::read_rows(
                ds,
                1,
                Window {
                    row: rows.start,
                    rows: rows.len(),
                },
            ),
        }
    }
}

/// What the full-resolution pass needs of every band.
struct Sources<'a> {
    bands: &'a [BandInputs],
    kept: &'a [Option<Vec<u16>>],
    stray: &'a Stray,
    /// Per band, its whole stray term by strip (in-band plus cross-talk).
    totals: Vec<Vec<StripTerm>>,
    lines: &'a [usize],
    cols: Vec<usize>,
    first: usize,
}

impl Sources<'_> {
    /// Rows `rows` of band `s`'s full-resolution signal less its up-sampled stray terms,
    /// defective detectors filled.
    fn true_rows(&self, s: usize, counts: &Counts, rows: Range<usize>) -> Result<Vec<f32>> {
        let (cols, cal) = (self.cols[s], &self.bands[s].calibration);
        let stray = InBandUpsampler::new(&self.totals[s], FACTOR);
        let eq = Equaliser::new(cal, self.first, cols);
        let mut data = counts.rows(rows.clone())?;
        data.par_chunks_mut(cols).enumerate().for_each_init(
            || vec![0f32; cols],
            |d, (i, row)| {
                stray.row(rows.start + i, d);
                eq.equalise(row);
                for (v, &d) in row.iter_mut().zip(d.iter()) {
                    *v -= d;
                }
            },
        );
        Ok(data)
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Filters per VENµS band (B01 first), `None` for bands the product does not have.
fn all_bands(product: &L1a, bands: &[BandInputs]) -> Vec<Option<StrayLightFilters>> {
    venus::BANDS
        .iter()
        .map(|vb| {
            product
                .bands
                .iter()
                .position(|b| b.code == vb.code)
                .map(|i| bands[i].filters.clone())
        })
        .collect()
}

/// Filters fit the image, and their cross-talk sources are bands of the product.
fn check_filters(
    f: &StrayLightFilters,
    product: &L1a,
    lines: usize,
    cols: usize,
    path: &Path,
) -> Result<()> {
    let kernels = f
        .type1
        .iter()
        .map(|t| &t.kernel)
        .chain(f.type2.iter().map(|t| &t.kernel));
    for k in kernels {
        if k.rows > lines || k.cols > cols {
            return Err(VipError::bad_input(
                path,
                format!(
                    "filter of {} × {} is larger than the {} image ({lines} × {cols})",
                    k.rows, k.cols, f.band
                ),
            ));
        }
    }
    for t in &f.type2 {
        if product.band(&t.source).is_none() {
            return Err(VipError::bad_input(
                path,
                format!(
                    "cross-talk source {} of {} is not a band of the product",
                    t.source, f.band
                ),
            ));
        }
    }
    Ok(())
}

/// The band's equalised signal at the correction's resolution, read in strips, and its raw
/// counts when `keep` (and they are 16-bit integers).
fn first_read(
    b: &BandInputs,
    cols: usize,
    lines: usize,
    first: usize,
    keep: bool,
    opts: &Options,
) -> Result<(Image, Option<Vec<u16>>)> {
    let ds = raster::open(&b.image)?;
    let keep = keep && raster::spec_like(&ds)?.data_type == SampleType::U16;
    let mut kept = Vec::with_capacity(if keep { cols * lines } else { 0 });
    let mut acc = BlockMeans::new(cols, lines, FACTOR);
    let mut signal = Vec::with_capacity(cols);
    let eq = Equaliser::new(&b.calibration, first, cols);
    for win in strips(lines, cols, opts) {
        let counts: Vec<f32> = raster::read_rows(&ds, 1, win)?;
        if keep {
            // Values of a 16-bit band: the conversion back is exact.
            kept.extend(counts.iter().map(|&x| x as u16));
        }
        for (i, row) in counts.chunks(cols).enumerate() {
            signal.clear();
            signal.extend_from_slice(row);
            eq.equalise(&mut signal);
            acc.add_row(win.row + i, &signal);
        }
    }
    Ok((acc.finish(), keep.then_some(kept)))
}

/// Counts to equalised signal over image lines whose column 0 is detector `first`.
struct Equaliser<'a> {
    cal: &'a BandCalibration,
    first: usize,
    defective: Vec<bool>,
}

impl<'a> Equaliser<'a> {
    fn new(cal: &'a BandCalibration, first: usize, cols: usize) -> Self {
        Equaliser {
            cal,
            first,
            defective: cal.defective[first..first + cols].to_vec(),
        }
    }

    /// A line of counts into signal, in place. Defective detectors get what they would have
    /// seen, from their neighbours: the scene under a blind detector still lights the image.
    fn equalise(&self, row: &mut [f32]) {
        for (c, v) in row.iter_mut().enumerate() {
            *v = self.cal.signal(self.first + c, f64::from(*v)) as f32;
        }
        interpolate_defective(row, &self.defective);
    }
}

/// Strips whose height is a multiple of the correction's factor, at most [`STRIP_ROWS`].
fn strips(lines: usize, cols: usize, opts: &Options) -> Strips {
    let rows = raster::strip_rows(opts.ram_bytes, cols, 4 * 3).clamp(FACTOR, STRIP_ROWS);
    Strips::new(lines, rows - rows % FACTOR)
}

/// The stray terms of every band at the correction's resolution.
struct Stray {
    /// Per band, the in-band term of each type-1 strip.
    in_band: Vec<Vec<StripTerm>>,
    crosstalk: Vec<Image>,
    /// In-band plus cross-talk.
    total: Vec<Image>,
}

impl Stray {
    fn of(op: &Operator, truth: &[Image]) -> Self {
        let in_band: Vec<Vec<StripTerm>> = (0..truth.len())
            .into_par_iter()
            .map(|b| op.in_band(b, &truth[b]))
            .collect();
        let crosstalk = op.apply_terms(truth, Terms::CrossTalk);
        let total = in_band
            .iter()
            .zip(&crosstalk)
            .map(|(terms, x)| {
                let mut t = x.clone();
                for term in terms {
                    term.add_to(&mut t, op.factor);
                }
                t
            })
            .collect();
        Stray {
            in_band,
            crosstalk,
            total,
        }
    }
}

/// Fixed-point solution of `true = observed − A(true)`: the stray terms of the solution and
/// the last update relative to the mean observed signal.
/// Most fixed-point iterations run.
const MAX_ITERATIONS: usize = 50;

/// The fixed point by `iterations` iterations at least, more until the last update is under
/// [`TOLERANCE`] of the mean signal (a scene's darkest parts converge slowest relative to it):
/// the stray light, that last update and the iterations run.
fn solve(op: &Operator, observed: Vec<Image>, iterations: usize) -> (Stray, f64, usize) {
    let mean = observed
        .iter()
        .flat_map(|i| &i.data)
        .map(|&v| f64::from(v))
        .sum::<f64>()
        / observed.iter().map(|i| i.data.len()).sum::<usize>().max(1) as f64;
    let mut truth: Vec<Image> = observed.clone();
    let mut stray = Stray::of(op, &truth);
    let mut residual = f64::NAN;
    let mut done = 0;
    for k in 0..MAX_ITERATIONS {
        if k >= iterations && residual < TOLERANCE {
            break;
        }
        done = k + 1;
        let next: Vec<Image> = observed
            .iter()
            .zip(&stray.total)
            .map(|(o, s)| Image {
                cols: o.cols,
                rows: o.rows,
                width: o.width,
                data: o.data.iter().zip(&s.data).map(|(a, b)| a - b).collect(),
            })
            .collect();
        residual = next
            .iter()
            .zip(&truth)
            .flat_map(|(a, b)| {
                a.data
                    .iter()
                    .zip(&b.data)
                    .map(|(x, y)| f64::from((x - y).abs()))
            })
            .fold(0.0, f64::max)
            / mean.abs().max(1e-12);
        truth = next;
        stray = Stray::of(op, &truth);
    }
    (stray, residual, done)
}

/// Band `b` corrected, streamed strip by strip into a new float32 image at `path`.
fn write_corrected(
    full: &Operator,
    sources: &Sources,
    b: usize,
    path: &Path,
    opts: &Options,
) -> Result<()> {
    let inputs = &sources.bands[b];
    let (cols, lines) = (sources.cols[b], sources.lines[b]);
    let counts = Counts::new(inputs, sources.kept[b].as_deref(), cols)?;
    let mut spec = RasterSpec::new(cols, lines, 1, SampleType::F32);
    spec.nodata = Some(f64::NAN);
    spec.band_descriptions = vec![format!(
        "{} counts corrected for stray light",
        inputs.filters.band
    )];
    let mut ds = raster::create_geotiff(path, &spec, &opts.creation_options)?;
    let (cal, first) = (&inputs.calibration, sources.first);
    let up = InBandUpsampler::new(&sources.stray.in_band[b], FACTOR);
    // The cross-talk sources' counts, opened on first use.
    let mut source_counts: Vec<Option<Counts>> = (0..sources.bands.len()).map(|_| None).collect();
    for win in strips(lines, cols, opts) {
        let rows = win.row..win.end();
        let crosstalk = full.crosstalk_rows(b, rows.clone(), cols, sources.lines, |s, lines| {
            if source_counts[s].is_none() {
                source_counts[s] = Some(Counts::new(
                    &sources.bands[s],
                    sources.kept[s].as_deref(),
                    sources.cols[s],
                )?);
            }
            let counts = source_counts[s].as_ref().expect("opened above");
            Ok::<_, VipError>(SourceRows {
                cols: sources.cols[s],
                width: sources.cols[s],
                data: Cow::Owned(sources.true_rows(s, counts, lines)?),
            })
        })?;
        let mut corrected = counts.rows(rows)?;
        corrected
            .par_chunks_mut(cols)
            .zip(crosstalk.par_chunks(cols))
            .enumerate()
            .for_each_init(
                || vec![0f32; cols],
                |stray, (i, (row, crosstalk))| {
                    up.row(win.row + i, stray);
                    for (c, x) in row.iter_mut().enumerate() {
                        let j = first + c;
                        if *x >= f32::from(venus::RAW_MAX) || cal.defective[j] {
                            continue;
                        }
                        let stray = stray[c] + crosstalk[c];
                        *x = cal.count(j, cal.signal(j, f64::from(*x)) - f64::from(stray)) as f32;
                    }
                },
            );
        raster::write_window(&mut ds, 1, (0, win.row), (cols, win.rows), &corrected)?;
    }
    raster::finish(ds, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mission::venus::DETECTORS;

    #[test]
    fn blind_detectors_are_given_their_neighbours_signal() {
        // Detector 1003 is blind: its count is its dark current alone.
        let cal = BandCalibration {
            gain: 1.0,
            dark: vec![20.0; DETECTORS],
            relsen: vec![[1.0, 1.0, 600.0]; DETECTORS],
            defective: (0..DETECTORS).map(|j| j == 1003).collect(),
        };
        let mut row = [120.0, 130.0, 140.0, 20.0, 160.0, 170.0];
        Equaliser::new(&cal, 1000, row.len()).equalise(&mut row);
        assert_eq!(row, [100.0, 110.0, 120.0, 130.0, 140.0, 150.0]);
    }
}
