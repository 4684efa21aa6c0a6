//! The coarse grid of the L2 processing: cell statistics of the L1C (one streaming pass),
//! the geometry of each cell, water vapour and AOT per cell, and the atmospheric terms at the
//! cell centres that the full-resolution correction interpolates.

use rayon::prelude::*;

use super::Params;
use crate::atmosphere::aot::{self, Equations, Residual};
use crate::atmosphere::environment::{EnvFunction, SummedArea, Window};
use crate::atmosphere::field::{bracket, Field};
use crate::atmosphere::surface::{AdjacencyTerms, PixelTerms, PIXEL_TERMS};
use crate::atmosphere::table::Axis;
use crate::atmosphere::vapour;
use crate::atmosphere::{AtGeometry, BandLuts, Conditions, LutSet};
use crate::mission::venus::BANDS;

/// Number of bands.
pub const NB: usize = 12;

/// The coarse grid: cells of `f` × `f` product pixels (the last row and column of cells may
/// be cut by the image edge); cell (r, c) has its centre at pixel (r·f + f/2, c·f + f/2).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid {
    pub f: usize,
    pub rows: usize,
    pub cols: usize,
}

impl Grid {
    pub fn new(lines: usize, cols: usize, f: usize) -> Grid {
        let f = f.max(1);
        Grid {
            f,
            rows: lines.div_ceil(f),
            cols: cols.div_ceil(f),
        }
    }

    pub fn cells(&self) -> usize {
        self.rows * self.cols
    }

    /// Index of the cell holding product pixel (`r`, `c`).
    pub fn cell(&self, r: usize, c: usize) -> usize {
        self.cell_row(r) * self.cols + self.cell_col(c)
    }

    /// Row of the cells holding product row `r`.
    pub fn cell_row(&self, r: usize) -> usize {
        (r / self.f).min(self.rows - 1)
    }

    /// Column of the cells holding product column `c`.
    pub fn cell_col(&self, c: usize) -> usize {
        (c / self.f).min(self.cols - 1)
    }

    /// Fractional cell coordinate of product pixel index `p` (cell centres at 0, 1, ...).
    pub fn frac(&self, p: usize) -> f64 {
        (p as f64 + 0.5) / self.f as f64 - 0.5
    }

    /// Pixel coordinate (fractional, from the image corner) of the centre of cell index `i`.
    pub fn centre(&self, i: usize) -> f64 {
        (i as f64 + 0.5) * self.f as f64
    }
}

/// What one cell accumulates over its pixels in the first pass.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CellSums {
    /// Pixels, and the sum, min and max of their altitude.
    pub n: f64,
    pub alt: f64,
    pub alt_min: f64,
    pub alt_max: f64,
    /// Pixels seen in every band (non-negative TOA; saturated or cloudy ones included: they
    /// light their neighbours too; their TOA sums are on the environment grid, [`EnvSums`]).
    pub n_valid: f64,
    /// Among those not saturated nor cloudy: dark-vegetation pixels and their TOA sums in
    /// every band.
    pub n_dark: f64,
    pub dark: [f64; NB],
    /// Pixels bright enough for water vapour and their reference, absorbing and continuum
    /// TOA sums.
    pub n_wv: f64,
    pub wv: [f64; 3],
}

impl CellSums {
    /// Adds one pixel of altitude `h`; `toa` when seen in every band, `clean` when it is
    /// neither saturated nor cloudy (usable for estimation).
    pub fn add(&mut self, h: f64, toa: Option<&[f64; NB]>, clean: bool, p: &Params) {
        if self.n == 0.0 {
            self.alt_min = h;
            self.alt_max = h;
        }
        self.n += 1.0;
        self.alt += h;
        self.alt_min = self.alt_min.min(h);
        self.alt_max = self.alt_max.max(h);
        let Some(t) = toa else { return };
        self.n_valid += 1.0;
        if !clean {
            return;
        }
        if p.is_dark_vegetation(t) {
            self.n_dark += 1.0;
            for (s, v) in self.dark.iter_mut().zip(t) {
                *s += v;
            }
        }
        if t[p.wv_reference] > p.wv_reference_min {
            self.n_wv += 1.0;
            self.wv[2] += p.wv_continuum.map_or(0.0, |b| t[b]);
            self.wv[0] += t[p.wv_reference];
            self.wv[1] += t[p.wv_absorbing];
        }
    }

