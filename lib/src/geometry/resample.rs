//! Interpolation of an image at fractional positions (pixel centres at integer coordinates),
//! and the flags of the samples an interpolated value depends on.

use std::str::FromStr;

/// Resampling kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Resampling {
    Nearest,
    Bilinear,
    /// Keys cubic convolution, a = −0.5 (GDAL's `cubic`).
    #[default]
    Cubic,
}

impl FromStr for Resampling {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "nearest" => Ok(Resampling::Nearest),
            "bilinear" => Ok(Resampling::Bilinear),
            "cubic" => Ok(Resampling::Cubic),
            _ => Err(format!(
                "unknown resampling '{s}' (nearest, bilinear, cubic)"
            )),
        }
    }
}

impl Resampling {
    /// Name as GDAL spells it (`-r` of gdalwarp).
    pub fn gdal_name(self) -> &'static str {
        match self {
            Resampling::Nearest => "near",
            Resampling::Bilinear => "bilinear",
            Resampling::Cubic => "cubic",
        }
    }

    /// Samples the kernel reaches beyond the nearest one, on each side.
    pub fn margin(self) -> usize {
        match self {
            Resampling::Nearest => 0,
            Resampling::Bilinear => 1,
            Resampling::Cubic => 2,
        }
    }
}

/// A row-major image window: `rows` × `cols`, whose first row is image row `row0`.
pub struct Window<'a, T> {
    pub data: &'a [T],
    pub cols: usize,
    pub rows: usize,
    pub row0: usize,
}

impl<T: Copy> Window<'_, T> {
    fn at(&self, r: isize, c: isize) -> T {
        let r = r.clamp(0, self.rows as isize - 1) as usize;
        let c = c.clamp(0, self.cols as isize - 1) as usize;
        self.data[r * self.cols + c]
    }

    /// Index of sample (`r`, `c`) when the `N` × `N` samples from it are inside the window.
    fn start<const N: usize>(&self, r: isize, c: isize) -> Option<usize> {
        let inside = r >= 0
            && c >= 0
            && r + N as isize <= self.rows as isize
            && c + N as isize <= self.cols as isize;
        inside.then(|| r as usize * self.cols + c as usize)
    }

    /// The `N` × `N` samples from (`r`, `c`), clamped to the window's edges.
    fn block<const N: usize>(&self, r: isize, c: isize) -> [[T; N]; N] {
        if let Some(start) = self.start::<N>(r, c) {
            std::array::from_fn(|i| {
                let row = &self.data[start + i * self.cols..][..N];
                std::array::from_fn(|j| row[j])
            })
        } else {
            std::array::from_fn(|i| {
                std::array::from_fn(|j| self.at(r + i as isize, c + j as isize))
            })
        }
    }
}

impl Window<'_, f32> {
    /// Σᵢ `wr`ᵢ Σⱼ `wc`ⱼ · sample(`r` + i, `c` + j), the samples clamped to the window's edges.
    /// Read in place where the samples are inside (a copy of the block first, as
    /// [`Window::block`] makes, was a tenth of the kernel's time).
    #[inline(always)]
    fn weighted<const N: usize>(&self, r: isize, c: isize, wr: [f64; N], wc: [f64; N]) -> f64 {
        let row_sum = |samples: &[f32]| {
            let mut v = 0.0f64;
            for (wcj, &s) in wc.iter().zip(samples) {
                v += wcj * f64::from(s);
            }
            v
        };
        let mut acc = 0.0f64;
        if let Some(start) = self.start::<N>(r, c) {
            for (i, wri) in wr.iter().enumerate() {
                acc += wri * row_sum(&self.data[start + i * self.cols..][..N]);
            }
        } else {
            for (wri, samples) in wr.iter().zip(&self.block::<N>(r, c)) {
                acc += wri * row_sum(samples);
            }
        }
        acc
    }
}

/// `x` rounded down (`f64::floor` is a libm call per value on the baseline x86-64 target; the
/// cast that truncates is one instruction). For |x| < 2⁶³.
fn floor(x: f64) -> f64 {
    let t = x as i64 as f64;
    if t > x {
        t - 1.0
    } else {
        t
    }
}

/// Weights of Keys' cubic convolution kernel (a = −0.5, GDAL's `cubic`) at the samples at
/// offsets −1, 0, 1, 2 for a position t ∈ [0, 1) past sample 0.
pub(crate) fn keys(t: f64) -> [f64; 4] {
    // The kernel's inner piece at distances t and 1 − t, its outer piece at 1 + t and 2 − t
    // (t = 0 puts them on the pieces' common ends, where both pieces give the same exact 0).
    let a = -0.5;
    let inner = |x: f64| (a + 2.0) * x * x * x - (a + 3.0) * x * x + 1.0;
    let outer = |x: f64| a * x * x * x - 5.0 * a * x * x + 8.0 * a * x - 4.0 * a;
    [outer(1.0 + t), inner(t), inner(1.0 - t), outer(2.0 - t)]
}

