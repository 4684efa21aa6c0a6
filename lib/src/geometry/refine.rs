//! Refinement of the sensor model on a reference image (the ICD's `AUX_REFIMG`, GEOVEN's
//! "module 1"): how wrong the attitude and the time tags of the auxiliary data are, found
//! from where the reference image's ground shows up in the raw image.
//!
//! Tie points: chips of the reference image on a regular grid; each chip of the raw band is
//! orthorectified onto the chip's grid with the current model (cubic, at the DEM's height)
//! and correlated with it ([`shift::estimate`]: normalised cross-correlation, then
//! Lucas–Kanade to a fraction of a pixel). The chip's centre ground point and the raw
//! position the shifted chip sampled there make a tie point.
//!
//! The model: the [`KnowledgeError`] of the auxiliary data (roll, pitch, yaw biases and a
//! time offset), by Gauss–Newton on the tie points' image residuals with a loose prior on
//! each parameter (pitch and a time offset both move the image along the track: the data
//! alone leave one combination of them free, the prior picks the smallest). Outliers (clouds,
//! changes since the reference) are rejected at 3 robust standard deviations and the fit
//! redone.
//!
//! Passes: a coarse one on the first band (25 chips of 256 reference pixels averaged 4 × 4,
//! ±48 pixels searched) catches errors of tens of pixels, then a fine one on every band (225
//! chips of 48 pixels each, ±3 pixels) on the model the coarse pass corrected. The fine
//! pass's figures are the header's quality indexes.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::dem::Dem;
use super::orbital::{Flight, KnowledgeError};
use super::resample::{Resampling, Spot, Window};
use super::sensor::BandModel;
use super::shift;
use crate::error::{Result, VipError};
use crate::raster;

/// Reads the calibrated radiance of raw lines `lines` of the refined band, full width, where
/// the runs of columns need them (elsewhere: 0).
pub type RawRows<'a> =
    dyn Fn(std::ops::Range<usize>, &crate::raster::RowsPerRun) -> Result<Vec<f32>> + Sync + 'a;

/// Lowest normalised correlation of a valid tie point (GEOVEN leaves the value to the
/// correlator's configuration).
pub const MIN_CORRELATION: f64 = 0.6;
/// Fewest valid tie points a refinement needs (four parameters, and enough to reject
/// outliers).
pub const MIN_POINTS: usize = 12;

/// The reference image: a north-up GeoTIFF in the site's CRS.
#[derive(Debug, Clone)]
pub struct Reference {
    path: PathBuf,
    gt: [f64; 6],
    cols: usize,
    lines: usize,
    nodata: Option<f64>,
}

impl Reference {
    /// Opens `path` and checks it can serve a product in EPSG:`epsg`: the same CRS, north up.
    pub fn open(path: &Path, epsg: u32) -> Result<Reference> {
        let ds = raster::open(path)?;
        let theirs = raster::epsg(&ds);
        if theirs != Some(epsg) {
            return Err(VipError::bad_input(
                path,
                format!(
                    "the reference image is in {}, the product in EPSG:{epsg}",
                    theirs.map_or("no EPSG-coded CRS".into(), |c| format!("EPSG:{c}"))
                ),
            ));
        }
        let gt = raster::geo_transform(&ds)?;
        if gt[2] != 0.0 || gt[4] != 0.0 || gt[1] <= 0.0 || gt[5] >= 0.0 {
            return Err(VipError::bad_input(
                path,
                "the reference image is not north up",
            ));
        }
        let (cols, lines) = ds.raster_size();
        let nodata = ds.rasterband(1).ok().and_then(|b| b.no_data_value());
        Ok(Reference {
            path: path.to_path_buf(),
            gt,
            cols,
            lines,
            nodata,
        })
    }

    /// Map coordinates of the centre of pixel (`x`, `y`) (fractional).
    fn map(&self, x: f64, y: f64) -> (f64, f64) {
        (
            self.gt[0] + (x + 0.5) * self.gt[1],
            self.gt[3] + (y + 0.5) * self.gt[5],
        )
    }

