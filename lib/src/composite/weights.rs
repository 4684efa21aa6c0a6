//! The weight of one clear observation in the synthesis, as CNES WASP defines it:
//! W = W_AOT · W_cloud · W_date (WASP's sensor weight is 1 for VENµS).
//!
//! - W_AOT = Wmin + (Wmax − Wmin)·(1 − AOT/AOTmax) below AOTmax, Wmin above
//!   (`WASP:WeightCalculation/WeightAOT/include/WeightAOTComputation.h`).
//! - W_cloud = (1 − d_small)·(1 − d_large), 0 when either reaches 1: d is the cloud mask
//!   taken to a coarse grid (a cell is cloudy when more than half of its valid pixels are),
//!   smoothed by a Gaussian of σ_small, resp. σ_large, cells and brought back to the pixels by
//!   bilinear interpolation between cell centres (`WASP:WeightCalculation/WeightOnClouds/`;
//!   WASP undersamples with a bicubic kernel and binarises at 0.5, which is the half-cloudy
//!   rule up to the kernel's overshoot). The Gaussian is truncated at 4 σ and the grid is
//!   padded with clear cells (scipy's `gaussian_filter(mode="constant", truncate=4)`; WASP's
//!   801-cell kernel reaches past any VENµS scene).
//! - The feather (a VIP addition): W_cloud is multiplied by min(1, d/[`FEATHER_M`]), d the
//!   distance from the pixel to the nearest cloudy cell of a [`FEATHER_CELL_M`] grid (a cell is
//!   cloudy when any of its valid pixels is; exact Euclidean distance between cell centres,
//!   interpolated bilinearly to the pixels). WASP's weight, made on 240 m cells, is still 0.3
//!   to 0.6 at a cloud's edge, so an observation entered the average at full strength where
//!   its cloud mask ended and the average stepped there, by a share of whatever told that date
//!   from the others (light scattered by the cloud nearby, its aerosol): a seam along every
//!   cloud outline. The feather brings the weight to 0 at the mask's edge.
//! - W_date = 1 − |Δt|/H·(1 − Wdate_min), Δt in days from the synthesis date, H the half
//!   window (`WASP:WeightCalculation/TotalWeight/src/TotalWeightComputation.cpp`). WASP
//!   computes `|Δt|/H` in integers, so its date weight is 1 for every date strictly inside the
//!   window and Wdate_min on its edge; VIP does the division in reals, which is the formula
//!   WASP states.

/// Distance from a cloud over which the feather rises from 0 to 1, metres.
pub const FEATHER_M: f64 = 240.0;
/// Cell of the feather's cloud grid, metres.
pub const FEATHER_CELL_M: f64 = 20.0;

/// Squared Euclidean distance transform of one line (Felzenszwalb and Huttenlocher 2012):
/// `f` holds 0 at the sites and a large value elsewhere; returns min over sites (i − q)² + f(q).
fn edt_line(f: &[f64]) -> Vec<f64> {
    let n = f.len();
    let mut d = vec![0.0; n];
    let mut v = vec![0usize; n];
    let mut z = vec![0.0f64; n + 1];
    let mut k = 0usize;
    z[0] = f64::NEG_INFINITY;
    z[1] = f64::INFINITY;
    let inter = |q: usize, p: usize| {
        ((f[q] + (q * q) as f64) - (f[p] + (p * p) as f64)) / (2.0 * q as f64 - 2.0 * p as f64)
    };
    for q in 1..n {
        let mut s = inter(q, v[k]);
        while s <= z[k] {
            k -= 1;
            s = inter(q, v[k]);
        }
        k += 1;
        v[k] = q;
        z[k] = s;
        z[k + 1] = f64::INFINITY;
    }
    k = 0;
    for (q, out) in d.iter_mut().enumerate() {
        while z[k + 1] < q as f64 {
            k += 1;
        }
        let dq = q as f64 - v[k] as f64;
        *out = dq * dq + f[v[k]];
    }
    d
}

