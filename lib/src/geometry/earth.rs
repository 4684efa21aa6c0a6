//! The Earth as a real orbit sees it: the WGS 84 ellipsoid (geodetic ↔ Earth-centred,
//! Earth-fixed coordinates), the time scales of the VENµS auxiliary data (UTC, TAI, TT, UT1),
//! and the rotations from the two celestial frames of that data to the terrestrial one (ITRF):
//!
//! - the **mean-of-date** frame of the AOCS attitude (`VE_AUX_AOCDTA`): its equator and
//!   equinox precessed to the date, not nutated. ITRF = W · R3(GAST) · N · MOD, with N the
//!   IAU 1980 nutation, GAST the apparent sidereal time (IAU 1982 GMST plus the 1994
//!   equation of the equinoxes) and W the polar motion;
//! - the **TEME** frame of two-line element sets (SGP4's output): ITRF = W · R3(GMST) · TEME
//!   (Vallado et al. 2006, "Revisiting Spacetrack Report #3").
//!
//! The conventions and constants are ERFA's (`eraNut80`, `eraObl80`, `eraGmst82`,
//! `eraEqeq94`, `eraPom00` with s' = 0). The nutation series keeps the 39 IAU 1980 terms of
//! 1 mas and more: against ERFA's full series (`bins/vip-l1/tests/earth_frames.rs`, through
//! the Python `erfa` package) the mean-of-date → ITRF rotation is within 1.2 mas (4 mm on the
//! ground from 720 km) and the apparent sidereal time within 2.8 mas, from 2018 to 2035.
//!
//! Vectors are in metres, matrices rotate column vectors (`mul(m, v)`), angles are radians
//! unless a name says degrees or arcseconds.

use chrono::{NaiveDate, NaiveDateTime};

use super::time::{icd_epoch, seconds_between};
use crate::error::{Result, VipError};

/// WGS 84 semi-major axis (m) and flattening.
pub const WGS84_A: f64 = 6_378_137.0;
pub const WGS84_F: f64 = 1.0 / 298.257_223_563;
/// The Earth's mean angular velocity (rad/s), for velocities between rotating frames.
pub const EARTH_RATE: f64 = 7.292_115_146_706_979e-5;
/// TT − TAI, seconds.
pub const TT_MINUS_TAI: f64 = 32.184;
/// TAI − GPS time, seconds.
pub const TAI_MINUS_GPS: f64 = 19.0;

pub type Vec3 = [f64; 3];
pub type Mat3 = [[f64; 3]; 3];

/// The identity rotation.
pub const IDENTITY: Mat3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

const ARCSEC: f64 = std::f64::consts::PI / (180.0 * 3600.0);
const TAU: f64 = 2.0 * std::f64::consts::PI;

fn e2() -> f64 {
    WGS84_F * (2.0 - WGS84_F)
}

/// Earth-centred, Earth-fixed position of geodetic longitude and latitude (degrees) and
/// height above the ellipsoid (m).
pub fn geodetic_to_ecef(lon_deg: f64, lat_deg: f64, h: f64) -> Vec3 {
    let (sl, cl) = lon_deg.to_radians().sin_cos();
    let (sp, cp) = lat_deg.to_radians().sin_cos();
    let n = WGS84_A / (1.0 - e2() * sp * sp).sqrt();
    [
        (n + h) * cp * cl,
        (n + h) * cp * sl,
        (n * (1.0 - e2()) + h) * sp,
    ]
}

/// The upward unit normal of the ellipsoid at geodetic longitude and latitude (degrees).
pub fn vertical(lon_deg: f64, lat_deg: f64) -> Vec3 {
    let (sl, cl) = lon_deg.to_radians().sin_cos();
    let (sp, cp) = lat_deg.to_radians().sin_cos();
    [cp * cl, cp * sl, sp]
}

/// Geodetic longitude, latitude (degrees) and height (m) of an Earth-fixed position: the
/// latitude by fixed-point iteration to 1e-12 rad (a few steps anywhere above the Earth's
/// centre region), the height along the normal, valid at the poles too.
pub fn ecef_to_geodetic(p: Vec3) -> (f64, f64, f64) {
    let r = p[0].hypot(p[1]);
    let lon = p[1].atan2(p[0]);
    let mut lat = p[2].atan2(r * (1.0 - e2()));
    for _ in 0..10 {
        let s = lat.sin();
        let n = WGS84_A / (1.0 - e2() * s * s).sqrt();
        let next = (p[2] + e2() * n * s).atan2(r);
        let done = (next - lat).abs() < 1e-12;
        lat = next;
        if done {
            break;
        }
    }
    let (s, c) = lat.sin_cos();
    let h = r * c + p[2] * s - WGS84_A * (1.0 - e2() * s * s).sqrt();
    (lon.to_degrees(), lat.to_degrees(), h)
}

