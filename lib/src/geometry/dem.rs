//! A digital elevation model held in memory (a site DEM at 20–30 m is a few MB) and sampled
//! bilinearly at map coordinates.

use rayon::prelude::*;

/// Heights on a north-up grid, metres; pixel (0, 0) has its upper-left corner at (`ulx`, `uly`).
#[derive(Debug, Clone, PartialEq)]
pub struct Dem {
    pub ulx: f64,
    pub uly: f64,
    /// Pixel size, metres (square pixels).
    pub pixel: f64,
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

impl Dem {
    /// Reads a DEM GeoTIFF (north-up, square pixels, metres) whole: a site DEM is small.
    /// Returns the DEM and the EPSG code of its CRS. A DEM in a geographic CRS (degrees, e.g.
    /// EPSG:4326) is bad input naming it: the site grid is a map projection in metres.
    pub fn read(path: &std::path::Path) -> crate::Result<(Dem, Option<u32>)> {
        use crate::raster;
        let ds = raster::open(path)?;
        if raster::projected_in_metres(&ds) == Some(false) {
            let crs = raster::epsg(&ds).map_or("its CRS".to_string(), |e| format!("EPSG:{e}"));
            return Err(crate::VipError::bad_input(
                path,
                format!(
                    "DEM must be in a map projection in metres (the site grid's, e.g. UTM), \
                     {crs} is not; reproject it (gdalwarp -t_srs)"
                ),
            ));
        }
        let gt = raster::geo_transform(&ds)?;
        if gt[2] != 0.0 || gt[4] != 0.0 || (gt[1] + gt[5]).abs() > 1e-9 * gt[1].abs() {
            return Err(crate::VipError::bad_input(
                path,
                "DEM grid must be north-up with square pixels",
            ));
        }
        let (width, height) = ds.raster_size();
        let data = raster::read_window::<f32>(&ds, 1, (0, 0), (width, height))?;
        let dem = Dem {
            ulx: gt[0],
            uly: gt[3],
            pixel: gt[1],
            width,
            height,
            data,
        };
        Ok((dem, raster::epsg(&ds)))
    }

    /// Height at map point (E, N), bilinear between pixel centres, clamped at the borders.
    pub fn height(&self, e: f64, n: f64) -> f64 {
        self.interpolate(self.cell(e, n))
    }

    /// Where [`Dem::height`] interpolates at (E, N): the column and row of the upper left of
    /// the 2 × 2 pixels it reads, and the fractions across them.
    pub fn cell(&self, e: f64, n: f64) -> (usize, usize, f64, f64) {
        let ((x0, fx), (y0, fy)) = (self.column(e), self.row(n));
        (x0, y0, fx, fy)
    }

    /// The column and fraction of [`Dem::cell`] at easting `e` (the same at every northing).
    pub fn column(&self, e: f64) -> (usize, f64) {
        let x = ((e - self.ulx) / self.pixel - 0.5).clamp(0.0, (self.width - 1) as f64);
        let x0 = (x as usize).min(self.width.saturating_sub(2));
        (x0, x - x0 as f64)
    }

    /// The row and fraction of [`Dem::cell`] at northing `n`.
    pub fn row(&self, n: f64) -> (usize, f64) {
        let y = dem_row(self.uly, self.pixel, self.height, n);
        let y0 = (y as usize).min(self.height.saturating_sub(2));
        (y0, y - y0 as f64)
    }

    /// The bilinear height in the [`Dem::cell`] `(x0, y0, fx, fy)`.
    pub fn interpolate(&self, (x0, y0, fx, fy): (usize, usize, f64, f64)) -> f64 {
        let at = |c: usize, r: usize| f64::from(self.data[r * self.width + c]);
        let (x1, y1) = ((x0 + 1).min(self.width - 1), (y0 + 1).min(self.height - 1));
        let top = at(x0, y0) * (1.0 - fx) + at(x1, y0) * fx;
        let bottom = at(x0, y1) * (1.0 - fx) + at(x1, y1) * fx;
        top * (1.0 - fy) + bottom * fy
    }

    /// Bytes of its heights in memory.
    pub fn bytes(&self) -> u64 {
        std::mem::size_of_val(&self.data[..]) as u64
    }

    /// True when (E, N) lies inside the grid.
    pub fn covers(&self, e: f64, n: f64) -> bool {
        e >= self.ulx
            && e <= self.ulx + self.pixel * self.width as f64
            && n <= self.uly
            && n >= self.uly - self.pixel * self.height as f64
    }

    /// GDAL geotransform of the grid.
    pub fn geo_transform(&self) -> [f64; 6] {
        [self.ulx, self.pixel, 0.0, self.uly, 0.0, -self.pixel]
    }

