//! The simulator's orbit: a VENµS-like sun-synchronous circular orbit propagated by SGP4
//! (the `sgp4` crate, WGS 84 constants, improved mode) from mean elements placed so that
//! the satellite flies a descending pass over the site at the acquisition instant, with the
//! site at a chosen distance to the side of the ground track (the roll towards it).
//!
//! VENµS flew at 720 km (its first mission phase), sun-synchronous, descending in the
//! morning; its orbit is placed here from those figures rather than from a published
//! two-line element set, so that any site on any date can be seen. SGP4's output (TEME) is
//! turned into ITRF by [`crate::geometry::earth`].

use chrono::NaiveDateTime;

use crate::ee::auxdata::{AttitudeSample, GpsSample};
use crate::ee::eordta::{EopDay, EopTable};
use crate::error::{Result, VipError};
use crate::geometry::earth::{
    self, ecef_to_geodetic, geodetic_to_ecef, EarthOrientation, Frames, Vec3, EARTH_RATE,
};
use crate::geometry::orbit::State;
use crate::geometry::time::{add_seconds, seconds_between};

/// VENµS's altitude in its first mission phase (km above the equatorial radius).
pub const VENUS_ALTITUDE_KM: f64 = 720.0;
/// WGS 84 gravitational parameter (km³/s²) and J2, as SGP4's WGS 84 constants.
const MU: f64 = 398_600.5;
const J2: f64 = 0.001_082_629_989_05;
const RE_KM: f64 = 6378.137;
/// The rate of a sun-synchronous orbit's node (rad/s): one turn per tropical year.
const SUN_SYNCHRONOUS_RATE: f64 = 2.0 * std::f64::consts::PI / (365.242_19 * 86_400.0);

/// An orbit: SGP4 mean elements and the Earth orientation that turns them into ITRF.
pub struct Orbit {
    pub elements: sgp4::Elements,
    constants: sgp4::Constants,
    pub eop: EarthOrientation,
}

/// The inclination (degrees) of a circular sun-synchronous orbit at `altitude_km`.
pub fn sun_synchronous_inclination(altitude_km: f64) -> f64 {
    let a = RE_KM + altitude_km;
    let n = (MU / a.powi(3)).sqrt();
    let cos_i = -SUN_SYNCHRONOUS_RATE * 2.0 * a * a / (3.0 * J2 * RE_KM * RE_KM * n);
    cos_i.acos().to_degrees()
}

impl Orbit {
    /// The circular orbit at `altitude_km` with node `raan` and argument of latitude
    /// `latitude_arg` (degrees) at `epoch`.
    pub fn circular(
        epoch: NaiveDateTime,
        altitude_km: f64,
        raan: f64,
        latitude_arg: f64,
        eop: EarthOrientation,
    ) -> Result<Orbit> {
        let a = RE_KM + altitude_km;
        let rev_per_day = (MU / a.powi(3)).sqrt() * 86_400.0 / (2.0 * std::f64::consts::PI);
        let elements = sgp4::Elements {
            object_name: Some("VENUS-LIKE".into()),
            international_designator: None,
            norad_id: 0,
            classification: sgp4::Classification::Unclassified,
            datetime: epoch,
            mean_motion_dot: 0.0,
            mean_motion_ddot: 0.0,
            drag_term: 0.0,
            element_set_number: 0,
            inclination: sun_synchronous_inclination(altitude_km),
            right_ascension: raan.rem_euclid(360.0),
            eccentricity: 1e-4,
            argument_of_perigee: 90.0,
            mean_anomaly: (latitude_arg - 90.0).rem_euclid(360.0),
            mean_motion: rev_per_day,
            revolution_number: 0,
            ephemeris_type: 0,
        };
        let constants = sgp4::Constants::from_elements(&elements)
            .map_err(|e| VipError::Processing(format!("SGP4 elements: {e}")))?;
        Ok(Orbit {
            elements,
            constants,
            eop,
        })
    }