/// Where the ray from `origin` along `dir` (ITRF, m) first meets the surface at height `h`
/// above the WGS 84 ellipsoid: the intersection with the ellipsoid of semi-axes a + h', b + h'
/// (a quadratic), h' corrected until the point's geodetic height is `h` within 0.1 mm
/// (the scaled ellipsoid departs from the constant-height surface by up to e²·h/2 at mid
/// latitudes). `None` when the ray misses it.
pub fn ray_to_ellipsoid(origin: Vec3, dir: Vec3, h: f64) -> Option<Vec3> {
    let b = WGS84_A * (1.0 - WGS84_F);
    let mut hh = h;
    let mut p = origin;
    for _ in 0..6 {
        let (ra, rb) = (WGS84_A + hh, b + hh);
        let o = [origin[0] / ra, origin[1] / ra, origin[2] / rb];
        let d = [dir[0] / ra, dir[1] / ra, dir[2] / rb];
        let dot = |u: Vec3, v: Vec3| u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
        let (qa, qb, qc) = (dot(d, d), 2.0 * dot(o, d), dot(o, o) - 1.0);
        let disc = qb * qb - 4.0 * qa * qc;
        if disc < 0.0 {
            return None;
        }
        let t = (-qb - disc.sqrt()) / (2.0 * qa);
        if t < 0.0 {
            return None;
        }
        p = [
            origin[0] + t * dir[0],
            origin[1] + t * dir[1],
            origin[2] + t * dir[2],
        ];
        let miss = h - ecef_to_geodetic(p).2;
        if miss.abs() < 1e-4 {
            break;
        }
        hh += miss;
    }
    Some(p)
}

/// TAI − UTC (the leap seconds, s) at a UTC instant, from 1999 on (IERS Bulletin C; none
/// announced after 2017-01-01 at the time of writing). Earlier instants are refused.
pub fn tai_minus_utc(t: NaiveDateTime) -> Result<f64> {
    const STEPS: [((i32, u32, u32), f64); 6] = [
        ((1999, 1, 1), 32.0),
        ((2006, 1, 1), 33.0),
        ((2009, 1, 1), 34.0),
        ((2012, 7, 1), 35.0),
        ((2015, 7, 1), 36.0),
        ((2017, 1, 1), 37.0),
    ];
    STEPS
        .iter()
        .rev()
        .find(|((y, m, d), _)| {
            NaiveDate::from_ymd_opt(*y, *m, *d)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .is_some_and(|s| t >= s)
        })
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            VipError::Processing(format!(
                "{t}: leap seconds are tabulated from 1999 on, not before"
            ))
        })
}

/// Earth orientation at an instant (IERS Bulletin A): pole coordinates (arcseconds) and
/// UT1 − UTC (s).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EarthOrientation {
    pub x_pole: f64,
    pub y_pole: f64,
    pub ut1_utc: f64,
}

/// The rotations of one instant from the celestial frames to ITRF.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frames {
    /// Mean of date → ITRF.
    pub mod_to_itrf: Mat3,
    /// TEME → ITRF.
    pub teme_to_itrf: Mat3,
    /// Greenwich mean and apparent sidereal times (rad).
    pub gmst: f64,
    pub gast: f64,
}

impl Frames {
    /// At the UTC instant `utc`, with the Earth orientation `eop`.
    pub fn at(utc: NaiveDateTime, eop: &EarthOrientation) -> Result<Frames> {
        // days since J2000.0 (2000-01-01T12:00) in UTC, then in TT and UT1
        let days = seconds_between(icd_epoch(), utc) / 86_400.0;
        let tt = days + (tai_minus_utc(utc)? + TT_MINUS_TAI) / 86_400.0;
        let ut1 = days + eop.ut1_utc / 86_400.0;
        let t = tt / 36_525.0;
        let (dpsi, deps) = nutation(t);
        let eps = mean_obliquity(t);
        let gmst = gmst82(ut1);
        let gast = (gmst + equation_of_equinoxes(t, dpsi, eps)).rem_euclid(TAU);
        let w = polar_motion(eop.x_pole * ARCSEC, eop.y_pole * ARCSEC);
        let n = mul3(rx(-(eps + deps)), mul3(rz(-dpsi), rx(eps)));
        Ok(Frames {
            mod_to_itrf: mul3(w, mul3(rz(gast), n)),
            teme_to_itrf: mul3(w, rz(gmst)),
            gmst,
            gast,
        })
    }
}

