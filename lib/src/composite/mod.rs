//! `vip-maccs l3`: the L3A, a weighted-average synthesis of the clear L2A observations of one
//! site around a date, as the CNES WASP processor makes the Theia L3A (method designed by O.
//! Hagolle for VENµS): per pixel, the flat reflectances (FRE) of the clear observations,
//! each weighted by its aerosol load, its distance to clouds and its distance in time
//! ([`weights`]); pixels never seen clear keep snow, water or the darkest cloud ([`pixel`]).
//!
//! Inputs: L2A headers of one site and grid, any order; L2NOTV headers (dates too cloudy to
//! issue) and L2As outside the window `date ± half window` are passed over, logged. Two L2As of
//! one date, another site, another grid or another reflectance coding are bad input (exit 3),
//! and so is an input that cannot be read: the synthesis fails rather than silently leaving a
//! date out (the operator removes the input and reruns; the product lists the dates it used).
//! No L2A inside the window: nothing is issued, exit 1.
//!
//! Streaming: one pass over each input's cloud mask builds its coarse cloud grid (a few
//! hundred bytes per km²); then, strip by strip, the same rows are read from every input, the
//! pixels synthesised in parallel (each pixel on its own: 1 and 2 threads write the same
//! bytes) and the strip written. The strip height follows `--ram`: about 39 bytes per pixel per
//! input plus the outputs; when the strips hold whole tiles (256 rows or more fit) GDAL's
//! block cache is held to a sixteenth of `--ram`, since no block is read twice; else strips
//! are a power of two of rows, so that each tile row is split evenly.

pub mod pixel;
pub mod weights;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rayon::prelude::*;

use crate::cli::{progress, Options};
use crate::ee::l3comm::{read_l3comm, L3Comm};
use crate::ee::{EeDoc, GippCatalogue};
use crate::error::{Result, VipError};
use crate::level1::quicklook::QuicklookBuilder;
use crate::mission::venus::BANDS;
use crate::product::l2a::{self, bits, L2a};
use crate::product::l3a::{self, L3a, QuicklookInfo};
use crate::raster::{self, RasterSpec, SampleType, StagedProduct, Strips};
use pixel::{Obs, Rules, NB};
use weights::{CloudWeight, Feather, WeightParams};

/// WASP's half window for VENµS, days (`WASP:PythonScripts/WASP.py`).
pub const DEFAULT_HALF_WINDOW_DAYS: u32 = 11;
/// WASP's date weight on the window's edge.
pub const DATE_WEIGHT_MIN: f64 = 0.5;
/// WASP's coarse cloud grid, metres.
pub const COARSE_M: f64 = 240.0;

/// What `vip-maccs l3` is asked.
#[derive(Debug, Clone)]
pub struct L3Options {
    /// Synthesis (central) date.
    pub date: NaiveDate,
    /// Half window, days (default [`DEFAULT_HALF_WINDOW_DAYS`]).
    pub half_window_days: u32,
    /// GIPP folder: the L3COMM (weights) and CKQLTL (quicklook) applicable to the site, when
    /// there (else WASP's defaults and VIP's quicklook).
    pub gipp: PathBuf,
}

/// One L2A in the window, with its rasters open.
struct Input {
    l2a: L2a,
    days: i64,
    fre: gdal::Dataset,
    cld: gdal::Dataset,
    msk: gdal::Dataset,
    qlt: gdal::Dataset,
    atb: gdal::Dataset,
}

