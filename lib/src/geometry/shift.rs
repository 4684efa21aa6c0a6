//! Sub-pixel shift between two images of the same scene: the integer shift that maximises the
//! normalised cross-correlation, refined by Lucas–Kanade (Gauss–Newton) iterations on the
//! normalised images, `b` resampled by cubic convolution. Insensitive to gain and offset
//! differences (counts against reflectance), as a registration check needs.

use crate::geometry::resample::{sample, Resampling, Window};

/// Estimated shift and the correlation at the peak.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shift {
    /// `b` sampled at (x + dx, y + dy) matches `a` at (x, y), in pixels.
    pub dx: f64,
    pub dy: f64,
    /// Normalised correlation at the integer peak, in [−1, 1].
    pub peak: f64,
}

/// Correlation of `a` and `b` (row-major, `width` columns) over the window of `a` that stays
/// `margin` pixels from the edges, with `b` offset by (sx, sy). NaN samples are skipped.
fn ncc(
    a: &[f64],
    b: &[f64],
    width: usize,
    height: usize,
    margin: usize,
    sx: isize,
    sy: isize,
) -> f64 {
    let (mut n, mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for y in margin..height - margin {
        for x in margin..width - margin {
            let (xb, yb) = (x as isize + sx, y as isize + sy);
            let (va, vb) = (a[y * width + x], b[yb as usize * width + xb as usize]);
            if va.is_nan() || vb.is_nan() {
                continue;
            }
            n += 1.0;
            sa += va;
            sb += vb;
            saa += va * va;
            sbb += vb * vb;
            sab += va * vb;
        }
    }
    let cov = sab - sa * sb / n;
    let den = ((saa - sa * sa / n) * (sbb - sb * sb / n)).sqrt();
    if den > 0.0 {
        cov / den
    } else {
        f64::NAN
    }
}

/// Shift of `b` relative to `a` (same size), searched within ±`max_shift` pixels.
pub fn estimate(a: &[f64], b: &[f64], width: usize, height: usize, max_shift: usize) -> Shift {
    let m = max_shift as isize;
    let margin = max_shift + 1;
    let mut best = (f64::MIN, 0, 0);
    for sy in -m..=m {
        for sx in -m..=m {
            let c = ncc(a, b, width, height, margin, sx, sy);
            if c > best.0 {
                best = (c, sx, sy);
            }
        }
    }
    let (peak, sx, sy) = best;
    let (dx, dy) = refine(a, b, width, height, margin + 2, (sx as f64, sy as f64));
    Shift { dx, dy, peak }
}

/// Gauss–Newton refinement of the shift from `start`.
fn refine(
    a: &[f64],
    b: &[f64],
    width: usize,
    height: usize,
    margin: usize,
    start: (f64, f64),
) -> (f64, f64) {
    let bf: Vec<f32> = b.iter().map(|&v| v as f32).collect();
    let img = Window {
        data: &bf,
        cols: width,
        rows: height,
        row0: 0,
    };
    let at = |x: f64, y: f64| sample(&img, y, x, Resampling::Cubic).map_or(f64::NAN, f64::from);
    let pixels: Vec<(usize, usize)> = (margin..height - margin)
        .flat_map(|y| (margin..width - margin).map(move |x| (x, y)))
        .filter(|&(x, y)| !a[y * width + x].is_nan())
        .collect();
    let norm = |v: &[f64]| {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n)
            .sqrt()
            .max(1e-12);
        (mean, sd)
    };
    let av: Vec<f64> = pixels.iter().map(|&(x, y)| a[y * width + x]).collect();
    let (ma, sa) = norm(&av);
    let (mut dx, mut dy) = start;
    // b is sampled at the same fraction everywhere: the samples at a pixel's neighbours are
    // the central differences' terms, so one sample per pixel of the window and its rim
    let (x0, y0) = (margin - 1, margin - 1);
    let (ww, wh) = (width - 2 * margin + 2, height - 2 * margin + 2);
    let mut warped = vec![0.0; ww * wh];
    for _ in 0..20 {
        for (k, w) in warped.iter_mut().enumerate() {
            let (x, y) = ((x0 + k % ww) as f64, (y0 + k / ww) as f64);
            *w = at(x + dx, y + dy);
        }
        let bw_at = |x: usize, y: usize| warped[(y - y0) * ww + x - x0];
        let bw: Vec<f64> = pixels.iter().map(|&(x, y)| bw_at(x, y)).collect();
        if bw.iter().any(|v| v.is_nan()) {
            break;
        }
        let (mb, sb) = norm(&bw);
        let (mut gxx, mut gxy, mut gyy, mut rx, mut ry) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (k, &(x, y)) in pixels.iter().enumerate() {
            let gx = (bw_at(x + 1, y) - bw_at(x - 1, y)) / (2.0 * sb);
            let gy = (bw_at(x, y + 1) - bw_at(x, y - 1)) / (2.0 * sb);
            let r = (av[k] - ma) / sa - (bw[k] - mb) / sb;
            if !(gx.is_finite() && gy.is_finite()) {
                continue;
            }
            gxx += gx * gx;
            gxy += gx * gy;
            gyy += gy * gy;
            rx += gx * r;
            ry += gy * r;
        }
        let det = gxx * gyy - gxy * gxy;
        if det.abs() < 1e-12 {
            break;
        }
        let (ddx, ddy) = ((gyy * rx - gxy * ry) / det, (gxx * ry - gxy * rx) / det);
        dx += ddx.clamp(-0.5, 0.5);
        dy += ddy.clamp(-0.5, 0.5);
        if ddx.abs() < 1e-4 && ddy.abs() < 1e-4 {
            break;
        }
    }
    (dx, dy)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene(x: f64, y: f64) -> f64 {
        (x / 5.0).sin() * (y / 7.0).cos() + 0.5 * ((x + 2.0 * y) / 9.0).sin()
    }

    #[test]
    fn recovers_a_known_sub_pixel_shift_despite_gain_and_offset() {
        let (w, h) = (80, 70);
        let (tx, ty) = (1.3, -0.6);
        let a: Vec<f64> = (0..w * h)
            .map(|i| scene((i % w) as f64, (i / w) as f64))
            .collect();
        let b: Vec<f64> = (0..w * h)
            .map(|i| 100.0 + 40.0 * scene((i % w) as f64 - tx, (i / w) as f64 - ty))
            .collect();
        let s = estimate(&a, &b, w, h, 3);
        assert!(
            (s.dx - tx).abs() < 0.02 && (s.dy - ty).abs() < 0.02,
            "{s:?}"
        );
        assert!(s.peak > 0.95);
        let same = estimate(&a, &a, w, h, 2);
        assert!(same.dx.abs() < 1e-6 && same.dy.abs() < 1e-6, "{same:?}");
    }
}
