//! The VENµS pushbroom sensor on a real orbit (the forward half: image → ground).
//!
//! A line of a band is acquired at its datation instant ([`Datation`]). At that instant the
//! satellite is where its ephemeris says ([`Ephemeris`]) and turned as its attitude says
//! ([`Attitude`]: body → mean of date, then [`Frames`] to ITRF). Detector `j` of the band
//! looks along `(tan ψX_j, tan ψY_j, 1)` of the VIEDIR convention (x to the right of the
//! track, y forward, z down), which in the body frame (x forward, y right, z down) is
//! `(tan ψY, tan ψX, 1)`, turned by the band's array → body rotation (SENGEO's chain;
//! the identity for an ideal instrument). The line of sight meets the ground where the
//! ellipsoid raised to the terrain's height meets it ([`ray_to_ellipsoid`]).
//!
//! Neither the light's travel time (2.4 ms from 720 km) nor the aberration of the satellite's
//! velocity (25 µrad) is modelled: the simulator, the L1 and the test oracle leave both out
//! alike, and the refinement on reference images absorbs them in a real chain.

use chrono::NaiveDateTime;

use super::earth::{mul, mul3, ray_to_ellipsoid, rx, ry, rz, transpose, Frames, Mat3, Vec3};
use super::orbit::{quaternion, rotation, Attitude, Ephemeris};
use super::sensor::Datation;
use super::time::add_seconds;
use crate::ee::auxdata::{AttitudeSample, GpsSample};
use crate::ee::eordta::EopTable;
use crate::error::{Result, VipError};

/// One band's part of the model: when its lines are taken and where its detectors look.
#[derive(Debug, Clone, PartialEq)]
pub struct OrbitalBand {
    pub datation: Datation,
    /// Index (0-based, in the full detector array) of image column 0.
    pub first_detector: usize,
    /// `(tan ψX, tan ψY)` of every detector of the array (VIEDIR).
    pub view_dirs: Vec<(f64, f64)>,
    /// The array frame's components → body components (SENGEO's chain).
    pub array_to_body: Mat3,
}

/// What the satellite did during an acquisition: where it was (GPSDTA), how it was turned
/// (AOCDTA), and how the Earth was turned (EORDTA).
#[derive(Debug, Clone)]
pub struct Flight {
    pub ephemeris: Ephemeris,
    pub attitude: Attitude,
    pub eop: EopTable,
    /// How wrong the ephemeris and attitude are known to be: the model undoes it (zero until
    /// the refinement on a reference image estimates it).
    pub knowledge: KnowledgeError,
}

/// How wrong the auxiliary data are about the flight, as the refinement on reference images
/// finds out: a constant attitude bias (body-frame rotations, µrad) and a time offset of the
/// auxiliary data's time tags against the image datation (s).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KnowledgeError {
    pub roll_urad: f64,
    pub pitch_urad: f64,
    pub yaw_urad: f64,
    /// A sample taken at t is tagged t + `time_s`.
    pub time_s: f64,
}

impl KnowledgeError {
    /// The attitude bias: the reported body → mean-of-date rotation is the true one times
    /// this (turned about the body's x, y then z axes).
    pub fn bias(&self) -> Mat3 {
        mul3(
            mul3(rz(-self.yaw_urad * 1e-6), ry(-self.pitch_urad * 1e-6)),
            rx(-self.roll_urad * 1e-6),
        )
    }

    /// The auxiliary data as the satellite reports them: each attitude turned by the bias,
    /// every time tag moved by the offset.
    pub fn reported(
        &self,
        gps: &[GpsSample],
        attitude: &[AttitudeSample],
    ) -> (Vec<GpsSample>, Vec<AttitudeSample>) {
        let shift = |t: NaiveDateTime| add_seconds(t, self.time_s);
        let bias = self.bias();
        let gps = gps
            .iter()
            .map(|s| GpsSample {
                utc: shift(s.utc),
                ..*s
            })
            .collect();
        let attitude = attitude
            .iter()
            .map(|s| AttitudeSample {
                utc: shift(s.utc),
                quaternion: quaternion(&mul3(rotation(&s.quaternion), bias)),
                ..*s
            })
            .collect();
        (gps, attitude)
    }
}

/// Lines beyond each end of the image whose instants the model tabulates (and the auxiliary
/// data must cover): image positions just outside the image stay exact.
const TABLE_MARGIN: i64 = 256;