    /// The satellite's ITRF state at `t` (UTC).
    pub fn state(&self, t: NaiveDateTime) -> Result<State> {
        let minutes = seconds_between(self.elements.datetime, t) / 60.0;
        let p = self
            .constants
            .propagate(sgp4::MinutesSinceEpoch(minutes))
            .map_err(|e| VipError::Processing(format!("SGP4 at {t}: {e}")))?;
        let f = Frames::at(t, &self.eop)?;
        let km = |v: [f64; 3]| v.map(|x| x * 1000.0);
        // TEME → pseudo-Earth-fixed, whose velocity loses the Earth's rotation, → ITRF
        let pef = earth::rz(f.gmst);
        let r = earth::mul(&pef, km(p.position));
        let v = earth::mul(&pef, km(p.velocity));
        let v = [v[0] + EARTH_RATE * r[1], v[1] - EARTH_RATE * r[0], v[2]];
        let w = earth::mul3(f.teme_to_itrf, earth::transpose(&pef));
        Ok(State {
            position: earth::mul(&w, r),
            velocity: earth::mul(&w, v),
        })
    }

    /// A descending pass over (`lon`, `lat`) (degrees) at `t`: at that instant the point
    /// lies in the plane through the satellite perpendicular to its ground velocity, at
    /// `across_m` metres to the right of the ground track (negative: to the left), measured
    /// on the ellipsoid's tangent plane at the nadir. Newton's method on the node and the
    /// argument of latitude, from the spherical-Earth guess.
    pub fn pass_over(
        lon: f64,
        lat: f64,
        t: NaiveDateTime,
        across_m: f64,
        eop: EarthOrientation,
    ) -> Result<Orbit> {
        let i = sun_synchronous_inclination(VENUS_ALTITUDE_KM).to_radians();
        let phi = lat.to_radians();
        if phi.sin().abs() > i.sin() {
            return Err(VipError::Usage(format!(
                "latitude {lat}° lies beyond the orbit's reach ({:.1}°)",
                i.sin().asin().to_degrees()
            )));
        }
        // descending: argument of latitude in (90°, 270°)
        let u = std::f64::consts::PI - (phi.sin() / i.sin()).asin();
        let gmst = Frames::at(t, &eop)?.gmst;
        let node_offset = (i.cos() * u.sin()).atan2(u.cos());
        let mut x = [
            (lon.to_radians() - node_offset + gmst).to_degrees(),
            u.to_degrees(),
        ];
        let target = geodetic_to_ecef(lon, lat, 0.0);
        let miss = |x: [f64; 2]| -> Result<[f64; 2]> {
            let o = Orbit::circular(t, VENUS_ALTITUDE_KM, x[0], x[1], eop)?;
            let s = o.state(t)?;
            let (along, across) = track_offsets(&s, target);
            Ok([along, across - across_m])
        };
        for _ in 0..20 {
            let f = miss(x)?;
            if f[0].abs() < 1e-3 && f[1].abs() < 1e-3 {
                return Orbit::circular(t, VENUS_ALTITUDE_KM, x[0], x[1], eop);
            }
            let h = 1e-4;
            let fa = miss([x[0] + h, x[1]])?;
            let fb = miss([x[0], x[1] + h])?;
            let j = [
                [(fa[0] - f[0]) / h, (fb[0] - f[0]) / h],
                [(fa[1] - f[1]) / h, (fb[1] - f[1]) / h],
            ];
            let det = j[0][0] * j[1][1] - j[0][1] * j[1][0];
            x[0] -= (j[1][1] * f[0] - j[0][1] * f[1]) / det;
            x[1] -= (j[0][0] * f[1] - j[1][0] * f[0]) / det;
        }
        Err(VipError::Processing(format!(
            "no orbit passes over ({lon}, {lat}) at {t} with the ground track {across_m} m aside"
        )))
    }
}