    /// (min, max, mean, standard deviation) of the heights.
    pub fn statistics(&self) -> (f64, f64, f64, f64) {
        let n = self.data.len() as f64;
        let (mut lo, mut hi, mut sum, mut sum2) = (f64::MAX, f64::MIN, 0.0, 0.0);
        for &v in &self.data {
            let v = f64::from(v);
            lo = lo.min(v);
            hi = hi.max(v);
            sum += v;
            sum2 += v * v;
        }
        let mean = sum / n;
        (lo, hi, mean, (sum2 / n - mean * mean).max(0.0).sqrt())
    }
}

/// Slope of a DEM: its gradient at every DEM pixel (central differences, as the slope
/// layers of a REFDE2 DEM), sampled bilinearly; tabulated over all the DEM's rows
/// ([`Gradient::of`]) or over those a band of northings is sampled from
/// ([`Gradient::between`]: a strip's, so that a long scene's is not held whole).
#[derive(Debug, Clone, PartialEq)]
pub struct Gradient {
    ulx: f64,
    uly: f64,
    pixel: f64,
    /// The DEM's columns and rows.
    width: usize,
    height: usize,
    /// First DEM row tabulated.
    row0: usize,
    /// (∂h/∂E, ∂h/∂N) per pixel of the rows tabulated.
    gradient: Vec<[f32; 2]>,
}

impl Gradient {
    /// The gradient over the whole DEM.
    pub fn of(dem: &Dem) -> Self {
        Self::rows(dem, 0..dem.height)
    }

    /// The gradient over the DEM rows that [`Gradient::at`] reads for map points of northing
    /// between `n_lo` and `n_hi`.
    pub fn between(dem: &Dem, (n_lo, n_hi): (f64, f64)) -> Self {
        let row = |n: f64| dem_row(dem.uly, dem.pixel, dem.height, n) as usize;
        Self::rows(dem, row(n_hi)..(row(n_lo) + 2).min(dem.height))
    }

    fn rows(dem: &Dem, rows: std::ops::Range<usize>) -> Self {
        let (w, h) = (dem.width, dem.height);
        let z = |c: usize, r: usize| f64::from(dem.data[r * w + c]);
        let gradient = (rows.start * w..rows.end * w)
            .into_par_iter()
            .map(|k| {
                let (r, c) = (k / w, k % w);
                let (c0, c1) = (c.saturating_sub(1), (c + 1).min(w - 1));
                let (r0, r1) = (r.saturating_sub(1), (r + 1).min(h - 1));
                let gx = if c1 > c0 {
                    (z(c1, r) - z(c0, r)) / ((c1 - c0) as f64 * dem.pixel)
                } else {
                    0.0
                };
                // rows run southwards
                let gy = if r1 > r0 {
                    (z(c, r0) - z(c, r1)) / ((r1 - r0) as f64 * dem.pixel)
                } else {
                    0.0
                };
                [gx as f32, gy as f32]
            })
            .collect();
        Gradient {
            ulx: dem.ulx,
            uly: dem.uly,
            pixel: dem.pixel,
            width: w,
            height: h,
            row0: rows.start,
            gradient,
        }
    }

    /// (∂h/∂E, ∂h/∂N) at map point (E, N), bilinear between pixel centres, clamped (within
    /// the rows tabulated).
    pub fn at(&self, e: f64, n: f64) -> (f64, f64) {
        self.at_span(self.column(e), self.row(n))
    }

    /// The columns either side of easting `e` and the fraction across (the same at every
    /// northing: [`Gradient::at_span`] takes them).
    pub fn column(&self, e: f64) -> Span {
        let x = ((e - self.ulx) / self.pixel - 0.5).clamp(0.0, (self.width - 1) as f64);
        let x0 = x as usize;
        (x0, (x0 + 1).min(self.width - 1), x - x0 as f64)
    }

    /// The rows either side of northing `n` and the fraction across.
    pub fn row(&self, n: f64) -> Span {
        let y = dem_row(self.uly, self.pixel, self.height, n);
        let y0 = y as usize;
        (y0, (y0 + 1).min(self.height - 1), y - y0 as f64)
    }

    /// (∂h/∂E, ∂h/∂N) between the columns `column` and the rows `row`, bilinear.
    pub fn at_span(&self, (x0, x1, fx): Span, (y0, y1, fy): Span) -> (f64, f64) {
        let g = |c: usize, r: usize, k: usize| {
            f64::from(self.gradient[(r - self.row0) * self.width + c][k])
        };
        let at = |k: usize| {
            let top = g(x0, y0, k) * (1.0 - fx) + g(x1, y0, k) * fx;
            let bottom = g(x0, y1, k) * (1.0 - fx) + g(x1, y1, k) * fx;
            top * (1.0 - fy) + bottom * fy
        };
        (at(0), at(1))
    }

