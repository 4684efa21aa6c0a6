//! Cloud shadows by geometry, and the dilation of the cloud mask, on a grid of cells a few
//! pixels wide (the whole scene's cells fit in memory: a 5200 × 5200 scene in 20 m cells is
//! 1.7 million cells).
//!
//! A ground point G at height h is in a cloud's shadow when the ray from G towards the sun,
//! at altitude z above the datum at the horizontal position G + (z − h)·s (s the sun's
//! direction as displacement per metre of altitude, the SOL annex), passes through a cloud
//! at that altitude. The search follows each cell's ray upwards over the altitudes clouds
//! were found at, so every ground point the ray reaches is tested as the light reaches it
//! (casting forward from each cloud instead leaves holes and pile-ups over rugged terrain).

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

    /// Connected components (8-neighbours) of the set cells: per cell its label (`u32::MAX`
    /// where not set), and the number of labels.
    pub fn labels(&self) -> (Vec<u32>, usize) {
        let mut label = vec![u32::MAX; self.data.len()];
        let mut next = 0u32;
        let mut stack = Vec::new();
        for start in 0..self.data.len() {
            if !self.data[start] || label[start] != u32::MAX {
                continue;
            }
            label[start] = next;
            stack.push(start);
            while let Some(i) = stack.pop() {
                let (r, c) = ((i / self.cols) as isize, (i % self.cols) as isize);
                for dr in -1..=1 {
                    for dc in -1..=1 {
                        let (rr, cc) = (r + dr, c + dc);
                        if rr < 0 || cc < 0 || rr >= self.rows as isize || cc >= self.cols as isize
                        {
                            continue;
                        }
                        let j = rr as usize * self.cols + cc as usize;
                        if self.data[j] && label[j] == u32::MAX {
                            label[j] = next;
                            stack.push(j);
                        }
                    }
                }
            }
            next += 1;
        }
        (label, next as usize)
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
            .map(|dy| {
                ((radius * radius - (dy * dy) as f64).max(0.0))
                    .sqrt()
                    .floor() as isize
            })
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

/// Finds ground points in cloud shadow by following the sun ray up from them.
pub struct Shadows<'a> {
    /// Ground height at (E, N).
    pub height: &'a (dyn Fn(f64, f64) -> f64 + Sync),
    /// Sun direction (displacement per metre of altitude, towards the sun) at (E, N).
    pub sun: &'a (dyn Fn(f64, f64) -> (f64, f64) + Sync),
    /// Altitudes the ray is followed between (above the datum), and the step.
    pub altitudes: (f64, f64),
    pub step: f64,
    /// How far a cloud's altitude may lie from the ray's to count.
    pub tolerance: f64,
    /// The altitudes clouds were found at, sorted (empty: any): the ray is only tested at
    /// altitudes within the tolerance of one.
    pub levels: Vec<f64>,
}

impl Shadows<'_> {
    /// Whether the ground at (E, N) is in the shadow of a cloud: the sun ray from it meets, at
    /// some altitude z, a point where `cloud(E, N, z)` gives a cloud altitude within the
    /// tolerance of z.
    pub fn shadowed(&self, e: f64, n: f64, cloud: &dyn Fn(f64, f64, f64) -> Option<f64>) -> bool {
        let h = (self.height)(e, n);
        let (sx, sy) = (self.sun)(e, n);
        let mut z = self.altitudes.0.max(h + self.step);
        while z <= self.altitudes.1 {
            let dz = z - h;
            if self.near_level(z) {
                if let Some(a) = cloud(e + dz * sx, n + dz * sy, z) {
                    if (a - z).abs() <= self.tolerance {
                        return true;
                    }
                }
            }
            z += self.step;
        }
        false
    }

    /// Whether a cloud altitude of [`Shadows::levels`] lies within the tolerance of `z`.
    fn near_level(&self, z: f64) -> bool {
        if self.levels.is_empty() {
            return true;
        }
        let i = self.levels.partition_point(|&a| a < z - self.tolerance);
        self.levels.get(i).is_some_and(|&a| a <= z + self.tolerance)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_join_diagonal_neighbours_and_keep_apart_the_rest() {
        let mut m = CellMask::new(4, 5);
        for i in [0, 6, 3, 4, 19] {
            m.data[i] = true;
        }
        let (l, n) = m.labels();
        assert_eq!(n, 3);
        assert_eq!(l[0], l[6]);
        assert_eq!(l[3], l[4]);
        assert_ne!(l[0], l[3]);
        assert_ne!(l[19], l[3]);
        assert_eq!(l[1], u32::MAX);
    }

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

    fn flat(_: f64, _: f64) -> f64 {
        100.0
    }

    fn south_sun(_: f64, _: f64) -> (f64, f64) {
        // 45° zenith in the south: towards the sun is (0, −1) per metre
        (0.0, -1.0)
    }

    /// A 20 m cloud over (5000, 5000) at 2100 m above the datum.
    fn cloud(e: f64, n: f64, _: f64) -> Option<f64> {
        ((e - 5000.0).abs() < 10.0 && (n - 5000.0).abs() < 10.0).then_some(2100.0)
    }

    /// Over flat ground, the sun in the south, testing the ray at the cloud `levels`.
    fn over_flat(levels: Vec<f64>) -> Shadows<'static> {
        Shadows {
            height: &flat,
            sun: &south_sun,
            altitudes: (0.0, 5000.0),
            step: 50.0,
            tolerance: 100.0,
            levels,
        }
    }

    #[test]
    fn a_cloud_shadows_the_ground_away_from_the_sun_by_height_times_tan_zenith() {
        let finder = over_flat(Vec::new());
        // its shadow: 2000 m north
        assert!(finder.shadowed(5000.0, 7000.0, &cloud));
        assert!(!finder.shadowed(5000.0, 6000.0, &cloud));
        assert!(!finder.shadowed(5000.0, 3000.0, &cloud));
        assert!(!finder.shadowed(5100.0, 7000.0, &cloud));
    }

    #[test]
    fn testing_only_the_cloud_levels_finds_the_same_shadows() {
        let (all, levelled) = (over_flat(Vec::new()), over_flat(vec![900.0, 2100.0]));
        for n in (5000..8000).step_by(50) {
            let n = f64::from(n);
            assert_eq!(
                all.shadowed(5000.0, n, &cloud),
                levelled.shadowed(5000.0, n, &cloud)
            );
        }
        assert!(!over_flat(vec![4000.0]).shadowed(5000.0, 7000.0, &cloud));
    }

    #[test]
    fn a_ridge_between_does_not_stop_the_search() {
        // the ray from a valley point rises past a ridge to the cloud: straight rays (the
        // simulator's and nature's) shade the valley floor behind the ridge too
        let ridge = |_: f64, n: f64| {
            if (5500.0..5600.0).contains(&n) {
                900.0
            } else {
                100.0
            }
        };
        let finder = Shadows {
            height: &ridge,
            sun: &south_sun,
            altitudes: (0.0, 5000.0),
            step: 50.0,
            tolerance: 100.0,
            levels: Vec::new(),
        };
        assert!(finder.shadowed(5000.0, 7000.0, &cloud));
    }
}
