//! Geometric accuracy: the sub-pixel shift of a product band against a reference image of the
//! same grid, measured on a regular grid of windows ([`crate::geometry::shift::estimate`]: normalised
//! cross-correlation peak refined by Lucas–Kanade), with outlier rejection.
//!
//! A window is measured when it holds no nodata, has contrast and a correlation peak of at
//! least [`GeomOptions::min_peak`]. Outliers are the windows whose dx or dy is farther from the
//! median than 3 × 1.4826 × MAD (and at least 0.1 pixel). The shift (dx, dy) of a window is
//! what the product is displaced by relative to the reference, in pixels: a feature at column
//! x, line y of the reference is at x + dx, y + dy in the product.

use rayon::prelude::*;
use serde::Serialize;

use super::compare::check_grids;
use super::input::{Group, Handles, Input, Layer};
use crate::error::{Result, VipError};
use crate::geometry::shift;
use crate::raster;

/// How the shifts are measured.
#[derive(Debug, Clone)]
pub struct GeomOptions {
    /// Band of the product (and of the reference, unless it has a single band).
    pub band: Option<String>,
    /// Window side, pixels.
    pub window: usize,
    /// Spacing of the windows, pixels.
    pub step: usize,
    /// Largest shift searched, pixels.
    pub max_shift: usize,
    /// Smallest normalised correlation accepted.
    pub min_peak: f64,
    /// Verdict: the largest RMS shift accepted, pixels.
    pub max_rms: Option<f64>,
}

impl Default for GeomOptions {
    fn default() -> Self {
        GeomOptions {
            band: None,
            window: 64,
            step: 64,
            max_shift: 4,
            min_peak: 0.5,
            max_rms: None,
        }
    }
}

/// One window's shift.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Vector {
    /// Centre of the window, (line, column).
    pub line: f64,
    pub col: f64,
    pub dx: f64,
    pub dy: f64,
    pub peak: f64,
    pub outlier: bool,
}

/// The shifts of a product against its reference.
#[derive(Debug, Clone, Serialize)]
pub struct Geometry {
    pub product: String,
    pub reference: String,
    pub band: String,
    pub reference_band: String,
    pub window: usize,
    pub step: usize,
    /// Windows placed, measured, and kept after outlier rejection.
    pub windows: usize,
    pub measured: usize,
    pub kept: usize,
    pub mean_dx: Option<f64>,
    pub mean_dy: Option<f64>,
    /// sqrt(mean(dx² + dy²)) over the kept windows.
    pub rms: Option<f64>,
    /// Largest sqrt(dx² + dy²) over the kept windows.
    pub max: Option<f64>,
    pub pass: bool,
    pub failures: Vec<String>,
    pub vectors: Vec<Vector>,
}

fn pick<'a>(input: &'a Input, band: Option<&str>) -> Result<(&'a Group, &'a Layer)> {
    let layers: Vec<_> = input.layers().collect();
    if layers.len() == 1 {
        let g = &input.groups[0];
        return Ok((g, &g.layers[0]));
    }
    let name = band.unwrap_or("B04");
    input
        .layer(name)
        .or_else(|| {
            band.is_none().then(|| {
                let g = &input.groups[0];
                (g, &g.layers[0])
            })
        })
        .ok_or_else(|| VipError::bad_input(&input.path, format!("has no band {name}")))
}

