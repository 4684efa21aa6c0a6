//! Direction grids of the L1C/L2A SOL and VIE annexes: per node, the displacement per metre
//! of altitude (DX east, DY north) of a direction (towards the sun or the satellite), nodes
//! `step` metres apart from the product's upper-left corner (see `product::l1c`).

use std::path::Path;

use crate::error::{Result, VipError};
use crate::product::l1c::grid_to_angles;
use crate::raster;

/// One direction's DX/DY planes.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectionGrid {
    /// Map position of node (0, 0) and the node spacing, metres.
    pub ulx: f64,
    pub uly: f64,
    pub step: f64,
    pub rows: usize,
    pub cols: usize,
    pub dx: Vec<f64>,
    pub dy: Vec<f64>,
}

impl DirectionGrid {
    /// Reads planes `dx_band` (DX) and `dx_band + 1` (DY) (1-based) of the grid raster `path`.
    /// A missing file or a grid holding no value is bad input naming the file.
    pub fn read(path: &Path, dx_band: usize, ulx: f64, uly: f64, step: f64) -> Result<Self> {
        if !path.exists() {
            return Err(VipError::bad_input(path, "angle grid missing"));
        }
        let ds = raster::open(path)?;
        let (cols, rows) = ds.raster_size();
        if ds.raster_count() < dx_band + 1 {
            return Err(VipError::bad_input(
                path,
                format!(
                    "angle grid has {} planes, {} expected",
                    ds.raster_count(),
                    dx_band + 1
                ),
            ));
        }
        let dx = raster::read_window::<f64>(&ds, dx_band, (0, 0), (cols, rows))?;
        let dy = raster::read_window::<f64>(&ds, dx_band + 1, (0, 0), (cols, rows))?;
        if dx
            .iter()
            .zip(&dy)
            .all(|(x, y)| !x.is_finite() || !y.is_finite())
        {
            return Err(VipError::bad_input(path, "angle grid holds no value"));
        }
        Ok(DirectionGrid {
            ulx,
            uly,
            step,
            rows,
            cols,
            dx,
            dy,
        })
    }

    /// Zenith and azimuth (degrees) at map point (E, N): DX and DY bilinear between the nodes
    /// around it (nodes without a value left out), clamped to the grid.
    pub fn angles(&self, e: f64, n: f64) -> Option<(f64, f64)> {
        let x = ((e - self.ulx) / self.step).clamp(0.0, (self.cols - 1) as f64);
        let y = ((self.uly - n) / self.step).clamp(0.0, (self.rows - 1) as f64);
        let (c0, r0) = (x.floor() as usize, y.floor() as usize);
        let (c1, r1) = ((c0 + 1).min(self.cols - 1), (r0 + 1).min(self.rows - 1));
        let (fx, fy) = (x - c0 as f64, y - r0 as f64);
        let (mut sx, mut sy, mut sw) = (0.0, 0.0, 0.0);
        for (r, c, w) in [
            (r0, c0, (1.0 - fx) * (1.0 - fy)),
            (r0, c1, fx * (1.0 - fy)),
            (r1, c0, (1.0 - fx) * fy),
            (r1, c1, fx * fy),
        ] {
            let (vx, vy) = (self.dx[r * self.cols + c], self.dy[r * self.cols + c]);
            if w > 0.0 && vx.is_finite() && vy.is_finite() {
                sx += w * vx;
                sy += w * vy;
                sw += w;
            }
        }
        (sw > 0.0).then(|| grid_to_angles(sx / sw, sy / sw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::product::l1c::angles_to_grid;

    #[test]
    fn angles_are_interpolated_between_nodes() {
        let (x0, y0) = angles_to_grid(30.0, 150.0);
        let (x1, y1) = angles_to_grid(34.0, 150.0);
        let g = DirectionGrid {
            ulx: 1000.0,
            uly: 5000.0,
            step: 100.0,
            rows: 2,
            cols: 2,
            dx: vec![x0, x1, x0, f64::NAN],
            dy: vec![y0, y1, y0, f64::NAN],
        };
        let (z, a) = g.angles(1000.0, 5000.0).unwrap();
        assert!((z - 30.0).abs() < 1e-9 && (a - 150.0).abs() < 1e-9);
        let (z, _) = g.angles(1100.0, 4990.0).unwrap();
        assert!((z - 34.0).abs() < 1e-9, "{z}");
        let (z, _) = g.angles(1050.0, 5000.0).unwrap();
        assert!(z > 31.9 && z < 32.1, "{z}");
    }
}
