//! Stray light (type 1, in-band) and cross-talk (type 2) in sensor geometry.
//!
//! Model, on the equalised signal S of each band (image columns are detectors
//! `first_detector + c`; lines of different bands pair by acquisition time):
//!
//! `observed_b = true_b + Σ_strips [c ∈ strip] (K_strip ⊛ true_b|strip±overlap)
//!                      + Σ_sources [c ∈ strip] factor · (K_src ⊛ true_src)(line + Δ, c − shift)`
//!
//! [`Operator`] applies the stray terms at a resolution factor `f`: `f = 1` is exact (the
//! simulator's forward model). The correction solves `true = observed − A(true)` by
//! fixed-point iteration at `f = 4` (images are 4 × 4 block means, kernels linearly binned), so
//! a 257 × 257 far-field kernel costs a ~67 × 67 FFT convolution of a 16-times smaller image;
//! the number of iterations follows from the operator norm bound, so the iteration error is
//! below `TOLERANCE` of the signal. The final in-band term is up-sampled from that resolution
//! (the far field is smooth); the final cross-talk term, a sharp ghost of another band, is
//! computed at full resolution from the corrected source band, in strips of rows
//! ([`Operator::crosstalk_rows`]); small separable kernels are convolved directly
//! ([`separable`]), others by FFT ([`fft`]).

pub mod correct;
pub mod fft;
pub mod separable;

use crate::ee::strlgt::{Kernel, StrayLightFilters};
use crate::mission::venus;

/// Resolution factor of the correction.
pub const FACTOR: usize = 4;
/// Relative error bound the fixed-point iteration runs to.
pub const TOLERANCE: f64 = 1e-5;

/// One band image at resolution factor `f`: `rows` × `cols` block means.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub cols: usize,
    pub rows: usize,
    pub data: Vec<f32>,
}

/// Bilinear up-sampling of an [`Image`] at factor `f` to full resolution, one row at a time:
/// the taps of each full-resolution column are computed once.
pub struct Upsampler<'a> {
    image: &'a Image,
    f: usize,
    /// Per full-resolution column: the two low-resolution columns and the weight of the second.
    taps: Vec<(usize, usize, f32)>,
}

impl<'a> Upsampler<'a> {
    /// For full-resolution rows of `cols` columns.
    pub fn new(image: &'a Image, f: usize, cols: usize) -> Self {
        let taps = (0..cols).map(|c| Self::tap(f, c, image.cols)).collect();
        Upsampler { image, f, taps }
    }

    /// Low-resolution neighbours of full-resolution index `v` along an axis of `n` samples.
    fn tap(f: usize, v: usize, n: usize) -> (usize, usize, f32) {
        let x = ((v as f64 + 0.5) / f as f64 - 0.5).clamp(0.0, (n - 1) as f64);
        let x0 = x.floor() as usize;
        (x0, (x0 + 1).min(n - 1), (x - x0 as f64) as f32)
    }

    /// Full-resolution row `row` into `out` (one value per column).
    pub fn row(&self, row: usize, out: &mut [f32]) {
        let img = self.image;
        let (y0, y1, fy) = Self::tap(self.f, row, img.rows);
        let top = &img.data[y0 * img.cols..(y0 + 1) * img.cols];
        let bottom = &img.data[y1 * img.cols..(y1 + 1) * img.cols];
        for (o, &(x0, x1, fx)) in out.iter_mut().zip(&self.taps) {
            let t = top[x0] * (1.0 - fx) + top[x1] * fx;
            let b = bottom[x0] * (1.0 - fx) + bottom[x1] * fx;
            *o = t * (1.0 - fy) + b * fy;
        }
    }
}

/// Accumulates full-resolution rows into `f` × `f` block means, in any order (so an image can
/// be streamed in strips).
pub struct BlockMeans {
    f: usize,
    cols: usize,
    rows: usize,
    sum: Vec<f64>,
    n: Vec<u32>,
}

impl BlockMeans {
    /// For a `cols` × `rows` image.
    pub fn new(cols: usize, rows: usize, f: usize) -> Self {
        let (cols, rows) = (cols.div_ceil(f), rows.div_ceil(f));
        BlockMeans {
            f,
            cols,
            rows,
            sum: vec![0.0; cols * rows],
            n: vec![0; cols * rows],
        }
    }

