//! Cloud shadows by geometry, and the dilation of the cloud mask, on a grid of cells a few
//! pixels wide (the whole scene's cells fit in memory: a 5200 × 5200 scene in 20 m cells is
//! 1.7 million cells).
//!
//! A cloud seen at the ground point A of the L1C (orthorectified over the DEM) at altitude z
//! above the datum lies vertically above C = A + (z − h(A))·v, v the band's viewing direction
//! as displacement per metre of altitude (the VIE annex); its shadow falls at the ground point
//! S where the sun ray through the cloud meets the DEM: S = C − (z − h(S))·s, s the sun's
//! direction (SOL annex). h(S) is found by fixed-point iteration (it converges where the terrain rises more slowly
//! than the sun ray descends, i.e. wherever the ground is lit).

/// A boolean mask on a regular grid of cells.
#[derive(Debug, Clone, PartialEq)]
pub struct CellMask {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<bool>,
}

impl CellMask {
    pub fn new(rows: usize, cols: usize) -> CellMask {
        CellMask {
            rows,
            cols,
            data: vec![false; rows * cols],
        }
    }

    pub fn at(&self, r: usize, c: usize) -> bool {
        self.data[r * self.cols + c]
    }

    /// The mask dilated by a disc of `radius` cells.
    pub fn dilated(&self, radius: f64) -> CellMask {
        let k = radius.floor() as isize;
        let (rows, cols) = (self.rows as isize, self.cols as isize);
        // per row: prefix counts, so any run of cells is tested in O(1)
        let prefix: Vec<Vec<u32>> = (0..self.rows)
            .map(|r| {
                let mut p = vec![0u32; self.cols + 1];
                for c in 0..self.cols {
                    p[c + 1] = p[c] + u32::from(self.at(r, c));
                }
                p
            })
            .collect();
        let half: Vec<isize> = (-k..=k)
            .map(|dy| ((radius * radius - (dy * dy) as f64).max(0.0)).sqrt().floor() as isize)
            .collect();
        let mut out = CellMask::new(self.rows, self.cols);
        for r in 0..rows {
            for c in 0..cols {
                out.data[(r * cols + c) as usize] = (-k..=k).any(|dy| {
                    let rr = r + dy;
                    if rr < 0 || rr >= rows {
                        return false;
                    }
                    let w = half[(dy + k) as usize];
                    let (a, b) = ((c - w).max(0) as usize, (c + w + 1).min(cols) as usize);
                    let p = &prefix[rr as usize];
                    p[b] > p[a]
                });
            }
        }
        out
    }
}

/// One cloud cell to cast: its centre (E, N) as the L1C shows it, the cloud's altitude above
/// the datum, and the viewing direction v of the band that detected it there.
#[derive(Debug, Clone, Copy)]
pub struct CloudCell {
    pub e: f64,
    pub n: f64,
    pub altitude: f64,
    pub view: (f64, f64),
}

/// Casts cloud shadows onto a cell grid.
pub struct Caster<'a> {
    /// Upper-left corner of the grid (map units) and cell size (m).
    pub ulx: f64,
    pub uly: f64,
    pub cell_m: f64,
    pub rows: usize,
    pub cols: usize,
    /// Ground height at (E, N).
    pub height: &'a (dyn Fn(f64, f64) -> f64 + Sync),
    /// Sun direction (displacement per metre of altitude, towards the sun) at (E, N).
    pub sun: &'a (dyn Fn(f64, f64) -> (f64, f64) + Sync),
}