/// The sensor model of one band of one acquisition. The satellite's position and the array's
/// rotation to ITRF are tabulated at every line (and interpolated linearly in between: over a
/// line period both move by less than 1e-6 m and 1e-12 rad from a straight line), so a pixel
/// costs a few multiplications and the ellipsoid's intersection.
#[derive(Debug, Clone)]
pub struct OrbitalModel {
    band: OrbitalBand,
    /// The line of `table[0]`.
    first: i64,
    /// Per line: the mean-of-date → ITRF rotation.
    frames: Vec<Mat3>,
    /// Per line: the satellite's position and the array → ITRF rotation.
    table: Vec<(Vec3, Mat3)>,
}

impl OrbitalModel {
    /// Bytes of its per-line tables in memory.
    pub fn bytes(&self) -> u64 {
        (std::mem::size_of_val(&self.frames[..]) + std::mem::size_of_val(&self.table[..])) as u64
    }

    /// The model of `band`, whose image has `lines` lines, flown as `flight` says. The
    /// ephemeris, the attitude and the Earth orientation must cover the image's lines and
    /// [`TABLE_MARGIN`] more on each side: otherwise bad input naming the file.
    pub fn new(flight: &Flight, band: OrbitalBand, lines: usize) -> Result<OrbitalModel> {
        let first = -TABLE_MARGIN;
        let last = lines as i64 + TABLE_MARGIN;
        let mut m = OrbitalModel {
            band,
            first,
            frames: Vec::new(),
            table: Vec::new(),
        };
        m.frames = (first..=last)
            .map(|l| {
                let t = m.line_instant(l as f64);
                Ok(Frames::at(t, &flight.eop.at(t)?)?.mod_to_itrf)
            })
            .collect::<Result<_>>()?;
        m.fly(flight)?;
        Ok(m)
    }

    /// Tabulates the satellite's position and the array's rotation as `flight` says.
    fn fly(&mut self, flight: &Flight) -> Result<()> {
        let k = &flight.knowledge;
        let unbias = transpose(&k.bias());
        self.table = (self.first..)
            .zip(&self.frames)
            .map(|(l, mod_to_itrf)| {
                let t = self.line_instant(l as f64);
                // the auxiliary data's sample of instant t, tagged late by the offset
                let tagged = add_seconds(t, k.time_s);
                let body_to_mod = mul3(flight.attitude.body_to_mod(tagged)?, unbias);
                let r = mul3(mul3(*mod_to_itrf, body_to_mod), self.band.array_to_body);
                Ok((flight.ephemeris.at(tagged)?.position, r))
            })
            .collect::<Result<_>>()?;
        Ok(())
    }

    /// The same band flown as `flight` says (the same image, another knowledge of the flight;
    /// the Earth's orientation at each line is kept).
    pub fn reflown(&self, flight: &Flight) -> Result<OrbitalModel> {
        let mut m = OrbitalModel {
            band: self.band.clone(),
            first: self.first,
            frames: self.frames.clone(),
            table: Vec::new(),
        };
        m.fly(flight)?;
        Ok(m)
    }

    /// The UTC instant `line` is acquired at, to the nanosecond (a microsecond is 7 mm of
    /// the satellite's track, 0.001 of a line).
    pub fn line_instant(&self, line: f64) -> NaiveDateTime {
        let d = &self.band.datation;
        d.time_ref
            + chrono::Duration::nanoseconds((d.te * (line - d.line_ref) * 1e9).round() as i64)
    }

    /// The satellite's position and the array → ITRF rotation at `line`: interpolated in the
    /// table, extrapolated linearly beyond it.
    fn at_line(&self, line: f64) -> (Vec3, Mat3) {
        let x = line - self.first as f64;
        let i = (x.floor().max(0.0) as usize).min(self.table.len() - 2);
        let f = x - i as f64;
        let ((p0, r0), (p1, r1)) = (&self.table[i], &self.table[i + 1]);
        let p = std::array::from_fn(|k| p0[k] + f * (p1[k] - p0[k]));
        let r =
            std::array::from_fn(|a| std::array::from_fn(|b| r0[a][b] + f * (r1[a][b] - r0[a][b])));
        (p, r)
    }

    /// Viewing direction of image column `col` (fractional: linear between detectors).
    fn view(&self, col: f64) -> (f64, f64) {
        let v = &self.band.view_dirs;
        let j = self.band.first_detector as f64 + col;
        let j0 = (j.floor().max(0.0) as usize).min(v.len() - 2);
        let f = j - j0 as f64;
        (
            v[j0].0 + f * (v[j0 + 1].0 - v[j0].0),
            v[j0].1 + f * (v[j0 + 1].1 - v[j0].1),
        )
    }