/// Makes the L3A of `inputs` at `l3.date`; returns its header path.
pub fn run(inputs: &[PathBuf], l3: &L3Options, opts: &Options) -> Result<Vec<PathBuf>> {
    // MUSCATE L2As are read through their native views, which live until the run ends.
    let views = inputs
        .iter()
        .map(|p| crate::product::muscate::Input::open(p, &["L2A"]))
        .collect::<Result<Vec<_>>>()?;
    let inputs: Vec<PathBuf> = views.iter().map(|v| v.hdr.clone()).collect();
    let inputs = inputs.as_slice();
    let selected = select(inputs, l3)?;
    let central = selected
        .iter()
        .min_by_key(|(l, _)| {
            (
                (l.site.date - l3.date).num_days().abs(),
                -(l.site.date - l3.date).num_days(),
            )
        })
        .map(|(l, _)| l.clone())
        .ok_or_else(|| VipError::Internal("empty selection".into()))?;
    let catalogue = GippCatalogue::scan(&l3.gipp)?;
    let when = l3.date.and_time(central.site.acquisition.time());
    let has = |t: &str| catalogue.entries().iter().any(|e| e.file_type == t);
    let (comm, comm_id) = if has("GIP_L3COMM") {
        let e = catalogue.find("GIP_L3COMM", &central.site.nick, when, None)?;
        (read_l3comm(&e.path)?, Some(e.id.clone()))
    } else {
        log::info!(
            "{}: no L3COMM, WASP's default weights",
            catalogue.dir().display()
        );
        (L3Comm::WASP, None)
    };
    let params = weight_params(&comm, l3, comm_id.as_deref().map(Path::new))?;
    let (ckqltl, ckqltl_path) = if has("GIP_CKQLTL") {
        let e = catalogue.find("GIP_CKQLTL", &central.site.nick, when, None)?;
        (crate::ee::cloudd::read_ckqltl(&e.path)?, e.path.clone())
    } else {
        (crate::level1::quicklook::vip_default(), l3.gipp.clone())
    };

    let mut open = Vec::with_capacity(selected.len());
    for (l2a, hdr) in selected {
        open.push(Input::open(l2a, &hdr, l3.date)?);
    }
    let mut l3a = L3a::new(
        &central,
        l3.date,
        l3.half_window_days,
        open.iter().map(|i| L3a::input_of(&i.l2a)).collect(),
    );
    l3a.site.gipps_used = comm_id
        .map(|id| vec![("GIP_L3COMM".to_string(), id)])
        .unwrap_or_default();
    let clouds = open
        .iter()
        .map(|i| i.cloud_weight(&params, opts))
        .collect::<Result<Vec<_>>>()?;

    let stage = StagedProduct::new(&opts.output, &l3a.global_id(), opts.overwrite)?;
    let out = stage.path().to_path_buf();
    raster::ensure_dir(&l3a.dbl_dir(&out))?;
    let rules = Rules {
        nodata: central.site.nodata,
        quantification: central.site.quantification,
        max_sat_bands: comm.max_sat_bands,
    };
    let mut ql =
        QuicklookBuilder::new(&ckqltl, &ckqltl_path, central.site.lines, central.site.cols)?;
    let pixels = Pixels {
        codings: open
            .iter()
            .map(|i| Coding {
                days: i.days,
                date_weight: params.date(i.days),
                aot_quantification: i.l2a.aot_quantification,
                aot_nodata: i.l2a.aot_nodata,
            })
            .collect(),
        clouds: &clouds,
        params: &params,
        rules: &rules,
    };
    let stats = Synthesis {
        inputs: &mut open,
        pixels,
        l3a: &l3a,
    }
    .write(&out, ql.as_mut(), opts)?;
    if let Some(q) = &ql {
        let dst = l3a.quicklook_path(&out);
        q.write(&dst.with_extension("tmp.tif"), &dst)?;
        l3a.quicklook = Some(QuicklookInfo {
            bands: q.codes.clone(),
            factor: q.factor,
            lines: q.shape.0,
            cols: q.shape.1,
        });
    }
    let seen = stats.pixels - stats.flags[usize::from(l3a::flags::NO_DATA)];
    let share = |n: u64| 100.0 * n as f64 / seen.max(1) as f64;
    let covered =
        stats.flags[usize::from(l3a::flags::CLOUD)] + stats.flags[usize::from(l3a::flags::SHADOW)];
    let cloudy = (share(covered) * 10.0).round() / 10.0;
    l3a.site.cloud_percentage = Some(cloudy);
    log::info!(
        "{}: {} L2A, {:.1} % land ({:.2} dates on average), {:.1} % snow, {:.1} % water, {:.1} % never seen clear",
        l3a.global_id(),
        open.len(),
        share(stats.flags[usize::from(l3a::flags::LAND)]),
        stats.dates as f64 / stats.flags[usize::from(l3a::flags::LAND)].max(1) as f64,
        share(stats.flags[usize::from(l3a::flags::SNOW)]),
        share(stats.flags[usize::from(l3a::flags::WATER)]),
        cloudy,
    );
    l3a.write_headers(&out)?;
    Ok(vec![stage.commit()?])
}