    /// Adds the sums of `o` (in a fixed order, so results do not depend on threads).
    pub fn merge(&mut self, o: &CellSums) {
        if o.n == 0.0 {
            return;
        }
        if self.n == 0.0 {
            *self = *o;
            return;
        }
        self.n += o.n;
        self.alt += o.alt;
        self.alt_min = self.alt_min.min(o.alt_min);
        self.alt_max = self.alt_max.max(o.alt_max);
        self.n_valid += o.n_valid;
        self.n_dark += o.n_dark;
        self.n_wv += o.n_wv;
        for (s, v) in self.dark.iter_mut().zip(&o.dark) {
            *s += v;
        }
        for k in 0..3 {
            self.wv[k] += o.wv[k];
        }
    }

    pub fn mean_alt(&self) -> f64 {
        self.alt / self.n
    }
}

/// What one cell of the environment grid accumulates in the first pass: its pixels seen in
/// every band, their altitude and TOA sums.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EnvSums {
    pub n: f64,
    pub alt: f64,
    pub toa: [f64; NB],
    /// Dark-vegetation pixels (as [`CellSums`] counts them) and their blue and red TOA sums.
    pub n_dark: f64,
    pub dark: [f64; 2],
}

impl EnvSums {
    /// Adds one pixel of altitude `h` seen in every band; `clean` as in [`CellSums::add`].
    pub fn add(&mut self, h: f64, toa: &[f64; NB], clean: bool, p: &Params) {
        self.n += 1.0;
        self.alt += h;
        for (s, v) in self.toa.iter_mut().zip(toa) {
            *s += v;
        }
        if clean && p.is_dark_vegetation(toa) {
            self.n_dark += 1.0;
            self.dark[0] += toa[p.blue];
            self.dark[1] += toa[p.red];
        }
    }

    /// Adds the sums of `o` (in a fixed order, so results do not depend on threads).
    pub fn merge(&mut self, o: &EnvSums) {
        self.n += o.n;
        self.alt += o.alt;
        self.n_dark += o.n_dark;
        self.dark[0] += o.dark[0];
        self.dark[1] += o.dark[1];
        for (s, v) in self.toa.iter_mut().zip(&o.toa) {
            *s += v;
        }
    }
}

/// Sun and view directions of one cell: sun zenith/azimuth and, per band, view
/// zenith/azimuth (degrees).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellGeometry {
    pub sun: (f64, f64),
    pub view: [(f64, f64); NB],
}

impl CellGeometry {
    /// LUT conditions of band `b` (relative azimuth folded to 0–180°, 0 = backscattering).
    pub fn conditions(&self, b: usize, aot: f64, wv: f64, alt: f64) -> Conditions {
        let d = (self.sun.1 - self.view[b].1).abs().rem_euclid(360.0);
        Conditions {
            sza: self.sun.0,
            vza: self.view[b].0,
            raa: if d > 180.0 { 360.0 - d } else { d },
            aot,
            wv,
            alt,
        }
    }

    /// The LUTs `luts` of band `b` at this geometry, for its terms at many AOTs, altitudes or
    /// water-vapour columns.
    pub fn at<'a>(&self, b: usize, luts: &'a BandLuts) -> AtGeometry<'a> {
        let k = self.conditions(b, 0.0, 0.0, 0.0);
        luts.at_geometry(k.sza, k.vza, k.raa)
    }
}

/// Everything the coarse estimation works on.
pub struct Coarse<'a> {
    pub grid: Grid,
    /// The environment grid, its cell side (metres) and its sums.
    pub fine: Grid,
    pub env_cell_m: f64,
    pub env_sums: &'a [EnvSums],
    pub cells: &'a [CellSums],
    pub geometry: &'a [CellGeometry],
    pub luts: &'a [&'a BandLuts],
    pub params: &'a Params,
}

/// A field on the coarse grid and which of its cells were filled in (no estimate of their own).
#[derive(Debug, Clone)]
pub struct Estimate {
    pub field: Field,
    pub filled: Vec<bool>,
}