    /// Adds full-resolution row `row`: `values[c]` is the sample at column `c`.
    pub fn add_row(&mut self, row: usize, values: &[f64]) {
        let base = (row / self.f) * self.cols;
        for (k, chunk) in values.chunks(self.f).enumerate() {
            self.sum[base + k] += chunk.iter().sum::<f64>();
            self.n[base + k] += chunk.len() as u32;
        }
    }

    /// The block means.
    pub fn finish(self) -> Image {
        Image {
            cols: self.cols,
            rows: self.rows,
            data: self
                .sum
                .iter()
                .zip(&self.n)
                .map(|(s, &n)| (s / f64::from(n.max(1))) as f32)
                .collect(),
        }
    }
}

/// A kernel at resolution factor `f`: each weight shared between the two nearest low-resolution
/// offsets along each axis in proportion to its distance (linear binning), so the energy and
/// the centroid of the kernel are kept exactly.
pub fn downsample_kernel(k: &Kernel, f: usize) -> Kernel {
    if f == 1 {
        return k.clone();
    }
    let half = |n: usize| (n / 2).div_ceil(f) + 1;
    let (hr, hc) = (half(k.rows), half(k.cols));
    let (rows, cols) = (2 * hr + 1, 2 * hc + 1);
    let mut data = vec![0f64; rows * cols];
    let (cr, cc) = ((k.rows / 2) as f64, (k.cols / 2) as f64);
    let split = |d: f64| {
        let t = d / f as f64;
        let lo = t.floor();
        (lo as isize, 1.0 - (t - lo))
    };
    for r in 0..k.rows {
        let (br, wr) = split(r as f64 - cr);
        for c in 0..k.cols {
            let (bc, wc) = split(c as f64 - cc);
            let v = f64::from(k.data[r * k.cols + c]);
            for (dr, fr) in [(0, wr), (1, 1.0 - wr)] {
                for (dc, fc) in [(0, wc), (1, 1.0 - wc)] {
                    let (y, x) = (br + dr + hr as isize, bc + dc + hc as isize);
                    data[y as usize * cols + x as usize] += v * fr * fc;
                }
            }
        }
    }
    Kernel {
        rows,
        cols,
        data: data.into_iter().map(|v| v as f32).collect(),
    }
}

/// Largest `rows + cols` of a separable kernel convolved directly rather than by FFT.
const MAX_SEPARABLE_TAPS: usize = 130;

