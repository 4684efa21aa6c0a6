//! The VENµS pushbroom sensor model in the site's map plane.
//!
//! Each band is one array of detectors; a line of band `b` is acquired at
//! `t(line) = Te·(line − Line_Ref) + Time_Ref` (ICD datation model). Detector `j` looks along
//! `(tan ψX_j, tan ψY_j, 1)` in the platform frame (x to the right of the track, y forward,
//! z down: the VIEDIR convention), turned by the platform attitude (roll about y, pitch about x,
//! yaw about z). The platform flies a straight track at constant ground speed and altitude
//! over the map plane of the site's UTM projection; its nadir is `centre` at `t_centre`.
//!
//! This local model ignores Earth curvature and rotation over a scene (≈ 30 km): both the
//! simulator and the L1 use it, and the RPC that the L1 writes is fitted to it, so GDAL's
//! orthorectification checks the implementation, not the approximation.

use chrono::NaiveDateTime;

use super::time::seconds_between;

/// Platform trajectory and attitude over one scene.
#[derive(Debug, Clone, PartialEq)]
pub struct Platform {
    /// Map coordinates (E, N) of the nadir point at `t_centre`, metres.
    pub centre: (f64, f64),
    pub t_centre: NaiveDateTime,
    /// Direction of motion, degrees clockwise from grid north.
    pub heading_deg: f64,
    /// Speed of the nadir point over the ground, m/s.
    pub ground_speed: f64,
    /// Height of the platform above the map plane's zero altitude, metres.
    pub altitude: f64,
    pub roll_deg: f64,
    pub pitch_deg: f64,
    pub yaw_deg: f64,
}

/// The line datation model of one band (ICD `Datation_Line_Model`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Datation {
    pub line_ref: f64,
    pub time_ref: NaiveDateTime,
    /// Line period, seconds.
    pub te: f64,
}

/// What locates one band: its datation, the detectors its image columns come from, and their
/// viewing directions.
#[derive(Debug, Clone, PartialEq)]
pub struct BandGeometry {
    pub datation: Datation,
    /// Index (0-based, in the full detector array) of image column 0.
    pub first_detector: usize,
    /// `(tan ψX, tan ψY)` of every detector of the array.
    pub view_dirs: Vec<(f64, f64)>,
}

/// Sensor model of one band on one platform, with the time origin folded in.
#[derive(Debug, Clone)]
pub struct BandModel {
    centre: (f64, f64),
    forward: (f64, f64),
    right: (f64, f64),
    speed: f64,
    altitude: f64,
    rot: [[f64; 3]; 3],
    /// Seconds from `t_centre` to line 0.
    t0: f64,
    te: f64,
    first_detector: usize,
    view_dirs: Vec<(f64, f64)>,
}

impl BandModel {
    /// Builds the model of `band` on `platform`.
    pub fn new(platform: &Platform, band: &BandGeometry) -> Self {
        let h = platform.heading_deg.to_radians();
        let (r, p, y) = (
            platform.roll_deg.to_radians(),
            platform.pitch_deg.to_radians(),
            platform.yaw_deg.to_radians(),
        );
        // R = Rz(yaw) · Rx(pitch) · Ry(roll), acting on (x right, y forward, z down).
        let ry = [
            [r.cos(), 0.0, r.sin()],
            [0.0, 1.0, 0.0],
            [-r.sin(), 0.0, r.cos()],
        ];
        let rx = [
            [1.0, 0.0, 0.0],
            [0.0, p.cos(), p.sin()],
            [0.0, -p.sin(), p.cos()],
        ];
        let rz = [
            [y.cos(), -y.sin(), 0.0],
            [y.sin(), y.cos(), 0.0],
            [0.0, 0.0, 1.0],
        ];
        let rot = matmul(&rz, &matmul(&rx, &ry));
        let d = &band.datation;
        BandModel {
            centre: platform.centre,
            forward: (h.sin(), h.cos()),
            right: (h.cos(), -h.sin()),
            speed: platform.ground_speed,
            altitude: platform.altitude,
            rot,
            t0: seconds_between(platform.t_centre, d.time_ref) - d.te * d.line_ref,
            te: d.te,
            first_detector: band.first_detector,
            view_dirs: band.view_dirs.clone(),
        }
    }

    /// Seconds from the platform's `t_centre` to the acquisition of `line`.
    pub fn line_time(&self, line: f64) -> f64 {
        self.t0 + self.te * line
    }

    /// Viewing direction of image column `col` (fractional: linear between detectors).
    fn view(&self, col: f64) -> (f64, f64) {
        let j = self.first_detector as f64 + col;
        let n = self.view_dirs.len();
        let j0 = (j.floor().max(0.0) as usize).min(n - 2);
        let f = j - j0 as f64;
        let (a, b) = (self.view_dirs[j0], self.view_dirs[j0 + 1]);
        (a.0 + f * (b.0 - a.0), a.1 + f * (b.1 - a.1))
    }