/// Where an image position falls among the samples of a window: found once, it gives the
/// interpolated value ([`Spot::value`]) and the flags ([`Spot::flags`]) of every window of
/// the same shape.
#[derive(Debug, Clone, Copy)]
pub struct Spot {
    /// The sample at or before the position, and the fractions past it.
    below: (isize, isize),
    fraction: (f64, f64),
}

impl Spot {
    /// The spot of image position (`line`, `col`) in windows shaped as `img`, or `None` when
    /// the nearest sample is outside the window's image rows/columns (the edge of the swath).
    pub fn new<T>(img: &Window<T>, line: f64, col: f64) -> Option<Spot> {
        let lr = line - img.row0 as f64;
        // x rounded half away from zero lies in 0..n exactly when −0.5 < x < n − 0.5 (NaN
        // positions fail every comparison)
        let inside = |x: f64, n: usize| x > -0.5 && x < n as f64 - 0.5;
        if !(inside(lr, img.rows) && inside(col, img.cols)) {
            return None;
        }
        let (r0, c0) = (floor(lr), floor(col));
        Some(Spot {
            below: (r0 as isize, c0 as isize),
            fraction: (lr - r0, col - c0),
        })
    }

    /// Index of the nearest sample in a window of `cols` columns (halves away from zero: the
    /// position is past −0.5, so a fraction of one half always rounds up).
    fn nearest(&self, cols: usize) -> usize {
        let near = |below: isize, f: f64| (below + isize::from(f >= 0.5)) as usize;
        let ((r, c), (fr, fc)) = (self.below, self.fraction);
        near(r, fr) * cols + near(c, fc)
    }

    /// The value of `img` here.
    #[inline(always)]
    pub fn value(&self, img: &Window<f32>, kind: Resampling) -> f32 {
        let (r0, c0) = self.below;
        let (fr, fc) = self.fraction;
        match kind {
            Resampling::Nearest => img.data[self.nearest(img.cols)],
            Resampling::Bilinear => {
                let (fr, fc) = (fr as f32, fc as f32);
                let [[a, b], [c, d]] = img.block::<2>(r0, c0);
                let top = a * (1.0 - fc) + b * fc;
                let bottom = c * (1.0 - fc) + d * fc;
                top * (1.0 - fr) + bottom * fr
            }
            Resampling::Cubic => img.weighted(r0 - 1, c0 - 1, keys(fr), keys(fc)) as f32,
        }
    }

    /// Whether the samples any kernel reads here hold no flag, by `clean`: a cheap test that
    /// spares [`Spot::flags`] where the raw image is clean, as it mostly is.
    #[inline(always)]
    pub fn is_clean(&self, clean: &CleanBlocks) -> bool {
        let (r, c) = self.below;
        let (last_r, last_c) = (clean.rows as isize - 1, clean.cols as isize - 1);
        let chunks = (c - 1).clamp(0, last_c) as usize / CleanBlocks::CHUNK
            ..=(c + 2).clamp(0, last_c) as usize / CleanBlocks::CHUNK;
        if r >= 1 && r + 2 <= last_r {
            // rows r − 1 to r + 2, all inside: one look per chunk
            let four = &clean.four[(r - 1) as usize * clean.chunks..];
            return chunks.into_iter().all(|k| four[k]);
        }
        let rows = (r - 1).clamp(0, last_r) as usize..=(r + 2).clamp(0, last_r) as usize;
        rows.into_iter()
            .all(|r| chunks.clone().all(|k| clean.clean[r * clean.chunks + k]))
    }

    /// OR of the flags in `img` of every sample the kernel gives a non-zero weight here.
    pub fn flags(&self, img: &Window<u8>, kind: Resampling) -> u8 {
        let (r, c) = self.below;
        let (fr, fc) = self.fraction;
        let reach = match kind {
            Resampling::Nearest => {
                return img.data[self.nearest(img.cols)];
            }
            Resampling::Bilinear => (0, 1),
            Resampling::Cubic => (-1, 2),
        };
        let span = |f: f64| if f > 0.0 { reach } else { (0, 0) };
        let ((r_lo, r_hi), (c_lo, c_hi)) = (span(fr), span(fc));
        let inside = r + r_lo >= 0
            && c + c_lo >= 0
            && r + r_hi < img.rows as isize
            && c + c_hi < img.cols as isize;
        let mut out = 0;
        for i in r_lo..=r_hi {
            if inside {
                let start = (r + i) as usize * img.cols + (c + c_lo) as usize;
                for &v in &img.data[start..=start + (c_hi - c_lo) as usize] {
                    out |= v;
                }
            } else {
                for j in c_lo..=c_hi {
                    out |= img.at(r + i, c + j);
                }
            }
        }
        out
    }
}

