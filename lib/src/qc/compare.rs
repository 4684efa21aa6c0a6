//! Golden-product comparison: product `b` against the reference `a`, band by band.
//!
//! Bands are matched by name (`B01`…, `SAT`, `band 3`); with [`CompareOptions::band`] only
//! that band of `a` is compared, with the band of the same name in `b` or, when `b` is a
//! single-band raster (vip-sim's `truth/TOA_Bnn.tif`), with that band. Values are compared in
//! physical units (raw × scale + offset, e.g. reflectance for an L1C). For each band: pixels
//! valid in both, pixels valid in only one (they count as over the tolerance), max |b − a| and
//! where, bias (mean b − a), RMSE, and the fraction of pixels valid in either that are over the
//! tolerance. Mask bands are compared exactly, and per bit as a confusion matrix with `a` as
//! the truth: precision = TP / (TP + FP), recall = TP / (TP + FN). The verdict fails a band
//! whose fraction over the tolerance exceeds [`CompareOptions::max_fraction`].
//!
//! Sums are kept per row and added in row order: the figures do not depend on `--threads` or
//! `--ram`.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;

use super::input::{Group, Handles, Input, Layer, Role};
use crate::error::{Result, VipError};
use crate::raster::{self, Strips, Window};

/// What to compare and how strictly.
#[derive(Debug, Clone, Default)]
pub struct CompareOptions {
    /// Largest |b − a| accepted, physical units (0: identical).
    pub tolerance: f64,
    /// Largest fraction of pixels over the tolerance accepted per band (0: none).
    pub max_fraction: f64,
    /// Only this band of `a`.
    pub band: Option<String>,
    /// Memory budget for strip buffers, bytes.
    pub ram_bytes: u64,
    pub threads: usize,
}

/// The comparison of two products.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub a: String,
    pub b: String,
    pub tolerance: f64,
    pub max_fraction: f64,
    pub pass: bool,
    pub bands: Vec<BandDiff>,
    /// One line per failing band: band, rule and values.
    pub failures: Vec<String>,
}

/// Differences of one band.
#[derive(Debug, Clone, Serialize)]
pub struct BandDiff {
    pub name: String,
    /// Band of `b` compared (differs from `name` against a single-band raster).
    pub b_name: String,
    pub role: Role,
    pub width: usize,
    pub height: usize,
    /// Pixels valid in both.
    pub compared: u64,
    pub valid_only_in_a: u64,
    pub valid_only_in_b: u64,
    pub max_abs_diff: Option<f64>,
    /// (line, column) of the largest |b − a|.
    pub max_at: Option<(usize, usize)>,
    pub bias: Option<f64>,
    pub rmse: Option<f64>,
    /// Pixels over the tolerance, including those valid in only one product.
    pub over_tolerance: u64,
    /// `over_tolerance` over the pixels valid in either.
    pub over_fraction: f64,
    pub pass: bool,
    /// Mask bands: confusion per bit used in either product.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub bits: BTreeMap<u32, Confusion>,
}

/// Confusion matrix of one mask bit, `a` being the truth.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Confusion {
    pub tp: u64,
    pub fp: u64,
    #[serde(rename = "fn")]
    pub fn_: u64,
    pub tn: u64,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
}

/// Sums of one row of one band.
#[derive(Debug, Clone, Copy, Default)]
struct RowSums {
    n: u64,
    sum: f64,
    sum2: f64,
}

#[derive(Debug, Clone, Default)]
struct Acc {
    rows: BTreeMap<usize, RowSums>,
    only_a: u64,
    only_b: u64,
    over: u64,
    max: Option<(f64, usize, usize)>,
    bits: [[u64; 4]; 16],
}

impl Acc {
    fn merge(mut self, o: Acc) -> Acc {
        self.rows.extend(o.rows);
        self.only_a += o.only_a;
        self.only_b += o.only_b;
        self.over += o.over;
        self.max = match (self.max, o.max) {
            (Some(x), Some(y)) => Some(if better(y, x) { y } else { x }),
            (x, y) => x.or(y),
        };
        for (a, b) in self.bits.iter_mut().zip(o.bits) {
            for k in 0..4 {
                a[k] += b[k];
            }
        }
        self
    }
}

/// Whether maximum `x` wins over `y`: larger, or equal and earlier (deterministic).
fn better(x: (f64, usize, usize), y: (f64, usize, usize)) -> bool {
    x.0 > y.0 || (x.0 == y.0 && (x.1, x.2) < (y.1, y.2))
}

/// A pair of layers to compare.
struct Pair<'a> {
    a: &'a Layer,
    b: &'a Layer,
}

