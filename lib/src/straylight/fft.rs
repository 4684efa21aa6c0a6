//! 2-D convolution by FFT (realfft along rows, complex FFT along columns), `same`-size output
//! with zeros outside the image — what `scipy.signal.fftconvolve(image, kernel, mode="same")`
//! computes. Sizes are padded to FFT-friendly lengths (2, 3, 5 factors).

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rustfft::{Fft, FftNum, FftPlanner};

use crate::ee::strlgt::Kernel;

/// Smallest n ≥ `min` whose prime factors are 2, 3 and 5.
pub fn fast_len(min: usize) -> usize {
    let mut n = min.max(1);
    loop {
        let mut m = n;
        for p in [2, 3, 5] {
            while m.is_multiple_of(p) {
                m /= p;
            }
        }
        if m == 1 {
            return n;
        }
        n += 1;
    }
}

/// Forward and inverse 2-D real FFT plans of one padded size, in precision `T` (f64 for
/// whole images, f32 for the small tiles of overlap-save).
pub struct Fft2<T: FftNum> {
    w: usize,
    h: usize,
    r2c: Arc<dyn RealToComplex<T>>,
    c2r: Arc<dyn ComplexToReal<T>>,
    col_fwd: Arc<dyn Fft<T>>,
    col_inv: Arc<dyn Fft<T>>,
}

impl<T: FftNum + Into<f64> + Default> Fft2<T> {
    /// Plans for `w` × `h` real arrays.
    pub fn new(w: usize, h: usize) -> Self {
        let mut rp = RealFftPlanner::<T>::new();
        let mut cp = FftPlanner::<T>::new();
        Fft2 {
            w,
            h,
            r2c: rp.plan_fft_forward(w),
            c2r: rp.plan_fft_inverse(w),
            col_fwd: cp.plan_fft_forward(h),
            col_inv: cp.plan_fft_inverse(h),
        }
    }

    fn half(&self) -> usize {
        self.w / 2 + 1
    }

    /// Spectrum (`h` rows × `w/2+1` columns, column-major per row block) of a zero-padded
    /// array: `src` is `rows` × `cols` placed at the origin.
    pub fn forward(&self, src: &[f32], cols: usize, rows: usize) -> Vec<Complex<T>> {
        let hw = self.half();
        let mut spec = vec![Complex::default(); self.h * hw];
        let mut line = vec![T::zero(); self.w];
        let mut out = vec![Complex::default(); hw];
        for r in 0..rows {
            line.iter_mut().for_each(|v| *v = T::zero());
            for (v, &s) in line.iter_mut().zip(&src[r * cols..(r + 1) * cols]) {
                *v = T::from_f32(s).expect("f32 converts");
            }
            self.r2c
                .process(&mut line, &mut out)
                .expect("sizes match the plan");
            spec[r * hw..(r + 1) * hw].copy_from_slice(&out);
        }
        self.columns(&mut spec, &self.col_fwd);
        spec
    }

    /// The real array (`h` × `w`) of a spectrum, scaled so that inverse(forward(x)) = x.
    pub fn inverse(&self, mut spec: Vec<Complex<T>>) -> Vec<T> {
        let hw = self.half();
        self.columns(&mut spec, &self.col_inv);
        let scale = T::from_f64(1.0 / (self.w * self.h) as f64).expect("scale converts");
        let mut out = vec![T::zero(); self.w * self.h];
        let mut line = vec![Complex::default(); hw];
        for r in 0..self.h {
            line.copy_from_slice(&spec[r * hw..(r + 1) * hw]);
            // The imaginary parts of the DC and Nyquist bins of a real signal are zero.
            line[0].im = T::zero();
            if self.w.is_multiple_of(2) {
                line[hw - 1].im = T::zero();
            }
            self.c2r
                .process(&mut line, &mut out[r * self.w..(r + 1) * self.w])
                .expect("sizes match the plan");
        }
        out.iter_mut().for_each(|v| *v = *v * scale);
        out
    }

    fn columns(&self, spec: &mut [Complex<T>], fft: &Arc<dyn Fft<T>>) {
        let hw = self.half();
        let mut col = vec![Complex::default(); self.h];
        for c in 0..hw {
            for r in 0..self.h {
                col[r] = spec[r * hw + c];
            }
            fft.process(&mut col);
            for r in 0..self.h {
                spec[r * hw + c] = col[r];
            }
        }
    }
}

/// Tile size of the overlap-save convolution of large images.
const TILE: usize = 512;

/// `image` (`cols` × `rows`) convolved with `k`, same size, zeros outside the image. Large
/// images are done by overlap-save over 512 × 512 tiles (in parallel, each tile independent, so
/// the result does not depend on the thread count); small ones in one transform.
pub fn convolve_same(image: &[f32], cols: usize, rows: usize, k: &Kernel) -> Vec<f32> {
    let tiled = k.rows * 4 <= TILE && k.cols * 4 <= TILE && cols * rows > TILE * TILE;
    if tiled {
        convolve_tiled(image, cols, rows, k)
    } else {
        convolve_whole(image, cols, rows, k)
    }
}