/// The L2As of `inputs` inside the window (L2NOTV and outside dates passed over), checked to
/// share site, grid and coding; date order.
fn select(inputs: &[PathBuf], l3: &L3Options) -> Result<Vec<(L2a, PathBuf)>> {
    let h = i64::from(l3.half_window_days);
    let (mut notv, mut outside) = (0, 0);
    let mut kept: Vec<(L2a, PathBuf)> = Vec::new();
    for p in inputs {
        let doc = EeDoc::read(p)?;
        if doc.fixed.file_type == l2a::FILE_TYPE_NOTV {
            log::info!("{}: not valid (too cloudy), passed over", p.display());
            notv += 1;
            continue;
        }
        let l = L2a::open(p)?;
        let days = (l.site.date - l3.date).num_days();
        if days.abs() > h {
            log::info!(
                "{}: {days:+} days from {}, outside the window",
                p.display(),
                l3.date
            );
            outside += 1;
            continue;
        }
        if let Some((first, first_path)) = kept.first() {
            if let Some(why) = mismatch(&l, first, first_path) {
                return Err(VipError::bad_input(p, why));
            }
        }
        if let Some((_, twin)) = kept.iter().find(|(k, _)| k.site.date == l.site.date) {
            return Err(VipError::bad_input(
                p,
                format!(
                    "a second L2A of {} (the other: {})",
                    l.site.date,
                    twin.display()
                ),
            ));
        }
        kept.push((l, p.clone()));
    }
    if kept.is_empty() {
        return Err(VipError::Verdict(format!(
            "no valid L2A within {h} days of {} ({} given: {outside} outside the window, {notv} not valid): no L3A",
            l3.date,
            inputs.len()
        )));
    }
    kept.sort_by_key(|(l, _)| l.site.date);
    Ok(kept)
}

/// Why `l` cannot be averaged with `first` (read from `first_path`): another site, grid or
/// reflectance coding.
fn mismatch(l: &L2a, first: &L2a, first_path: &Path) -> Option<String> {
    if l.site.nick != first.site.nick {
        Some(format!("site {}, not {}", l.site.nick, first.site.nick))
    } else if (l.site.epsg, l.site.lines, l.site.cols)
        != (first.site.epsg, first.site.lines, first.site.cols)
        || (l.site.ulx, l.site.uly, l.site.pixel_m)
            != (first.site.ulx, first.site.uly, first.site.pixel_m)
    {
        Some(format!(
            "grid EPSG:{} {} × {} at ({}, {}), {} m is not the grid of {}",
            l.site.epsg,
            l.site.cols,
            l.site.lines,
            l.site.ulx,
            l.site.uly,
            l.site.pixel_m,
            first_path.display()
        ))
    } else if (l.site.quantification, l.site.nodata)
        != (first.site.quantification, first.site.nodata)
    {
        Some(format!(
            "reflectance coding {} / nodata {} differs from {}",
            l.site.quantification,
            l.site.nodata,
            first_path.display()
        ))
    } else {
        None
    }
}

/// The weight parameters of `comm` (read from `path`) for `l3`; values the weights cannot use
/// are bad input.
fn weight_params(comm: &L3Comm, l3: &L3Options, path: Option<&Path>) -> Result<WeightParams> {
    let bad = |m: String| match path {
        Some(p) => VipError::bad_input(p, m),
        None => VipError::Internal(m),
    };
    let (lo, hi) = (comm.min_weight_aot_pct, comm.max_weight_aot_pct);
    if lo == 0 || lo > hi || hi > 100 {
        return Err(bad(format!(
            "Min_Weight_AOT {lo} and Max_Weight_AOT {hi} must satisfy 0 < min <= max <= 100 (hundredths)"
        )));
    }
    if comm.max_aot_linear.is_nan() || comm.max_aot_linear <= 0.0 {
        return Err(bad(format!(
            "Max_AOT_Linear {} is not positive",
            comm.max_aot_linear
        )));
    }
    if l3.half_window_days == 0 {
        return Err(VipError::Usage(
            "--half-window must be at least 1 day".into(),
        ));
    }
    Ok(WeightParams {
        aot_weight_max: f64::from(hi) / 100.0,
        aot_weight_min: f64::from(lo) / 100.0,
        aot_max: comm.max_aot_linear,
        date_weight_min: DATE_WEIGHT_MIN,
        half_window_days: l3.half_window_days,
        coarse_m: COARSE_M,
        sigma_small: f64::from(comm.sigma_small_cells),
        sigma_large: f64::from(comm.sigma_large_cells),
    })
}