    /// Map coordinates where pixel (`line`, `col`) meets the horizontal plane at height `h`.
    pub fn ground(&self, line: f64, col: f64, h: f64) -> (f64, f64) {
        let (tx, ty) = self.view(col);
        let d = [tx, ty, 1.0];
        let v = [
            self.rot[0][0] * d[0] + self.rot[0][1] * d[1] + self.rot[0][2] * d[2],
            self.rot[1][0] * d[0] + self.rot[1][1] * d[1] + self.rot[1][2] * d[2],
            self.rot[2][0] * d[0] + self.rot[2][1] * d[1] + self.rot[2][2] * d[2],
        ];
        let along = self.speed * self.line_time(line) + (self.altitude - h) * v[1] / v[2];
        let across = (self.altitude - h) * v[0] / v[2];
        (
            self.centre.0 + along * self.forward.0 + across * self.right.0,
            self.centre.1 + along * self.forward.1 + across * self.right.1,
        )
    }

    /// Intersects the line of sight of pixel (`line`, `col`) with the terrain `dem(E, N)`;
    /// returns (E, N, h). Fixed-point iteration: it contracts by |tan ψ · slope| ≪ 1.
    pub fn locate(&self, line: f64, col: f64, dem: impl Fn(f64, f64) -> f64) -> (f64, f64, f64) {
        let mut h = 0.0;
        let mut p = self.ground(line, col, h);
        for _ in 0..8 {
            let nh = dem(p.0, p.1);
            let converged = (nh - h).abs() < 1e-3;
            h = nh;
            p = self.ground(line, col, h);
            if converged {
                break;
            }
        }
        (p.0, p.1, h)
    }

    /// Image position (line, col) that sees map point (E, N) at height `h`: the inverse of
    /// [`BandModel::ground`], by Newton steps on its (nearly affine) mapping. Valid also
    /// outside the image (extrapolated), so callers test the bounds.
    pub fn image_position(&self, e: f64, n: f64, h: f64) -> (f64, f64) {
        // First guess from the track coordinates: along-track by time, across-track by the
        // mean detector spacing.
        let (s, r) = self.track_coordinates(e, n);
        let (x0, y0) = self.view(0.0);
        let (x1, _) = self.view((self.view_dirs.len() - 1 - self.first_detector) as f64);
        let dx_dcol = (x1 - x0) / (self.view_dirs.len() - 1 - self.first_detector) as f64;
        let depth = self.altitude - h;
        let mut col = (r / depth - x0) / dx_dcol;
        let mut line = (s - depth * y0 - self.speed * self.t0) / (self.speed * self.te);
        for _ in 0..6 {
            let g = self.ground(line, col, h);
            let (re, rn) = (e - g.0, n - g.1);
            if re.abs() < 1e-7 && rn.abs() < 1e-7 {
                break;
            }
            let gl = self.ground(line + 1.0, col, h);
            let gc = self.ground(line, col + 1.0, h);
            let (a, b, c, d) = (gl.0 - g.0, gc.0 - g.0, gl.1 - g.1, gc.1 - g.1);
            let det = a * d - b * c;
            line += (d * re - b * rn) / det;
            col += (a * rn - c * re) / det;
        }
        (line, col)
    }

    /// Map displacement of the ground point of (line, col) per metre of altitude: the ICD's
    /// (DX, DY) viewing direction, pointing from the ground towards the satellite.
    pub fn view_direction(&self, line: f64, col: f64, h: f64) -> (f64, f64) {
        let a = self.ground(line, col, h);
        let b = self.ground(line, col, h + 1.0);
        (b.0 - a.0, b.1 - a.1)
    }

    /// Along-track (forward) and across-track (right) coordinates of a map point, relative to
    /// the nadir at `t_centre`.
    pub fn track_coordinates(&self, e: f64, n: f64) -> (f64, f64) {
        let (de, dn) = (e - self.centre.0, n - self.centre.1);
        (
            de * self.forward.0 + dn * self.forward.1,
            de * self.right.0 + dn * self.right.1,
        )
    }
}

fn matmul(a: &[[f64; 3]; 3], b: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let mut m = [[0.0; 3]; 3];
    for (i, row) in m.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    m
}