    /// The line of sight of pixel (`line`, `col`): the satellite's position and the unit
    /// direction it looks along, in ITRF.
    pub fn sight(&self, line: f64, col: f64) -> (Vec3, Vec3) {
        let (s, r) = self.at_line(line);
        let (tx, ty) = self.view(col);
        let d = mul(&r, [ty, tx, 1.0]);
        let n = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
        (s, d.map(|x| x / n))
    }

    /// The line of sight of pixel (`line`, `col`) in the satellite frame, as the ICD's
    /// `Viewing_Angles_In_Satellite_Frame`: its incidence angles (degrees) from the nadir at the
    /// satellite (the geodetic vertical) along the satellite's X (forward) and Y (right)
    /// directions, and overall, atan √(tan²X + tan²Y).
    pub fn satellite_frame_angles(&self, line: f64, col: f64) -> Result<[f64; 3]> {
        let (s, d) = self.sight(line, col);
        let (lon, lat, _) = super::earth::ecef_to_geodetic(s);
        let (lo, la) = (lon.to_radians(), lat.to_radians());
        let nadir = [-la.cos() * lo.cos(), -la.cos() * lo.sin(), -la.sin()];
        // the body's x axis in ITRF, made horizontal
        let (_, r) = self.at_line(line);
        let body_to_itrf = mul3(r, transpose(&self.band.array_to_body));
        let x = mul(&body_to_itrf, [1.0, 0.0, 0.0]);
        let dot = |a: &Vec3, b: &Vec3| (0..3).map(|k| a[k] * b[k]).sum::<f64>();
        let xn = dot(&x, &nadir);
        let x: Vec3 = std::array::from_fn(|k| x[k] - xn * nadir[k]);
        let norm = dot(&x, &x).sqrt();
        if norm < 1e-9 {
            return Err(miss(line, col));
        }
        let x = x.map(|v| v / norm);
        // y = z × x, z the nadir: x forward, y right, z down
        let y = [
            nadir[1] * x[2] - nadir[2] * x[1],
            nadir[2] * x[0] - nadir[0] * x[2],
            nadir[0] * x[1] - nadir[1] * x[0],
        ];
        let down = dot(&d, &nadir);
        if down <= 0.0 {
            return Err(miss(line, col));
        }
        let (tx, ty) = (dot(&d, &x) / down, dot(&d, &y) / down);
        Ok([
            tx.atan().to_degrees(),
            ty.atan().to_degrees(),
            tx.hypot(ty).atan().to_degrees(),
        ])
    }

    /// Where pixel (`line`, `col`) meets the surface at height `h` above the ellipsoid: ITRF.
    pub fn ground(&self, line: f64, col: f64, h: f64) -> Result<Vec3> {
        let (o, d) = self.sight(line, col);
        ray_to_ellipsoid(o, d, h).ok_or_else(|| miss(line, col))
    }

    /// The fractional image column whose tan ψX is `tx` (the detectors' tan ψX increase
    /// monotonically across the array; extrapolated linearly beyond its ends).
    fn column_of(&self, tx: f64) -> f64 {
        let v = &self.band.view_dirs;
        let j = v.partition_point(|d| d.0 < tx).clamp(1, v.len() - 1) - 1;
        j as f64 + (tx - v[j].0) / (v[j + 1].0 - v[j].0) - self.band.first_detector as f64
    }