impl Input {
    fn open(l2a: L2a, hdr: &Path, date: NaiveDate) -> Result<Input> {
        let dir = hdr.parent().unwrap_or(Path::new(".")).to_path_buf();
        let shape = (l2a.site.cols, l2a.site.lines);
        let ds = |path: PathBuf, bands: usize| raster::expect_shape(&path, shape, bands);
        Ok(Input {
            days: (l2a.site.date - date).num_days(),
            fre: ds(l2a.image_path(&dir, l2a::IMAGE_FRE), NB)?,
            cld: ds(l2a.annex_path(&dir, l2a::ANNEX_CLD), 1)?,
            msk: ds(l2a.annex_path(&dir, l2a::ANNEX_MSK), 1)?,
            qlt: ds(l2a.annex_path(&dir, l2a::ANNEX_QLT), l2a::QLT_BANDS.len())?,
            atb: ds(l2a.annex_path(&dir, l2a::ANNEX_ATB), l2a::ATB_BANDS.len())?,
            l2a,
        })
    }

    /// The cloud-distance weight of this observation: its cloud mask (CLD ALL: clouds and
    /// their shadows) counted on the coarse grid and on the feather's, one strip at a time.
    fn cloud_weight(&self, p: &WeightParams, opts: &Options) -> Result<CloudWeight> {
        let (lines, cols) = (self.l2a.site.lines, self.l2a.site.cols);
        let grid = |m: f64| {
            let cell = (m / self.l2a.site.pixel_m).round().max(1.0) as usize;
            (cell, lines.div_ceil(cell), cols.div_ceil(cell))
        };
        let (cell, rows, ccols) = grid(p.coarse_m);
        let (fcell, frows, fcols) = grid(weights::FEATHER_CELL_M);
        let mut valid = vec![0u32; rows * ccols];
        let mut cloudy = vec![0u32; rows * ccols];
        let mut feathered = vec![false; frows * fcols];
        for win in Strips::for_budget(lines, cols, opts.ram_bytes / 4, 3) {
            let cld: Vec<u8> = raster::read_window(&self.cld, 1, (0, win.row), (cols, win.rows))?;
            let oth: Vec<u16> =
                raster::read_window(&self.qlt, l2a::QLT_OTH_BAND, (0, win.row), (cols, win.rows))?;
            for i in 0..win.rows {
                let base = ((win.row + i) / cell) * ccols;
                let fbase = ((win.row + i) / fcell) * fcols;
                for c in 0..cols {
                    let k = i * cols + c;
                    if oth[k] & bits::OTH_EDG == 0 {
                        let cloud = cld[k] & bits::CLD_ALL != 0;
                        valid[base + c / cell] += 1;
                        cloudy[base + c / cell] += u32::from(cloud);
                        feathered[fbase + c / fcell] |= cloud;
                    }
                }
            }
        }
        let feather = Feather::new(
            fcell,
            self.l2a.site.pixel_m,
            (frows, fcols),
            &feathered,
            cols,
        );
        Ok(CloudWeight::new(
            cell,
            (rows, ccols),
            (&valid, &cloudy),
            feather,
            cols,
            p,
        ))
    }
}

/// One strip of one input.
struct StripData {
    fre: Vec<i16>,
    cld: Vec<u8>,
    msk: Vec<u8>,
    sat: Vec<u16>,
    oth: Vec<u16>,
    aot: Vec<u8>,
}

/// Counts over the product.
#[derive(Default)]
struct Stats {
    pixels: u64,
    /// Pixels per flag value.
    flags: [u64; 7],
    /// Dates averaged, summed over land pixels.
    dates: u64,
}

/// What the pixels need of one input (the datasets stay with the reading thread).
struct Coding {
    days: i64,
    date_weight: f64,
    aot_quantification: f64,
    aot_nodata: u8,
}

