//! The VENµS pushbroom sensor model seen in a map projection: the real-orbit model
//! ([`OrbitalModel`]: ephemeris, attitude, Earth orientation, the WGS 84 ellipsoid) with its
//! ground points given as map coordinates (E, N) of the site's CRS and heights above the
//! ellipsoid. The map ↔ geographic conversion is PROJ's, through its local bicubic form
//! ([`LocalLonLat`], within 0.5 mm of PROJ over a scene), so that no pixel calls PROJ.
//!
//! Each band is one array of detectors; a line of band `b` is acquired at
//! `t(line) = Te·(line − Line_Ref) + Time_Ref` (ICD datation model, [`Datation`]).

use chrono::NaiveDateTime;

use super::dem::{meet_terrain, ABOVE_ALL_TERRAIN_M};
use super::earth::{ecef_to_geodetic, geodetic_to_ecef, ray_to_ellipsoid};
use super::lonlat::LocalLonLat;
use super::orbital::OrbitalModel;

/// The line datation model of one band (ICD `Datation_Line_Model`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Datation {
    pub line_ref: f64,
    pub time_ref: NaiveDateTime,
    /// Line period, seconds.
    pub te: f64,
}

/// Sensor model of one band in the map plane of a CRS.
#[derive(Debug, Clone)]
pub struct BandModel {
    orbital: OrbitalModel,
    local: LocalLonLat,
}

impl BandModel {
    /// `orbital` with its ground points in the CRS of `local` (which must cover the scene).
    pub fn new(orbital: OrbitalModel, local: LocalLonLat) -> Self {
        BandModel { orbital, local }
    }

    /// Bytes of its tables in memory.
    pub fn bytes(&self) -> u64 {
        self.orbital.bytes()
    }

    /// The same band flown as `flight` says.
    pub fn reflown(&self, flight: &super::orbital::Flight) -> crate::error::Result<BandModel> {
        Ok(BandModel::new(self.orbital.reflown(flight)?, self.local))
    }

    /// The line of sight that sees (E, N, h), in the satellite frame: [X, Y, XY] in degrees
    /// ([`OrbitalModel::satellite_frame_angles`]).
    pub fn view_in_satellite_frame(
        &self,
        e: f64,
        n: f64,
        h: f64,
    ) -> crate::error::Result<[f64; 3]> {
        let (l, c) = self.image_position(e, n, h);
        self.orbital.satellite_frame_angles(l, c)
    }

    /// The UTC instant `line` is acquired at.
    pub fn line_instant(&self, line: f64) -> NaiveDateTime {
        self.orbital.line_instant(line)
    }

    /// Map coordinates where pixel (`line`, `col`) meets the surface at height `h` above the
    /// ellipsoid (NaN if its line of sight misses the Earth).
    pub fn ground(&self, line: f64, col: f64, h: f64) -> (f64, f64) {
        match self.orbital.ground(line, col, h) {
            Ok(p) => self.map(p),
            Err(_) => (f64::NAN, f64::NAN),
        }
    }

    fn map(&self, p: super::earth::Vec3) -> (f64, f64) {
        let (lon, lat, _) = ecef_to_geodetic(p);
        self.local.map(lon, lat)
    }

    /// Where the line of sight of pixel (`line`, `col`) first meets the terrain `dem(E, N)`
    /// (a DEM of `resolution` metres): (E, N, h), by [`meet_terrain`] from above all
    /// terrain.
    pub fn locate(
        &self,
        line: f64,
        col: f64,
        dem: impl Fn(f64, f64) -> f64,
        resolution: f64,
    ) -> (f64, f64, f64) {
        let (o, d) = self.orbital.sight(line, col);
        let sight =
            |h: f64| ray_to_ellipsoid(o, d, h).map_or((f64::NAN, f64::NAN), |p| self.map(p));
        meet_terrain(sight, dem, ABOVE_ALL_TERRAIN_M, resolution)
    }

    /// Image position (line, col) that sees map point (E, N) at height `h`: the inverse of
    /// [`BandModel::ground`]. Valid also outside the image (extrapolated), so callers test
    /// the bounds.
    pub fn image_position(&self, e: f64, n: f64, h: f64) -> (f64, f64) {
        let (lon, lat) = self.local.lonlat(e, n);
        self.orbital.image_position(geodetic_to_ecef(lon, lat, h))
    }

    /// Map displacement of the ground point of (line, col) per metre of altitude: the ICD's
    /// (DX, DY) viewing direction, pointing from the ground towards the satellite.
    pub fn view_direction(&self, line: f64, col: f64, h: f64) -> (f64, f64) {
        let a = self.ground(line, col, h);
        let b = self.ground(line, col, h + 1.0);
        (b.0 - a.0, b.1 - a.1)
    }
}

/// A band model like VENµS's over a site in EPSG:32631 (centre (720000, 4900000), seen
/// 0.3° off nadir), 5200 detectors with a small quadratic distortion (2 pixels at the ends
/// of the array), viewing `tan_y` along the track; line 600 is acquired at 10:30 UTC on
/// 2024-03-15. For tests of the geometry and of `raster::rpc`.
#[cfg(test)]
pub(crate) fn example_model(tan_y: f64) -> BandModel {
    example_model_across(tan_y, 3_770.0)
}