/// Mean obliquity of the ecliptic, IAU 1980, at `t` Julian centuries of TT from J2000.
pub fn mean_obliquity(t: f64) -> f64 {
    ARCSEC * (84_381.448 + (-46.8150 + (-0.00059 + 0.001_813 * t) * t) * t)
}

/// Greenwich mean sidereal time, IAU 1982, at `ut1_days` days of UT1 from J2000.0.
pub fn gmst82(ut1_days: f64) -> f64 {
    let t = ut1_days / 36_525.0;
    // sidereal seconds: the polynomial (of 0h UT1, less half a day as J2000.0 is noon) plus
    // the elapsed fraction of the day
    let s = (24_110.548_41 - 43_200.0)
        + (8_640_184.812_866 + (0.093_104 - 6.2e-6 * t) * t) * t
        + 86_400.0 * ut1_days.rem_euclid(1.0);
    (s * TAU / 86_400.0).rem_euclid(TAU)
}

/// The equation of the equinoxes, IAU 1994: Δψ cos ε plus the two terms in the Moon's node.
fn equation_of_equinoxes(t: f64, dpsi: f64, eps: f64) -> f64 {
    let om = node(t);
    dpsi * eps.cos() + ARCSEC * (0.002_64 * om.sin() + 0.000_063 * (2.0 * om).sin())
}

/// Longitude of the Moon's mean ascending node (rad), IAU 1980.
fn node(t: f64) -> f64 {
    fundamental(450_160.280, -482_890.539, 7.455, 0.008, -5.0, t)
}

/// A Delaunay argument: the polynomial (arcseconds) plus `revs` revolutions per century.
fn fundamental(c0: f64, c1: f64, c2: f64, c3: f64, revs: f64, t: f64) -> f64 {
    ((c0 + (c1 + (c2 + c3 * t) * t) * t) * ARCSEC + (revs * t).rem_euclid(1.0) * TAU)
        .rem_euclid(TAU)
}