impl Coarse<'_> {
    /// Water vapour per cell from the B11/B12 pair (B12's continuum extrapolated from B10 and
    /// B11) at the given AOT, gap-filled and smoothed.
    pub fn water_vapour(&self, aot: &Field, max_wv: f64) -> Estimate {
        let p = self.params;
        let (rf, ab) = (self.luts[p.wv_reference], self.luts[p.wv_absorbing]);
        let data: Vec<f64> = (0..self.grid.cells())
            .into_par_iter()
            .map(|i| {
                let c = &self.cells[i];
                if c.n_wv < p.min_pixels {
                    return f64::NAN;
                }
                let cond =
                    self.geometry[i].conditions(p.wv_absorbing, aot.data[i], 0.0, c.mean_alt());
                let (r, a) = (c.wv[0] / c.n_wv, c.wv[1] / c.n_wv);
                let continuum = p.wv_continuum.map(|b| vapour::Continuum {
                    luts: self.luts[b],
                    toa: c.wv[2] / c.n_wv,
                    k: (BANDS[p.wv_absorbing].centre_nm - BANDS[p.wv_reference].centre_nm)
                        / (BANDS[p.wv_reference].centre_nm - BANDS[b].centre_nm),
                });
                vapour::retrieve(rf, ab, r, a, continuum, &cond, max_wv).unwrap_or(f64::NAN)
            })
            .collect();
        self.finish(data, p.default_wv, p.wv_sigma)
    }

    /// AOT per cell by the multi-spectral (dark vegetation) method over a window of cells,
    /// plus any other `extra` equations (the multi-temporal hook), gap-filled and smoothed.
    pub fn aot(&self, wv: &Field, nodes: &[f64], extra: Option<&dyn Equations>) -> Estimate {
        let p = self.params;
        let ms = MultiSpectral::new(self, wv, nodes);
        let g = self.grid;
        let h = p.aot_half_window;
        let data: Vec<f64> = (0..g.cells())
            .into_par_iter()
            .map(|i| {
                let (r, c) = (i / g.cols, i % g.cols);
                let mut eqs = Vec::new();
                for rr in r.saturating_sub(h)..(r + h + 1).min(g.rows) {
                    for cc in c.saturating_sub(h)..(c + h + 1).min(g.cols) {
                        ms.equations(rr, cc, &mut eqs);
                        if let Some(x) = extra {
                            x.equations(rr, cc, &mut eqs);
                        }
                    }
                }
                if eqs.len() < p.min_dark_cells {
                    return f64::NAN;
                }
                aot::minimise(nodes, &eqs).unwrap_or(f64::NAN)
            })
            .collect();
        self.finish(data, p.default_aot, p.aot_sigma)
    }

    /// Gap filling (or `default` everywhere when no cell has a value) and smoothing.
    fn finish(&self, data: Vec<f64>, default: f64, sigma: f64) -> Estimate {
        let mut field = Field {
            rows: self.grid.rows,
            cols: self.grid.cols,
            data,
        };
        let filled = match field.fill_gaps(1.0) {
            Some(f) => f,
            None => {
                field.data.iter_mut().for_each(|v| *v = default);
                vec![true; field.data.len()]
            }
        };
        Estimate {
            field: field.smoothed(sigma),
            filled,
        }
    }

    /// Terms of every band at every cell centre, linear in altitude: per band, per cell,
    /// `PIXEL_TERMS` pairs (a, b) with term(h) = a + b·h, fitted at the lowest and highest
    /// altitude of the cell and its neighbours (altitudes clamped to `alt_range`).
    pub fn node_terms(
        &self,
        aot: &Field,
        wv: &Field,
        alt_range: (f64, f64),
    ) -> Vec<Vec<NodeTerms>> {
        let g = self.grid;
        (0..NB)
            .into_par_iter()
            .map(|b| {
                (0..g.cells())
                    .map(|i| {
                        let (r, c) = (i / g.cols, i % g.cols);
                        let (mut lo, mut hi) = (f64::MAX, f64::MIN);
                        for rr in r.saturating_sub(1)..(r + 2).min(g.rows) {
                            for cc in c.saturating_sub(1)..(c + 2).min(g.cols) {
                                let s = &self.cells[rr * g.cols + cc];
                                if s.n > 0.0 {
                                    lo = lo.min(s.alt_min);
                                    hi = hi.max(s.alt_max);
                                }
                            }
                        }
                        let lo = lo.clamp(alt_range.0, alt_range.1);
                        let hi = hi.clamp(alt_range.0, alt_range.1).max(lo);
                        let luts = self.geometry[i].at(b, self.luts[b]);
                        let at = |h: f64| {
                            PixelTerms::from(&luts.terms(h, aot.data[i], wv.data[i])).to_array()
                        };
                        let t_lo = at(lo);
                        let t_hi = if hi - lo > 1.0 { at(hi) } else { t_lo };
                        let mut out = [0.0; 2 * PIXEL_TERMS];
                        for k in 0..PIXEL_TERMS {
                            let slope = if hi - lo > 1.0 {
                                (t_hi[k] - t_lo[k]) / (hi - lo)
                            } else {
                                0.0
                            };
                            out[2 * k] = t_lo[k] - slope * lo;
                            out[2 * k + 1] = slope;
                        }
                        out
                    })
                    .collect()
            })
            .collect()
    }

    /// 6S's environment function of band `b` at the scene centre under `aot` and `wv`.
    pub fn env_function(&self, b: usize, aot: f64, wv: f64) -> EnvFunction {
        let g = self.grid;
        let centre = (g.rows / 2) * g.cols + g.cols / 2;
        let alt = self
            .cells
            .iter()
            .filter(|s| s.n > 0.0)
            .map(|s| s.mean_alt())
            .fold((0.0, 0.0), |(s, n), h| (s + h, n + 1.0));
        let alt = if alt.1 > 0.0 { alt.0 / alt.1 } else { 0.0 };
        EnvFunction::of(
            self.luts[b],
            &self.geometry[centre].conditions(b, aot, wv, alt),
        )
    }

    /// Environment reflectance per band on the environment grid: each cell's uniform-surface
    /// reflectance of its mean TOA, with the terms interpolated from the coarse nodes at its
    /// mean altitude, weighted by 6S's environment function of the band (`functions`); see
    /// [`environment`].
    pub fn environment(&self, nodes: &[Vec<NodeTerms>], functions: &[EnvFunction]) -> Vec<Field> {
        let (g, fine, sums) = (self.grid, self.fine, self.env_sums);
        let reach = fine.rows.max(fine.cols);
        let counts: Vec<f64> = sums.iter().map(|s| s.n).collect();
        (0..NB)
            .into_par_iter()
            .map(|b| {
                // of each cell's terms, only what the adjacency correction reads is held (two
                // bands at a time over the whole grid: the long scene's peak)
                let (terms, uniform): (Vec<AdjacencyTerms>, Vec<f64>) = (0..fine.cells())
                    .map(|k| {
                        let s = &sums[k];
                        // the fine cell's centre in coarse cell coordinates
                        let at = |i: usize, n: usize| bracket(fine.centre(i) / g.f as f64 - 0.5, n);
                        let ((r0, wr), (c0, wc)) =
                            (at(k / fine.cols, g.rows), at(k % fine.cols, g.cols));
                        let (r1, c1) = ((r0 + 1).min(g.rows - 1), (c0 + 1).min(g.cols - 1));
                        let node = |r: usize, c: usize| &nodes[b][r * g.cols + c];
                        let t: NodeTerms = std::array::from_fn(|q| {
                            let top = node(r0, c0)[q] * (1.0 - wc) + node(r0, c1)[q] * wc;
                            let bottom = node(r1, c0)[q] * (1.0 - wc) + node(r1, c1)[q] * wc;
                            top * (1.0 - wr) + bottom * wr
                        });
                        if s.n < 1.0 {
                            return (AdjacencyTerms::default(), f64::NAN);
                        }
                        let t = at_altitude(&t, s.alt / s.n);
                        (t.adjacency_terms(), t.uniform(s.toa[b] / s.n))
                    })
                    .unzip();
                let window = Window::environment(&functions[b], self.env_cell_m, reach);
                environment(fine, &window, &terms, &uniform, &counts)
            })
            .collect()
    }
}