    /// Whether the image overlaps the bounding box of the map points `polygon`.
    pub fn overlaps(&self, polygon: &[(f64, f64)]) -> bool {
        let (e0, n1) = (self.gt[0], self.gt[3]);
        let (e1, n0) = (
            e0 + self.cols as f64 * self.gt[1],
            n1 + self.lines as f64 * self.gt[5],
        );
        let lo = |f: fn(&(f64, f64)) -> f64| polygon.iter().map(f).fold(f64::MAX, f64::min);
        let hi = |f: fn(&(f64, f64)) -> f64| polygon.iter().map(f).fold(f64::MIN, f64::max);
        lo(|p| p.0) < e1 && hi(|p| p.0) > e0 && lo(|p| p.1) < n1 && hi(|p| p.1) > n0
    }

    /// The `size` × `size` pixels from (`x0`, `y0`), no data as NaN.
    fn chip(&self, x0: usize, y0: usize, size: usize) -> Result<Vec<f64>> {
        let ds = raster::open(&self.path)?;
        let v: Vec<f64> = raster::read_window(&ds, 1, (x0, y0), (size, size))?;
        Ok(v.into_iter()
            .map(|x| if Some(x) == self.nodata { f64::NAN } else { x })
            .collect())
    }
}

/// One ground point seen in the raw image of one band.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TiePoint {
    /// Index of the band in the refinement's list.
    pub band: usize,
    /// Ground point: map coordinates and height above the ellipsoid.
    pub ground: (f64, f64, f64),
    /// Raw image position (line, column) that sees it.
    pub image: (f64, f64),
    /// Normalised correlation at the match.
    pub score: f64,
}

/// A tie point and its image residual after the fit (line, column; pixels).
pub type Fitted = (TiePoint, (f64, f64));

/// One correlation pass: chips of `chip` reference pixels, `across` × `across` of them,
/// averaged `factor` × `factor` before correlation, searched ±`search` averaged pixels.
#[derive(Debug, Clone, Copy)]
struct Pass {
    /// Whether every band is correlated, or the first only.
    every_band: bool,
    chip: usize,
    across: usize,
    factor: usize,
    search: usize,
}

const PASSES: [Pass; 2] = [
    Pass {
        every_band: false,
        chip: 256,
        across: 5,
        factor: 4,
        search: 12,
    },
    Pass {
        every_band: true,
        chip: 48,
        across: 15,
        factor: 1,
        search: 3,
    },
];

/// One band the refinement correlates with the reference image.
pub struct Band<'a> {
    /// Its model, flown as the auxiliary data say.
    pub model: &'a BandModel,
    /// Reads its calibrated lines.
    pub raw: &'a RawRows<'a>,
    /// Its image's (lines, columns).
    pub size: (usize, usize),
}

/// What a refinement found.
#[derive(Debug, Clone)]
pub struct Refinement {
    /// The knowledge error of the auxiliary data, to set in the flight.
    pub knowledge: KnowledgeError,
    /// Chips correlated in the last pass, per band (`CORRELATION_NB_POINTS`).
    pub correlated: Vec<usize>,
    /// The tie points kept, with their residuals after the fit.
    pub points: Vec<Fitted>,
    /// Image residual before the last pass's fit: RMS, pixels.
    pub residual_before: f64,
    /// Whether yaw was held at zero, the tie points too few or too narrow to show it.
    pub yaw_held: bool,
}

impl Refinement {
    fn of_band(&self, band: usize) -> impl Iterator<Item = &Fitted> {
        self.points.iter().filter(move |p| p.0.band == band)
    }

    /// Tie points of `band` kept (`CORRELATION_NB_VALID_POINTS`).
    pub fn valid(&self, band: usize) -> usize {
        self.of_band(band).count()
    }

    /// Mean correlation of the tie points of `band` kept (`CORRELATION_RATE`).
    pub fn rate(&self, band: usize) -> f64 {
        let n = self.valid(band).max(1) as f64;
        self.of_band(band).map(|p| p.0.score).sum::<f64>() / n
    }

    /// RMS image residual of the tie points of `band` kept, pixels (`IMAGE_RESIDUES_REFIMG`).
    pub fn residual(&self, band: usize) -> f64 {
        rms(self.of_band(band).map(|p| p.1))
    }
}