/// [`example_model`] with the ground track `across` metres left of the site centre.
#[cfg(test)]
pub(crate) fn example_model_across(tan_y: f64, across: f64) -> BandModel {
    use super::earth::{EarthOrientation, IDENTITY};
    use super::lonlat::MapToLonLat;
    use super::orbital::{Flight, OrbitalBand};
    use crate::sim::orbit::{aux_samples, eop_table, roll_towards, Orbit};

    let t = chrono::NaiveDate::from_ymd_opt(2024, 3, 15)
        .unwrap()
        .and_hms_opt(10, 30, 0)
        .unwrap();
    let to_lonlat = MapToLonLat::new(32631).unwrap();
    let (lon, lat) = to_lonlat.lonlat(720_000.0, 4_900_000.0).unwrap();
    let eop = EarthOrientation::default();
    let orbit = Orbit::pass_over(lon, lat, t, across, eop).unwrap();
    let roll = roll_towards(&orbit.state(t).unwrap(), geodetic_to_ecef(lon, lat, 0.0));
    let span = (
        crate::geometry::time::add_seconds(t, -3.0),
        crate::geometry::time::add_seconds(t, 5.0),
    );
    let (gps, att) = aux_samples(&orbit, roll, span, 2.0).unwrap();
    let src = std::path::Path::new("AUX");
    let flight = Flight {
        ephemeris: super::orbit::Ephemeris::new(&gps, src).unwrap(),
        attitude: super::orbit::Attitude::new(&att, src).unwrap(),
        eop: eop_table(t, eop),
        knowledge: Default::default(),
    };
    let k = 5.3 / 720_000.0;
    let band = OrbitalBand {
        datation: Datation {
            line_ref: 600.0,
            time_ref: t,
            te: 0.78e-3,
        },
        first_detector: 0,
        view_dirs: (0..5200)
            .map(|j| {
                let x = j as f64 - 2599.5;
                (x * k * (1.0 + 2.0 * x / 2600.0 / 2600.0), tan_y)
            })
            .collect(),
        array_to_body: IDENTITY,
    };
    let local = to_lonlat.local((720_000.0, 4_900_000.0), 40_000.0).unwrap();
    BandModel::new(OrbitalModel::new(&flight, band, 3000).unwrap(), local)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_centre_pixel_sees_the_site() {
        let m = example_model(0.0);
        let (e, n) = m.ground(600.0, 2599.5, 0.0);
        assert!(
            (e - 720_000.0).abs() < 0.05 && (n - 4_900_000.0).abs() < 0.05,
            "{e} {n}"
        );
    }

    #[test]
    fn relief_displaces_along_the_look_direction() {
        // A forward-looking band (tan ψY = 0.0125) at nadir sees a point 800 m high 10 m
        // closer to the satellite along the track (a little more on the curved Earth: the
        // vertical there leans 0.0125·720 km / 6371 km more); the descending track heads
        // south-south-west, so closer is north-north-east.
        let m = example_model_across(0.0125, 0.0);
        let (e0, n0) = m.ground(600.0, 2599.5, 0.0);
        let (e1, n1) = m.ground(600.0, 2599.5, 800.0);
        let along = (e1 - e0).hypot(n1 - n0);
        let expect = 800.0 * (0.0125f64.atan() + 0.0125 * 720e3 / 6371e3).tan();
        assert!((along - expect).abs() < 0.01 * expect, "{along} {expect}");
        assert!(n1 > n0 && e1 > e0, "({e0}, {n0}) ({e1}, {n1})");
    }

    #[test]
    fn image_position_inverts_ground() {
        // within the local map frame's round trip (0.5 mm, 1e-4 pixel)
        let m = example_model(-0.0125);
        for (l, c, h) in [
            (0.0, 0.0, 0.0),
            (250.3, 17.8, 900.0),
            (-40.0, 5100.5, 300.0),
        ] {
            let (e, n) = m.ground(l, c, h);
            let (l2, c2) = m.image_position(e, n, h);
            assert!(
                (l - l2).abs() < 3e-4 && (c - c2).abs() < 3e-4,
                "{l} {c} -> {l2} {c2}"
            );
        }
    }

    #[test]
    fn view_direction_points_to_the_satellite() {
        // At nadir, 1000 detectors right of the boresight the satellite is left of the
        // point (the track heads south-south-west: its left is east-south-east), at the
        // detector's angle plus the Earth's central angle to the point from the vertical.
        let m = example_model_across(0.0, 0.0);
        let (dx, dy) = m.view_direction(600.0, 3599.5, 0.0);
        let a = (1000.0 * 5.3 / 720_000.0f64).atan();
        let expect = (a + 720e3 * a.tan() / 6371e3).tan();
        let d = dx.hypot(dy);
        assert!((d - expect).abs() < 0.01 * expect, "{dx} {dy}: {expect}");
        assert!(dx > 0.0 && dy < 0.0, "{dx} {dy}");
    }

    #[test]
    fn locate_converges_on_a_slope() {
        let m = example_model(0.0125);
        let dem = |e: f64, n: f64| 300.0 + 0.3 * (e - 720_000.0) + 0.2 * (n - 4_900_000.0);
        let (e, n, h) = m.locate(250.0, 20.0, dem, 20.0);
        assert!((dem(e, n) - h).abs() < 1e-2);
        let (e2, n2) = m.ground(250.0, 20.0, h);
        assert!((e - e2).abs() < 1e-6 && (n - n2).abs() < 1e-6);
    }
}
