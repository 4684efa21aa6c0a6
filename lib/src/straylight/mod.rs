//! Stray light (type 1, in-band) and cross-talk (type 2) in sensor geometry.
//!
//! Model, on the equalised signal S of each band (image columns are detectors
//! `first_detector + c`; lines of different bands pair by acquisition time):
//!
//! `observed_b = true_b + Σ_strips [c ∈ strip] (K_strip ⊛ true_b|strip±overlap)
//!                      + Σ_sources [c ∈ strip] factor · (K_src ⊛ true_src)(line + Δ, c − shift)`
//!
//! [`Operator`] applies the stray terms at a resolution factor `f`: `f = 1` is exact (the
//! simulator's forward model); the correction works at `f = 4`, where images are 4 × 4 block
//! means and kernels 4 × 4 block sums. A 257 × 257 far-field kernel thus costs a 65 × 65 FFT
//! convolution of a 16-times smaller image: the far field is smooth, so what is lost is the
//! detail of the first few pixels around a bright edge, not the bias on dark areas that stray
//! light is about. The correction solves `true = observed − A(true)` by fixed-point iteration
//! at low resolution (the number of iterations follows from the operator norm bound, so the
//! error is below `TOLERANCE` of the signal), then subtracts the up-sampled stray term from the
//! full-resolution signal.

pub mod fft;

use crate::ee::strlgt::{Kernel, StrayLightFilters};
use crate::mission::venus;

/// Resolution factor of the correction.
pub const FACTOR: usize = 4;
/// Relative error bound the fixed-point iteration runs to.
pub const TOLERANCE: f64 = 1e-6;

/// One band image at resolution factor `f`: `rows` × `cols` block means.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub cols: usize,
    pub rows: usize,
    pub data: Vec<f32>,
}

impl Image {
    /// Block means of a full-resolution image (`f` × `f` blocks; partial blocks at the edges
    /// average what they have).
    pub fn downsample(full: &[f32], cols: usize, rows: usize, f: usize) -> Image {
        let (lc, lr) = (cols.div_ceil(f), rows.div_ceil(f));
        let mut sum = vec![0f64; lc * lr];
        let mut n = vec![0u32; lc * lr];
        for r in 0..rows {
            for c in 0..cols {
                let k = (r / f) * lc + c / f;
                sum[k] += f64::from(full[r * cols + c]);
                n[k] += 1;
            }
        }
        Image {
            cols: lc,
            rows: lr,
            data: sum
                .iter()
                .zip(&n)
                .map(|(s, &n)| (s / f64::from(n.max(1))) as f32)
                .collect(),
        }
    }

    /// Bilinear value at full-resolution pixel (row, col) of an image at factor `f`.
    pub fn upsampled_at(&self, f: usize, row: usize, col: usize) -> f32 {
        let to_low = |v: usize| (v as f64 + 0.5) / f as f64 - 0.5;
        let (y, x) = (to_low(row), to_low(col));
        let y = y.clamp(0.0, (self.rows - 1) as f64);
        let x = x.clamp(0.0, (self.cols - 1) as f64);
        let (y0, x0) = (y.floor() as usize, x.floor() as usize);
        let (y1, x1) = ((y0 + 1).min(self.rows - 1), (x0 + 1).min(self.cols - 1));
        let (fy, fx) = ((y - y0 as f64) as f32, (x - x0 as f64) as f32);
        let at = |r: usize, c: usize| self.data[r * self.cols + c];
        let top = at(y0, x0) * (1.0 - fx) + at(y0, x1) * fx;
        let bottom = at(y1, x0) * (1.0 - fx) + at(y1, x1) * fx;
        top * (1.0 - fy) + bottom * fy
    }
}

