//! `vip-straylight`: a raw L1A in, the same product corrected for stray light out.
//!
//! 1. Each band's counts become equalised signal (DARKCU, RELSEN) and are block-averaged to
//!    the correction's resolution ([`FACTOR`]), streaming the image in strips.
//! 2. `true = observed − A(true)` is solved at that resolution by fixed-point iteration; the
//!    iteration count comes from the operator's norm bound ρ (ρⁿ⁺¹ < [`TOLERANCE`]), and the
//!    last update is measured and recorded.
//! 3. Each band is streamed again: the stray term, up-sampled bilinearly, is removed from the
//!    full-resolution signal, which goes back to counts (float32; saturated and defective
//!    samples are passed through unchanged).

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{BlockMeans, Image, Operator, Terms, Upsampler, FACTOR, TOLERANCE};
use crate::cli::Options;
use crate::ee::gipp::{GippCatalogue, GippQuery};
use crate::ee::gipps;
use crate::ee::strlgt::{read_strlgt, StrayLightFilters};
use crate::error::{Result, VipError};
use crate::geometry::time::seconds_between;
use crate::mission::venus;
use crate::product::{L1a, StraylightCorrection};
use crate::radiometry::BandCalibration;
use crate::raster::{self, RasterSpec, SampleType, StagedProduct, Strips};

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
    let observed = bands
        .par_iter()
        .zip(&product.bands)
        .map(|(b, raw)| low_resolution_signal(b, raw.cols, raw.lines, first, opts))
        .collect::<Result<Vec<_>>>()?;

    let filters = all_bands(&product, &bands);
    let te = product.bands[0].datation.te;
    let t0 = product.bands[0].datation.time_ref;
    let op = Operator {
        filters: &filters,
        first_detector: first,
        line_offsets: product
            .bands
            .iter()
            .map(|b| seconds_between(t0, b.datation.time_ref) / te)
            .collect(),
        factor: FACTOR,
    };
    let rho = op.norm_bound();
    if rho >= 0.5 {
        return Err(VipError::Processing(format!(
            "stray-light filters spread {rho:.2} of the signal: too strong to invert by iteration"
        )));
    }
    let iterations = ((TOLERANCE.ln() / rho.max(1e-12).ln()).ceil() as usize).clamp(1, 50);
    log::debug!(
        "low-resolution signal read in {:.1} s",
        clock.elapsed().as_secs_f64()
    );
    let (truth, residual) = solve(&op, &observed, iterations);
    log::debug!(
        "fixed point solved at {:.1} s",
        clock.elapsed().as_secs_f64()
    );
    let in_band = op.apply_terms(&truth, Terms::InBand);
    let total = op.apply(&truth);
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
    // Bands in parallel: each reads its own files and writes its own image.
    (0..bands.len())
        .into_par_iter()
        .map(|b| {
            let (inputs, raw) = (&bands[b], &product.bands[b]);
            let crosstalk = full_resolution_crosstalk(&full, b, &product, &bands, &total, opts)?;
            let path = out.band_image_path(stage.path(), &raw.code);
            write_corrected(
                inputs,
                &in_band[b],
                &crosstalk,
                raw.cols,
                raw.lines,
                first,
                &path,
                opts,
            )?;
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

/// The cross-talk term of band `b` at full resolution, from its sources' signals corrected by
/// their up-sampled low-resolution stray terms (`total`).
fn full_resolution_crosstalk(
    full: &Operator,
    b: usize,
    product: &L1a,
    bands: &[BandInputs],
    total: &[Image],
    opts: &Options,
) -> Result<Image> {
    let shape = |k: usize| Image {
        cols: product.bands[k].cols,
        rows: product.bands[k].lines,
        data: vec![],
    };
    let mut truth: Vec<Image> = (0..product.bands.len()).map(shape).collect();
    let first = product.geometry.first_detector;
    for t in &bands[b].filters.type2 {
        let s = product
            .bands
            .iter()
            .position(|x| x.code == t.source)
            .expect("checked source");
        if truth[s].data.is_empty() {
            truth[s] = corrected_signal(&bands[s], &total[s], &shape(s), first, opts)?;
        }
    }
    Ok(full.band(b, &truth, Terms::CrossTalk))
}

/// A band's full-resolution signal less its up-sampled stray term.
fn corrected_signal(
    b: &BandInputs,
    stray: &Image,
    shape: &Image,
    first: usize,
    opts: &Options,
) -> Result<Image> {
    let (cols, lines) = (shape.cols, shape.rows);
    let ds = raster::open(&b.image)?;
    let up = Upsampler::new(stray, FACTOR, cols);
    let mut data = vec![0f32; cols * lines];
    for win in aligned_strips(lines, cols, opts) {
        let counts: Vec<f32> = raster::read_rows(&ds, 1, win)?;
        data[win.row * cols..win.end() * cols]
            .par_chunks_mut(cols)
            .zip(counts.par_chunks(cols))
            .enumerate()
            .for_each(|(i, (out, counts))| {
                up.row(win.row + i, out);
                for (c, (o, &x)) in out.iter_mut().zip(counts).enumerate() {
                    *o = (b.calibration.signal(first + c, f64::from(x)) - f64::from(*o)) as f32;
                }
            });
    }
    Ok(Image {
        cols,
        rows: lines,
        data,
    })
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

/// The band's equalised signal at the correction's resolution, read in strips.
fn low_resolution_signal(
    b: &BandInputs,
    cols: usize,
    lines: usize,
    first: usize,
    opts: &Options,
) -> Result<Image> {
    let ds = raster::open(&b.image)?;
    let mut acc = BlockMeans::new(cols, lines, FACTOR);
    for win in aligned_strips(lines, cols, opts) {
        let counts: Vec<f32> = raster::read_rows(&ds, 1, win)?;
        for (i, &x) in counts.iter().enumerate() {
            let (r, c) = (win.row + i / cols, i % cols);
            acc.add(r, c, b.calibration.signal(first + c, f64::from(x)));
        }
    }
    Ok(acc.finish())
}

/// Strips whose height is a multiple of the correction's factor.
fn aligned_strips(lines: usize, cols: usize, opts: &Options) -> Strips {
    let rows = raster::strip_rows(opts.ram_bytes, cols, 4 * 3).max(FACTOR);
    Strips::new(lines, rows - rows % FACTOR)
}

/// Fixed-point solution of `true = observed − A(true)`: the true images and the last update
/// relative to the mean observed signal.
fn solve(op: &Operator, observed: &[Image], iterations: usize) -> (Vec<Image>, f64) {
    let mean = observed
        .iter()
        .flat_map(|i| &i.data)
        .map(|&v| f64::from(v))
        .sum::<f64>()
        / observed.iter().map(|i| i.data.len()).sum::<usize>().max(1) as f64;
    let mut truth: Vec<Image> = observed.to_vec();
    let mut stray = op.apply(&truth);
    let mut residual = f64::NAN;
    for _ in 0..iterations {
        let next: Vec<Image> = observed
            .iter()
            .zip(&stray)
            .map(|(o, s)| Image {
                cols: o.cols,
                rows: o.rows,
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
        stray = op.apply(&truth);
    }
    (truth, residual)
}

#[allow(clippy::too_many_arguments)]
fn write_corrected(
    b: &BandInputs,
    in_band: &Image,
    crosstalk: &Image,
    cols: usize,
    lines: usize,
    first: usize,
    path: &Path,
    opts: &Options,
) -> Result<()> {
    let src = raster::open(&b.image)?;
    let mut spec = RasterSpec::new(cols, lines, 1, SampleType::F32);
    spec.nodata = Some(f64::NAN);
    spec.band_descriptions = vec![format!(
        "{} counts corrected for stray light",
        b.filters.band
    )];
    let mut ds = raster::create_geotiff(path, &spec, &opts.creation_options)?;
    let cal = &b.calibration;
    let up = Upsampler::new(in_band, FACTOR, cols);
    for win in aligned_strips(lines, cols, opts) {
        let counts: Vec<f32> = raster::read_rows(&src, 1, win)?;
        let mut corrected = vec![0f32; counts.len()];
        corrected
            .par_chunks_mut(cols)
            .zip(counts.par_chunks(cols))
            .enumerate()
            .for_each(|(i, (out, counts))| {
                let r = win.row + i;
                up.row(r, out);
                let crosstalk = &crosstalk.data[r * cols..(r + 1) * cols];
                for (c, (o, &x)) in out.iter_mut().zip(counts).enumerate() {
                    let j = first + c;
                    *o = if x >= f32::from(venus::RAW_MAX) || cal.defective[j] {
                        x
                    } else {
                        let stray = *o + crosstalk[c];
                        cal.count(j, cal.signal(j, f64::from(x)) - f64::from(stray)) as f32
                    };
                }
            });
        raster::write_window(&mut ds, 1, (0, win.row), (cols, win.rows), &corrected)?;
    }
    raster::finish(ds, path)
}