/// The local orbital axes of state `s` (ITRF unit vectors): forward (the ground velocity,
/// horizontal at the nadir), right, and down (the geodetic vertical at the nadir): a
/// right-handed frame.
pub fn orbital_axes(s: &State) -> [Vec3; 3] {
    let (lon, lat, _) = ecef_to_geodetic(s.position);
    let down = earth::vertical(lon, lat).map(|x| -x);
    let k = -(0..3).map(|i| s.velocity[i] * down[i]).sum::<f64>();
    let g: Vec3 = std::array::from_fn(|i| s.velocity[i] + k * down[i]);
    let n = (0..3).map(|i| g[i] * g[i]).sum::<f64>().sqrt();
    let forward = g.map(|x| x / n);
    let right = [
        down[1] * forward[2] - down[2] * forward[1],
        down[2] * forward[0] - down[0] * forward[2],
        down[0] * forward[1] - down[1] * forward[0],
    ];
    [forward, right, down]
}

/// The roll (degrees, positive to the right of the track) that points the boresight from
/// state `s` at `target` (ITRF, m), in the plane across the track.
pub fn roll_towards(s: &State, target: Vec3) -> f64 {
    let [_, right, down] = orbital_axes(s);
    let d: Vec3 = std::array::from_fn(|i| target[i] - s.position[i]);
    let dot = |u: Vec3| (0..3).map(|i| u[i] * d[i]).sum::<f64>();
    dot(right).atan2(dot(down)).to_degrees()
}

/// The body frame of state `s` rolled by `roll` degrees: x forward, y right, z the boresight
/// (down, turned by the roll towards the right), as the rotation matrix whose columns are the
/// body axes in ITRF.
pub fn body_axes(s: &State, roll: f64) -> earth::Mat3 {
    let [x, y0, z0] = orbital_axes(s);
    let (sr, cr) = roll.to_radians().sin_cos();
    let z: Vec3 = std::array::from_fn(|i| cr * z0[i] + sr * y0[i]);
    let y: Vec3 = std::array::from_fn(|i| cr * y0[i] - sr * z0[i]);
    std::array::from_fn(|i| [x[i], y[i], z[i]])
}

/// The AOCDTA quaternion (q1 q2 q3 q0: body → mean of date) of `body` (columns: the body
/// axes in ITRF) with the rotations `frames` of that instant.
pub fn attitude_quaternion(body: &earth::Mat3, frames: &Frames) -> [f64; 4] {
    let to_mod = earth::mul3(earth::transpose(&frames.mod_to_itrf), *body);
    crate::geometry::orbit::quaternion(&to_mod)
}

