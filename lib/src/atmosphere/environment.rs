//! The adjacency effect's weighting of the ground around a target: 6S's environment
//! function and the windows that apply it to a raster of cells (nested squares read from
//! summed-area tables). The simulator's forward model and the L2 processor's environment
//! correction both weight the environment with it; `bins/vip-maccs/tests/adjacency_6s.rs` holds
//! it against 6S run over a disc in a contrasting surround.

use rayon::prelude::*;
use serde::Serialize;

use super::{BandLuts, Conditions};

/// 6S's environment function (`ENVIRO.f`, sensor at satellite level; Vermote et al. 1997,
/// 6S manual): the share F(r) of a band's diffuse upward transmission that comes from the
/// ground within r of the target, so that the environment reflectance is ∫ ρ dF. Its
/// Rayleigh and aerosol parts, fitted at nadir and corrected for the view zenith angle, are
/// weighted by their diffuse upward transmissions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EnvFunction {
    /// Cosine of the view zenith angle.
    pub mu_v: f64,
    /// Aerosol share of the diffuse upward transmission, t_dif,A / (t_dif,A + t_dif,R).
    pub aerosol: f64,
}

impl EnvFunction {
    /// The function of a band under `c`, from its LUTs: the Rayleigh diffuse upward
    /// transmission is the one at AOT 0, the aerosol one that of the aerosols alone taking
    /// the total transmissions as Rayleigh × aerosol.
    pub fn of(luts: &BandLuts, c: &Conditions) -> Self {
        let at = luts.at_geometry(c.sza, c.vza, c.raa);
        let (t, r) = (at.terms(c.alt, c.aot, c.wv), at.terms(c.alt, 0.0, c.wv));
        let dif_r = r.t_up - r.t_up_dir;
        let dif_a = (t.t_up / r.t_up - t.t_up_dir / r.t_up_dir).max(0.0);
        EnvFunction {
            mu_v: c.vza.to_radians().cos(),
            aerosol: if dif_a + dif_r > 0.0 {
                dif_a / (dif_a + dif_r)
            } else {
                0.0
            },
        }
    }

    /// F(r), r in kilometres.
    pub fn at(&self, r_km: f64) -> f64 {
        let x = self.mu_v.ln();
        let fr0 = 1.0 - 0.930 * (-0.080 * r_km).exp() - 0.070 * (-1.100 * r_km).exp();
        let fa0 = 1.0 - 0.448 * (-0.27 * r_km).exp() - 0.552 * (-2.83 * r_km).exp();
        let fr = fr0 * (x * (1.0 - fr0) + 1.0);
        let (a0, b0, a1, b1) = (1.3347, 0.57757, -1.479, -1.5275);
        let fa = fa0
            * ((1.0 + a0 * x + b0 * x * x)
                + fa0 * (a1 * x + b1 * x * x)
                + fa0 * fa0 * ((-a1 - a0) * x + (-b1 - b0) * x * x));
        self.aerosol * fa + (1.0 - self.aerosol) * fr
    }
}

/// Summed-area table of a raster.
#[derive(Debug, Clone, PartialEq)]
pub struct SummedArea {
    width: usize,
    height: usize,
    sums: Vec<f64>,
}

impl SummedArea {
    /// The table of the `width` × `height` raster whose cell k (row major) holds `value(k)`.
    pub fn new(width: usize, height: usize, value: impl Fn(usize) -> f64) -> Self {
        let mut sums = vec![0.0f64; (width + 1) * (height + 1)];
        for r in 0..height {
            let mut row = 0.0;
            for c in 0..width {
                row += value(r * width + c);
                sums[(r + 1) * (width + 1) + c + 1] = sums[r * (width + 1) + c + 1] + row;
            }
        }
        SummedArea {
            width,
            height,
            sums,
        }
    }

    /// Sum and number of the cells within `half` cells (a square) of cell (row, col).
    fn square(&self, row: usize, col: usize, half: usize) -> (f64, usize) {
        let (r0, r1) = (row.saturating_sub(half), (row + half + 1).min(self.height));
        let (c0, c1) = (col.saturating_sub(half), (col + half + 1).min(self.width));
        let w = self.width + 1;
        let s = self.sums[r1 * w + c1] - self.sums[r0 * w + c1] - self.sums[r1 * w + c0]
            + self.sums[r0 * w + c0];
        (s, (r1 - r0) * (c1 - c0))
    }
}

/// A weighting of the cells around a centre cell made of nested squares centred on it, each
/// with a weight per cell: a box, or a radially decreasing function approximated by rings.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// Per square: half side in cells, weight per cell.
    squares: Vec<(usize, f64)>,
}

/// Squares of [`Window::environment`] one cell apart up to this half side, then growing by
/// [`RING_GROWTH`].
const RING_CELLS: usize = 8;
const RING_GROWTH: f64 = 1.25;

impl Window {
    /// The square of side `side_m` (rounded down to an odd number of cells of `cell_m`).
    pub fn square(side_m: f64, cell_m: f64) -> Self {
        Window {
            squares: vec![((side_m / cell_m / 2.0).floor() as usize, 1.0)],
        }
    }