    /// Image position (line, column) that sees the ITRF point `p`: the inverse of
    /// [`OrbitalModel::ground`]. The line is the instant when `p` crosses the plane of the
    /// column's line of sight and its neighbour's (Newton's method on the time),
    /// the column the detector whose tan ψX looks at `p` then. Valid also outside the image
    /// (extrapolated), so callers test the bounds.
    pub fn image_position(&self, p: Vec3) -> (f64, f64) {
        let mut col = (self.band.view_dirs.len() / 2) as f64 - self.band.first_detector as f64;
        let mut line = self.band.datation.line_ref;
        for _ in 0..8 {
            // the plane through the satellite holding the column's line of sight and its
            // neighbour's: normal d × d' in the array frame
            let (tx, ty) = self.view(col);
            let (tx1, ty1) = self.view(col + 1.0);
            let (dtx, dty) = (tx1 - tx, ty1 - ty);
            let normal_array = [-dtx, dty, ty * dtx - tx * dty];
            // signed distance of p to the swept plane at a line, in metres
            let miss = |line: f64| -> (f64, Vec3, Mat3) {
                let (s, r) = self.at_line(line);
                let normal = mul(&r, normal_array);
                let v: Vec3 = std::array::from_fn(|k| p[k] - s[k]);
                let n = (normal[0].powi(2) + normal[1].powi(2) + normal[2].powi(2)).sqrt();
                ((0..3).map(|k| v[k] * normal[k]).sum::<f64>() / n, v, r)
            };
            let (f, _, _) = miss(line);
            let (f1, _, _) = miss(line + 1.0);
            line -= f / (f1 - f);
            let (_, v, r) = miss(line);
            // p in the array frame: (forward, right, down) components
            let a = mul(&super::earth::transpose(&r), v);
            let before = col;
            col = self.column_of(a[1] / a[2]);
            if (col - before).abs() < 1e-7 && f.abs() < 1e-6 {
                break;
            }
        }
        (line, col)
    }
}