/// Fixed-point passes of the environment estimate: a uniform-surface reflectance is itself
/// blurred by its environment, so its weighted mean over-smooths the environment (dark valleys
/// around bright snow come out too bright, by up to 0.015 at AOT 0.45 in the blue); each pass
/// corrects the cells for the adjacency effect of the previous estimate and averages again.
const ENVIRONMENT_PASSES: usize = 3;

/// The environment reflectance of every cell of grid `g`: the mean, weighted by `window` and
/// by the cells' pixel counts `counts`, of the cells' own reflectance, found from their
/// uniform-surface reflectances `uniform` (NaN where a cell has none) and adjacency terms by
/// [`ENVIRONMENT_PASSES`] fixed-point passes; gaps filled (0 when no cell has a value).
fn environment(
    g: Grid,
    window: &Window,
    terms: &[AdjacencyTerms],
    uniform: &[f64],
    counts: &[f64],
) -> Field {
    let n: Vec<f64> = uniform
        .iter()
        .zip(counts)
        .map(|(u, &c)| if u.is_nan() { 0.0 } else { c })
        .collect();
    let weights = window.weighted_sums(&SummedArea::new(g.cols, g.rows, |k| n[k]));
    let mean = |own: &[f64]| -> Field {
        let sat = SummedArea::new(
            g.cols,
            g.rows,
            |k| if n[k] > 0.0 { own[k] * n[k] } else { 0.0 },
        );
        Field {
            rows: g.rows,
            cols: g.cols,
            data: window
                .weighted_sums(&sat)
                .iter()
                .zip(&weights)
                .map(|(s, w)| s / w)
                .map(|v| if v.is_finite() { v } else { f64::NAN })
                .collect(),
        }
    };
    let mut env = mean(uniform);
    for _ in 0..ENVIRONMENT_PASSES {
        let own: Vec<f64> = uniform
            .iter()
            .zip(terms)
            .zip(&env.data)
            .map(|((u, t), e)| {
                if u.is_nan() || e.is_nan() {
                    *u
                } else {
                    t.correct(*u, *e)
                }
            })
            .collect();
        env = mean(&own);
    }
    if env.fill_gaps(1.0).is_none() {
        env.data.iter_mut().for_each(|v| *v = 0.0);
    }
    env
}