    /// The weighting of `f` out to `reach` cells from the centre: each ring between
    /// consecutive squares gets what F gives the annulus of the same area, spread evenly over
    /// its cells.
    pub fn environment(f: &EnvFunction, cell_m: f64, reach: usize) -> Self {
        let mut halves = vec![0];
        while halves[halves.len() - 1] < reach {
            let h = halves[halves.len() - 1];
            let next = if h < RING_CELLS {
                h + 1
            } else {
                (h as f64 * RING_GROWTH).ceil() as usize
            };
            halves.push(next.min(reach));
        }
        let cells = |h: usize| ((2 * h + 1) * (2 * h + 1)) as f64;
        // F of the disc of the area of the square of half side h
        let within =
            |h: usize| f.at((2 * h + 1) as f64 * cell_m / std::f64::consts::PI.sqrt() / 1000.0);
        let density: Vec<f64> = halves
            .iter()
            .enumerate()
            .map(|(k, &h)| match k {
                0 => within(h) / cells(h),
                _ => {
                    let g = halves[k - 1];
                    (within(h) - within(g)) / (cells(h) - cells(g))
                }
            })
            .collect();
        Window {
            squares: halves
                .iter()
                .enumerate()
                .map(|(k, &h)| (h, density[k] - density.get(k + 1).unwrap_or(&0.0)))
                .collect(),
        }
    }

    /// The weighted mean of the raster of `sat` around cell (row, col), over the part of the
    /// window inside the raster.
    pub fn mean_at(&self, sat: &SummedArea, row: usize, col: usize) -> f64 {
        let (mut sum, mut weight) = (0.0, 0.0);
        for &(half, w) in &self.squares {
            let (s, n) = sat.square(row, col, half);
            sum += w * s;
            weight += w * n as f64;
        }
        sum / weight
    }

    /// The weighted sum around cell (row, col) of the raster of `sat`, over the part of the
    /// window inside the raster. The weighted mean of a raster given as sums (each cell's sum
    /// and how many samples it summed; cells without samples count for nothing) is the
    /// weighted sum of the sums over that of the counts.
    pub fn weighted_sum_at(&self, sat: &SummedArea, row: usize, col: usize) -> f64 {
        let mut sum = 0.0;
        for &(half, w) in &self.squares {
            sum += w * sat.square(row, col, half).0;
        }
        sum
    }

    /// [`Window::weighted_sum_at`] at every cell of the raster of `sat`, row major, with the
    /// same sums: taken square by square along each row, so that the table is read in runs
    /// and not at four far-apart corners per square and cell.
    pub fn weighted_sums(&self, sat: &SummedArea) -> Vec<f64> {
        let (width, height, stride) = (sat.width, sat.height, sat.width + 1);
        let mut out = vec![0.0; width * height];
        out.par_chunks_mut(width.max(1))
            .enumerate()
            .for_each(|(row, out)| {
                for &(half, w) in &self.squares {
                    let (r0, r1) = (row.saturating_sub(half), (row + half + 1).min(height));
                    let top = &sat.sums[r0 * stride..(r0 + 1) * stride];
                    let bottom = &sat.sums[r1 * stride..(r1 + 1) * stride];
                    let add = |o: &mut f64, (b1, t1, b0, t0): (f64, f64, f64, f64)| {
                        *o += w * (b1 - t1 - b0 + t0);
                    };
                    // the columns whose square lies across the raster: runs of the table
                    let a = half.min(width);
                    let b = width.saturating_sub(half + 1).max(a);
                    if a < b {
                        let (right, left) = (a + half + 1..b + half + 1, a - half..b - half);
                        let runs = bottom[right.clone()].iter().zip(&top[right]);
                        let runs = runs.zip(bottom[left.clone()].iter().zip(&top[left]));
                        for (o, ((&b1, &t1), (&b0, &t0))) in out[a..b].iter_mut().zip(runs) {
                            add(o, (b1, t1, b0, t0));
                        }
                    }
                    // and those whose square meets the left or right edge
                    for col in (0..a).chain(b..width) {
                        let (c0, c1) = (col.saturating_sub(half), (col + half + 1).min(width));
                        add(&mut out[col], (bottom[c1], top[c1], bottom[c0], top[c0]));
                    }
                }
            });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_weighted_sums_of_every_cell_are_those_of_each_cell() {
        let (w, h) = (37, 23);
        let sat = SummedArea::new(w, h, |k| ((k * 7919) % 101) as f64 / 10.0);
        let f = EnvFunction {
            mu_v: 0.95,
            aerosol: 0.6,
        };
        for window in [
            Window::environment(&f, 50.0, 40),
            Window::square(250.0, 50.0),
        ] {
            let all = window.weighted_sums(&sat);
            for (k, v) in all.iter().enumerate() {
                assert_eq!(*v, window.weighted_sum_at(&sat, k / w, k % w), "cell {k}");
            }
        }
    }
}