/// IAU 1980 nutation in longitude and obliquity (rad) at `t` Julian centuries of TT from
/// J2000: the terms of the series of 1 mas and more (units of 0.1 mas: multiples of l, l',
/// F, D, Ω, then sin Δψ and its rate per century, cos Δε and its rate).
pub fn nutation(t: f64) -> (f64, f64) {
    #[rustfmt::skip]
    const TERMS: [([i8; 5], [f64; 4]); 39] = [
        ([0, 0, 0, 0, 1], [-171_996.0, -174.2, 92_025.0, 8.9]),
        ([0, 0, 0, 0, 2], [2_062.0, 0.2, -895.0, 0.5]),
        ([-2, 0, 2, 0, 1], [46.0, 0.0, -24.0, 0.0]),
        ([2, 0, -2, 0, 0], [11.0, 0.0, 0.0, 0.0]),
        ([0, 0, 2, -2, 2], [-13_187.0, -1.6, 5_736.0, -3.1]),
        ([0, 1, 0, 0, 0], [1_426.0, -3.4, 54.0, -0.1]),
        ([0, 1, 2, -2, 2], [-517.0, 1.2, 224.0, -0.6]),
        ([0, -1, 2, -2, 2], [217.0, -0.5, -95.0, 0.3]),
        ([0, 0, 2, -2, 1], [129.0, 0.1, -70.0, 0.0]),
        ([2, 0, 0, -2, 0], [48.0, 0.0, 1.0, 0.0]),
        ([0, 0, 2, -2, 0], [-22.0, 0.0, 0.0, 0.0]),
        ([0, 2, 0, 0, 0], [17.0, -0.1, 0.0, 0.0]),
        ([0, 1, 0, 0, 1], [-15.0, 0.0, 9.0, 0.0]),
        ([0, 2, 2, -2, 2], [-16.0, 0.1, 7.0, 0.0]),
        ([0, -1, 0, 0, 1], [-12.0, 0.0, 6.0, 0.0]),
        ([-2, 0, 0, 2, 1], [-6.0, 0.0, 3.0, 0.0]),
        ([0, -1, 2, -2, 1], [-5.0, 0.0, 3.0, 0.0]),
        ([2, 0, 0, -2, 1], [4.0, 0.0, -2.0, 0.0]),
        ([0, 1, 2, -2, 1], [4.0, 0.0, -2.0, 0.0]),
        ([1, 0, 0, -1, 0], [-4.0, 0.0, 0.0, 0.0]),
        ([0, 0, 2, 0, 2], [-2_274.0, -0.2, 977.0, -0.5]),
        ([1, 0, 0, 0, 0], [712.0, 0.1, -7.0, 0.0]),
        ([0, 0, 2, 0, 1], [-386.0, -0.4, 200.0, 0.0]),
        ([1, 0, 2, 0, 2], [-301.0, 0.0, 129.0, -0.1]),
        ([1, 0, 0, -2, 0], [-158.0, 0.0, -1.0, 0.0]),
        ([-1, 0, 2, 0, 2], [123.0, 0.0, -53.0, 0.0]),
        ([0, 0, 0, 2, 0], [63.0, 0.0, -2.0, 0.0]),
        ([1, 0, 0, 0, 1], [63.0, 0.1, -33.0, 0.0]),
        ([-1, 0, 0, 0, 1], [-58.0, -0.1, 32.0, 0.0]),
        ([-1, 0, 2, 2, 2], [-59.0, 0.0, 26.0, 0.0]),
        ([1, 0, 2, 0, 1], [-51.0, 0.0, 27.0, 0.0]),
        ([0, 0, 2, 2, 2], [-38.0, 0.0, 16.0, 0.0]),
        ([2, 0, 0, 0, 0], [29.0, 0.0, -1.0, 0.0]),
        ([1, 0, 2, -2, 2], [29.0, 0.0, -12.0, 0.0]),
        ([2, 0, 2, 0, 2], [-31.0, 0.0, 13.0, 0.0]),
        ([0, 0, 2, 0, 0], [26.0, 0.0, -1.0, 0.0]),
        ([-1, 0, 2, 0, 1], [21.0, 0.0, -10.0, 0.0]),
        ([-1, 0, 0, 2, 1], [16.0, 0.0, -8.0, 0.0]),
        ([1, 0, 0, -2, 1], [-13.0, 0.0, 7.0, 0.0]),
    ];
    let args = [
        fundamental(485_866.733, 715_922.633, 31.310, 0.064, 1325.0, t),
        fundamental(1_287_099.804, 1_292_581.224, -0.577, -0.012, 99.0, t),
        fundamental(335_778.877, 295_263.137, -13.257, 0.011, 1342.0, t),
        fundamental(1_072_261.307, 1_105_601.328, -6.891, 0.019, 1236.0, t),
        node(t),
    ];
    let (mut dpsi, mut deps) = (0.0, 0.0);
    for (k, c) in TERMS {
        let a: f64 = k.iter().zip(&args).map(|(&n, x)| f64::from(n) * x).sum();
        dpsi += (c[0] + c[1] * t) * a.sin();
        deps += (c[2] + c[3] * t) * a.cos();
    }
    (dpsi * 1e-4 * ARCSEC, deps * 1e-4 * ARCSEC)
}

/// Polar motion: terrestrial intermediate → ITRF for pole coordinates `xp`, `yp` (rad).
fn polar_motion(xp: f64, yp: f64) -> Mat3 {
    mul3(rx(-yp), ry(-xp))
}

/// Rotation of the frame about x by `a` (ERFA's `eraRx`).
pub fn rx(a: f64) -> Mat3 {
    let (s, c) = a.sin_cos();
    [[1.0, 0.0, 0.0], [0.0, c, s], [0.0, -s, c]]
}

/// Rotation of the frame about y by `a` (ERFA's `eraRy`).
pub fn ry(a: f64) -> Mat3 {
    let (s, c) = a.sin_cos();
    [[c, 0.0, -s], [0.0, 1.0, 0.0], [s, 0.0, c]]
}

/// Rotation of the frame about z by `a` (ERFA's `eraRz`).
pub fn rz(a: f64) -> Mat3 {
    let (s, c) = a.sin_cos();
    [[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]]
}

/// The distance between two points (m).
pub fn distance(a: Vec3, b: Vec3) -> f64 {
    (0..3).map(|k| (a[k] - b[k]).powi(2)).sum::<f64>().sqrt()
}