/// Compares `b` against the reference `a`.
pub fn compare(a: &Input, b: &Input, opts: &CompareOptions) -> Result<Comparison> {
    let mut pairs: Vec<(&Group, &Group, Vec<Pair>)> = Vec::new();
    let single_b = b.layers().count() == 1;
    for ga in &a.groups {
        for la in &ga.layers {
            if let Some(want) = &opts.band {
                if !la.name.eq_ignore_ascii_case(want) {
                    continue;
                }
            }
            let found = b.layer(&la.name).or_else(|| {
                (single_b && opts.band.is_some()).then(|| {
                    let g = &b.groups[0];
                    (g, &g.layers[0])
                })
            });
            let Some((gb, lb)) = found else {
                if opts.band.is_some() {
                    return Err(VipError::bad_input(
                        &b.path,
                        format!("has no band {}", la.name),
                    ));
                }
                continue;
            };
            check_grids(ga, gb, a, b)?;
            match pairs
                .iter_mut()
                .find(|(x, y, _)| std::ptr::eq(*x, ga) && std::ptr::eq(*y, gb))
            {
                Some(p) => p.2.push(Pair { a: la, b: lb }),
                None => pairs.push((ga, gb, vec![Pair { a: la, b: lb }])),
            }
        }
    }
    if pairs.is_empty() {
        return Err(match &opts.band {
            Some(band) => VipError::bad_input(&a.path, format!("has no band {band}")),
            None => VipError::bad_input(
                &b.path,
                format!("has no band in common with {}", a.path.display()),
            ),
        });
    }
    let mut bands = Vec::new();
    for (ga, _, ps) in &pairs {
        bands.extend(compare_group(ga, ps, opts)?);
    }
    let failures: Vec<String> = bands
        .iter()
        .filter(|d| !d.pass)
        .map(|d| failure_text(d, opts))
        .collect();
    Ok(Comparison {
        a: a.path.display().to_string(),
        b: b.path.display().to_string(),
        tolerance: opts.tolerance,
        max_fraction: opts.max_fraction,
        pass: failures.is_empty(),
        bands,
        failures,
    })
}

fn failure_text(d: &BandDiff, opts: &CompareOptions) -> String {
    let tol = if d.role == Role::Mask {
        0.0
    } else {
        opts.tolerance
    };
    let mut s = format!(
        "{}: {} pixels ({:.4} %) differ by more than {} (allowed {} %)",
        d.name,
        d.over_tolerance,
        100.0 * d.over_fraction,
        tol,
        100.0 * opts.max_fraction
    );
    if let (Some(m), Some((l, c))) = (d.max_abs_diff, d.max_at) {
        s += &format!(", max |diff| {m} at line {l}, column {c}");
    }
    if d.valid_only_in_a + d.valid_only_in_b > 0 {
        s += &format!(
            ", {} valid only in A, {} only in B",
            d.valid_only_in_a, d.valid_only_in_b
        );
    }
    s
}

/// Two groups must share the grid: size and georeferencing (to 1e-6 pixel).
pub fn check_grids(ga: &Group, gb: &Group, a: &Input, b: &Input) -> Result<()> {
    let file = |g: &Group, i: &Input| g.layers.first().map_or(i.path.clone(), |l| l.path.clone());
    if (ga.width, ga.height) != (gb.width, gb.height) {
        return Err(VipError::bad_input(
            file(gb, b),
            format!(
                "grid is {} × {} pixels, the reference {} is {} × {}: not the same grid",
                gb.width,
                gb.height,
                file(ga, a).display(),
                ga.width,
                ga.height
            ),
        ));
    }
    let px = ga.geo_transform[1].abs().max(1e-12);
    let same = ga
        .geo_transform
        .iter()
        .zip(&gb.geo_transform)
        .all(|(x, y)| (x - y).abs() <= 1e-6 * px);
    if !same {
        return Err(VipError::bad_input(
            file(gb, b),
            format!(
                "georeferencing {:?} differs from the reference {} {:?}: not the same grid",
                gb.geo_transform,
                file(ga, a).display(),
                ga.geo_transform
            ),
        ));
    }
    Ok(())
}

fn physical(l: &Layer, v: f64) -> f64 {
    v * l.scale.unwrap_or(1.0) + l.offset.unwrap_or(0.0)
}

fn valid(l: &Layer, v: f64) -> bool {
    !v.is_nan() && Some(v) != l.nodata
}