fn miss(line: f64, col: f64) -> VipError {
    VipError::Processing(format!(
        "the line of sight of line {line}, column {col} misses the Earth"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ee::eordta::EopDay;
    use crate::geometry::earth::{
        distance, ecef_to_geodetic, geodetic_to_ecef, EarthOrientation, IDENTITY,
    };
    use crate::geometry::time::{add_seconds, seconds_between};
    use crate::sim::orbit::{aux_samples, roll_towards, Orbit};

    /// An acquisition centred on (35.5° E, 31° N) at `t`, `across` metres from the track, its
    /// ephemeris, attitude and Earth orientation.
    fn acquisition(across: f64) -> (NaiveDateTime, Flight) {
        acquisition_known_as(across, KnowledgeError::default())
    }

    /// [`acquisition`] as auxiliary data off by `error` report it.
    fn acquisition_known_as(across: f64, error: KnowledgeError) -> (NaiveDateTime, Flight) {
        let t = chrono::NaiveDate::from_ymd_opt(2024, 6, 15)
            .unwrap()
            .and_hms_opt(8, 30, 0)
            .unwrap();
        let eop = EarthOrientation {
            x_pole: 0.16,
            y_pole: 0.45,
            ut1_utc: 0.0116,
        };
        let o = Orbit::pass_over(35.5, 31.0, t, across, eop).unwrap();
        let roll = roll_towards(&o.state(t).unwrap(), geodetic_to_ecef(35.5, 31.0, 0.0));
        let (gps, att) =
            aux_samples(&o, roll, (add_seconds(t, -5.0), add_seconds(t, 5.0)), 2.0).unwrap();
        let (gps, att) = error.reported(&gps, &att);
        let src = std::path::Path::new("AUX");
        let day = |d: u32| EopDay {
            date: chrono::NaiveDate::from_ymd_opt(2024, 6, d).unwrap(),
            eop,
        };
        let midnight = |d: u32| day(d).date.and_hms_opt(0, 0, 0).unwrap();
        let table = EopTable {
            days: vec![day(14), day(15), day(16)],
            validity: (midnight(14), midnight(16)),
            source: "EOP".into(),
        };
        let flight = Flight {
            ephemeris: Ephemeris::new(&gps, src).unwrap(),
            attitude: Attitude::new(&att, src).unwrap(),
            eop: table,
            knowledge: Default::default(),
        };
        (t, flight)
    }

    /// A band of 5200 detectors 5.3 m apart at nadir from 720 km, lines 0.78 ms apart,
    /// line 2600 at `t`.
    fn band(t: NaiveDateTime) -> OrbitalBand {
        OrbitalBand {
            datation: Datation {
                line_ref: 2600.0,
                time_ref: t,
                te: 0.78e-3,
            },
            first_detector: 0,
            view_dirs: (0..5200)
                .map(|j| ((j as f64 - 2599.5) * 5.3 / 720e3, 0.0))
                .collect(),
            array_to_body: IDENTITY,
        }
    }

    /// A model told the knowledge error of its auxiliary data sees what the true flight sees;
    /// untold, the error moves it as the bias and the offset say.
    #[test]
    fn the_known_error_is_undone() {
        let error = KnowledgeError {
            roll_urad: 70.0,
            pitch_urad: -40.0,
            yaw_urad: 300.0,
            time_s: 0.02,
        };
        let (t, truth) = acquisition(20_000.0);
        let (_, mut reported) = acquisition_known_as(20_000.0, error);
        let exact = OrbitalModel::new(&truth, band(t), 5200).unwrap();
        let naive = OrbitalModel::new(&reported, band(t), 5200).unwrap();
        reported.knowledge = error;
        let undone = OrbitalModel::new(&reported, band(t), 5200).unwrap();
        let mut worst: f64 = 0.0;
        for (l, c) in [
            (0.0, 0.0),
            (2600.0, 2600.0),
            (5199.0, 5199.0),
            (0.0, 5199.0),
        ] {
            let p = exact.ground(l, c, 300.0).unwrap();
            let (l1, c1) = undone.image_position(p);
            worst = worst.max((l1 - l).abs()).max((c1 - c).abs());
        }
        assert!(worst < 1e-4, "{worst} px");
        // untold: 70 µrad of roll is 9.5 columns from 720 km; 20 ms and 40 µrad of pitch
        // (28.8 m forward) are about 20 lines
        let p = exact.ground(2600.0, 2600.0, 0.0).unwrap();
        let (l1, c1) = naive.image_position(p);
        assert!((c1 - 2600.0).abs() > 8.0, "{c1}");
        assert!((l1 - 2600.0).abs() > 15.0, "{l1}");
    }

    #[test]
    fn image_position_inverts_ground() {
        for across in [-300e3, 420e3] {
            let (t, flight) = acquisition(across);
            let mut b = band(t);
            // a real array's tan ψY varies a little across it (a bent line of detectors)
            for (j, v) in b.view_dirs.iter_mut().enumerate() {
                v.1 = 1e-3 + 2e-4 * ((j as f64 - 2600.0) / 2600.0).powi(2);
            }
            b.first_detector = 100;
            let m = OrbitalModel::new(&flight, b, 5200).unwrap();
            for (line, col, h) in [
                (0.0, 0.0, 0.0),
                (5199.0, 4999.0, 2500.0),
                (1234.5, 3210.25, -300.0),
                (-40.0, 5150.0, 800.0),
            ] {
                let p = m.ground(line, col, h).unwrap();
                let (l, c) = m.image_position(p);
                assert!(
                    (l - line).abs() < 1e-5 && (c - col).abs() < 1e-5,
                    "{across}: ({line}, {col}) gave ({l}, {c})"
                );
            }
        }
    }

    #[test]
    fn the_centre_pixel_sees_the_site_and_pixels_are_spaced_as_the_optics_say() {
        for across in [0.0, 420e3] {
            let (t, flight) = acquisition(across);
            let b = band(t);
            let m = OrbitalModel::new(&flight, b, 5200).unwrap();
            assert_eq!(seconds_between(t, m.line_instant(2600.0)), 0.0);
            let p = m.ground(2600.0, 2599.5, 0.0).unwrap();
            let site = geodetic_to_ecef(35.5, 31.0, 0.0);
            let miss = distance(p, site);
            assert!(miss < 0.02, "{across}: {miss} m");
            let dist = distance;
            let across_px = dist(m.ground(2600.0, 2600.5, 0.0).unwrap(), p);
            let along_px = dist(m.ground(2601.0, 2599.5, 0.0).unwrap(), p);
            let (o, d) = m.sight(2600.0, 2599.5);
            let up = crate::geometry::earth::vertical(35.5, 31.0);
            let zenith = (-(0..3).map(|k| d[k] * up[k]).sum::<f64>()).acos();
            // across: the detectors' angular step (5.3 m / 720 km) times the slant range,
            // spread by the incidence; along: the ground speed times the line period
            let expect = 5.3 / 720e3 * dist(o, p) / zenith.cos();
            eprintln!(
                "{across} m aside, view zenith {:.2}°: pixel {across_px:.3} m across ({expect:.3} expected), {along_px:.3} m along",
                zenith.to_degrees()
            );
            assert!((across_px - expect).abs() < 0.002 * expect, "{across_px}");
            assert!((5.2..5.4).contains(&along_px), "{along_px}");
            // a 1000 m high terrain is met nearer the satellite, along the line of sight
            let (lon, lat, h) = ecef_to_geodetic(m.ground(2600.0, 2599.5, 1000.0).unwrap());
            assert!((h - 1000.0).abs() < 1e-3);
            let shift = dist(geodetic_to_ecef(lon, lat, 0.0), site);
            let expect = 1000.0 * zenith.tan();
            assert!(
                (shift - expect).abs() < 0.01 * expect.max(10.0),
                "{shift} {expect}"
            );
        }
    }
}