/// A band model like VENµS's over a site in EPSG:32631, for tests of the geometry and of `raster::rpc`.
#[cfg(test)]
pub(crate) fn example_model(tan_y: f64) -> BandModel {
    let t = chrono::NaiveDate::from_ymd_opt(2024, 3, 15)
        .unwrap()
        .and_hms_opt(10, 30, 0)
        .unwrap();
    let platform = Platform {
        centre: (720_000.0, 4_900_000.0),
        t_centre: t,
        heading_deg: 191.6,
        ground_speed: 6737.0,
        altitude: 720_000.0,
        roll_deg: 0.3,
        pitch_deg: -0.1,
        yaw_deg: 0.05,
    };
    let k = 5.3 / 720_000.0;
    let band = BandGeometry {
        datation: Datation {
            line_ref: 600.0,
            time_ref: t,
            te: 5.3 / 6737.0,
        },
        first_detector: 0,
        view_dirs: (0..5200)
            .map(|j| {
                let x = j as f64 - 2599.5;
                // A small quadratic distortion: 2 pixels at the ends of the array.
                (x * k * (1.0 + 2.0 * x / 2600.0 / 2600.0), tan_y)
            })
            .collect(),
    };
    BandModel::new(&platform, &band)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn t0() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2024, 3, 15)
            .unwrap()
            .and_hms_opt(10, 30, 0)
            .unwrap()
    }

    fn model(heading: f64, tan_y: f64, roll: f64) -> BandModel {
        let platform = Platform {
            centre: (500_000.0, 4_000_000.0),
            t_centre: t0(),
            heading_deg: heading,
            ground_speed: 6730.0,
            altitude: 720_000.0,
            roll_deg: roll,
            pitch_deg: 0.0,
            yaw_deg: 0.0,
        };
        let k = 5.3 / 720_000.0;
        let band = BandGeometry {
            datation: Datation {
                line_ref: 100.0,
                time_ref: t0(),
                te: 5.3 / 6730.0,
            },
            first_detector: 2000,
            view_dirs: (0..5200)
                .map(|j| ((j as f64 - 2599.5) * k, tan_y))
                .collect(),
        };
        BandModel::new(&platform, &band)
    }

    #[test]
    fn closed_form_geometry_heading_north() {
        let m = model(0.0, 0.0, 0.0);
        // Line 100 is at t_centre; column 599.5 is detector 2599.5, the nadir.
        let (e, n) = m.ground(100.0, 599.5, 0.0);
        assert!((e - 500_000.0).abs() < 1e-6 && (n - 4_000_000.0).abs() < 1e-6);
        // One line later the ground point moved one sample north; one column is 5.3 m east.
        let (e, n) = m.ground(101.0, 600.5, 0.0);
        assert!((n - 4_000_005.3).abs() < 1e-6, "{n}");
        assert!((e - 500_005.3).abs() < 1e-6, "{e}");
    }

    #[test]
    fn relief_displaces_along_the_look_direction() {
        // A forward-looking band (tan ψY = 0.0125) sees a point 800 m high 10 m closer.
        let m = model(0.0, 0.0125, 0.0);
        let (_, n0) = m.ground(100.0, 599.5, 0.0);
        let (_, n1) = m.ground(100.0, 599.5, 800.0);
        assert!((n0 - n1 - 10.0).abs() < 1e-9);
        // Heading south flips it.
        let m = model(180.0, 0.0125, 0.0);
        let (_, n0) = m.ground(100.0, 599.5, 0.0);
        let (_, n1) = m.ground(100.0, 599.5, 800.0);
        assert!((n1 - n0 - 10.0).abs() < 1e-9);
    }

    #[test]
    fn roll_tilts_across_track() {
        let m = model(0.0, 0.0, 1.0);
        let (e, _) = m.ground(100.0, 599.5, 0.0);
        assert!((e - 500_000.0 - 720_000.0 * 1f64.to_radians().tan()).abs() < 1e-6);
    }

    #[test]
    fn image_position_inverts_ground() {
        let m = model(191.6, -0.0125, 0.3);
        for (l, c, h) in [(0.0, 0.0, 0.0), (250.3, 17.8, 900.0), (-40.0, 800.5, 300.0)] {
            let (e, n) = m.ground(l, c, h);
            let (l2, c2) = m.image_position(e, n, h);
            assert!(
                (l - l2).abs() < 1e-6 && (c - c2).abs() < 1e-6,
                "{l} {c} -> {l2} {c2}"
            );
        }
    }

    #[test]
    fn view_direction_points_to_the_satellite() {
        // Heading north, detector right of nadir: the satellite is to the west, up 720 km.
        let m = model(0.0, 0.0, 0.0);
        let (dx, dy) = m.view_direction(100.0, 1599.5, 0.0);
        let tan_x = 1000.0 * 5.3 / 720_000.0;
        assert!((dx + tan_x).abs() < 1e-9 && dy.abs() < 1e-9, "{dx} {dy}");
    }

    #[test]
    fn locate_converges_on_a_slope() {
        let m = model(191.6, 0.0125, 0.5);
        let dem = |e: f64, n: f64| 300.0 + 0.3 * (e - 500_000.0) + 0.2 * (n - 4_000_000.0);
        let (e, n, h) = m.locate(250.0, 20.0, dem);
        assert!((dem(e, n) - h).abs() < 1e-2);
        let (e2, n2) = m.ground(250.0, 20.0, h);
        assert!((e - e2).abs() < 1e-9 && (n - n2).abs() < 1e-9);
    }
}