/// Euclidean distance (in cells) from each cell of a `rows` × `cols` grid to the nearest
/// `true` of `sites`; `None` when there is none.
pub fn distance(sites: &[bool], rows: usize, cols: usize) -> Option<Vec<f64>> {
    if !sites.iter().any(|&s| s) {
        return None;
    }
    // large enough to lose to any real site, small enough to keep the arithmetic exact
    let far = ((rows + cols) * (rows + cols)) as f64 * 4.0;
    let mut g: Vec<f64> = sites.iter().map(|&s| if s { 0.0 } else { far }).collect();
    for c in 0..cols {
        let col: Vec<f64> = (0..rows).map(|r| g[r * cols + c]).collect();
        for (r, v) in edt_line(&col).into_iter().enumerate() {
            g[r * cols + c] = v;
        }
    }
    for r in 0..rows {
        let line = edt_line(&g[r * cols..(r + 1) * cols]);
        g[r * cols..(r + 1) * cols].copy_from_slice(&line);
    }
    Some(g.into_iter().map(f64::sqrt).collect())
}

/// The interpolation terms of pixel `p` along an axis of `n` cells of `cell` pixels: the two
/// cells around it and the weight of the second (between cell centres, clamped at the edges).
fn axis(p: usize, cell: usize, n: usize) -> (usize, usize, f64) {
    let (i0, t) = crate::atmosphere::field::bracket((p as f64 + 0.5) / cell as f64 - 0.5, n);
    (i0, (i0 + 1).min(n - 1), t)
}

/// A field on cells of `cell` pixels (`rows` × `cols`), read along image rows `width` pixels
/// wide by bilinear interpolation between cell centres, clamped at the edges.
#[derive(Debug, Clone)]
struct CellField {
    cell: usize,
    rows: usize,
    cols: usize,
    values: Vec<f64>,
    /// The column terms of each pixel of a row.
    columns: Vec<(usize, usize, f64)>,
}

impl CellField {
    fn new(cell: usize, (rows, cols): (usize, usize), values: Vec<f64>, width: usize) -> Self {
        CellField {
            cell,
            rows,
            cols,
            values,
            columns: (0..width).map(|c| axis(c, cell, cols)).collect(),
        }
    }

    /// The field along image row `line`, `f` applied to each value and its output, into `out`.
    fn row(&self, line: usize, out: &mut [f64], f: impl Fn(f64, &mut f64)) {
        let (r0, r1, ty) = axis(line, self.cell, self.rows);
        let (top, bottom) = (
            &self.values[r0 * self.cols..(r0 + 1) * self.cols],
            &self.values[r1 * self.cols..(r1 + 1) * self.cols],
        );
        for (o, &(c0, c1, tx)) in out.iter_mut().zip(&self.columns) {
            let t = top[c0] * (1.0 - tx) + top[c1] * tx;
            let b = bottom[c0] * (1.0 - tx) + bottom[c1] * tx;
            f(t * (1.0 - ty) + b * ty, o);
        }
    }
}

/// The feather of one observation: distance to its clouds on the feather grid.
#[derive(Debug, Clone)]
pub struct Feather {
    /// Cell size in metres.
    cell_m: f64,
    /// Distance in cells; `None`: no cloud.
    dist: Option<CellField>,
}

impl Feather {
    /// From the cloudy cells (row-major `rows` × `cols`, `cell` pixels of `pixel_m`) of an
    /// image `width` pixels wide.
    pub fn new(
        cell: usize,
        pixel_m: f64,
        (rows, cols): (usize, usize),
        cloudy: &[bool],
        width: usize,
    ) -> Self {
        Feather {
            cell_m: cell as f64 * pixel_m,
            dist: distance(cloudy, rows, cols)
                .map(|d| CellField::new(cell, (rows, cols), d, width)),
        }
    }

    /// Multiplies `out` by the feather along image row `line`.
    fn apply(&self, line: usize, out: &mut [f64]) {
        let Some(d) = &self.dist else { return };
        let k = self.cell_m / FEATHER_M;
        d.row(line, out, |cells, o| *o *= (cells * k).min(1.0));
    }
}

/// A weight function's parameters (from the L3COMM GIPP and the command line).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeightParams {
    /// AOT weight at AOT 0 and from `aot_max` on.
    pub aot_weight_max: f64,
    pub aot_weight_min: f64,
    pub aot_max: f64,
    /// Date weight on the window's edge.
    pub date_weight_min: f64,
    /// Half window, days.
    pub half_window_days: u32,
    /// Coarse cloud grid, metres (WASP's 240 m).
    pub coarse_m: f64,
    /// Gaussian σ of the small and large cloud distances, coarse cells.
    pub sigma_small: f64,
    pub sigma_large: f64,
}

