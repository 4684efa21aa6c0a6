//! Stray light (type 1, in-band) and cross-talk (type 2) in sensor geometry.
//!
//! Model, on the equalised signal S of each band (image columns are detectors
//! `first_detector + c`; lines of different bands pair by acquisition time, see
//! docs/formats.md):
//!
//! `observed_b = true_b + Σ_strips [c ∈ strip] (K_strip ⊛ true_b|strip±overlap)
//!                      + Σ_sources Σ_strips [c ∈ strip] factor · (K_src ⊛ true_src|strip−shift±overlap)(line + Δ, c − shift)`
//!
//! [`Operator`] applies the stray terms at a resolution factor `f`: `f = 1` is exact (the
//! simulator's forward model). The correction solves `true = observed − A(true)` by
//! fixed-point iteration at `f = 4` (images are 4 × 4 block means, kernels linearly binned), so
//! a 257 × 257 far-field kernel costs a ~67 × 67 FFT convolution of a 16-times smaller image;
//! the number of iterations follows from the operator norm bound, so the iteration error is
//! below `TOLERANCE` of the signal. At that resolution a strip boundary may fall inside a
//! block: each strip reads the blocks in proportion to the part of them inside its columns
//! (and margins), and gives each block the part of its term that falls in its columns, so
//! strips of any width starting at any column leave no gap and count nothing twice. The final
//! in-band term is up-sampled from that resolution strip by strip, over the strip's own
//! columns (the far field is smooth within a strip, not across strips whose kernels differ);
//! the final cross-talk term, a sharp ghost of another band, is computed at full resolution
//! from the corrected source band, in strips of rows ([`Operator::crosstalk_rows`]); small
//! separable kernels are convolved directly ([`separable`]), others by FFT ([`fft`]).

pub mod correct;
pub mod fft;
pub mod separable;

use std::ops::Range;

use crate::ee::strlgt::{ColRange, Kernel, StrayLightFilters};
use crate::mission::venus;

/// Resolution factor of the correction.
pub const FACTOR: usize = 4;
/// Relative error bound the fixed-point iteration runs to.
pub const TOLERANCE: f64 = 1e-5;

/// One band image at resolution factor `f`: `rows` × `cols` block means of an image `width`
/// full-resolution columns wide (the last block column may hold fewer than `f` columns).
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub cols: usize,
    pub rows: usize,
    pub width: usize,
    pub data: Vec<f32>,
}

impl Image {
    /// A zero image of the same size.
    pub fn zeros_like(&self) -> Image {
        Image {
            data: vec![0.0; self.data.len()],
            ..*self
        }
    }
}

/// Fraction of block column `k` (factor `f`, image `width` columns wide) that lies in the
/// full-resolution columns `range`.
fn coverage(range: &Range<isize>, k: usize, f: usize, width: usize) -> f32 {
    let start = (k * f) as isize;
    let end = ((k + 1) * f).min(width) as isize;
    let inside = range.end.min(end) - range.start.max(start);
    if inside <= 0 || end <= start {
        0.0
    } else {
        inside as f32 / (end - start) as f32
    }
}

/// Block columns (factor `f`) holding any of the full-resolution columns `range`, widened by
/// `ext` on each side, within `0..cols`.
fn blocks(range: &Range<isize>, f: usize, ext: usize, cols: usize) -> Range<usize> {
    let f = f as isize;
    let lo = (range.start.max(0) / f) as usize;
    let hi = (range.end.max(0) + f - 1) / f;
    lo.saturating_sub(ext)..(hi as usize + ext).min(cols)
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
        Self::window(image, f, 0, 0..cols)
    }

    /// For the full-resolution columns `cols` only, `image` holding block columns from
    /// `block0` on (values beyond its ends are held).
    pub fn window(image: &'a Image, f: usize, block0: usize, cols: Range<usize>) -> Self {
        let taps = cols.map(|c| Self::tap(f, c, block0, image.cols)).collect();
        Upsampler { image, f, taps }
    }

    /// Low-resolution neighbours of full-resolution index `v` along an axis of `n` samples
    /// starting at block `v0`.
    fn tap(f: usize, v: usize, v0: usize, n: usize) -> (usize, usize, f32) {
        let x = ((v as f64 + 0.5) / f as f64 - 0.5 - v0 as f64).clamp(0.0, (n - 1) as f64);
        let x0 = x.floor() as usize;
        (x0, (x0 + 1).min(n - 1), (x - x0 as f64) as f32)
    }

    /// Full-resolution row `row` into `out` (one value per column of the window).
    pub fn row(&self, row: usize, out: &mut [f32]) {
        let img = self.image;
        let (y0, y1, fy) = Self::tap(self.f, row, 0, img.rows);
        let top = &img.data[y0 * img.cols..(y0 + 1) * img.cols];
        let bottom = &img.data[y1 * img.cols..(y1 + 1) * img.cols];
        for (o, &(x0, x1, fx)) in out.iter_mut().zip(&self.taps) {
            let t = top[x0] * (1.0 - fx) + top[x1] * fx;
            let b = bottom[x0] * (1.0 - fx) + bottom[x1] * fx;
            *o = t * (1.0 - fy) + b * fy;
        }
    }
}

