//! The neighbourhood correlation test of the cloud mask: a detection of the spectral tests
//! (REFL, REFL_VAR) is a change of the surface, not a cloud, where the ground's pattern around
//! it is seen as before and the detection itself changed as its neighbourhood did.
//!
//! MAJA (`ReflectanceVariationCorrelationImageFilter`) correlates today's correlation band
//! with the composite's and each stacked date's over a window of `N_Correl` coarse pixels
//! around every detection and clears the detection when one correlation exceeds
//! `Correl_Threshold`: a cloud hides the ground's pattern under its own, a crop growing or
//! the light on a slope moving with the season keeps it. A Pearson correlation over a window
//! is decided by its extremes, though: a lone cloud over a quiet landscape is one outlier,
//! and where the history happens to be brighter at the same place the correlation stays
//! high. VIP therefore fits the change on the window's undetected cells only (today's mean
//! against the history's, per 20 m cell) and clears a cell's detections when that fit
//! correlates above the threshold, keeps the pattern's contrast within a factor
//! [`MAX_CONTRAST_CHANGE`] (a stratus deck over snow still lets a dimmed copy of the snow's
//! pattern through, perfectly correlated) *and* predicts the detected pixels: their mean lies
//! within a tolerance (the variation test's least blue rise) of the fit. A cloud rises above
//! the fit; a surface that drifted with its surroundings (a stale composite over a greening
//! valley) does not. Only the pixels no test flagged, neither snow nor water, feed the fit.

/// Largest factor by which the pattern's contrast may have grown or shrunk for the change to
/// be the surface's: a cloud that lets the ground's pattern through dims it by the square of
/// its direct transmittance, a stratus deck by tens.
const MAX_CONTRAST_CHANGE: f64 = 2.0;

/// Sums of today's and the history's correlation-band reflectance over some pixels.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Pairs {
    n: f64,
    today: f64,
    before: f64,
}

impl Pairs {
    fn add(&mut self, o: &Pairs) {
        self.n += o.n;
        self.today += o.today;
        self.before += o.before;
    }

    fn means(&self) -> (f64, f64) {
        (self.today / self.n, self.before / self.n)
    }
}

/// Per cell and history plane (the composite, then each stacked date): the pairs of the
/// pixels the spectral tests passed (clear) and of those they flagged.
#[derive(Debug, Clone)]
pub struct Texture {
    pub rows: usize,
    pub cols: usize,
    pub planes: usize,
    clear: Vec<Pairs>,
    flagged: Vec<Pairs>,
}

/// What the test needs besides the sums.
#[derive(Debug, Clone, Copy)]
pub struct TextureTest {
    /// Cells per side of the blocks one fit serves, and cells the window reaches beyond a
    /// block on each side.
    pub block: usize,
    pub reach: usize,
    /// Least pixels of a cell for its mean to count, and least cells of a fit.
    pub min_pixels: f64,
    pub min_cells: usize,
    /// Correlation above which the window kept its pattern (`Correl_Threshold`).
    pub threshold: f64,
    /// Largest rise of the detected pixels above the fit that is still the surface's change.
    pub tolerance: f64,
}

impl Texture {
    pub fn new(rows: usize, cols: usize, planes: usize) -> Texture {
        let n = rows * cols * planes;
        Texture {
            rows,
            cols,
            planes,
            clear: vec![Pairs::default(); n],
            flagged: vec![Pairs::default(); n],
        }
    }

    /// Adds one pixel of cell `cell` to plane `plane`.
    pub fn add(&mut self, cell: usize, plane: usize, flagged: bool, today: f64, before: f64) {
        let i = cell * self.planes + plane;
        let s = if flagged {
            &mut self.flagged[i]
        } else {
            &mut self.clear[i]
        };
        s.add(&Pairs {
            n: 1.0,
            today,
            before,
        });
    }

    /// Adds `row`, one row of cells, to cell row `r`.
    pub fn merge_row(&mut self, r: usize, row: &Texture) {
        let at = r * self.cols * self.planes;
        for (mine, theirs) in [
            (&mut self.clear, &row.clear),
            (&mut self.flagged, &row.flagged),
        ] {
            for (a, b) in mine[at..at + theirs.len()].iter_mut().zip(theirs) {
                a.add(b);
            }
        }
    }