/// The auxiliary data of an acquisition from `start` to `stop` (UTC) flown on `orbit` at a
/// constant `roll`: GPS samples at 1 Hz and attitude samples at 10 Hz over whole seconds
/// covering the acquisition with `margin` seconds on each side (GPS − UTC from the leap
/// seconds of the date).
pub fn aux_samples(
    orbit: &Orbit,
    roll: f64,
    (start, stop): (NaiveDateTime, NaiveDateTime),
    margin: f64,
) -> Result<(Vec<GpsSample>, Vec<AttitudeSample>)> {
    let first = (seconds_between(orbit.elements.datetime, start) - margin).floor();
    let last = (seconds_between(orbit.elements.datetime, stop) + margin).ceil();
    let at = |s: f64| add_seconds(orbit.elements.datetime, s);
    let offset = (earth::tai_minus_utc(start)? - earth::TAI_MINUS_GPS) as u8;
    let gps = (first as i64..=last as i64)
        .map(|k| {
            let t = at(k as f64);
            let s = orbit.state(t)?;
            Ok(GpsSample {
                utc: t,
                utc_offset: offset,
                position: s.position,
                velocity: s.velocity,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let attitude = ((first * 10.0) as i64..=(last * 10.0) as i64)
        .map(|k| {
            let t = at(k as f64 / 10.0);
            let q = attitude_quaternion(
                &body_axes(&orbit.state(t)?, roll),
                &Frames::at(t, &orbit.eop)?,
            );
            Ok((t, q))
        })
        .collect::<Result<Vec<_>>>()?;
    // the body rate from consecutive quaternions (rad/s, body frame)
    let rate = |a: &[f64; 4], b: &[f64; 4], dt: f64| -> [f64; 3] {
        // δq = a⁻¹ b ≈ (ω dt / 2, 1)
        let [x1, y1, z1, w1] = *a;
        let [x2, y2, z2, w2] = *b;
        let d = [
            w1 * x2 - x1 * w2 - y1 * z2 + z1 * y2,
            w1 * y2 - y1 * w2 - z1 * x2 + x1 * z2,
            w1 * z2 - z1 * w2 - x1 * y2 + y1 * x2,
        ];
        d.map(|v| 2.0 * v / dt)
    };
    let n = attitude.len();
    let samples = (0..n)
        .map(|i| {
            let (j, k) = if i + 1 < n { (i, i + 1) } else { (i - 1, i) };
            AttitudeSample {
                utc: attitude[i].0,
                quaternion: attitude[i].1,
                rate: rate(&attitude[j].1, &attitude[k].1, 0.1),
            }
        })
        .collect();
    Ok((gps, samples))
}

/// Attitude jitter: what the body does between the attitude samples the satellite reports.
/// Per axis, three sinusoids near 0.7, 2.3 and 7 Hz (frequencies and phases drawn from the
/// seed) of `rms_urad` RMS together. The reported samples (10 Hz) catch the slow ones; the
/// 7 Hz one lies beyond their Nyquist frequency and aliases, as micro-vibrations do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Jitter {
    pub rms_urad: f64,
    pub seed: u64,
}

/// Samples of the true attitude between two reported ones.
const JITTER_SUBSAMPLES: usize = 10;

impl Jitter {
    /// The jitter rotation (rad, about the body's x, y, z) `t` seconds into the samples.
    fn at(&self, t: f64) -> [f64; 3] {
        let amplitude = self.rms_urad * 1e-6 * (2.0f64 / 3.0).sqrt();
        std::array::from_fn(|axis| {
            [0.7, 2.3, 7.1]
                .iter()
                .enumerate()
                .map(|(k, f)| {
                    let u = |c: i64| {
                        super::noise::unit(super::noise::hash(
                            self.seed,
                            91,
                            axis as i64,
                            3 * k as i64 + c,
                        ))
                    };
                    let f = f * (0.85 + 0.3 * u(0));
                    amplitude * (std::f64::consts::TAU * (f * t + u(1))).sin()
                })
                .sum()
        })
    }

    /// The true attitude, the nominal 10 Hz `samples` slerped to 100 Hz and shaken, and what
    /// the satellite reports of it: the true attitude at the nominal samples' instants.
    pub fn shake(&self, samples: &[AttitudeSample]) -> (Vec<AttitudeSample>, Vec<AttitudeSample>) {
        let Some(first) = samples.first() else {
            return (vec![], vec![]);
        };
        let shaken = |s: &AttitudeSample, q: [f64; 4]| {
            let j = self.at(seconds_between(first.utc, s.utc));
            let r = earth::mul3(
                earth::mul3(earth::rz(j[2]), earth::ry(j[1])),
                earth::rx(j[0]),
            );
            AttitudeSample {
                quaternion: crate::geometry::orbit::quaternion(&earth::mul3(
                    crate::geometry::orbit::rotation(&q),
                    r,
                )),
                ..*s
            }
        };
        let mut truth = Vec::with_capacity(samples.len() * JITTER_SUBSAMPLES);
        for w in samples.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            let dt = seconds_between(a.utc, b.utc);
            let mut q1 = b.quaternion;
            if (0..4).map(|k| a.quaternion[k] * q1[k]).sum::<f64>() < 0.0 {
                q1 = q1.map(|x| -x);
            }
            for i in 0..JITTER_SUBSAMPLES {
                let f = i as f64 / JITTER_SUBSAMPLES as f64;
                let s = AttitudeSample {
                    utc: add_seconds(a.utc, f * dt),
                    ..*a
                };
                truth.push(shaken(
                    &s,
                    crate::geometry::orbit::slerp(&a.quaternion, &q1, f),
                ));
            }
        }
        let last = samples[samples.len() - 1];
        truth.push(shaken(&last, last.quaternion));
        let reported = samples.iter().map(|s| shaken(s, s.quaternion)).collect();
        (truth, reported)
    }
}

/// The absolute orbit number of an instant: whole revolutions of a 720 km orbit (100.0 min
/// for VENµS's 14.4 a day) since VENµS's launch, 2017-08-02T01:58 UTC, modulo 100000.
pub fn orbit_number(t: NaiveDateTime) -> u32 {
    let launch = chrono::NaiveDate::from_ymd_opt(2017, 8, 2)
        .and_then(|d| d.and_hms_opt(1, 58, 0))
        .expect("a valid date");
    let minutes = seconds_between(launch, t) / 60.0;
    ((minutes / 100.0).floor().max(0.0) as u64 % 100_000) as u32
}

/// The Earth orientation the simulator flies with: plausible values for the 2020s (IERS
/// Bulletin A gives x ≈ 0.1″–0.3″, y ≈ 0.3″–0.5″, UT1 − UTC within ±0.05 s then).
pub const SIMULATED_EOP: EarthOrientation = EarthOrientation {
    x_pole: 0.152,
    y_pole: 0.411,
    ut1_utc: 0.0183,
};

/// The Earth orientation table the simulator writes (EORDTA): `eop` on every day from the
/// day before `t` to two days after, valid from the first midnight to the last. Constant, so
/// that the table and the orbit's own conversion agree at every instant.
pub fn eop_table(t: NaiveDateTime, eop: EarthOrientation) -> EopTable {
    let day = |k: i64| EopDay {
        date: t.date() + chrono::Duration::days(k),
        eop,
    };
    let days: Vec<EopDay> = (-1..=2).map(day).collect();
    let midnight = |d: &EopDay| d.date.and_hms_opt(0, 0, 0).expect("midnight exists");
    EopTable {
        validity: (midnight(&days[0]), midnight(&days[3])),
        days,
        source: "EORDTA".into(),
    }
}

/// Where `target` (ITRF, m) lies from the nadir of the satellite in state `s`, on the
/// ellipsoid's tangent plane at the nadir: along the ground velocity, and to its right.
pub fn track_offsets(s: &State, target: Vec3) -> (f64, f64) {
    let (lon, lat, _) = ecef_to_geodetic(s.position);
    let nadir = geodetic_to_ecef(lon, lat, 0.0);
    let [forward, right, _] = orbital_axes(s);
    // both axes are horizontal at the nadir: the vertical part of the offset drops out
    let d: Vec3 = std::array::from_fn(|i| target[i] - nadir[i]);
    let dot = |u: Vec3| (0..3).map(|i| u[i] * d[i]).sum::<f64>();
    (dot(forward), dot(right))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::earth::distance;

    #[test]
    fn the_aux_samples_give_the_orbit_and_attitude_back() {
        let t = chrono::NaiveDate::from_ymd_opt(2024, 6, 15)
            .unwrap()
            .and_hms_milli_opt(8, 30, 0, 400)
            .unwrap();
        let o = Orbit::pass_over(35.5, 31.0, t, 200_000.0, EarthOrientation::default()).unwrap();
        let s = o.state(t).unwrap();
        let roll = roll_towards(&s, geodetic_to_ecef(35.5, 31.0, 0.0));
        let span = (add_seconds(t, -4.5), add_seconds(t, 4.5));
        let (gps, att) = aux_samples(&o, roll, span, 2.0).unwrap();
        assert!(
            gps[0].utc <= add_seconds(span.0, -2.0)
                && gps.last().unwrap().utc >= add_seconds(span.1, 2.0)
        );
        assert_eq!(gps[0].utc_offset, 18);
        let src = std::path::Path::new("AUX");
        let e = crate::geometry::orbit::Ephemeris::new(&gps, src).unwrap();
        let a = crate::geometry::orbit::Attitude::new(&att, src).unwrap();
        for k in 0..90 {
            let tk = add_seconds(span.0, k as f64 * 0.1 + 0.03);
            let (want, got) = (o.state(tk).unwrap(), e.at(tk).unwrap());
            let d = distance(want.position, got.position);
            assert!(d < 1e-3, "{d} m");
            let f = Frames::at(tk, &o.eop).unwrap();
            let body = earth::mul3(f.mod_to_itrf, a.body_to_mod(tk).unwrap());
            let truth = body_axes(&want, roll);
            // boresight within 0.1 µrad (0.07 mm on the ground from 720 km)
            let dz = (0..3)
                .map(|i| (body[i][2] - truth[i][2]).powi(2))
                .sum::<f64>()
                .sqrt();
            assert!(dz < 1e-7, "{dz}");
        }
        // the body turns at about the orbit's rate (1.06e-3 rad/s) about its right axis
        let w = att[10].rate;
        assert!(
            (w[1].abs() - 1.06e-3).abs() < 0.05e-3 && w[0].abs() < 1e-4,
            "{w:?}"
        );
    }

    #[test]
    fn a_720_km_sun_synchronous_orbit_is_inclined_98_3_degrees() {
        let i = sun_synchronous_inclination(720.0);
        assert!((i - 98.27).abs() < 0.05, "{i}");
    }

    #[test]
    fn the_pass_flies_over_the_site_at_the_instant() {
        let t = chrono::NaiveDate::from_ymd_opt(2024, 6, 15)
            .unwrap()
            .and_hms_opt(8, 30, 0)
            .unwrap();
        for across in [0.0, -200_000.0, 420_000.0] {
            let o = Orbit::pass_over(35.5, 31.0, t, across, EarthOrientation::default()).unwrap();
            let s = o.state(t).unwrap();
            let (along, side) = track_offsets(&s, geodetic_to_ecef(35.5, 31.0, 0.0));
            assert!(
                along.abs() < 0.01 && (side - across).abs() < 0.01,
                "{along} {side}"
            );
            // the boresight rolled towards the site meets the ground there
            let roll = roll_towards(&s, geodetic_to_ecef(35.5, 31.0, 0.0));
            let body = body_axes(&s, roll);
            let z = [body[0][2], body[1][2], body[2][2]];
            let p = earth::ray_to_ellipsoid(s.position, z, 0.0).unwrap();
            let site = geodetic_to_ecef(35.5, 31.0, 0.0);
            let miss = distance(p, site);
            assert!(miss < 0.01, "{miss} m at roll {roll}");
            if across == 420_000.0 {
                // on a sphere: tan α = R sin γ / (R + H − R cos γ), γ = 420 km / R: 29.66°
                assert!((roll - 29.66).abs() < 0.1, "{roll}");
            }
            // the quaternion gives the body axes back through the mean-of-date frame
            let f = Frames::at(t, &EarthOrientation::default()).unwrap();
            let q = attitude_quaternion(&body, &f);
            let back = earth::mul3(f.mod_to_itrf, crate::geometry::orbit::rotation(&q));
            for (r, row) in back.iter().enumerate() {
                for (c, v) in row.iter().enumerate() {
                    assert!((v - body[r][c]).abs() < 1e-12);
                }
            }
            // descending, at about 720 km
            assert!(s.velocity[2] < 0.0);
            let (_, _, h) = ecef_to_geodetic(s.position);
            assert!((h - 720e3).abs() < 25e3, "{h}");
        }
    }
}