fn strip(g: &Group, pairs: &[Pair], win: Window, tol: f64) -> Result<Vec<Acc>> {
    let mut out = Vec::with_capacity(pairs.len());
    let mut h = Handles::default();
    let w = g.width;
    for p in pairs {
        let ia = h.index(&p.a.path)?;
        let ib = h.index(&p.b.path)?;
        let va: Vec<f64> = raster::read_window(h.ds(ia), p.a.band, (0, win.row), (w, win.rows))?;
        let vb: Vec<f64> = raster::read_window(h.ds(ib), p.b.band, (0, win.row), (w, win.rows))?;
        let mut acc = Acc::default();
        let mask = p.a.role == Role::Mask;
        let tol = if mask { 0.0 } else { tol };
        for r in 0..win.rows {
            let mut rs = RowSums::default();
            for x in 0..w {
                let i = r * w + x;
                let (ra, rb) = (va[i], vb[i]);
                match (valid(p.a, ra), valid(p.b, rb)) {
                    (false, false) => continue,
                    (true, false) => {
                        acc.only_a += 1;
                        acc.over += 1;
                        continue;
                    }
                    (false, true) => {
                        acc.only_b += 1;
                        acc.over += 1;
                        continue;
                    }
                    (true, true) => {}
                }
                let (fa, fb) = (physical(p.a, ra), physical(p.b, rb));
                let d = fb - fa;
                rs.n += 1;
                rs.sum += d;
                rs.sum2 += d * d;
                let ad = d.abs();
                if ad > tol {
                    acc.over += 1;
                }
                let cand = (ad, win.row + r, x);
                if acc.max.is_none_or(|m| better(cand, m)) {
                    acc.max = Some(cand);
                }
                if mask {
                    let (ma, mb) = (ra as i64, rb as i64);
                    for (k, c) in acc.bits.iter_mut().enumerate() {
                        let (ta, tb) = (ma >> k & 1 == 1, mb >> k & 1 == 1);
                        c[match (ta, tb) {
                            (true, true) => 0,
                            (false, true) => 1,
                            (true, false) => 2,
                            (false, false) => 3,
                        }] += 1;
                    }
                }
            }
            acc.rows.insert(win.row + r, rs);
        }
        out.push(acc);
    }
    Ok(out)
}

fn compare_group(g: &Group, pairs: &[Pair], opts: &CompareOptions) -> Result<Vec<BandDiff>> {
    // Two f64 buffers per pair.
    let budget = opts.ram_bytes / opts.threads.max(1) as u64;
    let strips: Vec<Window> = Strips::for_budget(g.height, g.width, budget, 16).collect();
    let empty = || vec![Acc::default(); pairs.len()];
    let accs = strips
        .par_iter()
        .map(|&w| strip(g, pairs, w, opts.tolerance))
        .try_reduce(empty, |a, b| {
            Ok(a.into_iter().zip(b).map(|(x, y)| x.merge(y)).collect())
        })?;
    Ok(pairs
        .iter()
        .zip(accs)
        .map(|(p, acc)| {
            let t = acc.rows.values().fold(RowSums::default(), |t, r| RowSums {
                n: t.n + r.n,
                sum: t.sum + r.sum,
                sum2: t.sum2 + r.sum2,
            });
            let n = t.n as f64;
            let either = t.n + acc.only_a + acc.only_b;
            let over_fraction = if either == 0 {
                0.0
            } else {
                acc.over as f64 / either as f64
            };
            let bits = if p.a.role == Role::Mask {
                acc.bits
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c[0] + c[1] + c[2] > 0)
                    .map(|(k, c)| {
                        let ratio = |x: u64, y: u64| (x + y > 0).then(|| x as f64 / (x + y) as f64);
                        (
                            k as u32,
                            Confusion {
                                tp: c[0],
                                fp: c[1],
                                fn_: c[2],
                                tn: c[3],
                                precision: ratio(c[0], c[1]),
                                recall: ratio(c[0], c[2]),
                            },
                        )
                    })
                    .collect()
            } else {
                BTreeMap::new()
            };
            BandDiff {
                name: p.a.name.clone(),
                b_name: p.b.name.clone(),
                role: p.a.role,
                width: g.width,
                height: g.height,
                compared: t.n,
                valid_only_in_a: acc.only_a,
                valid_only_in_b: acc.only_b,
                max_abs_diff: acc.max.map(|m| m.0),
                max_at: acc.max.map(|m| (m.1, m.2)),
                bias: (t.n > 0).then(|| t.sum / n),
                rmse: (t.n > 0).then(|| (t.sum2 / n).sqrt()),
                over_tolerance: acc.over,
                over_fraction,
                pass: over_fraction <= opts.max_fraction,
                bits,
            }
        })
        .collect())
}

/// A plain-text table of a comparison.
pub fn text_table(c: &Comparison) -> String {
    let mut out = format!(
        "{} against {} (tolerance {}, {} % allowed over it): {}\n",
        c.b,
        c.a,
        c.tolerance,
        100.0 * c.max_fraction,
        if c.pass { "PASS" } else { "FAIL" }
    );
    out += &format!(
        "{:<8} {:>10} {:>12} {:>12} {:>12} {:>10} {:>5}\n",
        "band", "compared", "max|diff|", "bias", "rmse", "over%", ""
    );
    let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.6}"));
    for d in &c.bands {
        out += &format!(
            "{:<8} {:>10} {:>12} {:>12} {:>12} {:>10.4} {:>5}\n",
            d.name,
            d.compared,
            f(d.max_abs_diff),
            f(d.bias),
            f(d.rmse),
            100.0 * d.over_fraction,
            if d.pass { "ok" } else { "FAIL" }
        );
        for (bit, m) in &d.bits {
            out += &format!(
                "  bit {bit:<2} tp {} fp {} fn {} precision {} recall {}\n",
                m.tp,
                m.fp,
                m.fn_,
                f(m.precision),
                f(m.recall)
            );
        }
    }
    out
}
