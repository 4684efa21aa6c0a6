//! Topographic flags of the L2: cast shadows (towards the sun) and hidden faces (towards the
//! satellite), found by marching along the direction over the DEM.

use rayon::prelude::*;

use crate::atmosphere::surface::direction;
use crate::geometry::dem::Dem;

/// Per DEM pixel inside a map window: true where the terrain hides the direction (zenith,
/// azimuth in degrees) — a cast shadow for the sun, a hidden face for the satellite.
#[derive(Debug, Clone)]
pub struct Occlusion {
    /// DEM pixel range covered: columns c0.., rows r0.., `cols` × `rows`.
    c0: usize,
    r0: usize,
    cols: usize,
    rows: usize,
    hidden: Vec<bool>,
    pixel: f64,
    ulx: f64,
    uly: f64,
}

impl Occlusion {
    /// Marches from each DEM pixel centre inside `window` (ulx, uly, lrx, lry) towards the
    /// direction, one DEM pixel per step, until the ray rises above the highest terrain.
    pub fn new(dem: &Dem, window: (f64, f64, f64, f64), zenith: f64, azimuth: f64) -> Self {
        let px = dem.pixel;
        let clampc = |x: f64| (x.max(0.0) as usize).min(dem.width);
        let clampr = |y: f64| (y.max(0.0) as usize).min(dem.height);
        let c0 = clampc(((window.0 - dem.ulx) / px).floor() - 1.0);
        let c1 = clampc(((window.2 - dem.ulx) / px).ceil() + 1.0);
        let r0 = clampr(((dem.uly - window.1) / px).floor() - 1.0);
        let r1 = clampr(((dem.uly - window.3) / px).ceil() + 1.0);
        let (cols, rows) = (c1.saturating_sub(c0), r1.saturating_sub(r0));
        let top = dem.data.iter().fold(f64::MIN, |m, &v| m.max(f64::from(v)));
        let dir = direction(zenith, azimuth);
        let horizontal = dir[0].hypot(dir[1]);
        let hidden = if horizontal < 1e-9 || dir[2] <= 0.0 {
            vec![dir[2] <= 0.0; cols * rows]
        } else {
            let (ux, uy) = (dir[0] / horizontal, dir[1] / horizontal);
            let rise = dir[2] / horizontal; // metres up per metre along the ground
            let blocks = &BlockMax::new(dem);
            (0..rows)
                .into_par_iter()
                .flat_map_iter(|i| {
                    (0..cols).map(move |j| {
                        let e = dem.ulx + ((c0 + j) as f64 + 0.5) * px;
                        let n = dem.uly - ((r0 + i) as f64 + 0.5) * px;
                        let h0 = f64::from(dem.data[(r0 + i) * dem.width + c0 + j]);
                        let mut s = px;
                        loop {
                            let ray = h0 + s * rise;
                            if ray > top {
                                return false;
                            }
                            let (x, y) = (e + s * ux, n + s * uy);
                            if !dem.covers(x, y) {
                                return false;
                            }
                            let cell = dem.cell(x, y);
                            // the interpolated height is at most its block's highest pixel
                            if blocks.at(cell.0, cell.1) > ray + 0.5
                                && dem.interpolate(cell) > ray + 0.5
                            {
                                return true;
                            }
                            s += px;
                        }
                    })
                })
                .collect()
        };
        Occlusion {
            c0,
            r0,
            cols,
            rows,
            hidden,
            pixel: px,
            ulx: dem.ulx,
            uly: dem.uly,
        }
    }

    /// Whether the DEM pixel holding (E, N) is occluded (false outside the window).
    pub fn at(&self, e: f64, n: f64) -> bool {
        self.at_place(self.row(n), self.column(e))
    }

    /// The window's column holding easting `e`, if any (the same at every northing).
    pub fn column(&self, e: f64) -> Option<usize> {
        let c = ((e - self.ulx) / self.pixel).floor();
        let j = (c >= self.c0 as f64).then(|| c as usize - self.c0)?;
        (j < self.cols).then_some(j)
    }

    /// The window's row holding northing `n`, if any.
    pub fn row(&self, n: f64) -> Option<usize> {
        let r = ((self.uly - n) / self.pixel).floor();
        let i = (r >= self.r0 as f64).then(|| r as usize - self.r0)?;
        (i < self.rows).then_some(i)
    }

    /// [`Occlusion::at`] the window's `row` and `column`.
    pub fn at_place(&self, row: Option<usize>, column: Option<usize>) -> bool {
        match (row, column) {
            (Some(i), Some(j)) => self.hidden[i * self.cols + j],
            _ => false,
        }
    }
}

/// Side, in DEM pixels, of the blocks of [`BlockMax`].
const BLOCK: usize = 8;