/// `image` (`cols` × `rows`) convolved with `k`, same size, zeros outside the image: directly
/// in two 1-D passes when `k` is small and separable ([`separable`]), by FFT otherwise.
pub fn convolve_same(image: &[f32], cols: usize, rows: usize, k: &Kernel) -> Vec<f32> {
    match separable::factors(k).filter(|_| k.rows + k.cols <= MAX_SEPARABLE_TAPS) {
        Some((u, v)) => separable::convolve_same(image, cols, rows, &u, &v),
        None => fft::convolve_same(image, cols, rows, k),
    }
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

/// Which stray terms an [`Operator`] application computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terms {
    All,
    InBand,
    CrossTalk,
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

    /// Image column range (at this factor) of detector columns `first..=last`: the columns
    /// whose centre falls in the range, so that adjacent strips share none.
    fn columns(&self, first: usize, last: usize, cols: usize) -> std::ops::Range<usize> {
        let f = self.factor as f64;
        let centre = (f - 1.0) / 2.0;
        let rel = |d: usize| d as f64 - self.first_detector as f64 - centre;
        let lo = (rel(first) / f).ceil().max(0.0) as usize;
        let hi = ((rel(last) / f).floor() + 1.0).max(0.0) as usize;
        lo.min(cols)..hi.min(cols)
    }

    /// The stray terms of every band given the true images (all at this operator's factor).
    pub fn apply(&self, truth: &[Image]) -> Vec<Image> {
        self.apply_terms(truth, Terms::All)
    }

    /// [`Operator::apply`] restricted to some of the terms.
    pub fn apply_terms(&self, truth: &[Image], terms: Terms) -> Vec<Image> {
        use rayon::prelude::*;
        (0..truth.len())
            .into_par_iter()
            .map(|b| self.band(b, truth, terms))
            .collect()
    }

    /// The stray terms of band `b` alone. Only the images the terms read need data: `truth[b]`
    /// (its size always; its pixels for the in-band terms) and the cross-talk sources'.
    pub fn band(&self, b: usize, truth: &[Image], terms: Terms) -> Image {
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
        let type1 = if terms == Terms::CrossTalk {
            &[][..]
        } else {
            &f.type1[..]
        };
        let type2 = if terms == Terms::InBand {
            &[][..]
        } else {
            &f.type2[..]
        };
        for t in type1 {
            let strip = self.columns(t.cols.first, t.cols.last, cols);
            if strip.is_empty() {
                continue;
            }
            // Only the strip and its margins are read: convolve just those columns (zeros
            // beyond them, as beyond the image).
            let input = (strip.start.saturating_sub(margin))..(strip.end + margin).min(cols);
            let width = input.len();
            let mut window = Vec::with_capacity(width * rows);
            for r in 0..rows {
                window.extend_from_slice(&img.data[r * cols + input.start..r * cols + input.end]);
            }
            let k = downsample_kernel(&t.kernel, self.factor);
            let conv = convolve_same(&window, width, rows, &k);
            let from = strip.start - input.start..strip.end - input.start;
            for r in 0..rows {
                let out = &mut out.data[r * cols + strip.start..r * cols + strip.end];
                for (o, &x) in out
                    .iter_mut()
                    .zip(&conv[r * width + from.start..r * width + from.end])
                {
                    *o += x;
                }
            }
        }
        if !type2.is_empty() {
            let lines: Vec<usize> = truth.iter().map(|i| i.rows).collect();
            let crosstalk = self
                .crosstalk_rows(b, 0..rows, cols, &lines, |s, lines| {
                    let src = &truth[s];
                    Ok::<_, std::convert::Infallible>(SourceRows {
                        cols: src.cols,
                        data: std::borrow::Cow::Borrowed(
                            &src.data[lines.start * src.cols..lines.end * src.cols],
                        ),
                    })
                })
                .unwrap_or_else(|e| match e {});
            for (o, x) in out.data.iter_mut().zip(crosstalk) {
                *o += x;
            }
        }
        out
    }

    /// Line shift from band `b` to source `s`: line `r` of `b` is acquired with line `r + dl`
    /// of `s` (at this factor).
    fn line_shift(&self, b: usize, s: usize) -> isize {
        ((self.line_offsets[b] - self.line_offsets[s]) / self.factor as f64).round() as isize
    }

    /// The cross-talk term of band `b` over its rows `rows` (`cols` wide), from its sources'
    /// true images (`lines[s]` lines in band `s`), which `source(s, lines)` gives over the
    /// lines of source band `s` that the term needs (the rows acquired with `rows`, widened by half the kernel, within the
    /// source image). So a full-resolution image can be done in strips: each strip's result
    /// equals the same rows of the whole-image term.
    pub fn crosstalk_rows<'s, E>(
        &self,
        b: usize,
        rows: std::ops::Range<usize>,
        cols: usize,
        lines: &[usize],
        mut source: impl FnMut(usize, std::ops::Range<usize>) -> Result<SourceRows<'s>, E>,
    ) -> Result<Vec<f32>, E> {
        use rayon::prelude::*;
        let mut out = vec![0f32; rows.len() * cols];
        let Some(f) = &self.filters[b] else {
            return Ok(out);
        };
        for t in &f.type2 {
            let Some(s) = band_index(&t.source) else {
                continue;
            };
            let Some(&src_lines) = lines.get(s) else {
                continue;
            };
            let k = downsample_kernel(&t.kernel, self.factor);
            let dl = self.line_shift(b, s);
            let clamp = |v: isize| v.clamp(0, src_lines as isize) as usize;
            let half = (k.rows / 2) as isize;
            let lo = clamp(rows.start as isize + dl - half);
            let hi = clamp(rows.end as isize + dl + half).max(lo);
            if lo == hi {
                continue;
            }
            let src = source(s, lo..hi)?;
            let conv = convolve_same(&src.data, src.cols, hi - lo, &k);
            for strip in &t.strips {
                let cs = self.columns(strip.cols.first, strip.cols.last, cols);
                let shift = (strip.shift as f64 / self.factor as f64).round() as isize;
                let factor = strip.factor as f32;
                out.par_chunks_mut(cols).enumerate().for_each(|(i, row)| {
                    let rs = (rows.start + i) as isize + dl;
                    if rs < lo as isize || rs >= hi as isize {
                        return;
                    }
                    let at = (rs as usize - lo) * src.cols;
                    let line = &conv[at..at + src.cols];
                    for c in cs.clone() {
                        let cc = c as isize - shift;
                        if cc >= 0 && (cc as usize) < src.cols {
                            row[c] += factor * line[cc as usize];
                        }
                    }
                });
            }
        }
        Ok(out)
    }
}