/// A kernel at resolution factor `f`: block sums centred on the kernel's centre.
pub fn downsample_kernel(k: &Kernel, f: usize) -> Kernel {
    if f == 1 {
        return k.clone();
    }
    let half = |n: usize| (n / 2).div_ceil(f);
    let (hr, hc) = (half(k.rows), half(k.cols));
    let (rows, cols) = (2 * hr + 1, 2 * hc + 1);
    let mut data = vec![0f32; rows * cols];
    let (cr, cc) = ((k.rows / 2) as isize, (k.cols / 2) as isize);
    let f = f as isize;
    let block = |d: isize| (d + f / 2).div_euclid(f);
    for r in 0..k.rows as isize {
        for c in 0..k.cols as isize {
            let (br, bc) = (block(r - cr) + hr as isize, block(c - cc) + hc as isize);
            data[br as usize * cols + bc as usize] += k.data[(r * k.cols as isize + c) as usize];
        }
    }
    Kernel { rows, cols, data }
}

/// The stray-light operator of a product's bands at one resolution factor.
pub struct Operator<'a> {
    /// Filters per band, B01 first (`None`: no stray light in that band).
    pub filters: &'a [Option<StrayLightFilters>],
    /// Detector of image column 0.
    pub first_detector: usize,
    /// Per band, when its line 0 was acquired, in lines after band B01's line 0: line `l` of
    /// band `b` and line `l + offsets[b] − offsets[s]` of band `s` are acquired together.
    pub line_offsets: Vec<f64>,
    pub factor: usize,
}

impl Operator<'_> {
    /// Upper bound of the operator's norm: the largest, over bands, of the summed absolute
    /// weights it applies (the fixed-point iteration converges when it is below 1).
    pub fn norm_bound(&self) -> f64 {
        self.filters
            .iter()
            .flatten()
            .map(|f| {
                let t1 = f
                    .type1
                    .iter()
                    .map(|t| t.kernel.l1_norm())
                    .fold(0.0, f64::max);
                let t2: f64 = f
                    .type2
                    .iter()
                    .map(|t| {
                        t.kernel.l1_norm()
                            * t.strips.iter().map(|s| s.factor.abs()).fold(0.0, f64::max)
                    })
                    .sum();
                t1 + t2
            })
            .fold(0.0, f64::max)
    }

    /// Image column range (at this factor) of detector columns `first..=last`.
    fn columns(&self, first: usize, last: usize, cols: usize) -> std::ops::Range<usize> {
        let lo = first.saturating_sub(self.first_detector) / self.factor;
        let hi = (last + 1)
            .saturating_sub(self.first_detector)
            .div_ceil(self.factor);
        lo.min(cols)..hi.min(cols)
    }

    /// The stray terms of every band given the true images (all at this operator's factor).
    pub fn apply(&self, truth: &[Image]) -> Vec<Image> {
        use rayon::prelude::*;
        (0..truth.len())
            .into_par_iter()
            .map(|b| self.band(b, truth))
            .collect()
    }

    fn band(&self, b: usize, truth: &[Image]) -> Image {
        let img = &truth[b];
        let (cols, rows) = (img.cols, img.rows);
        let mut out = Image {
            cols,
            rows,
            data: vec![0.0; cols * rows],
        };
        let Some(f) = &self.filters[b] else {
            return out;
        };
        let margin = f.type1_overlap.div_ceil(self.factor);
        for t in &f.type1 {
            let strip = self.columns(t.cols.first, t.cols.last, cols);
            if strip.is_empty() {
                continue;
            }
            let input = (strip.start.saturating_sub(margin))..(strip.end + margin).min(cols);
            let mut masked = vec![0f32; cols * rows];
            for r in 0..rows {
                let row = r * cols;
                masked[row + input.start..row + input.end]
                    .copy_from_slice(&img.data[row + input.start..row + input.end]);
            }
            let k = downsample_kernel(&t.kernel, self.factor);
            let conv = fft::convolve_same(&masked, cols, rows, &k);
            for r in 0..rows {
                for c in strip.clone() {
                    out.data[r * cols + c] += conv[r * cols + c];
                }
            }
        }
        for t in &f.type2 {
            let Some(s) = band_index(&t.source) else {
                continue;
            };
            let src = &truth[s];
            let k = downsample_kernel(&t.kernel, self.factor);
            let conv = fft::convolve_same(&src.data, src.cols, src.rows, &k);
            // Line r of band b is acquired with line r + dl of the source.
            let dl = ((self.line_offsets[b] - self.line_offsets[s]) / self.factor as f64).round()
                as isize;
            for strip in &t.strips {
                let cs = self.columns(strip.cols.first, strip.cols.last, cols);
                let shift = (strip.shift as f64 / self.factor as f64).round() as isize;
                for r in 0..rows {
                    let rs = r as isize + dl;
                    if rs < 0 || rs >= src.rows as isize {
                        continue;
                    }
                    for c in cs.clone() {
                        let cc = c as isize - shift;
                        if cc >= 0 && (cc as usize) < src.cols {
                            out.data[r * cols + c] +=
                                (strip.factor as f32) * conv[rs as usize * src.cols + cc as usize];
                        }
                    }
                }
            }
        }
        out
    }
}