/// Terms of one band at one node: (a, b) pairs, term(h) = a + b·h.
pub type NodeTerms = [f64; 2 * PIXEL_TERMS];

/// The terms of a node at altitude `h`.
pub fn at_altitude(t: &NodeTerms, h: f64) -> PixelTerms {
    PixelTerms::from_array(std::array::from_fn(|k| t[2 * k] + t[2 * k + 1] * h))
}

/// The multi-spectral search computes the environment at every this many of its AOT nodes and
/// interpolates it between them (cubic Lagrange, as the LUTs): the environment varies slowly
/// with the AOT, and computing it at each of the 17 nodes took a tenth of the L2's time.
const ENV_NODE_STRIDE: usize = 4;

/// Multi-spectral equations: per cell with enough dark vegetation, the relation's residual for
/// the surface blue and red reflectances of its dark vegetation, tabulated over the AOT nodes
/// and weighted by the number of pixels. The reflectances are corrected for the adjacency
/// effect as the image will be, on the environment grid (at each AOT node, the environment of
/// every environment cell from 6S's function; each cell's dark pixels corrected with their
/// own environment, then averaged over the coarse cell): dark vegetation next to bright soil
/// would otherwise look bluer than it is and bias the AOT.
struct MultiSpectral {
    cols: usize,
    residuals: Vec<Option<Residual>>,
}

