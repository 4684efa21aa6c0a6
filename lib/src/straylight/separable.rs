//! Direct convolution with separable kernels (`K[i][j] = u[i] · v[j]`, such as the Gaussian
//! ghost of a cross-talk filter): a pass along columns, then one along rows, `u.len() +
//! v.len()` multiply-adds per pixel. Same output as [`super::fft::convolve_same`]: `same` size,
//! zeros outside the image.

use rayon::prelude::*;

use crate::ee::strlgt::Kernel;

/// Largest residual of the rank-one factorisation, relative to the kernel's l1 norm, for a
/// kernel to count as separable (it bounds the relative error the factorisation adds to the
/// convolution; float32 weights of an exactly separable kernel leave ~1e-7).
pub const TOLERANCE: f64 = 1e-6;

/// The column factor `u` (`k.rows` values) and row factor `v` (`k.cols` values) of `k` when
/// `k` is separable within [`TOLERANCE`].
pub fn factors(k: &Kernel) -> Option<(Vec<f32>, Vec<f32>)> {
    let at = |r: usize, c: usize| f64::from(k.data[r * k.cols + c]);
    let (p, q) = (0..k.rows * k.cols)
        .map(|i| (i / k.cols, i % k.cols))
        .max_by(|a, b| at(a.0, a.1).abs().total_cmp(&at(b.0, b.1).abs()))?;
    let pivot = at(p, q);
    if pivot == 0.0 {
        return None;
    }
    let u: Vec<f64> = (0..k.rows).map(|r| at(r, q)).collect();
    let v: Vec<f64> = (0..k.cols).map(|c| at(p, c) / pivot).collect();
    let residual: f64 = (0..k.rows * k.cols)
        .map(|i| (at(i / k.cols, i % k.cols) - u[i / k.cols] * v[i % k.cols]).abs())
        .sum();
    (residual <= TOLERANCE * k.l1_norm()).then(|| {
        let f32s = |x: Vec<f64>| x.into_iter().map(|v| v as f32).collect();
        (f32s(u), f32s(v))
    })
}

/// `image` (`cols` × `rows`) convolved with the kernel `u ⊗ v` (`u` along columns, `v` along
/// rows, both of odd length, centred), same size, zeros outside the image. Each output row is
/// computed on its own, so the result does not depend on the thread count.
pub fn convolve_same(image: &[f32], cols: usize, rows: usize, u: &[f32], v: &[f32]) -> Vec<f32> {
    let (hu, hv) = (u.len() / 2, v.len() / 2);
    let mut out = vec![0f32; cols * rows];
    out.par_chunks_mut(cols).enumerate().for_each_init(
        || vec![0f32; cols + 2 * hv],
        |padded, (r, out)| {
            // Along columns, into the middle of a zero-padded row.
            let acc = &mut padded[hv..hv + cols];
            acc.fill(0.0);
            for (i, &w) in u.iter().enumerate() {
                let y = r as isize + hu as isize - i as isize;
                if y < 0 || y >= rows as isize {
                    continue;
                }
                axpy(acc, w, &image[y as usize * cols..(y as usize + 1) * cols]);
            }
            // Along the row: out[c] = Σ_j v[j] · row[c + hv − j], row[x] = padded[x + hv].
            for (j, &w) in v.iter().enumerate() {
                axpy(out, w, &padded[2 * hv - j..2 * hv - j + cols]);
            }
        },
    );
    out
}

/// `acc += w · x`: a function of its own, not inlined, so that the compiler knows the two
/// slices apart and vectorises the loop (once inlined into the row closure it does not).
#[inline(never)]
fn axpy(acc: &mut [f32], w: f32, x: &[f32]) {
    for (a, &v) in acc.iter_mut().zip(x) {
        *a += w * v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gaussian(n: usize, sigma: f64) -> Kernel {
        let c = (n / 2) as f64;
        Kernel {
            rows: n,
            cols: n,
            data: (0..n * n)
                .map(|i| {
                    let r = ((i / n) as f64 - c).hypot((i % n) as f64 - c);
                    (-0.5 * (r / sigma).powi(2)).exp() as f32
                })
                .collect(),
        }
    }

    #[test]
    fn gaussians_factor_and_rings_do_not() {
        let (u, v) = factors(&gaussian(33, 3.0)).expect("a Gaussian is separable");
        assert_eq!((u.len(), v.len()), (33, 33));
        let mut ring = gaussian(9, 2.0);
        ring.data[40] = 0.0;
        assert!(factors(&ring).is_none());
        assert!(factors(&Kernel {
            rows: 1,
            cols: 1,
            data: vec![0.0]
        })
        .is_none());
    }

    #[test]
    fn separable_convolution_equals_the_direct_sum() {
        use crate::straylight::fft::tests::{direct, test_image};
        let (cols, rows) = (61, 43);
        let image = test_image(cols, rows);
        // An asymmetric separable kernel: 7 rows × 11 columns.
        let (u, v): (Vec<f32>, Vec<f32>) = (
            (0..7).map(|i| 0.1 + 0.05 * i as f32).collect(),
            (0..11).map(|j| 0.3 - 0.02 * j as f32).collect(),
        );
        let k = Kernel {
            rows: 7,
            cols: 11,
            data: (0..77).map(|i| u[i / 11] * v[i % 11]).collect(),
        };
        let (fu, fv) = factors(&k).unwrap();
        let a = convolve_same(&image, cols, rows, &fu, &fv);
        for (x, y) in a.iter().zip(&direct(&image, cols, rows, &k)) {
            assert!((x - y).abs() < 1e-3, "{x} {y}");
        }
    }
}