/// The in-band term of one type-1 strip at factor `f`: the strip's convolution over the block
/// columns `blocks` (those holding any of its columns, and one more on each side when `f > 1`
/// so that it up-samples over the whole strip); it applies to the full-resolution image
/// columns `cols` only.
#[derive(Debug, Clone, PartialEq)]
pub struct StripTerm {
    pub cols: Range<usize>,
    pub blocks: Range<usize>,
    pub image: Image,
}

impl StripTerm {
    /// Adds the term to `out` (at the same factor `f`): each block receives the part of it
    /// that falls in the strip's columns.
    fn add_to(&self, out: &mut Image, f: usize) {
        let range = self.cols.start as isize..self.cols.end as isize;
        let n = self.blocks.len();
        for k in self.blocks.clone() {
            let w = coverage(&range, k, f, out.width);
            if w == 0.0 {
                continue;
            }
            let i = k - self.blocks.start;
            for r in 0..out.rows {
                out.data[r * out.cols + k] += w * self.image.data[r * n + i];
            }
        }
    }
}

impl StripTerm {
    /// Image block columns `blocks` of `image` (at the same factor), as a term over `cols`.
    fn of(image: &Image, cols: Range<usize>, blocks: Range<usize>) -> StripTerm {
        let n = blocks.len();
        let mut data = Vec::with_capacity(n * image.rows);
        for r in 0..image.rows {
            data.extend_from_slice(
                &image.data[r * image.cols + blocks.start..r * image.cols + blocks.end],
            );
        }
        StripTerm {
            cols,
            blocks,
            image: Image {
                cols: n,
                rows: image.rows,
                width: image.width,
                data,
            },
        }
    }
}

/// A band's whole stray term at factor `f` as strip terms for [`InBandUpsampler`]: each
/// in-band strip term (`terms`, in column order) plus the cross-talk term `crosstalk` over its
/// blocks, and the columns in no strip as terms of the cross-talk alone.
pub fn with_crosstalk(terms: &[StripTerm], crosstalk: &Image, f: usize) -> Vec<StripTerm> {
    let ext = usize::from(f > 1);
    let piece = |cols: Range<usize>| {
        let r = cols.start as isize..cols.end as isize;
        let b = blocks(&r, f, ext, crosstalk.cols);
        StripTerm::of(crosstalk, cols, b)
    };
    let mut out = Vec::new();
    let mut next = 0;
    for t in terms {
        if t.cols.start > next {
            out.push(piece(next..t.cols.start));
        }
        let mut sum = StripTerm::of(crosstalk, t.cols.clone(), t.blocks.clone());
        sum.image
            .data
            .iter_mut()
            .zip(&t.image.data)
            .for_each(|(x, a)| *x += a);
        out.push(sum);
        next = t.cols.end;
    }
    if next < crosstalk.width {
        out.push(piece(next..crosstalk.width));
    }
    out
}

/// The in-band term of a band at full resolution, row by row, from its [`StripTerm`]s at
/// factor `f`: each strip up-sampled over its own columns, zero in no strip.
pub struct InBandUpsampler<'a> {
    strips: Vec<(Range<usize>, Upsampler<'a>)>,
}

impl<'a> InBandUpsampler<'a> {
    pub fn new(terms: &'a [StripTerm], f: usize) -> Self {
        InBandUpsampler {
            strips: terms
                .iter()
                .map(|t| {
                    let up = Upsampler::window(&t.image, f, t.blocks.start, t.cols.clone());
                    (t.cols.clone(), up)
                })
                .collect(),
        }
    }