    /// Per cell: whether its flagged pixels changed as their neighbourhood did (module doc).
    pub fn surface_change(&self, t: &TextureTest) -> Vec<bool> {
        let mut out = vec![false; self.rows * self.cols];
        let (brows, bcols) = (self.rows.div_ceil(t.block), self.cols.div_ceil(t.block));
        let (mut today, mut before) = (Vec::new(), Vec::new());
        for b in 0..brows * bcols {
            let (r0, c0) = ((b / bcols) * t.block, (b % bcols) * t.block);
            let (r1, c1) = ((r0 + t.block).min(self.rows), (c0 + t.block).min(self.cols));
            let cells = || (r0..r1).flat_map(move |r| (c0..c1).map(move |c| r * self.cols + c));
            if cells().all(|i| (0..self.planes).all(|p| self.flagged[i * self.planes + p].n == 0.0))
            {
                continue;
            }
            let mut fits = Vec::new();
            for p in 0..self.planes {
                today.clear();
                before.clear();
                for r in r0.saturating_sub(t.reach)..(r1 + t.reach).min(self.rows) {
                    for c in c0.saturating_sub(t.reach)..(c1 + t.reach).min(self.cols) {
                        let s = self.clear[(r * self.cols + c) * self.planes + p];
                        if s.n >= t.min_pixels {
                            let (x, y) = s.means();
                            today.push(x);
                            before.push(y);
                        }
                    }
                }
                if let Some(f) = Fit::of(&before, &today, t.min_cells) {
                    if f.r > t.threshold
                        && (1.0 / MAX_CONTRAST_CHANGE..=MAX_CONTRAST_CHANGE).contains(&f.slope)
                    {
                        fits.push((p, f));
                    }
                }
            }
            for i in cells() {
                out[i] = fits.iter().any(|(p, f)| {
                    let s = self.flagged[i * self.planes + p];
                    s.n > 0.0 && {
                        let (x, y) = s.means();
                        x - f.at(y) <= t.tolerance
                    }
                });
            }
        }
        out
    }
}

/// Least-squares line y = intercept + slope·x and the Pearson correlation of the pairs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    pub r: f64,
    pub slope: f64,
    pub intercept: f64,
}

impl Fit {
    /// The fit of `y` on `x` over the pairs where both are finite, or `None` with fewer than
    /// `min` pairs or no variance.
    pub fn of(x: &[f64], y: &[f64], min: usize) -> Option<Fit> {
        let (mut n, mut sx, mut sy, mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        for (&a, &b) in x.iter().zip(y) {
            if a.is_finite() && b.is_finite() {
                n += 1.0;
                sx += a;
                sy += b;
                sxx += a * a;
                syy += b * b;
                sxy += a * b;
            }
        }
        if (n as usize) < min {
            return None;
        }
        let vx = sxx - sx * sx / n;
        let vy = syy - sy * sy / n;
        if vx <= 1e-12 || vy <= 1e-12 {
            return None;
        }
        let cov = sxy - sx * sy / n;
        let slope = cov / vx;
        Some(Fit {
            r: cov / (vx * vy).sqrt(),
            slope,
            intercept: (sy - slope * sx) / n,
        })
    }

    pub fn at(&self, x: f64) -> f64 {
        self.intercept + self.slope * x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_of_a_scaled_pattern_is_exact_and_needs_enough_pairs() {
        let a = [0.1, 0.2, 0.15, 0.3, f64::NAN, 0.25];
        let b = a.map(|v| 2.0 * v + 0.1);
        let f = Fit::of(&a, &b, 5).unwrap();
        assert!((f.r - 1.0).abs() < 1e-9);
        assert!((f.slope - 2.0).abs() < 1e-9 && (f.intercept - 0.1).abs() < 1e-9);
        assert!(Fit::of(&a, &b, 6).is_none());
        assert!(Fit::of(&[0.1; 6], &b, 3).is_none());
    }

    /// A landscape of 30 × 30 cells whose pattern darkened by 20 % since the history, with
    /// detections in the centre cell: today as the neighbourhood predicts, or 0.3 above.
    fn scene(rise: f64) -> Texture {
        let mut t = Texture::new(30, 30, 1);
        for i in 0..900 {
            let before = 0.05 + 0.1 * (((i * 7919) % 97) as f64 / 97.0);
            for _ in 0..16 {
                t.add(i, 0, false, 0.8 * before, before);
            }
            if i == 15 * 30 + 15 {
                t.add(i, 0, true, 0.8 * before + rise, before);
            }
        }
        t
    }

    const TEST: TextureTest = TextureTest {
        block: 5,
        reach: 15,
        min_pixels: 8.0,
        min_cells: 5,
        threshold: 0.9,
        tolerance: 0.03,
    };

    #[test]
    fn a_surface_change_is_cleared_and_a_cloud_is_not() {
        let change = scene(0.01).surface_change(&TEST);
        assert!(change[15 * 30 + 15]);
        assert_eq!(change.iter().filter(|&&v| v).count(), 1);
        assert!(!scene(0.3).surface_change(&TEST)[15 * 30 + 15]);
    }

    #[test]
    fn a_window_without_pattern_clears_nothing() {
        let mut t = Texture::new(30, 30, 1);
        for i in 0..900 {
            // today unrelated to the history (an overcast with its own texture)
            let before = 0.05 + 0.1 * (((i * 7919) % 97) as f64 / 97.0);
            let today = 0.4 + 0.1 * (((i * 104_729) % 89) as f64 / 89.0);
            for _ in 0..16 {
                t.add(i, 0, false, today, before);
            }
            t.add(i, 0, true, today, before);
        }
        assert!(t.surface_change(&TEST).iter().all(|&v| !v));
    }
}