/// The per-pixel part of the synthesis (shared by the worker threads).
struct Pixels<'a> {
    codings: Vec<Coding>,
    clouds: &'a [CloudWeight],
    params: &'a WeightParams,
    rules: &'a Rules,
}

struct Synthesis<'a> {
    inputs: &'a mut [Input],
    pixels: Pixels<'a>,
    l3a: &'a L3a,
}

impl Synthesis<'_> {}

impl Input {
    /// The rows of `win` of this input's rasters.
    fn read(&self, win: &raster::Window, cols: usize) -> Result<StripData> {
        let n = cols * win.rows;
        let mut fre = vec![0i16; NB * n];
        let bands: Vec<usize> = (1..=NB).collect();
        raster::read_bands_into(
            &self.fre,
            &bands,
            (0, win.row),
            (cols, win.rows),
            (cols, win.rows),
            &mut fre,
        )?;
        let at = (0, win.row);
        let size = (cols, win.rows);
        // SAT and OTH in one read: each tile decoded once
        let mut qlt = vec![0u16; 2 * n];
        raster::read_bands_into(
            &self.qlt,
            &[l2a::QLT_SAT_BAND, l2a::QLT_OTH_BAND],
            at,
            size,
            size,
            &mut qlt,
        )?;
        let oth = qlt.split_off(n);
        let sat = qlt;
        Ok(StripData {
            fre,
            cld: raster::read_window(&self.cld, 1, at, size)?,
            msk: raster::read_window(&self.msk, 1, at, size)?,
            sat,
            oth,
            aot: raster::read_window(&self.atb, l2a::ATB_AOT_BAND, at, size)?,
        })
    }
}

impl Synthesis<'_> {
    fn write(
        &mut self,
        out: &Path,
        mut ql: Option<&mut QuicklookBuilder>,
        opts: &Options,
    ) -> Result<Stats> {
        let l3a = self.l3a;
        let (lines, cols) = (l3a.site.lines, l3a.site.cols);
        let spec = |bands: usize, t: SampleType, nodata: Option<f64>, names: Vec<String>| {
            let mut s = RasterSpec::new(cols, lines, bands, t);
            s.geo_transform = [
                l3a.site.ulx,
                l3a.site.pixel_m,
                0.0,
                l3a.site.uly,
                0.0,
                -l3a.site.pixel_m,
            ];
            s.srs_wkt = raster::srs_wkt_from_epsg(l3a.site.epsg)?;
            s.nodata = nodata;
            s.band_descriptions = names;
            Ok::<_, VipError>(s)
        };
        let codes: Vec<String> = BANDS.iter().map(|b| b.code.to_string()).collect();
        let targets = [
            (
                l3a.image_path(out),
                spec(NB, SampleType::I16, Some(f64::from(l3a.site.nodata)), codes)?,
            ),
            (
                l3a.annex_path(out, l3a::ANNEX_QLT),
                spec(
                    l3a::QLT_BANDS.len(),
                    SampleType::I16,
                    None,
                    l3a::QLT_BANDS.iter().map(|s| s.to_string()).collect(),
                )?,
            ),
            (
                l3a.annex_path(out, l3a::ANNEX_MSK),
                spec(1, SampleType::U8, None, vec!["FLG".into()])?,
            ),
        ];
        let mut ds = targets
            .iter()
            .map(|(path, s)| raster::create_geotiff(path, s, &opts.creation_options))
            .collect::<Result<Vec<_>>>()?;
        let px = &self.pixels;
        let per_pixel = 39 * self.inputs.len() + 3 * 33;
        let bar = progress(lines as u64, "L3 synthesis");
        let mut stats = Stats::default();
        // strips of whole tiles when they fit: every block is read once and every output tile
        // written whole, so a small cache is all the synthesis needs; else a power of two of
        // rows, so that a tile row is split evenly and GDAL's cache (a quarter of --ram) keeps
        // its tiles between the strips
        let step = raster::strip_rows(opts.ram_bytes, cols, per_pixel);
        if step.is_multiple_of(raster::TILE_ROWS) {
            raster::cap_block_cache((opts.ram_bytes / 16).max(32 << 20));
        }
        for win in Strips::new(lines, step) {
            let n = cols * win.rows;
            // each input read by its own thread (a dataset is used by one thread at a time)
            let strips = self
                .inputs
                .par_iter_mut()
                .map(|i| i.read(&win, cols))
                .collect::<Result<Vec<_>>>()?;
            // W_cloud of each input over the strip, a row at a time
            let clouds: Vec<Vec<f64>> = px
                .clouds
                .par_iter()
                .map(|w| {
                    let mut v = vec![0.0; n];
                    for (i, row) in v.chunks_mut(cols).enumerate() {
                        w.row(win.row + i, row);
                    }
                    v
                })
                .collect();
            let pixels: Vec<pixel::Pixel> = (0..n)
                .into_par_iter()
                .with_min_len(cols)
                .map(|k| px.at(&strips, &clouds, k, n))
                .collect();
            let at = (0, win.row);
            let size = (cols, win.rows);
            for b in 0..NB {
                let v: Vec<i16> = pixels.iter().map(|p| p.fre[b]).collect();
                raster::write_window(&mut ds[0], b + 1, at, size, &v)?;
                if let Some(q) = ql.as_deref_mut() {
                    for (k, &qb) in q.bands.clone().iter().enumerate() {
                        if qb == b {
                            q.add(
                                k,
                                win.row,
                                cols,
                                &v,
                                l3a.site.nodata,
                                l3a.site.quantification,
                            );
                        }
                    }
                }
            }
            let planes: [fn(&pixel::Pixel) -> i16; 4] =
                [|p| p.pxd, |p| p.wgt, |p| p.nbd, |p| p.sat];
            for (k, get) in planes.iter().enumerate() {
                let v: Vec<i16> = pixels.iter().map(get).collect();
                raster::write_window(&mut ds[1], k + 1, at, size, &v)?;
            }
            let flg: Vec<u8> = pixels.iter().map(|p| p.flag).collect();
            raster::write_window(&mut ds[2], 1, at, size, &flg)?;
            for p in &pixels {
                stats.pixels += 1;
                stats.flags[usize::from(p.flag).min(6)] += 1;
                if p.flag == l3a::flags::LAND {
                    stats.dates += p.nbd.max(0) as u64;
                }
            }
            bar.inc(win.rows as u64);
        }
        bar.finish_and_clear();
        for (d, (path, _)) in ds.into_iter().zip(&targets) {
            raster::finish(d, path)?;
        }
        Ok(stats)
    }
}