/// `a · b`.
pub fn mul3(a: Mat3, b: Mat3) -> Mat3 {
    std::array::from_fn(|i| std::array::from_fn(|j| (0..3).map(|k| a[i][k] * b[k][j]).sum()))
}

/// `m · v`.
pub fn mul(m: &Mat3, v: Vec3) -> Vec3 {
    std::array::from_fn(|i| (0..3).map(|k| m[i][k] * v[k]).sum())
}

/// The transpose (the inverse of a rotation).
pub fn transpose(m: &Mat3) -> Mat3 {
    std::array::from_fn(|i| std::array::from_fn(|j| m[j][i]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geodetic_and_ecef_round_trip_everywhere() {
        for (lon, lat, h) in [
            (0.0, 0.0, 0.0),
            (35.5, 33.1, 1170.0),
            (-120.0, -75.0, -100.0),
            (179.9, 89.999, 720_000.0),
            (10.0, -90.0, 50.0),
        ] {
            let p = geodetic_to_ecef(lon, lat, h);
            let (lo, la, hh) = ecef_to_geodetic(p);
            assert!((la - lat).abs() < 1e-10, "{lat} {la}");
            if lat.abs() < 90.0 {
                assert!((lo - lon).abs() < 1e-10, "{lon} {lo}");
            }
            assert!((hh - h).abs() < 1e-6, "{h} {hh}");
        }
        // the equator and the pole: the semi-axes
        assert_eq!(geodetic_to_ecef(0.0, 0.0, 0.0), [WGS84_A, 0.0, 0.0]);
        let b = WGS84_A * (1.0 - WGS84_F);
        assert!((geodetic_to_ecef(0.0, 90.0, 0.0)[2] - b).abs() < 1e-6);
    }

    #[test]
    fn rays_meet_the_surface_at_its_height() {
        // from 720 km above (30° N, 10° E), looking 20° off the vertical towards the east
        let sat = geodetic_to_ecef(10.0, 30.0, 720e3);
        let down = vertical(10.0, 30.0).map(|x| -x);
        let east = [-10f64.to_radians().sin(), 10f64.to_radians().cos(), 0.0];
        let (s, c) = 20f64.to_radians().sin_cos();
        let dir = [0, 1, 2].map(|k| c * down[k] + s * east[k]);
        for h in [-400.0, 0.0, 1500.0, 8800.0] {
            let p = ray_to_ellipsoid(sat, dir, h).unwrap();
            let (lon, lat, hp) = ecef_to_geodetic(p);
            assert!((hp - h).abs() < 1e-3, "{h}: {hp}");
            assert!(lon > 10.0 && (lat - 30.0).abs() < 0.1, "{lon} {lat}");
            // the point lies on the ray
            let v = [0, 1, 2].map(|k| p[k] - sat[k]);
            let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
            assert!((0..3).all(|k| (v[k] / n - dir[k]).abs() < 1e-9));
        }
        // looking up, or past the limb: no point
        assert!(ray_to_ellipsoid(sat, down.map(|x| -x), 0.0).is_none());
        assert!(ray_to_ellipsoid(sat, east, 0.0).is_none());
    }

    #[test]
    fn leap_seconds_by_date() {
        let at = |y, m, d| {
            NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
        };
        assert_eq!(tai_minus_utc(at(2016, 12, 31)).unwrap(), 36.0);
        assert_eq!(tai_minus_utc(at(2017, 1, 1)).unwrap(), 37.0);
        assert_eq!(tai_minus_utc(at(2024, 6, 15)).unwrap(), 37.0);
        assert!(tai_minus_utc(at(1998, 12, 31)).is_err());
    }

    #[test]
    fn rotations_are_orthonormal_and_turn_with_the_earth() {
        let t = NaiveDate::from_ymd_opt(2024, 6, 15)
            .unwrap()
            .and_hms_opt(10, 30, 0)
            .unwrap();
        let f = Frames::at(t, &EarthOrientation::default()).unwrap();
        let i = mul3(f.mod_to_itrf, transpose(&f.mod_to_itrf));
        for (r, row) in i.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                assert!((v - f64::from(u8::from(r == c))).abs() < 1e-14);
            }
        }
        // one sidereal day (86164.0905 s) later the Earth has turned once
        let later = super::super::time::add_seconds(t, 86_164.090_5);
        let g = Frames::at(later, &EarthOrientation::default()).unwrap();
        let d = (g.gmst - f.gmst + 1.0).rem_euclid(TAU) - 1.0;
        assert!(d.abs() < 1e-6, "{d}");
    }
}