fn band_index(code: &str) -> Option<usize> {
    venus::BANDS.iter().position(|b| b.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ee::strlgt::{ColRange, Type1Filter, Type2Filter, Type2Strip};

    #[test]
    fn kernel_downsampling_keeps_the_energy_and_centre() {
        let k = Kernel {
            rows: 9,
            cols: 9,
            data: (0..81).map(|i| if i == 40 { 1.0 } else { 0.01 }).collect(),
        };
        let d = downsample_kernel(&k, 4);
        assert_eq!((d.rows, d.cols), (3, 3));
        assert!((d.energy() - k.energy()).abs() < 1e-5);
        assert!(d.data[4] > 1.0);
    }

    #[test]
    fn exact_operator_on_a_point_source() {
        // One bright pixel in B07 at column 10, row 5: B05's cross-talk (factor 0.5, shift 2)
        // lands at column 12 of the row acquired at the same time; B07's own type 1 spreads it.
        let k = Kernel {
            rows: 3,
            cols: 3,
            data: vec![0.0, 0.1, 0.0, 0.1, 0.2, 0.1, 0.0, 0.1, 0.0],
        };
        let mut filters: Vec<Option<StrayLightFilters>> = vec![None; 12];
        filters[4] = Some(StrayLightFilters {
            band: "B05".into(),
            type1_overlap: 0,
            type1: vec![],
            type2: vec![Type2Filter {
                source: "B07".into(),
                kernel: Kernel {
                    rows: 1,
                    cols: 1,
                    data: vec![1.0],
                },
                overlap: 0,
                strips: vec![Type2Strip {
                    cols: ColRange {
                        first: 100,
                        last: 199,
                    },
                    factor: 0.5,
                    shift: 2,
                }],
            }],
        });
        filters[6] = Some(StrayLightFilters {
            band: "B07".into(),
            type1_overlap: 0,
            type1: vec![Type1Filter {
                cols: ColRange {
                    first: 100,
                    last: 199,
                },
                kernel: k,
            }],
            type2: vec![],
        });
        let mut offsets = vec![0.0; 12];
        offsets[4] = 3.0; // B05 line r is acquired with B07 line r + 3
        let op = Operator {
            filters: &filters,
            first_detector: 100,
            line_offsets: offsets,
            factor: 1,
        };
        let blank = Image {
            cols: 20,
            rows: 12,
            data: vec![0.0; 240],
        };
        let mut truth = vec![blank.clone(); 12];
        truth[6].data[5 * 20 + 10] = 100.0;
        let stray = op.apply(&truth);
        assert!((stray[6].data[5 * 20 + 10] - 20.0).abs() < 1e-4);
        assert!((stray[6].data[4 * 20 + 10] - 10.0).abs() < 1e-4);
        assert!(
            (stray[4].data[2 * 20 + 12] - 50.0).abs() < 1e-4,
            "{:?}",
            &stray[4].data[2 * 20..3 * 20]
        );
        assert!(op.norm_bound() > 0.59 && op.norm_bound() < 0.61);
    }
}