/// Consecutive lines of a source band's true image (row-major, `cols` wide).
pub struct SourceRows<'a> {
    pub cols: usize,
    pub data: std::borrow::Cow<'a, [f32]>,
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
        assert_eq!((d.rows, d.cols), (5, 5));
        assert!((d.energy() - k.energy()).abs() < 1e-5);
        assert!(d.data[12] > 1.0);
        // The centroid stays at the centre.
        let (mut my, mut mx) = (0.0, 0.0);
        for (i, &v) in d.data.iter().enumerate() {
            my += (i / 5) as f64 * f64::from(v);
            mx += (i % 5) as f64 * f64::from(v);
        }
        assert!((my / d.energy() - 2.0).abs() < 1e-6 && (mx / d.energy() - 2.0).abs() < 1e-6);
    }

    #[test]
    fn bilinear_upsampling_reproduces_a_plane() {
        // Low-resolution sample (y, x) sits at full-resolution (4y + 1.5, 4x + 1.5).
        let (cols, rows) = (6, 5);
        let img = Image {
            cols,
            rows,
            data: (0..cols * rows)
                .map(|i| (2 * (i % cols) + 3 * (i / cols)) as f32)
                .collect(),
        };
        let up = Upsampler::new(&img, 4, 4 * cols);
        let mut row = vec![0f32; 4 * cols];
        for r in 2..4 * rows - 2 {
            up.row(r, &mut row);
            let y = (r as f32 + 0.5) / 4.0 - 0.5;
            for (c, &v) in row.iter().enumerate().take(4 * cols - 2).skip(2) {
                let x = (c as f32 + 0.5) / 4.0 - 0.5;
                assert!((v - (2.0 * x + 3.0 * y)).abs() < 1e-5, "{r} {c} {v}");
            }
        }
        // Edges hold the border value.
        up.row(0, &mut row);
        assert_eq!(row[0], 0.0);
    }

    /// B05's filters: cross-talk from B07 through `kernel` over detectors `cols`.
    fn b05_from_b07(
        kernel: Kernel,
        (first, last): (usize, usize),
        factor: f64,
        shift: i64,
    ) -> StrayLightFilters {
        StrayLightFilters {
            band: "B05".into(),
            type1_overlap: 0,
            type1: vec![],
            type2: vec![Type2Filter {
                source: "B07".into(),
                kernel,
                overlap: 0,
                strips: vec![Type2Strip {
                    cols: ColRange { first, last },
                    factor,
                    shift,
                }],
            }],
        }
    }

    #[test]
    fn crosstalk_in_strips_equals_the_whole_image() {
        // B05 receives B07's ghost (a separable 5 × 5 kernel), 2 lines later, shifted by 3.
        let g = [0.1f32, 0.2, 0.4, 0.2, 0.1];
        let mut filters: Vec<Option<StrayLightFilters>> = vec![None; 12];
        let ghost = Kernel {
            rows: 5,
            cols: 5,
            data: (0..25).map(|i| g[i / 5] * g[i % 5]).collect(),
        };
        filters[4] = Some(b05_from_b07(ghost, (100, 139), 0.01, 3));
        let mut offsets = vec![0.0; 12];
        offsets[4] = 2.0;
        let op = Operator {
            filters: &filters,
            first_detector: 100,
            line_offsets: offsets,
            factor: 1,
        };
        let (cols, rows) = (40, 31);
        let source: Vec<f32> = (0..cols * rows).map(|i| ((i * 7919) % 97) as f32).collect();
        let lines = vec![rows; 12];
        let mut asked = Vec::new();
        let mut run = |r: std::ops::Range<usize>| {
            op.crosstalk_rows(4, r, cols, &lines, |s, l| {
                assert_eq!(s, 6);
                asked.push(l.clone());
                Ok::<_, ()>(SourceRows {
                    cols,
                    data: std::borrow::Cow::Owned(source[l.start * cols..l.end * cols].to_vec()),
                })
            })
            .unwrap()
        };
        let whole = run(0..rows);
        let strips: Vec<f32> = [0..7, 7..14, 14..21, 21..28, 28..31]
            .into_iter()
            .flat_map(&mut run)
            .collect();
        assert_eq!(whole, strips);
        assert!(whole[5 * cols + 20] > 0.0);
        // Rows 7..14 need source lines 9..16 and two more on each side.
        assert_eq!(asked[2], 7..18);
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
        let one = Kernel {
            rows: 1,
            cols: 1,
            data: vec![1.0],
        };
        filters[4] = Some(b05_from_b07(one, (100, 199), 0.5, 2));
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