impl Pixels<'_> {
    /// The synthesis at pixel `k` of the strips of `n` pixels, `clouds` the inputs' W_cloud
    /// over the strip.
    fn at(&self, strips: &[StripData], clouds: &[Vec<f64>], k: usize, n: usize) -> pixel::Pixel {
        let obs: Vec<Obs> = self
            .codings
            .iter()
            .zip(strips)
            .zip(clouds)
            .map(|((c, s), cloud)| {
                let aot = s.aot[k];
                let w_aot = if aot == c.aot_nodata {
                    self.params.aot_weight_min
                } else {
                    self.params.aot(f64::from(aot) * c.aot_quantification)
                };
                Obs {
                    fre: std::array::from_fn(|b| s.fre[b * n + k]),
                    cld: s.cld[k],
                    msk: s.msk[k],
                    sat: s.sat[k],
                    oth: s.oth[k],
                    weight: w_aot * cloud[k] * c.date_weight,
                    days: c.days,
                }
            })
            .collect();
        pixel::synthesise(&obs, self.rules)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_site_grid_and_coding_are_averaged() {
        let a = crate::product::l2a::tests::sample();
        let first = Path::new("A.HDR");
        let mut b = a.clone();
        b.site.date = b.site.date.succ_opt().unwrap();
        assert_eq!(mismatch(&b, &a, first), None);
        let mut c = b.clone();
        c.site.nick = "CAMARGU2".into();
        assert!(mismatch(&c, &a, first).unwrap().contains("site CAMARGU2"));
        let mut c = b.clone();
        c.site.ulx += 10.0;
        assert!(mismatch(&c, &a, first)
            .unwrap()
            .contains("is not the grid of A.HDR"));
        let mut c = b.clone();
        c.site.cols -= 1;
        assert!(mismatch(&c, &a, first).unwrap().contains("grid"));
        let mut c = b;
        c.site.quantification = 0.0001;
        assert!(mismatch(&c, &a, first)
            .unwrap()
            .contains("reflectance coding"));
    }
}