impl WeightParams {
    /// The AOT weight of an aerosol optical thickness.
    pub fn aot(&self, aot: f64) -> f64 {
        if aot < 0.0 {
            return 0.0;
        }
        if aot < self.aot_max {
            self.aot_weight_min
                + (self.aot_weight_max - self.aot_weight_min) * (1.0 - aot / self.aot_max)
        } else {
            self.aot_weight_min
        }
    }

    /// The date weight of an observation `days` from the synthesis date.
    pub fn date(&self, days: i64) -> f64 {
        let h = f64::from(self.half_window_days.max(1));
        1.0 - (days.unsigned_abs() as f64 / h).min(1.0) * (1.0 - self.date_weight_min)
    }
}

/// The truncated Gaussian of scipy's `gaussian_filter1d` (radius `int(4σ + 0.5)`), normalised.
fn kernel(sigma: f64) -> Vec<f64> {
    let radius = (4.0 * sigma + 0.5) as i64;
    let mut k: Vec<f64> = (-radius..=radius)
        .map(|x| (-0.5 * (x * x) as f64 / (sigma * sigma)).exp())
        .collect();
    let s: f64 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= s);
    k
}

/// `field` (rows × cols) convolved with the Gaussian of σ `sigma` cells, zero outside.
pub fn smooth(field: &[f64], rows: usize, cols: usize, sigma: f64) -> Vec<f64> {
    if sigma <= 0.0 {
        return field.to_vec();
    }
    let k = kernel(sigma);
    let r = (k.len() / 2) as isize;
    let pass = |src: &[f64], n: usize, stride: usize, count: usize, step: usize| {
        // `count` lines of `n` samples, sample i at line*step + i*stride
        let mut out = vec![0.0; src.len()];
        for line in 0..count {
            for i in 0..n as isize {
                let mut acc = 0.0;
                for (j, w) in k.iter().enumerate() {
                    let s = i + j as isize - r;
                    if s >= 0 && s < n as isize {
                        acc += w * src[line * step + s as usize * stride];
                    }
                }
                out[line * step + i as usize * stride] = acc;
            }
        }
        out
    };
    let along_rows = pass(field, cols, 1, rows, cols);
    pass(&along_rows, rows, cols, cols, 1)
}

/// The cloud-distance weight of one observation: its two smoothed coarse masks and its
/// feather.
#[derive(Debug, Clone)]
pub struct CloudWeight {
    small: CellField,
    large: CellField,
    feather: Feather,
}

impl CloudWeight {
    /// From the counts per coarse cell (`cell` pixels wide; row-major, `rows` × `cols`) of
    /// valid pixels and of cloudy pixels among them, and the feather, for an image `width`
    /// pixels wide.
    pub fn new(
        cell: usize,
        (rows, cols): (usize, usize),
        (valid, cloudy): (&[u32], &[u32]),
        feather: Feather,
        width: usize,
        p: &WeightParams,
    ) -> CloudWeight {
        let mask: Vec<f64> = valid
            .iter()
            .zip(cloudy)
            .map(|(&v, &c)| f64::from(u8::from(v > 0 && 2 * c > v)))
            .collect();
        let field =
            |sigma| CellField::new(cell, (rows, cols), smooth(&mask, rows, cols, sigma), width);
        CloudWeight {
            small: field(p.sigma_small),
            large: field(p.sigma_large),
            feather,
        }
    }

    /// W_cloud, feather included, along image row `line` into `out` (one value per pixel).
    pub fn row(&self, line: usize, out: &mut [f64]) {
        let mut large = vec![0.0; out.len()];
        self.large.row(line, &mut large, |v, o| *o = v.abs());
        self.small.row(line, out, |v, o| *o = v.abs());
        for (o, l) in out.iter_mut().zip(large) {
            *o = if *o >= 1.0 || l >= 1.0 {
                0.0
            } else {
                (1.0 - *o) * (1.0 - l)
            };
        }
        self.feather.apply(line, out);
    }