    /// Full-resolution row `row` into `out` (the whole image width).
    pub fn row(&self, row: usize, out: &mut [f32]) {
        out.fill(0.0);
        for (cols, up) in &self.strips {
            up.row(row, &mut out[cols.clone()]);
        }
    }
}

/// Accumulates full-resolution rows into `f` × `f` block means, in any order (so an image can
/// be streamed in strips).
pub struct BlockMeans {
    f: usize,
    cols: usize,
    rows: usize,
    width: usize,
    sum: Vec<f64>,
    n: Vec<u32>,
}

impl BlockMeans {
    /// For a `cols` × `rows` image.
    pub fn new(cols: usize, rows: usize, f: usize) -> Self {
        let (width, cols, rows) = (cols, cols.div_ceil(f), rows.div_ceil(f));
        BlockMeans {
            f,
            cols,
            rows,
            width,
            sum: vec![0.0; cols * rows],
            n: vec![0; cols * rows],
        }
    }

    /// Adds full-resolution row `row`: `values[c]` is the sample at column `c`.
    pub fn add_row(&mut self, row: usize, values: &[f32]) {
        let base = (row / self.f) * self.cols;
        for (k, chunk) in values.chunks(self.f).enumerate() {
            self.sum[base + k] += chunk.iter().map(|&v| f64::from(v)).sum::<f64>();
            self.n[base + k] += chunk.len() as u32;
        }
    }