/// Measures the shifts of `product` against `reference`.
pub fn geom(product: &Input, reference: &Input, opts: &GeomOptions) -> Result<Geometry> {
    if opts.window < 2 * opts.max_shift + 8 {
        return Err(VipError::Usage(format!(
            "--window {} is too small for shifts up to {} pixels (at least {})",
            opts.window,
            opts.max_shift,
            2 * opts.max_shift + 8
        )));
    }
    let (gp, lp) = pick(product, opts.band.as_deref())?;
    let (gr, lr) = pick(reference, opts.band.as_deref())?;
    check_grids(gr, gp, reference, product)?;
    let (w, h) = (gp.width, gp.height);
    let win = opts.window;
    let step = opts.step.max(1);
    let origins = |n: usize| -> Vec<usize> {
        if n < win {
            return Vec::new();
        }
        // Centre the lattice: the same margin on both sides.
        let count = (n - win) / step + 1;
        let margin = (n - win - (count - 1) * step) / 2;
        (0..count).map(|i| margin + i * step).collect()
    };
    let cells: Vec<(usize, usize)> = origins(h)
        .into_iter()
        .flat_map(|r| origins(w).into_iter().map(move |c| (r, c)))
        .collect();
    let measured: Vec<Option<Vector>> = cells
        .par_iter()
        .map_init(Handles::default, |hs, &(r, c)| {
            let read = |hs: &mut Handles, l: &Layer| -> Result<Vec<f64>> {
                let ds = hs.get(&l.path)?;
                raster::read_window::<f64>(ds, l.band, (c, r), (win, win))
            };
            let a = read(hs, lr)?;
            let b = read(hs, lp)?;
            let bad = |l: &Layer, v: &[f64]| v.iter().any(|&x| x.is_nan() || Some(x) == l.nodata);
            if bad(lr, &a) || bad(lp, &b) || flat(&a) || flat(&b) {
                return Ok(None);
            }
            let s = shift::estimate(&a, &b, win, win, opts.max_shift);
            let ok = s.peak >= opts.min_peak
                && s.dx.is_finite()
                && s.dy.is_finite()
                && s.dx.abs() <= opts.max_shift as f64 + 0.5
                && s.dy.abs() <= opts.max_shift as f64 + 0.5;
            Ok(ok.then_some(Vector {
                line: r as f64 + win as f64 / 2.0,
                col: c as f64 + win as f64 / 2.0,
                dx: s.dx,
                dy: s.dy,
                peak: s.peak,
                outlier: false,
            }))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut vectors: Vec<Vector> = measured.into_iter().flatten().collect();
    reject_outliers(&mut vectors);
    let kept: Vec<&Vector> = vectors.iter().filter(|v| !v.outlier).collect();
    let n = kept.len() as f64;
    let some = !kept.is_empty();
    let mean = |f: fn(&Vector) -> f64| some.then(|| kept.iter().map(|v| f(v)).sum::<f64>() / n);
    let rms = mean(|v| v.dx * v.dx + v.dy * v.dy).map(f64::sqrt);
    let max = kept
        .iter()
        .map(|v| v.dx.hypot(v.dy))
        .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
    let mut failures = Vec::new();
    if !some {
        failures.push(format!(
            "{}: no window could be measured ({} placed)",
            lp.name,
            cells.len()
        ));
    }
    if let (Some(limit), Some(r)) = (opts.max_rms, rms) {
        if r > limit {
            failures.push(format!(
                "{}: RMS shift {r:.4} px over {limit} px (mean dx {:.4}, dy {:.4}, max {:.4}, {} windows)",
                lp.name,
                mean(|v| v.dx).unwrap_or(0.0),
                mean(|v| v.dy).unwrap_or(0.0),
                max.unwrap_or(0.0),
                kept.len()
            ));
        }
    }
    Ok(Geometry {
        product: product.path.display().to_string(),
        reference: reference.path.display().to_string(),
        band: lp.name.clone(),
        reference_band: lr.name.clone(),
        window: win,
        step,
        windows: cells.len(),
        measured: vectors.len(),
        kept: kept.len(),
        mean_dx: mean(|v| v.dx),
        mean_dy: mean(|v| v.dy),
        rms,
        max,
        pass: failures.is_empty(),
        failures,
        vectors,
    })
}

fn flat(v: &[f64]) -> bool {
    let (lo, hi) = v
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    hi - lo <= 1e-9 * hi.abs().max(1.0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Marks the vectors whose dx or dy is farther from the median than 3 robust sigmas.
fn reject_outliers(vectors: &mut [Vector]) {
    if vectors.len() < 3 {
        return;
    }
    let limit = |f: fn(&Vector) -> f64, vs: &[Vector]| {
        let m = median(vs.iter().map(f).collect());
        let mad = median(vs.iter().map(|v| (f(v) - m).abs()).collect());
        (m, (3.0 * 1.4826 * mad).max(0.1))
    };
    let (mx, lx) = limit(|v| v.dx, vectors);
    let (my, ly) = limit(|v| v.dy, vectors);
    for v in vectors.iter_mut() {
        v.outlier = (v.dx - mx).abs() > lx || (v.dy - my).abs() > ly;
    }
}

/// A plain-text summary and the vector field.
pub fn text_table(g: &Geometry) -> String {
    let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
    let mut out = format!(
        "{} ({}) against {} ({}): {} windows of {} px, {} measured, {} kept: {}\n",
        g.product,
        g.band,
        g.reference,
        g.reference_band,
        g.windows,
        g.window,
        g.measured,
        g.kept,
        if g.pass { "PASS" } else { "FAIL" }
    );
    out += &format!(
        "mean dx {} px, mean dy {} px, rms {} px, max {} px\n",
        f(g.mean_dx),
        f(g.mean_dy),
        f(g.rms),
        f(g.max)
    );
    out += &format!(
        "{:>8} {:>8} {:>8} {:>8} {:>6}\n",
        "line", "col", "dx", "dy", "peak"
    );
    for v in &g.vectors {
        out += &format!(
            "{:>8.1} {:>8.1} {:>8.4} {:>8.4} {:>6.3}{}\n",
            v.line,
            v.col,
            v.dx,
            v.dy,
            v.peak,
            if v.outlier { " outlier" } else { "" }
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outliers_are_the_far_ones() {
        let v = |dx, dy| Vector {
            line: 0.0,
            col: 0.0,
            dx,
            dy,
            peak: 1.0,
            outlier: false,
        };
        let mut vs = vec![
            v(0.30, -1.70),
            v(0.31, -1.69),
            v(0.29, -1.71),
            v(0.3, -1.7),
            v(2.5, -1.7),
        ];
        reject_outliers(&mut vs);
        let flags: Vec<bool> = vs.iter().map(|v| v.outlier).collect();
        assert_eq!(flags, [false, false, false, false, true]);
    }
}