fn convolve_whole(image: &[f32], cols: usize, rows: usize, k: &Kernel) -> Vec<f32> {
    let (w, h) = (fast_len(cols + k.cols - 1), fast_len(rows + k.rows - 1));
    let fft = Fft2::<f64>::new(w, h);
    let a = fft.forward(image, cols, rows);
    let b = fft.forward(&k.data, k.cols, k.rows);
    let prod: Vec<Complex<f64>> = a.iter().zip(&b).map(|(x, y)| x * y).collect();
    let full = fft.inverse(prod);
    // The full convolution starts at −(k − 1)/2 … : take the centred window.
    let (oy, ox) = (k.rows / 2, k.cols / 2);
    let mut out = Vec::with_capacity(cols * rows);
    for r in 0..rows {
        let row = &full[(r + oy) * w + ox..(r + oy) * w + ox + cols];
        out.extend(row.iter().map(|&v| v as f32));
    }
    out
}

fn convolve_tiled(image: &[f32], cols: usize, rows: usize, k: &Kernel) -> Vec<f32> {
    use rayon::prelude::*;
    let fft = Fft2::<f32>::new(TILE, TILE);
    let kernel = fft.forward(&k.data, k.cols, k.rows);
    let (vy, vx) = (TILE - k.rows + 1, TILE - k.cols + 1);
    let (hy, hx) = ((k.rows / 2) as isize, (k.cols / 2) as isize);
    let tiles: Vec<(usize, usize)> = (0..rows.div_ceil(vy))
        .flat_map(|ty| (0..cols.div_ceil(vx)).map(move |tx| (ty * vy, tx * vx)))
        .collect();
    let blocks: Vec<((usize, usize), Vec<f32>)> = tiles
        .par_iter()
        .map(|&(y0, x0)| {
            // Input window starting half a kernel before the output block, zeros outside.
            let mut tile = vec![0f32; TILE * TILE];
            for r in 0..TILE {
                let y = y0 as isize + r as isize - hy;
                if y < 0 || y >= rows as isize {
                    continue;
                }
                for c in 0..TILE {
                    let x = x0 as isize + c as isize - hx;
                    if x >= 0 && x < cols as isize {
                        tile[r * TILE + c] = image[y as usize * cols + x as usize];
                    }
                }
            }
            let spec = fft.forward(&tile, TILE, TILE);
            let prod: Vec<Complex<f32>> = spec.iter().zip(&kernel).map(|(x, y)| x * y).collect();
            ((y0, x0), fft.inverse(prod))
        })
        .collect();
    let mut out = vec![0f32; cols * rows];
    for ((y0, x0), full) in blocks {
        // Circular convolution: outputs from index k − 1 on are free of wrap-around; output
        // pixel (y0 + r, x0 + c) sits at (r + k.rows − 1, c + k.cols − 1) of the tile.
        for r in 0..vy.min(rows - y0) {
            for c in 0..vx.min(cols - x0) {
                out[(y0 + r) * cols + x0 + c] = full[(r + k.rows - 1) * TILE + c + k.cols - 1];
            }
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The `same` convolution summed directly, in f64 (the reference of the tests).
    pub(crate) fn direct(image: &[f32], cols: usize, rows: usize, k: &Kernel) -> Vec<f32> {
        let (cy, cx) = ((k.rows / 2) as isize, (k.cols / 2) as isize);
        let mut out = vec![0f32; cols * rows];
        for r in 0..rows as isize {
            for c in 0..cols as isize {
                let mut acc = 0.0f64;
                for i in 0..k.rows as isize {
                    for j in 0..k.cols as isize {
                        let (y, x) = (r - (i - cy), c - (j - cx));
                        if y >= 0 && x >= 0 && (y as usize) < rows && (x as usize) < cols {
                            acc += f64::from(k.data[(i as usize) * k.cols + j as usize])
                                * f64::from(image[y as usize * cols + x as usize]);
                        }
                    }
                }
                out[r as usize * cols + c as usize] = acc as f32;
            }
        }
        out
    }

    /// A `cols` × `rows` test image of pseudo-random values in 0..101.
    pub(crate) fn test_image(cols: usize, rows: usize) -> Vec<f32> {
        (0..cols * rows)
            .map(|i| ((i * 7919) % 101) as f32)
            .collect()
    }

    #[test]
    fn fft_convolution_equals_the_direct_sum() {
        let (cols, rows) = (37, 29);
        let image = test_image(cols, rows);
        let k = Kernel {
            rows: 7,
            cols: 5,
            data: (0..35).map(|i| (i as f32 - 10.0) * 0.01).collect(),
        };
        let a = convolve_same(&image, cols, rows, &k);
        let b = direct(&image, cols, rows, &k);
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-3, "{x} {y}");
        }
    }

    #[test]
    fn tiled_and_whole_convolutions_agree() {
        let (cols, rows) = (700, 600);
        let image = test_image(cols, rows);
        let k = Kernel {
            rows: 33,
            cols: 31,
            data: (0..33 * 31)
                .map(|i| ((i % 13) as f32 - 4.0) * 1e-3)
                .collect(),
        };
        let a = convolve_tiled(&image, cols, rows, &k);
        let b = convolve_whole(&image, cols, rows, &k);
        let worst = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-3, "{worst}");
    }

    #[test]
    fn fast_lengths() {
        assert_eq!(fast_len(7), 8);
        assert_eq!(fast_len(1001), 1024);
        assert_eq!(fast_len(5457), 5625);
    }
}