    /// Bytes of its table in memory.
    pub fn bytes(&self) -> u64 {
        std::mem::size_of_val(&self.gradient[..]) as u64
    }

    /// Unit normal (east, north, up) of the terrain at (E, N).
    pub fn normal(&self, e: f64, n: f64) -> [f64; 3] {
        normal_of(self.at(e, n))
    }

    /// [`Gradient::normal`] between the columns `column` and the rows `row`.
    pub fn normal_at_span(&self, column: Span, row: Span) -> [f64; 3] {
        normal_of(self.at_span(column, row))
    }
}

/// Two neighbouring rows or columns of a grid and the fraction of the way from the first.
pub type Span = (usize, usize, f64);

/// Unit normal (east, north, up) of a surface of gradient (∂h/∂E, ∂h/∂N).
fn normal_of((gx, gy): (f64, f64)) -> [f64; 3] {
    let norm = (1.0 + gx * gx + gy * gy).sqrt();
    [-gx / norm, -gy / norm, 1.0 / norm]
}

/// Fractional DEM row (pixel centres at integers, clamped to the rows) of northing `n`, for a
/// DEM whose top edge is at `uly`, of `pixel` metres and `height` rows.
fn dem_row(uly: f64, pixel: f64, height: usize, n: f64) -> f64 {
    ((uly - n) / pixel - 0.5).clamp(0.0, (height - 1) as f64)
}

/// A height above every terrain on Earth, metres: where a line of sight is searched from
/// when nothing better is known.
pub const ABOVE_ALL_TERRAIN_M: f64 = 9000.0;

/// Where a line of sight first meets the terrain — the surface the sensor sees: `sight(h)` is
/// the map point (E, N) of the sight at height `h`, `height(E, N)` the terrain's height there,
/// `top` a height above the terrain along the sight, `resolution` the terrain's detail (its
/// pixel, metres). Returns (E, N, h).
///
/// The sight is followed down from `top` in steps of `resolution` / 2 across the ground to
/// its first point below the terrain, and the crossing found by regula falsi, within 1 mm.
/// A fixed-point iteration on the height would be cheaper but is not enough off nadir: it
/// diverges on slopes facing the sensor steeper than the view's complement, and converges on
/// slopes hidden behind a ridge as readily as on the ridge.
pub fn meet_terrain(
    sight: impl Fn(f64) -> (f64, f64),
    height: impl Fn(f64, f64) -> f64,
    top: f64,
    resolution: f64,
) -> (f64, f64, f64) {
    let terrain = |h: f64| {
        let p = sight(h);
        height(p.0, p.1)
    };
    let mut h = top;
    // g > 0: the sight's point is below the terrain
    let g = |h: f64| terrain(h) - h;
    let (a, b) = (sight(0.0), sight(1.0));
    let across = (b.0 - a.0).hypot(b.1 - a.1).max(1e-6);
    let dh = (0.5 * resolution / across).clamp(0.01, 1000.0);
    let (mut hi, mut g_hi) = (top, g(top));
    let (mut lo, mut g_lo) = (hi, g_hi);
    for _ in 0..1_000_000 {
        if g_lo >= 0.0 {
            break;
        }
        (hi, g_hi) = (lo, g_lo);
        lo -= dh;
        g_lo = g(lo);
    }
    if g_hi >= 0.0 {
        // the sight starts below the terrain: take the top
        let p = sight(hi);
        return (p.0, p.1, terrain(hi));
    }
    // Illinois regula falsi on [lo, hi]: g(lo) ≥ 0 > g(hi)
    let mut side = 0;
    for _ in 0..100 {
        let x = (lo * g_hi - hi * g_lo) / (g_hi - g_lo);
        let gx = g(x);
        if gx.abs() < 1e-3 || (hi - lo) < 1e-4 {
            h = x;
            break;
        }
        if gx >= 0.0 {
            (lo, g_lo) = (x, gx);
            if side == -1 {
                g_hi /= 2.0;
            }
            side = -1;
        } else {
            (hi, g_hi) = (x, gx);
            if side == 1 {
                g_lo /= 2.0;
            }
            side = 1;
        }
        h = x;
    }
    let p = sight(h);
    (p.0, p.1, terrain(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A DEM of `w` × `h` pixels of 20 m from (0, 0), heights row by row.
    fn dem_20m(w: usize, h: usize, data: Vec<f32>) -> Dem {
        Dem {
            ulx: 0.0,
            uly: 0.0,
            pixel: 20.0,
            width: w,
            height: h,
            data,
        }
    }

    #[test]
    fn bilinear_is_exact_on_a_plane() {
        let (w, h) = (10, 8);
        let plane = |e: f64, n: f64| 100.0 + 0.5 * e - 0.25 * n;
        let data = (0..h)
            .flat_map(|r| (0..w).map(move |c| (r, c)))
            .map(|(r, c)| plane(20.0 * c as f64 + 10.0, -20.0 * r as f64 - 10.0) as f32)
            .collect();
        let dem = dem_20m(w, h, data);
        for (e, n) in [(10.0, -10.0), (33.3, -77.7), (150.0, -130.0)] {
            assert!((dem.height(e, n) - plane(e, n)).abs() < 1e-3);
        }
        assert!(dem.covers(199.0, -159.0) && !dem.covers(201.0, -10.0));
        let (lo, hi, _, _) = dem.statistics();
        assert!(lo < hi);
    }

    /// A band of rows gives the whole DEM's gradient at every point of its northings, the
    /// edges of the DEM included.
    #[test]
    fn a_band_of_rows_has_the_whole_gradient() {
        let (w, h) = (9, 12);
        let data = (0..w * h)
            .map(|k| ((k * 7919) % 101) as f32 + 0.3 * (k / w) as f32)
            .collect();
        let dem = dem_20m(w, h, data);
        let whole = Gradient::of(&dem);
        // northings -41 to -95 m read DEM rows 1 (y 1.55) to 5 (y 4.25 and the row below)
        assert_eq!(
            Gradient::between(&dem, (-95.0, -41.0)).gradient.len(),
            5 * w
        );
        for (n_lo, n_hi) in [
            (-95.0, -41.0),
            (-240.0, -200.0),
            (-30.0, 0.0),
            (-500.0, 100.0),
        ] {
            let band = Gradient::between(&dem, (n_lo, n_hi));
            assert!(band.gradient.len() <= whole.gradient.len());
            for i in 0..=20 {
                let n = n_lo + (n_hi - n_lo) * f64::from(i) / 20.0;
                for e in [-5.0, 0.0, 33.3, 95.0, 179.9, 200.0] {
                    assert_eq!(band.at(e, n), whole.at(e, n), "({e}, {n})");
                }
            }
        }
    }

    #[test]
    fn the_normal_of_a_plane_is_exact() {
        // a plane rising 0.25 m per metre to the east
        let (w, h) = (20, 20);
        let data = (0..w * h).map(|i| (i % w) as f32 * 5.0).collect();
        let dem = Dem {
            ulx: 0.0,
            uly: 400.0,
            pixel: 20.0,
            width: w,
            height: h,
            data,
        };
        let nrm = Gradient::of(&dem).normal(200.0, 200.0);
        let expect = [-0.25 / 1.0625f64.sqrt(), 0.0, 1.0 / 1.0625f64.sqrt()];
        for k in 0..3 {
            assert!((nrm[k] - expect[k]).abs() < 1e-6, "{nrm:?}");
        }
    }

    #[test]
    fn a_sight_is_met_where_it_first_reaches_the_terrain() {
        // A sight descending 0.7 m across per metre of height (35° off the vertical) towards
        // +E over a ridge at E = 0: the near side rises 2 m per metre (facing the sight, it
        // makes a fixed point on the height diverge), the far side falls 0.2 m per metre
        // (hidden behind the ridge, yet a fixed point converges there).
        let sight = |h: f64| (-0.7 * (h - 300.0), 0.0);
        let ridge = |e: f64, _: f64| {
            if e < 0.0 {
                600.0 + 2.0 * e
            } else {
                600.0 - 0.2 * e
            }
        };
        let (e, _, h) = meet_terrain(sight, ridge, 2000.0, 20.0);
        assert!((ridge(e, 0.0) - h).abs() < 1e-2, "{e} {h}");
        // the first crossing from above, by brute force
        let first = (0..2_000_000)
            .map(|k| 2000.0 - k as f64 * 0.001)
            .find(|&z| ridge(sight(z).0, 0.0) >= z)
            .unwrap();
        assert!((h - first).abs() < 0.01, "{h} vs {first}");
        assert!(e < 0.0, "met behind the ridge: {e}");
        // a gentle slope
        let plane = |e: f64, n: f64| 300.0 + 0.2 * e - 0.1 * n;
        let (e, n, h) = meet_terrain(sight, plane, 9000.0, 20.0);
        assert!((plane(e, n) - h).abs() < 1e-3);
    }
}