    /// W_cloud at pixel `(line, col)`.
    pub fn at(&self, line: usize, col: usize) -> f64 {
        let mut row = vec![0.0; self.small.columns.len()];
        self.row(line, &mut row);
        row[col]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> WeightParams {
        WeightParams {
            aot_weight_max: 1.0,
            aot_weight_min: 0.33,
            aot_max: 0.8,
            date_weight_min: 0.5,
            half_window_days: 11,
            coarse_m: 240.0,
            sigma_small: 2.0,
            sigma_large: 10.0,
        }
    }

    #[test]
    fn aot_and_date_weights_follow_the_lines() {
        let p = params();
        assert_eq!(p.aot(0.0), 1.0);
        assert!((p.aot(0.4) - (0.33 + 0.67 * 0.5)).abs() < 1e-12);
        assert_eq!(p.aot(0.8), 0.33);
        assert_eq!(p.aot(2.0), 0.33);
        assert_eq!(p.date(0), 1.0);
        // WASP's integer division would give 1 here
        assert!((p.date(-5) - (1.0 - 5.0 / 11.0 * 0.5)).abs() < 1e-12);
        assert_eq!(p.date(11), 0.5);
        assert_eq!(p.date(30), 0.5);
    }

    #[test]
    fn smoothing_keeps_mass_and_matches_the_gaussian() {
        // one cloudy cell in the middle of a 41 × 41 grid: the smoothed field is the kernel's
        // outer product, summing to 1
        let n = 41;
        let mut f = vec![0.0; n * n];
        f[20 * n + 20] = 1.0;
        let s = smooth(&f, n, n, 2.0);
        let total: f64 = s.iter().sum();
        assert!((total - 1.0).abs() < 1e-12, "{total}");
        let k = kernel(2.0);
        assert_eq!(k.len(), 17);
        let g = |x: f64| (-0.5 * x * x / 4.0).exp();
        let norm: f64 = (-8..=8).map(|x| g(x as f64)).sum();
        assert!((s[23 * n + 19] - g(3.0) * g(1.0) / (norm * norm)).abs() < 1e-15);
    }

    #[test]
    fn distance_is_euclidean() {
        let (rows, cols) = (7, 9);
        let mut sites = vec![false; rows * cols];
        sites[2 * cols + 3] = true;
        sites[6 * cols + 8] = true;
        let d = distance(&sites, rows, cols).unwrap();
        for r in 0..rows {
            for c in 0..cols {
                let e =
                    |(y, x): (f64, f64)| ((r as f64 - y).powi(2) + (c as f64 - x).powi(2)).sqrt();
                let want = e((2.0, 3.0)).min(e((6.0, 8.0)));
                assert!((d[r * cols + c] - want).abs() < 1e-12, "{r} {c}");
            }
        }
        assert!(distance(&[false; 4], 2, 2).is_none());
        // the feather: 0 on a cloudy cell, 1 from 240 m (12 cells of 20 m) on
        let mut sites = vec![false; 40 * 40];
        sites[0] = true;
        let f = Feather::new(4, 5.0, (40, 40), &sites, 160);
        let f = |line: usize, col: usize| {
            let mut row = vec![1.0; 160];
            f.apply(line, &mut row);
            row[col]
        };
        assert_eq!(f(1, 1), 0.0);
        assert_eq!(f(159, 159), 1.0);
        // column 25: (25.5 / 4 − 0.5) = 5.875 cells from the cloudy cell's centre
        assert!((f(1, 25) - 5.875 * 20.0 / 240.0).abs() < 1e-12);
    }

    #[test]
    fn cloud_weight_is_zero_under_a_large_cloud_and_one_far_from_clouds() {
        let p = params();
        // 60 × 60 cells of 4 pixels; the left third cloudy
        let (rows, cols) = (60, 60);
        let valid = vec![16u32; rows * cols];
        let cloudy: Vec<u32> = (0..rows * cols)
            .map(|i| if i % cols < 20 { 9 } else { 0 })
            .collect();
        let none = || Feather::new(4, 5.0, (rows, cols), &vec![false; rows * cols], 240);
        let w = CloudWeight::new(4, (rows, cols), (&valid, &cloudy), none(), 240, &p);
        assert!(w.at(120, 20) < 0.05, "{}", w.at(120, 20));
        assert!(w.at(120, 239) > 0.9, "{}", w.at(120, 239));
        // the weight rises away from the cloud edge
        let profile: Vec<f64> = (80..240).step_by(8).map(|c| w.at(120, c)).collect();
        assert!(profile.windows(2).all(|p| p[1] >= p[0]), "{profile:?}");
        // under half cloudy is a clear cell
        let few: Vec<u32> = cloudy.iter().map(|&c| c.min(8)).collect();
        let w = CloudWeight::new(4, (rows, cols), (&valid, &few), none(), 240, &p);
        assert_eq!(w.at(120, 20), 1.0);
    }
}