/// Which runs of [`CleanBlocks::CHUNK`] samples of each row of a flag window hold no flag.
pub struct CleanBlocks {
    rows: usize,
    cols: usize,
    chunks: usize,
    clean: Vec<bool>,
    /// Whether the chunk is clean in its row and the three below (false where those leave
    /// the window): what a 4 × 4 kernel inside the window reads.
    four: Vec<bool>,
}

impl CleanBlocks {
    const CHUNK: usize = 32;

    pub fn of(img: &Window<u8>) -> CleanBlocks {
        let chunks = img.cols.div_ceil(Self::CHUNK);
        let clean = img
            .data
            .chunks(img.cols)
            .flat_map(|row| row.chunks(Self::CHUNK).map(|c| c.iter().all(|&v| v == 0)))
            .collect::<Vec<bool>>();
        let four = (0..clean.len())
            .map(|i| (0..4).all(|k| clean.get(i + k * chunks) == Some(&true)))
            .collect();
        CleanBlocks {
            rows: img.rows,
            cols: img.cols,
            chunks,
            clean,
            four,
        }
    }
}

/// Value at image position (`line`, `col`), or `None` when the nearest sample is outside the
/// window's image rows/columns (the edge of the swath).
pub fn sample(img: &Window<f32>, line: f64, col: f64, kind: Resampling) -> Option<f32> {
    Spot::new(img, line, col).map(|s| s.value(img, kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(rows: usize, cols: usize) -> Vec<f32> {
        (0..rows * cols)
            .map(|i| (3 * (i / cols) + 2 * (i % cols)) as f32)
            .collect()
    }

    #[test]
    fn every_kernel_is_exact_on_a_plane_and_at_nodes() {
        let data = ramp(10, 12);
        let w = Window {
            data: &data,
            cols: 12,
            rows: 10,
            row0: 100,
        };
        for kind in [Resampling::Bilinear, Resampling::Cubic] {
            let v = sample(&w, 104.25, 5.5, kind).unwrap();
            assert!((v - (3.0 * 4.25 + 2.0 * 5.5)).abs() < 1e-4, "{kind:?} {v}");
        }
        for kind in [Resampling::Nearest, Resampling::Bilinear, Resampling::Cubic] {
            assert_eq!(sample(&w, 103.0, 7.0, kind).unwrap(), 3.0 * 3.0 + 14.0);
        }
        assert!(sample(&w, 99.4, 3.0, Resampling::Cubic).is_none());
        assert!(sample(&w, 104.0, 11.6, Resampling::Cubic).is_none());
    }

    #[test]
    fn keys_weights_are_the_kernel_of_gdal_cubic() {
        // Keys' kernel, a = −0.5, as GDAL's cubic resampling defines it, piece by distance
        let kernel = |x: f64| {
            let x = x.abs();
            if x <= 1.0 {
                1.5 * x * x * x - 2.5 * x * x + 1.0
            } else if x < 2.0 {
                -0.5 * x * x * x + 2.5 * x * x - 4.0 * x + 2.0
            } else {
                0.0
            }
        };
        for t in [0.0, 1e-9, 0.25, 0.5, 0.75, 1.0 - 1e-12] {
            let w = keys(t);
            let want = [kernel(1.0 + t), kernel(t), kernel(1.0 - t), kernel(2.0 - t)];
            for (g, e) in w.iter().zip(want) {
                assert!((g - e).abs() < 1e-15, "{t}: {w:?} {want:?}");
            }
            assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        }
        assert_eq!(keys(0.0), [0.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn cubic_reproduces_a_quadratic_better_than_bilinear() {
        let f = |r: f64, c: f64| 0.01 * (r * r + c * c);
        let data: Vec<f32> = (0..100)
            .map(|i| f((i / 10) as f64, (i % 10) as f64) as f32)
            .collect();
        let w = Window {
            data: &data,
            cols: 10,
            rows: 10,
            row0: 0,
        };
        let (r, c) = (4.5, 4.5);
        let eb = (f64::from(sample(&w, r, c, Resampling::Bilinear).unwrap()) - f(r, c)).abs();
        let ec = (f64::from(sample(&w, r, c, Resampling::Cubic).unwrap()) - f(r, c)).abs();
        assert!(ec < eb / 4.0, "cubic {ec} bilinear {eb}");
    }

    #[test]
    fn spots_find_the_nearest_sample_as_rounding_half_away_from_zero() {
        let data = vec![0f32; 5 * 7];
        let w = Window {
            data: &data,
            cols: 7,
            rows: 5,
            row0: 0,
        };
        let xs = [
            -1.0,
            -0.5,
            -0.499_999_999_999_999_94,
            -0.3,
            0.0,
            0.5,
            1.5,
            2.499_999_999_999_999_6,
            2.5,
            4.499_999_999_999_999,
            4.5,
            6.4,
            6.499_999_999_999_999,
            6.5,
            f64::NAN,
        ];
        for l in xs {
            for c in xs {
                let (rn, cn) = (l.round(), c.round());
                let want = (rn >= 0.0 && cn >= 0.0 && rn < 5.0 && cn < 7.0)
                    .then(|| rn as usize * 7 + cn as usize);
                assert_eq!(Spot::new(&w, l, c).map(|s| s.nearest(7)), want, "{l} {c}");
            }
        }
    }

    #[test]
    fn the_clean_test_reads_every_row_and_chunk_the_kernel_reaches() {
        // flags scattered over rows and columns, the window's edges included
        let (rows, cols) = (12, 150);
        let fl: Vec<u8> = (0..rows * cols)
            .map(|i| 4 * u8::from(i % 197 == 0 || i % 211 == 5))
            .collect();
        let w = Window {
            data: &fl,
            cols,
            rows,
            row0: 0,
        };
        let clean = CleanBlocks::of(&w);
        let chunk_clean = |r: usize, k: usize| {
            let row = &fl[r * cols..(r + 1) * cols];
            row.chunks(CleanBlocks::CHUNK)
                .nth(k)
                .unwrap()
                .iter()
                .all(|&v| v == 0)
        };
        let (mut seen, mut dirty) = (0, 0);
        for r in 0..rows {
            for c in 0..cols {
                let Some(s) = Spot::new(&w, r as f64 + 0.25, c as f64 + 0.3) else {
                    continue;
                };
                let at = |x: isize, n: usize| x.clamp(0, n as isize - 1) as usize;
                let (r, c) = (r as isize, c as isize);
                let want = (at(r - 1, rows)..=at(r + 2, rows)).all(|r| {
                    (at(c - 1, cols) / CleanBlocks::CHUNK..=at(c + 2, cols) / CleanBlocks::CHUNK)
                        .all(|k| chunk_clean(r, k))
                });
                assert_eq!(s.is_clean(&clean), want, "{r} {c}");
                seen += 1;
                dirty += usize::from(!want);
            }
        }
        assert!(dirty > 0 && dirty < seen, "{dirty} of {seen}");
    }

    #[test]
    fn a_defective_column_leaves_the_others_clean() {
        let mut fl = vec![0u8; 20 * 100];
        for r in 0..20 {
            fl[r * 100 + 90] = 4;
        }
        let w = Window {
            data: &fl,
            cols: 100,
            rows: 20,
            row0: 0,
        };
        let clean = CleanBlocks::of(&w);
        let at = |c: f64| Spot::new(&w, 10.0, c).unwrap();
        assert!(at(10.0).is_clean(&clean) && at(60.0).is_clean(&clean));
        assert!(!at(90.0).is_clean(&clean));
        // wherever the test says clean, the kernels' flags are 0
        for c in 0..100 {
            let s = at(c as f64 + 0.3);
            if s.is_clean(&clean) {
                assert_eq!(s.flags(&w, Resampling::Cubic), 0, "{c}");
            }
        }
    }

    #[test]
    fn flags_of_contributing_samples() {
        let mut fl = vec![0u8; 100];
        fl[5 * 10 + 5] = 1;
        let w = Window {
            data: &fl,
            cols: 10,
            rows: 10,
            row0: 0,
        };
        let flags = |l: f64, c: f64, kind| Spot::new(&w, l, c).unwrap().flags(&w, kind);
        let clean = CleanBlocks::of(&w);
        let is_clean = |l: f64| Spot::new(&w, l, 5.0).unwrap().is_clean(&clean);
        // row 5 holds the flag: every kernel around rows 3..=6 may read it
        assert!(is_clean(1.0) && is_clean(7.0) && is_clean(9.0));
        assert!(!is_clean(3.0) && !is_clean(4.5) && !is_clean(6.0));
        assert_eq!(flags(5.0, 5.0, Resampling::Nearest), 1);
        assert_eq!(flags(4.5, 4.5, Resampling::Bilinear), 1);
        assert_eq!(flags(3.5, 3.5, Resampling::Bilinear), 0);
        assert_eq!(flags(3.5, 3.5, Resampling::Cubic), 1);
        assert_eq!(flags(5.0, 3.0, Resampling::Cubic), 0);
        // at the window's edge the kernel's samples are clamped to it
        assert_eq!(flags(9.0, 8.5, Resampling::Cubic), 0);
        let mut corner = fl.clone();
        corner[9 * 10 + 9] = 2;
        let w = Window { data: &corner, ..w };
        assert_eq!(
            Spot::new(&w, 9.0, 8.5)
                .unwrap()
                .flags(&w, Resampling::Cubic),
            2
        );
    }
}