fn rms(r: impl Iterator<Item = (f64, f64)>) -> f64 {
    let (mut s, mut n) = (0.0, 0usize);
    for (a, b) in r {
        s += a * a + b * b;
        n += 1;
    }
    (s / n.max(1) as f64).sqrt()
}

/// The models of `bands` flown as `flight` says.
fn fly(bands: &[Band], flight: &Flight) -> Result<Vec<BandModel>> {
    bands.iter().map(|b| b.model.reflown(flight)).collect()
}

/// Refines the flight of `bands` (the first the reference band, the others correlated in
/// the fine pass too: bands looking fore and aft of it make yaw visible) on `reference`
/// over the terrain `dem`. `Ok(Err(reason))` when the images and the reference do not give
/// enough tie points.
pub fn refine(
    bands: &[Band],
    flight: &Flight,
    reference: &Reference,
    dem: &Dem,
) -> Result<std::result::Result<Refinement, String>> {
    let mut flight = flight.clone();
    let mut last = None;
    for (k, pass) in PASSES.iter().enumerate() {
        let current = fly(bands, &flight)?;
        let n = if pass.every_band { bands.len() } else { 1 };
        let mut points = vec![];
        let mut correlated = vec![];
        for (b, band) in bands.iter().enumerate().take(n) {
            let (p, c) = measure(&current[b], b, reference, band, dem, pass)?;
            points.extend(p);
            correlated.push(c);
        }
        if points.len() < MIN_POINTS {
            return Ok(Err(format!(
                "{} valid tie points of {} correlated (pass {}, {MIN_POINTS} needed)",
                points.len(),
                correlated.iter().sum::<usize>(),
                k + 1
            )));
        }
        let before = rms(points.iter().map(|p| residual(&current, p)));
        let (knowledge, kept, yaw_held) = fit(bands, &flight, &points, pass.factor as f64)?;
        if kept.len() < MIN_POINTS {
            return Ok(Err(format!(
                "{} tie points agree with one model of {} valid",
                kept.len(),
                points.len()
            )));
        }
        flight.knowledge = knowledge;
        last = Some(Refinement {
            knowledge,
            correlated,
            points: kept,
            residual_before: before,
            yaw_held,
        });
    }
    Ok(last.ok_or_else(|| "no pass".to_string()))
}

/// Image residual (line, column) of tie point `p` under `models`.
fn residual(models: &[BandModel], p: &TiePoint) -> (f64, f64) {
    let (l, c) = models[p.band].image_position(p.ground.0, p.ground.1, p.ground.2);
    (l - p.image.0, c - p.image.1)
}