impl Caster<'_> {
    /// Ground point of the shadow of `cloud` (None when the cloud is below the ground).
    pub fn shadow_point(&self, cloud: &CloudCell) -> Option<(f64, f64)> {
        let dz = cloud.altitude - (self.height)(cloud.e, cloud.n);
        if dz <= 0.0 {
            return None;
        }
        let (ce, cn) = (cloud.e + dz * cloud.view.0, cloud.n + dz * cloud.view.1);
        let (sx, sy) = (self.sun)(ce, cn);
        let (mut e, mut n) = (ce, cn);
        for _ in 0..30 {
            let dz = (cloud.altitude - (self.height)(e, n)).max(0.0);
            let (e1, n1) = (ce - dz * sx, cn - dz * sy);
            let moved = (e1 - e).hypot(n1 - n);
            (e, n) = (e1, n1);
            if moved < 0.1 {
                break;
            }
        }
        Some((e, n))
    }

    /// The cells shadowed by `clouds`, each cloud cell cast as a square of one cell; the
    /// holes a slowly varying shift leaves between cast cells are closed by one step of
    /// dilation limited to cells with two cast neighbours.
    pub fn cast(&self, clouds: &[CloudCell]) -> CellMask {
        let mut m = CellMask::new(self.rows, self.cols);
        for c in clouds {
            let Some((e, n)) = self.shadow_point(c) else {
                continue;
            };
            let col = ((e - self.ulx) / self.cell_m).floor();
            let row = ((self.uly - n) / self.cell_m).floor();
            if row >= 0.0 && col >= 0.0 && (row as usize) < self.rows && (col as usize) < self.cols
            {
                m.data[row as usize * self.cols + col as usize] = true;
            }
        }
        let mut filled = m.clone();
        for r in 1..self.rows.saturating_sub(1) {
            for c in 1..self.cols.saturating_sub(1) {
                if m.at(r, c) {
                    continue;
                }
                let opposite = (m.at(r - 1, c) && m.at(r + 1, c)) || (m.at(r, c - 1) && m.at(r, c + 1));
                filled.data[r * self.cols + c] = opposite;
            }
        }
        filled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disc_dilation_grows_one_cell_into_a_disc() {
        let mut m = CellMask::new(11, 11);
        m.data[5 * 11 + 5] = true;
        let d = m.dilated(3.0);
        let n = d.data.iter().filter(|&&v| v).count();
        // lattice points of a disc of radius 3: 29
        assert_eq!(n, 29);
        assert!(d.at(5, 8) && d.at(2, 5) && !d.at(2, 2));
    }

    #[test]
    fn a_shadow_falls_away_from_the_sun_by_height_times_tan_zenith() {
        let flat = |_: f64, _: f64| 100.0;
        // sun at 45° zenith in the south (azimuth 180°): towards the sun is (0, −1) per metre
        let sun = |_: f64, _: f64| (0.0, -1.0);
        let caster = Caster {
            ulx: 0.0,
            uly: 10000.0,
            cell_m: 20.0,
            rows: 500,
            cols: 500,
            height: &flat,
            sun: &sun,
        };
        let cloud = CloudCell {
            e: 5000.0,
            n: 5000.0,
            altitude: 2100.0,
            view: (0.0, 0.0),
        };
        let (e, n) = caster.shadow_point(&cloud).unwrap();
        assert!((e - 5000.0).abs() < 1e-9 && (n - 7000.0).abs() < 1e-9, "{e} {n}");
        // seen off nadir from the east (v points to the satellite), the cloud's true position
        // is 2000·0.2 m further east of where the L1C shows it
        let tilted = CloudCell {
            view: (0.2, 0.0),
            ..cloud
        };
        let (e, _) = caster.shadow_point(&tilted).unwrap();
        assert!((e - 5400.0).abs() < 1e-9, "{e}");
    }

    #[test]
    fn a_shadow_on_rising_ground_is_shorter() {
        // ground rises 0.5 m per metre northwards from 0 at N = 5000
        let slope = |_: f64, n: f64| ((n - 5000.0) * 0.5).max(0.0);
        let sun = |_: f64, _: f64| (0.0, -1.0);
        let caster = Caster {
            ulx: 0.0,
            uly: 10000.0,
            cell_m: 20.0,
            rows: 500,
            cols: 500,
            height: &slope,
            sun: &sun,
        };
        let cloud = CloudCell {
            e: 5000.0,
            n: 5000.0,
            altitude: 1500.0,
            view: (0.0, 0.0),
        };
        let (_, n) = caster.shadow_point(&cloud).unwrap();
        // the ray descends 1 m per metre north, the ground rises 0.5: they meet 1000 m north
        assert!((n - 6000.0).abs() < 1.0, "{n}");
    }
}
