//! Fields on the coarse grid of the L2 processing (one value per cell, NaN where unknown):
//! gap filling, Gaussian smoothing, box means and bilinear sampling between cell centres.

/// A row-major field of `rows` × `cols` cells; NaN marks a cell without a value.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f64>,
}

impl Field {
    /// A field holding `value` everywhere.
    pub fn filled(rows: usize, cols: usize, value: f64) -> Field {
        Field {
            rows,
            cols,
            data: vec![value; rows * cols],
        }
    }

    /// Value of cell (`r`, `c`).
    pub fn at(&self, r: usize, c: usize) -> f64 {
        self.data[r * self.cols + c]
    }

    /// Number of cells with a value.
    pub fn valid(&self) -> usize {
        self.data.iter().filter(|v| !v.is_nan()).count()
    }

    /// Normalised Gaussian convolution of the valid cells: each cell gets Σ w·v / Σ w over
    /// the valid cells within 3σ, and the weight sum Σ w (0 where no valid cell is near).
    fn convolve(&self, sigma: f64) -> (Vec<f64>, Vec<f64>) {
        let half = (3.0 * sigma).ceil() as isize;
        let kernel: Vec<f64> = (-half..=half)
            .map(|k| (-0.5 * (k as f64 / sigma).powi(2)).exp())
            .collect();
        let pass = |src: &[f64], rows: usize, cols: usize, along_rows: bool| -> Vec<f64> {
            let mut out = vec![0.0; src.len()];
            for r in 0..rows {
                for c in 0..cols {
                    let mut s = 0.0;
                    for (k, w) in kernel.iter().enumerate() {
                        let d = k as isize - half;
                        let (rr, cc) = if along_rows {
                            (r as isize, c as isize + d)
                        } else {
                            (r as isize + d, c as isize)
                        };
                        if rr >= 0 && cc >= 0 && (rr as usize) < rows && (cc as usize) < cols {
                            s += w * src[rr as usize * cols + cc as usize];
                        }
                    }
                    out[r * cols + c] = s;
                }
            }
            out
        };
        let (rows, cols) = (self.rows, self.cols);
        let mask: Vec<f64> = self
            .data
            .iter()
            .map(|v| f64::from(u8::from(!v.is_nan())))
            .collect();
        let values: Vec<f64> = self
            .data
            .iter()
            .map(|v| if v.is_nan() { 0.0 } else { *v })
            .collect();
        let num = pass(&pass(&values, rows, cols, true), rows, cols, false);
        let den = pass(&pass(&mask, rows, cols, true), rows, cols, false);
        let mean = num
            .iter()
            .zip(&den)
            .map(|(n, d)| if *d > 1e-9 { n / d } else { f64::NAN })
            .collect();
        (mean, den)
    }

    /// Fills the cells without a value with the Gaussian-weighted mean of the valid ones,
    /// the scale starting at `sigma` cells and doubling until every cell is reached. Returns
    /// which cells were filled, or `None` (field unchanged) when no cell has a value.
    pub fn fill_gaps(&mut self, sigma: f64) -> Option<Vec<bool>> {
        if self.valid() == 0 {
            return None;
        }
        let filled: Vec<bool> = self.data.iter().map(|v| v.is_nan()).collect();
        let mut sigma = sigma.max(0.5);
        while self.data.iter().any(|v| v.is_nan()) {
            let (mean, _) = self.convolve(sigma);
            for (v, m) in self.data.iter_mut().zip(mean) {
                if v.is_nan() && !m.is_nan() {
                    *v = m;
                }
            }
            sigma *= 2.0;
        }
        Some(filled)
    }

    /// Gaussian smoothing of scale `sigma` cells (normalised at the borders); cells without a
    /// value stay without.
    pub fn smoothed(&self, sigma: f64) -> Field {
        if sigma <= 0.0 {
            return self.clone();
        }
        let (mean, _) = self.convolve(sigma);
        let data = self
            .data
            .iter()
            .zip(mean)
            .map(|(v, m)| if v.is_nan() { f64::NAN } else { m })
            .collect();
        Field { data, ..*self }
    }
}

/// Bilinear sampling position between cell centres: for a fractional cell coordinate `x`
/// (cell centres at 0, 1, ...), the lower cell index and the weight of the upper one, clamped
/// to the field's edge cells.
pub fn bracket(x: f64, n: usize) -> (usize, f64) {
    if n < 2 {
        return (0, 0.0);
    }
    let x = x.clamp(0.0, (n - 1) as f64);
    let i = (x.floor() as usize).min(n - 2);
    (i, x - i as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_are_filled_from_their_neighbours_and_reported() {
        let mut f = Field::filled(5, 6, 2.0);
        f.data[7] = f64::NAN;
        f.data[29] = f64::NAN;
        let filled = f.fill_gaps(1.0).unwrap();
        assert!(f.data.iter().all(|v| (v - 2.0).abs() < 1e-12));
        assert_eq!(filled.iter().filter(|b| **b).count(), 2);
        assert!(filled[7] && filled[29]);
        let mut empty = Field::filled(2, 2, f64::NAN);
        assert_eq!(empty.fill_gaps(1.0), None);
    }

    #[test]
    fn a_far_gap_is_reached_by_growing_the_scale() {
        let mut f = Field::filled(1, 40, f64::NAN);
        f.data[0] = 1.0;
        f.fill_gaps(1.0).unwrap();
        assert!(f.data.iter().all(|v| (v - 1.0).abs() < 1e-12));
    }

    #[test]
    fn smoothing_keeps_a_plane_and_reduces_noise() {
        let plane = Field {
            rows: 8,
            cols: 9,
            data: (0..72).map(|i| (i % 9) as f64 * 0.1).collect(),
        };
        let s = plane.smoothed(1.0);
        // interior cells of a linear ramp are unchanged by a symmetric kernel
        for r in 0..8 {
            for c in 3..6 {
                assert!((s.at(r, c) - plane.at(r, c)).abs() < 1e-9);
            }
        }
        let noisy = Field {
            rows: 20,
            cols: 20,
            data: (0..400)
                .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
                .collect(),
        };
        let sd = noisy.smoothed(2.0).data.iter().map(|v| v * v).sum::<f64>() / 400.0;
        assert!(sd < 0.05, "{sd}");
    }

    #[test]
    fn bracket_clamps_at_the_edges() {
        assert_eq!(bracket(-1.0, 4), (0, 0.0));
        assert_eq!(bracket(1.25, 4), (1, 0.25));
        assert_eq!(bracket(9.0, 4), (2, 1.0));
        assert_eq!(bracket(0.3, 1), (0, 0.0));
    }
}