    /// The block means.
    pub fn finish(self) -> Image {
        Image {
            cols: self.cols,
            rows: self.rows,
            width: self.width,
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

    /// Full-resolution image columns of detector columns `r` (not clipped to the image).
    fn image_range(&self, r: ColRange) -> Range<isize> {
        let d = self.first_detector as isize;
        r.first as isize - d..r.last as isize + 1 - d
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
        let mut out = img.zeros_like();
        if terms != Terms::CrossTalk {
            for t in self.in_band(b, img) {
                t.add_to(&mut out, self.factor);
            }
        }
        if terms != Terms::InBand {
            let lines: Vec<usize> = truth.iter().map(|i| i.rows).collect();
            let crosstalk = self
                .crosstalk_rows(b, 0..img.rows, img.width, &lines, |s, lines| {
                    let src = &truth[s];
                    Ok::<_, std::convert::Infallible>(SourceRows {
                        cols: src.cols,
                        width: src.width,
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

    /// The in-band terms of band `b` (true image `img`), one per type-1 strip in the image.
    /// Each strip convolves its columns and overlap margins, zeros beyond (as beyond the
    /// image); at `f > 1` a block partly inside enters in proportion.
    pub fn in_band(&self, b: usize, img: &Image) -> Vec<StripTerm> {
        let Some(filters) = &self.filters[b] else {
            return vec![];
        };
        let (f, width, rows) = (self.factor, img.width as isize, img.rows);
        let ext = usize::from(f > 1);
        let margin = filters.type1_overlap as isize;
        filters
            .type1
            .iter()
            .filter_map(|t| {
                let r = self.image_range(t.cols);
                let strip = r.start.max(0)..r.end.min(width);
                if strip.is_empty() {
                    return None;
                }
                let input = (strip.start - margin).max(0)..(strip.end + margin).min(width);
                let out = blocks(&strip, f, ext, img.cols);
                let read = blocks(&input, f, 0, img.cols);
                let window = out.start.min(read.start)..out.end.max(read.end);
                let weights: Vec<f32> = window
                    .clone()
                    .map(|k| coverage(&input, k, f, img.width))
                    .collect();
                let n = window.len();
                let mut data = Vec::with_capacity(n * rows);
                for r in 0..rows {
                    let row = &img.data[r * img.cols + window.start..r * img.cols + window.end];
                    data.extend(row.iter().zip(&weights).map(|(v, w)| v * w));
                }
                let conv = convolve_same(&data, n, rows, &downsample_kernel(&t.kernel, f));
                let from = out.start - window.start..out.end - window.start;
                let m = out.len();
                let mut image = Vec::with_capacity(m * rows);
                for r in 0..rows {
                    image.extend_from_slice(&conv[r * n + from.start..r * n + from.end]);
                }
                Some(StripTerm {
                    cols: strip.start as usize..strip.end as usize,
                    blocks: out,
                    image: Image {
                        cols: m,
                        rows,
                        width: img.width,
                        data: image,
                    },
                })
            })
            .collect()
    }

    /// Line shift from band `b` to source `s`: line `r` of `b` is acquired with line `r + dl`
    /// of `s` (at this factor).
    fn line_shift(&self, b: usize, s: usize) -> isize {
        ((self.line_offsets[b] - self.line_offsets[s]) / self.factor as f64).round() as isize
    }

    /// The cross-talk term of band `b` over its rows `rows` (of an image `width`
    /// full-resolution columns wide, so `width.div_ceil(f)` columns at this factor), from its
    /// sources' true images (`lines[s]` lines in band `s`), which `source(s, lines)` gives over
    /// the lines of source band `s` that the term needs (the rows acquired with `rows`, widened
    /// by half the kernel, within the source image). So a full-resolution image can be done in
    /// strips: each strip's result equals the same rows of the whole-image term.
    ///
    /// Each vertical strip reads the source over its own columns shifted by `−shift` and the
    /// filter's overlap margin on each side (zeros beyond); at `f > 1` the shift may fall
    /// between blocks (linear interpolation) and a block partly in the strip receives that
    /// part of the term.
    pub fn crosstalk_rows<'s, E>(
        &self,
        b: usize,
        rows: Range<usize>,
        width: usize,
        lines: &[usize],
        mut source: impl FnMut(usize, Range<usize>) -> Result<SourceRows<'s>, E>,
    ) -> Result<Vec<f32>, E> {
        use rayon::prelude::*;
        let f = self.factor;
        let cols = width.div_ceil(f);
        let mut out = vec![0f32; rows.len() * cols];
        let Some(filters) = &self.filters[b] else {
            return Ok(out);
        };
        for t in &filters.type2 {
            let Some(s) = band_index(&t.source) else {
                continue;
            };
            let Some(&src_lines) = lines.get(s) else {
                continue;
            };
            let k = downsample_kernel(&t.kernel, f);
            let dl = self.line_shift(b, s);
            let clamp = |v: isize| v.clamp(0, src_lines as isize) as usize;
            let half = (k.rows / 2) as isize;
            let lo = clamp(rows.start as isize + dl - half);
            let hi = clamp(rows.end as isize + dl + half).max(lo);
            if lo == hi {
                continue;
            }
            let src = source(s, lo..hi)?;
            let n = hi - lo;
            // A margin at least half the kernel wide reads every column the strip's outputs
            // need: one convolution of the whole source serves every strip.
            let whole =
                (t.overlap >= t.kernel.cols / 2).then(|| convolve_same(&src.data, src.cols, n, &k));
            for strip in &t.strips {
                let target = self.image_range(strip.cols);
                let target = target.start.max(0)..target.end.min(width as isize);
                if target.is_empty() {
                    continue;
                }
                let windowed;
                let conv = match &whole {
                    Some(c) => c,
                    None => {
                        let (m, sh) = (t.overlap as isize, strip.shift as isize);
                        let read = target.start - sh - m..target.end - sh + m;
                        let weights: Vec<f32> = (0..src.cols)
                            .map(|k| coverage(&read, k, f, src.width))
                            .collect();
                        let masked: Vec<f32> = src
                            .data
                            .iter()
                            .enumerate()
                            .map(|(i, v)| v * weights[i % src.cols])
                            .collect();
                        windowed = convolve_same(&masked, src.cols, n, &k);
                        &windowed
                    }
                };
                let to = blocks(&target, f, 0, cols);
                let weights: Vec<f32> =
                    to.clone().map(|k| coverage(&target, k, f, width)).collect();
                // Target block c takes the source at c − shift/f: two taps c + k and c + k + 1
                // with weights 1 − t and t (one tap when the shift is whole blocks).
                let d = -(strip.shift as f64) / f as f64;
                let k = d.floor() as isize;
                let t = (d - k as f64) as f32;
                let factor = strip.factor as f32;
                let taps: Vec<(isize, f32)> = [(k, factor * (1.0 - t)), (k + 1, factor * t)]
                    .into_iter()
                    .filter(|&(_, w)| w != 0.0)
                    .collect();
                out.par_chunks_mut(cols).enumerate().for_each(|(i, row)| {
                    let rs = (rows.start + i) as isize + dl;
                    if rs < lo as isize || rs >= hi as isize {
                        return;
                    }
                    let at = (rs as usize - lo) * src.cols;
                    let line = &conv[at..at + src.cols];
                    for &(k, w) in &taps {
                        // Columns c of the strip whose source column c + k is in the image.
                        let c0 = (to.start as isize).max(-k) as usize;
                        let c1 = (to.end as isize).min(src.cols as isize - k).max(0) as usize;
                        if c0 >= c1 {
                            continue;
                        }
                        let x0 = (c0 as isize + k) as usize;
                        let cover = &weights[c0 - to.start..c1 - to.start];
                        for ((o, &x), &cw) in row[c0..c1].iter_mut().zip(&line[x0..]).zip(cover) {
                            *o += cw * w * x;
                        }
                    }
                });
            }
        }
        Ok(out)
    }
}

/// Consecutive lines of a source band's true image (row-major, `cols` wide at the operator's
/// factor, standing for `width` full-resolution columns).
pub struct SourceRows<'a> {
    pub cols: usize,
    pub width: usize,
    pub data: std::borrow::Cow<'a, [f32]>,
}

fn band_index(code: &str) -> Option<usize> {
    venus::BANDS.iter().position(|b| b.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ee::strlgt::{Type1Filter, Type2Filter, Type2Strip};

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
            width: 4 * cols,
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
                    width: cols,
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
            width: 20,
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

    /// An asymmetric, non-separable kernel of energy `e`: a tilted anisotropic blob shifted off
    /// centre, zero at the centre.
    fn lopsided(rows: usize, cols: usize, e: f64) -> Kernel {
        let (cr, cc) = ((rows / 2) as f64, (cols / 2) as f64);
        let v: Vec<f64> = (0..rows * cols)
            .map(|i| {
                let (y, x) = ((i / cols) as f64 - cr, (i % cols) as f64 - cc);
                if y == 0.0 && x == 0.0 {
                    return 0.0;
                }
                let (u, w) = (0.8 * x + 0.6 * y - 2.0, -0.6 * x + 0.8 * y + 1.0);
                (-(u / 12.0).powi(2) - (w / 6.0).powi(2)).exp()
                    + 0.02 / (1.0 + x.abs() + 2.0 * y.abs())
            })
            .collect();
        let sum: f64 = v.iter().sum();
        Kernel {
            rows,
            cols,
            data: v.iter().map(|x| (e * x / sum) as f32).collect(),
        }
    }

    /// A smooth 200 × 120 full-resolution signal and its 4 × 4 block means.
    fn smooth_band() -> (Image, Image) {
        let (cols, rows) = (200, 120);
        let data: Vec<f32> = (0..cols * rows)
            .map(|i| {
                let (y, x) = ((i / cols) as f64, (i % cols) as f64);
                (100.0 + 0.5 * x + 0.3 * y + 10.0 * (x / 15.0).sin()) as f32
            })
            .collect();
        let mut acc = BlockMeans::new(cols, rows, 4);
        for (r, row) in data.chunks(cols).enumerate() {
            acc.add_row(r, row);
        }
        let full = Image {
            cols,
            rows,
            width: cols,
            data,
        };
        (full, acc.finish())
    }

    #[test]
    fn strip_boundaries_at_every_column_offset_leave_no_gap() {
        // Issue 20: a boundary inside a 4-column block left that block without in-band term.
        // B05 has two type-1 strips meeting at image column 70 + offset (a different kernel
        // each, margins narrower than the kernels) and cross-talk from B07 over two strips
        // with other shifts; the low-resolution operator must match the block means of the
        // exact one whatever the offset.
        let (full, low) = smooth_band();
        for offset in 0..4 {
            let first = 1000;
            let split = first + 70 + offset;
            let range = |a: usize, b: usize| ColRange { first: a, last: b };
            let mut filters: Vec<Option<StrayLightFilters>> = vec![None; 12];
            filters[4] = Some(StrayLightFilters {
                band: "B05".into(),
                type1_overlap: 5,
                type1: vec![
                    Type1Filter {
                        cols: range(900, split - 1),
                        kernel: lopsided(31, 41, 0.03),
                    },
                    Type1Filter {
                        cols: range(split, 1300),
                        kernel: lopsided(21, 17, 0.06),
                    },
                ],
                type2: vec![Type2Filter {
                    source: "B07".into(),
                    kernel: lopsided(9, 13, 1.0),
                    overlap: 3,
                    strips: vec![
                        Type2Strip {
                            cols: range(900, split - 1),
                            factor: 0.02,
                            shift: 5,
                        },
                        Type2Strip {
                            cols: range(split, 1300),
                            factor: 0.015,
                            shift: -2,
                        },
                    ],
                }],
            });
            let op = |factor| Operator {
                filters: &filters,
                first_detector: first,
                line_offsets: vec![0.0; 12],
                factor,
            };
            let exact = |terms| {
                op(1)
                    .apply_terms(&vec![full.clone(); 12], terms)
                    .swap_remove(4)
            };
            // The in-band term as the correction removes it: each strip's low-resolution term
            // up-sampled over its own columns.
            let (exact_in, terms) = (exact(Terms::InBand), op(4).in_band(4, &low));
            let up = InBandUpsampler::new(&terms, 4);
            let scale = exact_in.data.iter().fold(0f32, |m, v| m.max(v.abs()));
            let mut row = vec![0f32; full.cols];
            // Away from the image edges (beyond which the binned kernels meet zeros).
            for r in 20..full.rows - 20 {
                up.row(r, &mut row);
                for (c, &a) in row.iter().enumerate().take(full.cols - 24).skip(24) {
                    let e = exact_in.data[r * full.cols + c];
                    // Near a boundary the strips' sharp cores meet their margins' cut-off,
                    // which 4-column blocks resolve only roughly; a block left out (the
                    // defect) misses its whole term there.
                    let near = (c as isize - 70 - offset as isize).abs() < 8;
                    assert!(
                        (a - e).abs() < if near { 0.05 } else { 0.01 } * scale,
                        "boundary offset {offset}: in-band term at ({r}, {c}) {a} vs {e}"
                    );
                }
            }
            // Both terms at low resolution (what the iteration uses) keep their total over
            // the blocks around the boundary: nothing lost or counted twice there.
            for terms in [Terms::InBand, Terms::CrossTalk] {
                let exact = exact(terms);
                let approx = op(4)
                    .apply_terms(&vec![low.clone(); 12], terms)
                    .swap_remove(4);
                for r in 8..low.rows - 8 {
                    let e: f64 = (4 * r..4 * r + 4)
                        .flat_map(|l| &exact.data[l * full.cols + 56..l * full.cols + 88])
                        .map(|&v| f64::from(v))
                        .sum::<f64>()
                        / 16.0;
                    let a: f64 = (14..22)
                        .map(|k| f64::from(approx.data[r * low.cols + k]))
                        .sum();
                    assert!(
                        (a - e).abs() < 0.03 * e.abs(),
                        "boundary offset {offset}: {terms:?} term of block row {r} {a} vs {e}"
                    );
                }
            }
        }
    }

    #[test]
    fn whole_stray_term_by_strip_equals_the_sum_of_its_parts() {
        // In-band strips over image columns 30..99 and 99..150 (the rest in no strip) and a
        // cross-talk term everywhere: up-sampled together, strip by strip, they give the
        // in-band term plus the up-sampled cross-talk.
        let (_, low) = smooth_band();
        let range = |a: usize, b: usize| ColRange { first: a, last: b };
        let mut filters: Vec<Option<StrayLightFilters>> = vec![None; 12];
        filters[4] = Some(StrayLightFilters {
            band: "B05".into(),
            type1_overlap: 5,
            type1: vec![
                Type1Filter {
                    cols: range(1030, 1098),
                    kernel: lopsided(31, 41, 0.03),
                },
                Type1Filter {
                    cols: range(1099, 1149),
                    kernel: lopsided(21, 17, 0.06),
                },
            ],
            type2: vec![],
        });
        let op = Operator {
            filters: &filters,
            first_detector: 1000,
            line_offsets: vec![0.0; 12],
            factor: 4,
        };
        let terms = op.in_band(4, &low);
        let crosstalk = Image {
            data: (0..low.data.len()).map(|i| (i % 7) as f32).collect(),
            ..low.clone()
        };
        let whole = with_crosstalk(&terms, &crosstalk, 4);
        assert_eq!(whole.len(), 4);
        let (a, b, c) = (
            InBandUpsampler::new(&whole, 4),
            InBandUpsampler::new(&terms, 4),
            Upsampler::new(&crosstalk, 4, low.width),
        );
        let mut rows = [
            vec![0f32; low.width],
            vec![0f32; low.width],
            vec![0f32; low.width],
        ];
        for r in 0..4 * low.rows {
            a.row(r, &mut rows[0]);
            b.row(r, &mut rows[1]);
            c.row(r, &mut rows[2]);
            for (col, ((&w, &i), &x)) in rows[0].iter().zip(&rows[1]).zip(&rows[2]).enumerate() {
                assert!((w - (i + x)).abs() < 1e-4, "({r}, {col}) {w} vs {}", i + x);
            }
        }
    }
}