/// The highest DEM pixel that [`Dem::height`] reads for the cells of each block of
/// [`BLOCK`] × [`BLOCK`] (a cell's interpolation reads it and the pixels right and below, so
/// a block's rim one pixel beyond counts): a march skips the interpolation wherever the ray is
/// above it, and its answer is the same.
struct BlockMax {
    cols: usize,
    max: Vec<f64>,
}

impl BlockMax {
    fn new(dem: &Dem) -> BlockMax {
        let (cols, rows) = (dem.width.div_ceil(BLOCK), dem.height.div_ceil(BLOCK));
        let max = (0..rows * cols)
            .into_par_iter()
            .map(|k| {
                let (r, c) = (k / cols * BLOCK, k % cols * BLOCK);
                let (r1, c1) = (
                    (r + BLOCK + 1).min(dem.height),
                    (c + BLOCK + 1).min(dem.width),
                );
                (r..r1)
                    .flat_map(|i| &dem.data[i * dem.width + c..i * dem.width + c1])
                    .fold(f64::MIN, |m, &v| m.max(f64::from(v)))
            })
            .collect();
        BlockMax { cols, max }
    }

    /// The highest pixel the interpolation at cell (column `x0`, row `y0`) can read.
    fn at(&self, x0: usize, y0: usize) -> f64 {
        self.max[(y0 / BLOCK) * self.cols + x0 / BLOCK]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A DEM with a 300 m high east-west wall 100 m wide in the middle.
    fn wall() -> Dem {
        let (w, h) = (100, 100);
        let data = (0..w * h)
            .map(|i| {
                let r = i / w;
                if (48..53).contains(&r) {
                    300.0
                } else {
                    0.0
                }
            })
            .collect();
        Dem {
            ulx: 0.0,
            uly: 2000.0,
            pixel: 20.0,
            width: w,
            height: h,
            data,
        }
    }

    #[test]
    fn skipping_blocks_gives_the_plain_march() {
        // rough terrain on 37 × 29 pixels of 20 m: a hash of the pixel up to 100 m, and ridges
        // up to 400 m along the first row and column of every other block, which the last
        // cells of the block before read in their interpolation (its rim) and nothing else
        // in that block reaches
        let (w, h) = (37, 29);
        let data = (0..w * h)
            .map(|i: usize| {
                let hash = i.wrapping_mul(2654435761) % 401;
                let ridge = (i % w) % (2 * BLOCK) == BLOCK || (i / w) % (2 * BLOCK) == BLOCK;
                (if ridge { hash } else { hash / 4 }) as f32
            })
            .collect();
        let dem = Dem {
            ulx: 0.0,
            uly: 580.0,
            pixel: 20.0,
            width: w,
            height: h,
            data,
        };
        let window = (0.0, 580.0, 740.0, 0.0);
        let directions = [30.0, 50.0, 70.0]
            .into_iter()
            .flat_map(|z| (0..12).map(move |k| (z, 7.0 + 30.0 * k as f64)));
        for (zenith, azimuth) in directions {
            let o = Occlusion::new(&dem, window, zenith, azimuth);
            let dir = direction(zenith, azimuth);
            let horizontal = dir[0].hypot(dir[1]);
            let (ux, uy, rise) = (
                dir[0] / horizontal,
                dir[1] / horizontal,
                dir[2] / horizontal,
            );
            for r in 0..h {
                for c in 0..w {
                    let (e, n) = ((c as f64 + 0.5) * 20.0, 580.0 - (r as f64 + 0.5) * 20.0);
                    let h0 = f64::from(dem.data[r * w + c]);
                    // every step interpolated, up to the DEM's edge or its highest pixel
                    let hidden = (1..)
                        .map(|k| k as f64 * 20.0)
                        .map(|s| (e + s * ux, n + s * uy, h0 + s * rise))
                        .take_while(|&(x, y, ray)| ray <= 400.0 && dem.covers(x, y))
                        .any(|(x, y, ray)| dem.height(x, y) > ray + 0.5);
                    assert_eq!(o.at(e, n), hidden, "{zenith}/{azimuth} at {r},{c}");
                }
            }
        }
    }

    #[test]
    fn a_wall_casts_a_shadow_of_the_right_length() {
        let dem = wall();
        // sun in the south at 45°: the shadow falls north of the wall, 300 m long
        let o = Occlusion::new(&dem, (0.0, 2000.0, 2000.0, 0.0), 45.0, 180.0);
        let wall_north_edge = 2000.0 - 48.0 * 20.0;
        assert!(o.at(1000.0, wall_north_edge + 100.0));
        assert!(o.at(1000.0, wall_north_edge + 280.0));
        assert!(!o.at(1000.0, wall_north_edge + 340.0));
        // south of the wall is lit
        assert!(!o.at(1000.0, 2000.0 - 60.0 * 20.0));
        // a sun overhead casts nothing
        let o = Occlusion::new(&dem, (0.0, 2000.0, 2000.0, 0.0), 0.0, 0.0);
        assert!(!o.at(1000.0, wall_north_edge + 100.0));
    }
}