impl MultiSpectral {
    fn new(c: &Coarse, wv: &Field, nodes: &[f64]) -> Self {
        let p = c.params;
        let (g, fine) = (c.grid, c.fine);
        let wv_centre = wv.data[(g.rows / 2) * g.cols + g.cols / 2];
        let counts: Vec<f64> = c.env_sums.iter().map(|s| s.n).collect();
        // the coarse cell of each environment cell
        let coarse_of: Vec<usize> = (0..fine.cells())
            .map(|k| {
                let (r, col) = (k / fine.cols, k % fine.cols);
                let at = |i: usize, n: usize| ((fine.centre(i) / g.f as f64) as usize).min(n - 1);
                at(r, g.rows) * g.cols + at(col, g.cols)
            })
            .collect();
        // per band and node, the dark vegetation of each coarse cell corrected for adjacency
        let corrected = |b: usize, dark_sum: usize| -> Vec<Option<Vec<f64>>> {
            let luts: Vec<Option<AtGeometry>> = (0..g.cells())
                .into_par_iter()
                .map(|i| (c.cells[i].n > 0.0).then(|| c.geometry[i].at(b, c.luts[b])))
                .collect();
            let terms_at = |aot: f64| -> Vec<PixelTerms> {
                let coarse_terms: Vec<PixelTerms> = (0..g.cells())
                    .map(|i| match &luts[i] {
                        None => PixelTerms::default(),
                        Some(l) => {
                            PixelTerms::from(&l.terms(c.cells[i].mean_alt(), aot, wv.data[i]))
                        }
                    })
                    .collect();
                coarse_of.iter().map(|&i| coarse_terms[i]).collect()
            };
            // the environment at every ENV_NODE_STRIDE-th node, interpolated between them
            let env_axis = Axis::new(
                "AOT",
                nodes
                    .iter()
                    .enumerate()
                    .filter(|&(k, _)| k % ENV_NODE_STRIDE == 0 || k + 1 == nodes.len())
                    .map(|(_, &a)| a)
                    .collect(),
            );
            let envs: Vec<Field> = env_axis
                .values
                .par_iter()
                .map(|&aot| {
                    let terms = terms_at(aot);
                    let uniform: Vec<f64> = c
                        .env_sums
                        .iter()
                        .zip(&terms)
                        .map(|(s, t)| {
                            if s.n < 1.0 {
                                f64::NAN
                            } else {
                                t.uniform(s.toa[b] / s.n)
                            }
                        })
                        .collect();
                    let f = c.env_function(b, aot, wv_centre);
                    let window = Window::environment(&f, c.env_cell_m, fine.rows.max(fine.cols));
                    let terms: Vec<AdjacencyTerms> =
                        terms.iter().map(PixelTerms::adjacency_terms).collect();
                    environment(fine, &window, &terms, &uniform, &counts)
                })
                .collect();
            let per_node: Vec<Vec<f64>> = nodes
                .par_iter()
                .map(|&aot| {
                    let terms = terms_at(aot);
                    let (weights, _) = env_axis.weights(aot);
                    let mut sums = vec![(0.0, 0.0); g.cells()];
                    for (k, s) in c.env_sums.iter().enumerate() {
                        if s.n_dark > 0.0 {
                            let t = &terms[k];
                            let env: f64 = weights.iter().map(|(i, w)| w * envs[i].data[k]).sum();
                            let v = t.surface(s.dark[dark_sum] / s.n_dark, env);
                            let acc = &mut sums[coarse_of[k]];
                            acc.0 += s.n_dark * v;
                            acc.1 += s.n_dark;
                        }
                    }
                    sums.iter().map(|(v, n)| v / n).collect()
                })
                .collect();
            (0..g.cells())
                .map(|i| {
                    (c.cells[i].n_dark >= p.min_pixels && c.cells[i].n_valid >= p.min_pixels)
                        .then(|| per_node.iter().map(|v| v[i]).collect())
                })
                .collect()
        };
        let blue = corrected(p.blue, 0);
        let red = corrected(p.red, 1);
        let residuals = blue
            .into_iter()
            .zip(red)
            .enumerate()
            .map(|(i, (b, r))| Some(p.dark_vegetation.residual(c.cells[i].n_dark, &b?, &r?)))
            .collect();
        MultiSpectral {
            cols: g.cols,
            residuals,
        }
    }
}

impl Equations for MultiSpectral {
    fn equations(&self, row: usize, col: usize, out: &mut Vec<Residual>) {
        if let Some(r) = &self.residuals[row * self.cols + col] {
            out.push(r.clone());
        }
    }
}

/// The tables of each band, in band order.
pub fn band_luts<'a>(luts: &'a LutSet, path: &std::path::Path) -> crate::Result<Vec<&'a BandLuts>> {
    BANDS
        .iter()
        .map(|b| {
            luts.band(b.code).ok_or_else(|| {
                crate::VipError::bad_input(
                    path,
                    format!(
                        "LUT set of aerosol model {} has no tables for {}",
                        luts.model, b.code
                    ),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cover_the_image_and_centres_line_up() {
        let g = Grid::new(100, 130, 48);
        assert_eq!((g.rows, g.cols), (3, 3));
        assert_eq!(g.centre(0), 24.0);
        // pixel 23 and 24 straddle the centre of cell 0
        assert!(g.frac(23) < 0.0 && g.frac(24) > 0.0);
        assert!((g.frac(71) - 1.0).abs() < 0.02);
    }

    #[test]
    fn sums_merge_in_any_split() {
        let p = Params::default();
        let t = |k: f64| -> [f64; NB] { std::array::from_fn(|b| 0.05 + 0.01 * b as f64 + k) };
        let mut whole = CellSums::default();
        let mut a = CellSums::default();
        let mut b = CellSums::default();
        for k in 0..10 {
            let v = t(k as f64 * 0.01);
            whole.add(100.0 + k as f64, Some(&v), true, &p);
            if k < 4 { &mut a } else { &mut b }.add(100.0 + k as f64, Some(&v), true, &p);
        }
        a.merge(&b);
        assert_eq!(a.n, whole.n);
        assert_eq!((a.alt_min, a.alt_max), (100.0, 109.0));
        assert_eq!((a.n_valid, a.n_dark), (whole.n_valid, whole.n_dark));
        assert!((a.dark[1] - whole.dark[1]).abs() < 1e-12);
    }
}