/// The tie points of one pass, and how many chips were correlated.
fn measure(
    model: &BandModel,
    band_index: usize,
    reference: &Reference,
    band: &Band,
    dem: &Dem,
    pass: &Pass,
) -> Result<(Vec<TiePoint>, usize)> {
    let (lines, cols) = band.size;
    let chip = pass.chip.min(reference.cols).min(reference.lines);
    if chip / pass.factor < 2 * pass.search + 8 {
        // too small a reference image for this pass's search
        return Ok((vec![], 0));
    }
    let step = |size: usize| {
        if pass.across > 1 {
            (size - chip) as f64 / (pass.across - 1) as f64
        } else {
            0.0
        }
    };
    let (sx, sy) = (step(reference.cols), step(reference.lines));
    let maps: Vec<ChipMap> = (0..pass.across * pass.across)
        .filter_map(|k| {
            let x0 = ((k % pass.across) as f64 * sx).round() as usize;
            let y0 = ((k / pass.across) as f64 * sy).round() as usize;
            ChipMap::new(model, reference, dem, (x0, y0), chip)
        })
        .filter(|m| m.inside(lines, cols))
        .collect();
    // the chips in the order of their raw lines, in groups each read once: a group spans
    // eight times the tallest chip's lines (the image runs across the map grid at the
    // track's heading, so a row of chips spans many raw lines)
    let mut order: Vec<usize> = (0..maps.len()).collect();
    order.sort_by(|&i, &j| maps[i].lines.0.total_cmp(&maps[j].lines.0));
    let tallest = maps
        .iter()
        .map(|m| m.lines.1 - m.lines.0)
        .fold(0.0, f64::max);
    let mut groups = vec![];
    let mut start = 0;
    while start < order.len() {
        let first = maps[order[start]].lines.0;
        let end = start
            + order[start..]
                .iter()
                .take_while(|&&i| maps[i].lines.1 - first <= 8.0 * tallest)
                .count()
                .max(1);
        groups.push(&order[start..end]);
        start = end;
    }
    // groups in parallel (each reads its lines while another correlates), then in chip order
    let measured = groups
        .par_iter()
        .map(|group| {
            let first = maps[group[0]].lines.0;
            let last = group
                .iter()
                .map(|&i| maps[i].lines.1)
                .fold(f64::MIN, f64::max);
            // the raw lines (or columns) from `first` to `last` with the cubic kernel's reach,
            // within the image's `end` lines (or columns)
            let reach = |(first, last): (f64, f64), end: usize| {
                (first - 3.0).floor().max(0.0) as usize..((last + 4.0).ceil() as usize).min(end)
            };
            let all = reach((first, last), lines);
            let (r0, r1) = (all.start, all.end);
            // each run of columns: the lines of the chips it meets
            let needed = |width: usize| {
                (0..cols.div_ceil(width))
                    .map(|k| {
                        let run = k * width..(k + 1) * width;
                        group
                            .iter()
                            .map(|&i| &maps[i])
                            .filter(|m| {
                                let c = reach(m.cols, cols);
                                c.start < run.end && run.start < c.end
                            })
                            .map(|m| m.lines)
                            .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
                            .map(|l| reach(l, lines))
                    })
                    .collect()
            };
            let radiance = (band.raw)(all, &needed)?;
            let img = Window {
                data: &radiance,
                cols,
                rows: r1 - r0,
                row0: r0,
            };
            group
                .iter()
                .map(|&i| {
                    Ok((
                        i,
                        maps[i].tie_point(&img, reference, dem, pass, band_index)?,
                    ))
                })
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<Vec<_>>>()?;
    let mut found: Vec<Option<TiePoint>> = vec![None; maps.len()];
    for (i, p) in measured.into_iter().flatten() {
        found[i] = p;
    }
    let correlated = maps.len();
    let points = found.into_iter().flatten().collect();
    Ok((points, correlated))
}

/// Where a chip of the reference image lies in the raw image: the raw position of its corners
/// at its lowest and highest terrain, interpolated bilinearly across the chip and linearly in
/// height (the sensor's mapping is that smooth over a chip).
struct ChipMap {
    /// Reference pixel of the chip's first corner, and the chip's size.
    x0: usize,
    y0: usize,
    size: usize,
    /// Heights of the two levels.
    h: (f64, f64),
    /// Raw (line, col) at corners [top-left, top-right, bottom-left, bottom-right], per level.
    corners: [[(f64, f64); 4]; 2],
    /// Ground (E, N) of pixel (x, y) of the chip, relative: (E0, N0, dE/dx, dN/dy).
    frame: (f64, f64, f64, f64),
    /// Raw lines and columns the chip spans.
    lines: (f64, f64),
    cols: (f64, f64),
}

impl ChipMap {
    fn new(
        model: &BandModel,
        reference: &Reference,
        dem: &Dem,
        (x0, y0): (usize, usize),
        size: usize,
    ) -> Option<ChipMap> {
        let (e0, n0) = reference.map(x0 as f64, y0 as f64);
        let frame = (e0, n0, reference.gt[1], reference.gt[5]);
        let last = (size - 1) as f64;
        let ground = |x: f64, y: f64| (e0 + x * frame.2, n0 + y * frame.3);
        let (mut lo, mut hi) = (f64::MAX, f64::MIN);
        for y in (0..size).step_by(4) {
            for x in (0..size).step_by(4) {
                let (e, n) = ground(x as f64, y as f64);
                let h = dem.height(e, n);
                lo = lo.min(h);
                hi = hi.max(h);
            }
        }
        let h = (lo - 50.0, hi + 50.0);
        let corner_points = [(0.0, 0.0), (last, 0.0), (0.0, last), (last, last)];
        let at = |h: f64| {
            corner_points.map(|(x, y)| {
                let (e, n) = ground(x, y);
                model.image_position(e, n, h)
            })
        };
        let corners = [at(h.0), at(h.1)];
        let all = || corners.iter().flatten();
        if !all().all(|p| p.0.is_finite() && p.1.is_finite()) {
            return None;
        }
        let lines = all().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
        let cols = all().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
        Some(ChipMap {
            x0,
            y0,
            size,
            h,
            corners,
            frame,
            lines,
            cols,
        })
    }

    /// Whether the chip lies inside the raw image, with room for the cubic kernel.
    fn inside(&self, lines: usize, cols: usize) -> bool {
        self.corners.iter().flatten().all(|&(l, c)| {
            l >= 2.0 && c >= 2.0 && l <= lines as f64 - 3.0 && c <= cols as f64 - 3.0
        })
    }

    fn ground(&self, x: f64, y: f64) -> (f64, f64) {
        (
            self.frame.0 + x * self.frame.2,
            self.frame.1 + y * self.frame.3,
        )
    }

    /// Raw position of chip pixel (x, y) (fractional) on the terrain at `h`.
    fn raw(&self, x: f64, y: f64, h: f64) -> (f64, f64) {
        let last = (self.size - 1) as f64;
        let (u, v) = (x / last, y / last);
        let level = |c: &[(f64, f64); 4]| {
            let w = [(1.0 - u) * (1.0 - v), u * (1.0 - v), (1.0 - u) * v, u * v];
            (
                (0..4).map(|k| w[k] * c[k].0).sum::<f64>(),
                (0..4).map(|k| w[k] * c[k].1).sum::<f64>(),
            )
        };
        let (a, b) = (level(&self.corners[0]), level(&self.corners[1]));
        let t = (h - self.h.0) / (self.h.1 - self.h.0);
        (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1))
    }

    /// The chip's tie point, if the correlation finds one.
    fn tie_point(
        &self,
        img: &Window<f32>,
        reference: &Reference,
        dem: &Dem,
        pass: &Pass,
        band: usize,
    ) -> Result<Option<TiePoint>> {
        let n = self.size;
        let refs = reference.chip(self.x0, self.y0, n)?;
        let f = pass.factor;
        let m = n / f;
        // the reference chip and the raw band orthorectified onto it, averaged f × f
        let mut a = vec![0.0; m * m];
        let mut b = vec![0.0; m * m];
        for y in 0..m * f {
            for x in 0..m * f {
                let (e, nn) = self.ground(x as f64, y as f64);
                let (l, c) = self.raw(x as f64, y as f64, dem.height(e, nn));
                let v = Spot::new(img, l, c)
                    .map_or(f64::NAN, |s| f64::from(s.value(img, Resampling::Cubic)));
                let k = (y / f) * m + x / f;
                a[k] += refs[y * n + x];
                b[k] += v;
            }
        }
        if b.iter().any(|v| !v.is_finite()) || a.iter().filter(|v| v.is_nan()).count() * 10 > m * m
        {
            return Ok(None);
        }
        let s = shift::estimate(&a, &b, m, m, pass.search);
        let edge = pass.search as f64 - 0.5;
        if !(s.peak >= MIN_CORRELATION && s.dx.abs() < edge && s.dy.abs() < edge) {
            return Ok(None);
        }
        // the chip's centre, and where the correlation says the raw band sampled it
        let centre = (n - 1) as f64 / 2.0;
        let (x, y) = (centre + s.dx * f as f64, centre + s.dy * f as f64);
        let (e, nn) = self.ground(centre, centre);
        let (es, ns) = self.ground(x, y);
        let image = self.raw(x, y, dem.height(es, ns));
        Ok(Some(TiePoint {
            band,
            ground: (e, nn, dem.height(e, nn)),
            image,
            score: s.peak,
        }))
    }
}

/// Least squares of the knowledge error on `points`, from `flight`'s; outliers rejected.
/// `noise` is the measurements' scale (pixels): residuals below 0.3 × it are never outliers.
/// Yaw is held at zero unless the tie points resolve it ([`MIN_YAW_RESOLUTION`]). Returns
/// the error, the points kept with their residuals, and whether yaw was held.
fn fit(
    bands: &[Band],
    flight: &Flight,
    points: &[TiePoint],
    noise: f64,
) -> Result<(KnowledgeError, Vec<Fitted>, bool)> {
    let mut kept: Vec<TiePoint> = points.to_vec();
    let mut k = flight.knowledge;
    let mut held = [false; 4];
    for round in 0..3 {
        let (found, resolution) = gauss_newton(bands, flight, &kept, k, held)?;
        k = found;
        if round == 0 && resolution[YAW] < MIN_YAW_RESOLUTION {
            held[YAW] = true;
            k = gauss_newton(bands, flight, &kept, k, held)?.0;
        }
        let models = fly(
            bands,
            &Flight {
                knowledge: k,
                ..flight.clone()
            },
        )?;
        let residuals: Vec<(f64, f64)> = kept.iter().map(|p| residual(&models, p)).collect();
        let mut norms: Vec<f64> = residuals.iter().map(|r| r.0.hypot(r.1)).collect();
        norms.sort_by(f64::total_cmp);
        let sigma = 1.4826 * norms[norms.len() / 2];
        let limit = (3.0 * sigma).max(0.3 * noise);
        let before = kept.len();
        let pairs: Vec<Fitted> = kept
            .iter()
            .zip(&residuals)
            .filter(|(_, r)| r.0.hypot(r.1) <= limit)
            .map(|(p, r)| (*p, *r))
            .collect();
        if pairs.len() == before || round == 2 || pairs.len() < MIN_POINTS {
            return Ok((k, pairs, held[YAW]));
        }
        kept = pairs.into_iter().map(|p| p.0).collect();
    }
    unreachable!("the loop returns on its last round")
}

/// Index of yaw among the parameters (roll, pitch, yaw, time).
const YAW: usize = 2;
/// Least share of yaw's prior variance the tie points must resolve for yaw to be estimated.
/// Over an image a few kilometres wide, yaw only shows as an along-track shift, which pitch
/// and the time offset explain as well; fitted there anyway, a yaw would move the bands
/// that look fore and aft of B05 across the track by yaw × their along-track tangent, in
/// opposite directions, and misregister them.
pub const MIN_YAW_RESOLUTION: f64 = 0.9;

/// Prior standard deviations of the knowledge error: attitude biases (µrad) and the time
/// offset (s). Loose: a star tracker's bias is tens of µrad, a datation error milliseconds.
const PRIOR: [f64; 4] = [500.0, 500.0, 500.0, 0.05];
/// Standard deviation of a tie point's image position, pixels (weights the prior).
const MEASUREMENT_PX: f64 = 0.3;

fn params(k: &KnowledgeError) -> [f64; 4] {
    [k.roll_urad, k.pitch_urad, k.yaw_urad, k.time_s]
}

fn knowledge(p: [f64; 4]) -> KnowledgeError {
    KnowledgeError {
        roll_urad: p[0],
        pitch_urad: p[1],
        yaw_urad: p[2],
        time_s: p[3],
    }
}

/// Gauss–Newton on the image residuals of `points`, from `start`, derivatives by finite
/// differences of the model; the parameters `held` stay at zero. Returns the error and how
/// much of each parameter's prior variance the tie points resolve (0: nothing, 1: all).
fn gauss_newton(
    bands: &[Band],
    flight: &Flight,
    points: &[TiePoint],
    start: KnowledgeError,
    held: [bool; 4],
) -> Result<(KnowledgeError, [f64; 4])> {
    let positions = |p: [f64; 4]| -> Result<Vec<(f64, f64)>> {
        let models = fly(
            bands,
            &Flight {
                knowledge: knowledge(p),
                ..flight.clone()
            },
        )?;
        Ok(points
            .par_iter()
            .map(|t| models[t.band].image_position(t.ground.0, t.ground.1, t.ground.2))
            .collect())
    };
    let steps = [1.0, 1.0, 1.0, 1e-4];
    let mut p = params(&start);
    for i in 0..4 {
        if held[i] {
            p[i] = 0.0;
        }
    }
    let mut normal = [[0.0; 4]; 4];
    for _ in 0..8 {
        let at = positions(p)?;
        let mut jac = Vec::with_capacity(4);
        for (i, step) in steps.iter().enumerate() {
            let mut q = p;
            q[i] += step;
            let moved = positions(q)?;
            jac.push(
                moved
                    .iter()
                    .zip(&at)
                    .map(|(a, b)| ((a.0 - b.0) / step, (a.1 - b.1) / step))
                    .collect::<Vec<_>>(),
            );
        }
        // normal equations with the prior (centred on zero: the auxiliary data as they are)
        let w = 1.0 / (MEASUREMENT_PX * MEASUREMENT_PX);
        let mut n = [[0.0; 4]; 4];
        let mut g = [0.0; 4];
        for (k, t) in points.iter().enumerate() {
            let r = (at[k].0 - t.image.0, at[k].1 - t.image.1);
            for i in 0..4 {
                g[i] += w * (jac[i][k].0 * r.0 + jac[i][k].1 * r.1);
                for j in 0..4 {
                    n[i][j] += w * (jac[i][k].0 * jac[j][k].0 + jac[i][k].1 * jac[j][k].1);
                }
            }
        }
        for i in 0..4 {
            n[i][i] += 1.0 / (PRIOR[i] * PRIOR[i]);
            g[i] += p[i] / (PRIOR[i] * PRIOR[i]);
            if held[i] {
                n[i] = [0.0; 4];
                n[i][i] = 1.0;
                (0..4).filter(|&j| j != i).for_each(|j| n[j][i] = 0.0);
                g[i] = 0.0;
            }
        }
        let delta = solve4(n, g.map(|v| -v)).ok_or_else(singular)?;
        normal = n;
        for i in 0..4 {
            p[i] += delta[i];
        }
        // converged: the last step moves the ground by millimetres
        let small = (0..4).all(|i| delta[i].abs() < 0.01 * steps[i]);
        if small {
            break;
        }
    }
    // the posterior variance of each parameter, against its prior's
    let mut resolution = [0.0; 4];
    for (i, r) in resolution.iter_mut().enumerate().filter(|(i, _)| !held[*i]) {
        let unit: [f64; 4] = std::array::from_fn(|j| f64::from(u8::from(i == j)));
        let c = solve4(normal, unit).ok_or_else(singular)?;
        *r = 1.0 - c[i] / (PRIOR[i] * PRIOR[i]);
    }
    Ok((knowledge(p), resolution))
}

fn singular() -> VipError {
    VipError::Processing("refinement: singular normal equations".into())
}

/// Solves the 4 × 4 system `a x = b` (Gaussian elimination, partial pivoting).
fn solve4(mut a: [[f64; 4]; 4], mut b: [f64; 4]) -> Option<[f64; 4]> {
    for c in 0..4 {
        let p = (c..4).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        if a[p][c].abs() < 1e-300 {
            return None;
        }
        a.swap(c, p);
        b.swap(c, p);
        for r in c + 1..4 {
            let f = a[r][c] / a[c][c];
            let pivot = a[c];
            for (x, p) in a[r].iter_mut().zip(pivot).skip(c) {
                *x -= f * p;
            }
            b[r] -= f * b[c];
        }
    }
    let mut x = [0.0; 4];
    for r in (0..4).rev() {
        let s: f64 = (r + 1..4).map(|k| a[r][k] * x[k]).sum();
        x[r] = (b[r] - s) / a[r][r];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_small_system() {
        let a = [
            [4.0, 1.0, 0.0, 2.0],
            [1.0, 3.0, 1.0, 0.0],
            [0.0, 1.0, 5.0, 1.0],
            [2.0, 0.0, 1.0, 6.0],
        ];
        let x = [1.0, -2.0, 0.5, 3.0];
        let b = std::array::from_fn(|i| (0..4).map(|k| a[i][k] * x[k]).sum());
        let y = solve4(a, b).unwrap();
        for i in 0..4 {
            assert!((y[i] - x[i]).abs() < 1e-12);
        }
    }
}
