//! The satellite's ephemeris and attitude over an acquisition, from the samples of its
//! auxiliary data ([`crate::ee::auxdata`]), at any instant they cover:
//!
//! - **position and velocity**: the cubic Hermite polynomial through the two samples around
//!   the instant, with their velocities (at 1 Hz on a 720 km orbit it departs from the orbit
//!   by well under a millimetre, a test shows it);
//! - **attitude**: the spherical linear interpolation of the two quaternions around the
//!   instant (constant rate between samples, as at 10 Hz the AOCS's is).
//!
//! An instant outside the samples is not extrapolated: it is bad input naming the file.

use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;

use super::earth::{Mat3, Vec3};
use super::time::seconds_between;
use crate::ee::auxdata::{AttitudeSample, GpsSample};
use crate::error::{Result, VipError};

/// Position (m) and velocity (m/s) in ITRF at an instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct State {
    pub position: Vec3,
    pub velocity: Vec3,
}

/// Sample instants as seconds from the first, and the bracket of an instant.
#[derive(Debug, Clone)]
struct Timeline {
    t0: NaiveDateTime,
    seconds: Vec<f64>,
    source: PathBuf,
}

impl Timeline {
    fn new(times: impl Iterator<Item = NaiveDateTime>, source: &Path) -> Result<Timeline> {
        let times: Vec<NaiveDateTime> = times.collect();
        let t0 = *times
            .first()
            .ok_or_else(|| VipError::bad_input(source, "no sample"))?;
        let seconds: Vec<f64> = times.iter().map(|t| seconds_between(t0, *t)).collect();
        if seconds.len() < 2 || seconds.windows(2).any(|w| w[1] <= w[0]) {
            return Err(VipError::bad_input(
                source,
                "fewer than 2 samples, or instants that do not increase",
            ));
        }
        Ok(Timeline {
            t0,
            seconds,
            source: source.to_path_buf(),
        })
    }

    /// The first and last instants.
    fn span(&self) -> (NaiveDateTime, NaiveDateTime) {
        let last = *self.seconds.last().unwrap_or(&0.0);
        (self.t0, super::time::add_seconds(self.t0, last))
    }

    /// Index `i` and fraction `s` in [0, 1] with `t` between samples i and i + 1.
    fn bracket(&self, t: NaiveDateTime) -> Result<(usize, f64, f64)> {
        let x = seconds_between(self.t0, t);
        let n = self.seconds.len();
        if !(self.seconds[0]..=self.seconds[n - 1]).contains(&x) {
            let (a, b) = self.span();
            return Err(VipError::bad_input(
                &self.source,
                format!("samples span {a} to {b}, not {t}"),
            ));
        }
        let i = self.seconds.partition_point(|&s| s <= x).clamp(1, n - 1) - 1;
        let h = self.seconds[i + 1] - self.seconds[i];
        Ok((i, (x - self.seconds[i]) / h, h))
    }
}

/// The ephemeris of an acquisition.
#[derive(Debug, Clone)]
pub struct Ephemeris {
    timeline: Timeline,
    states: Vec<State>,
}

impl Ephemeris {
    /// From the GPSDTA samples of `source`.
    pub fn new(samples: &[GpsSample], source: &Path) -> Result<Ephemeris> {
        Ok(Ephemeris {
            timeline: Timeline::new(samples.iter().map(|s| s.utc), source)?,
            states: samples
                .iter()
                .map(|s| State {
                    position: s.position,
                    velocity: s.velocity,
                })
                .collect(),
        })
    }

    /// The first and last instants of the samples.
    pub fn span(&self) -> (NaiveDateTime, NaiveDateTime) {
        self.timeline.span()
    }

    /// The state at `t` (UTC).
    pub fn at(&self, t: NaiveDateTime) -> Result<State> {
        let (i, s, h) = self.timeline.bracket(t)?;
        let (a, b) = (&self.states[i], &self.states[i + 1]);
        // cubic Hermite basis and its derivative
        let (s2, s3) = (s * s, s * s * s);
        let w = [
            2.0 * s3 - 3.0 * s2 + 1.0,
            s3 - 2.0 * s2 + s,
            -2.0 * s3 + 3.0 * s2,
            s3 - s2,
        ];
        let d = [
            6.0 * s2 - 6.0 * s,
            3.0 * s2 - 4.0 * s + 1.0,
            -6.0 * s2 + 6.0 * s,
            3.0 * s2 - 2.0 * s,
        ];
        let f = |k: usize, c: &[f64; 4], scale: f64| {
            (c[0] * a.position[k]
                + c[1] * h * a.velocity[k]
                + c[2] * b.position[k]
                + c[3] * h * b.velocity[k])
                * scale
        };
        Ok(State {
            position: std::array::from_fn(|k| f(k, &w, 1.0)),
            velocity: std::array::from_fn(|k| f(k, &d, 1.0 / h)),
        })
    }
}

/// The attitude of an acquisition.
#[derive(Debug, Clone)]
pub struct Attitude {
    timeline: Timeline,
    /// q1 q2 q3 q0, unit, each on the same side as the previous one (q and −q are one
    /// rotation; interpolation must not go the long way round).
    quaternions: Vec<[f64; 4]>,
}

impl Attitude {
    /// From the AOCDTA samples of `source`.
    pub fn new(samples: &[AttitudeSample], source: &Path) -> Result<Attitude> {
        let mut quaternions: Vec<[f64; 4]> = Vec::with_capacity(samples.len());
        for s in samples {
            let mut q = s.quaternion;
            if let Some(p) = quaternions.last() {
                if dot4(p, &q) < 0.0 {
                    q = q.map(|x| -x);
                }
            }
            quaternions.push(q);
        }
        Ok(Attitude {
            timeline: Timeline::new(samples.iter().map(|s| s.utc), source)?,
            quaternions,
        })
    }

    /// The first and last instants of the samples.
    pub fn span(&self) -> (NaiveDateTime, NaiveDateTime) {
        self.timeline.span()
    }

    /// The quaternion (q1 q2 q3 q0) at `t`.
    pub fn at(&self, t: NaiveDateTime) -> Result<[f64; 4]> {
        let (i, s, _) = self.timeline.bracket(t)?;
        Ok(slerp(&self.quaternions[i], &self.quaternions[i + 1], s))
    }

    /// The rotation taking body-frame components to mean-of-date ones at `t`.
    pub fn body_to_mod(&self, t: NaiveDateTime) -> Result<Mat3> {
        Ok(rotation(&self.at(t)?))
    }
}

fn dot4(a: &[f64; 4], b: &[f64; 4]) -> f64 {
    (0..4).map(|k| a[k] * b[k]).sum()
}

/// Spherical linear interpolation from `a` to `b` (same hemisphere), fraction `s`.
pub fn slerp(a: &[f64; 4], b: &[f64; 4], s: f64) -> [f64; 4] {
    let c = dot4(a, b).clamp(-1.0, 1.0);
    let theta = c.acos();
    let (wa, wb) = if theta < 1e-9 {
        (1.0 - s, s)
    } else {
        (
            ((1.0 - s) * theta).sin() / theta.sin(),
            (s * theta).sin() / theta.sin(),
        )
    };
    let q: [f64; 4] = std::array::from_fn(|k| wa * a[k] + wb * b[k]);
    let n = dot4(&q, &q).sqrt();
    q.map(|x| x / n)
}

/// The rotation matrix of the unit quaternion q1 q2 q3 q0 (scalar last): v' = R v rotates a
/// vector by the quaternion, i.e. turns components in the rotated (body) frame into
/// components in the reference frame.
pub fn rotation(q: &[f64; 4]) -> Mat3 {
    let [x, y, z, w] = *q;
    [
        [
            1.0 - 2.0 * (y * y + z * z),
            2.0 * (x * y - z * w),
            2.0 * (x * z + y * w),
        ],
        [
            2.0 * (x * y + z * w),
            1.0 - 2.0 * (x * x + z * z),
            2.0 * (y * z - x * w),
        ],
        [
            2.0 * (x * z - y * w),
            2.0 * (y * z + x * w),
            1.0 - 2.0 * (x * x + y * y),
        ],
    ]
}

/// The unit quaternion (q1 q2 q3 q0) of a rotation matrix (the inverse of [`rotation`]).
pub fn quaternion(m: &Mat3) -> [f64; 4] {
    let tr = m[0][0] + m[1][1] + m[2][2];
    let q = if tr > 0.0 {
        let s = 2.0 * (tr + 1.0).sqrt();
        [
            (m[2][1] - m[1][2]) / s,
            (m[0][2] - m[2][0]) / s,
            (m[1][0] - m[0][1]) / s,
            s / 4.0,
        ]
    } else if m[0][0] > m[1][1] && m[0][0] > m[2][2] {
        let s = 2.0 * (1.0 + m[0][0] - m[1][1] - m[2][2]).sqrt();
        [
            s / 4.0,
            (m[0][1] + m[1][0]) / s,
            (m[0][2] + m[2][0]) / s,
            (m[2][1] - m[1][2]) / s,
        ]
    } else if m[1][1] > m[2][2] {
        let s = 2.0 * (1.0 + m[1][1] - m[0][0] - m[2][2]).sqrt();
        [
            (m[0][1] + m[1][0]) / s,
            s / 4.0,
            (m[1][2] + m[2][1]) / s,
            (m[0][2] - m[2][0]) / s,
        ]
    } else {
        let s = 2.0 * (1.0 + m[2][2] - m[0][0] - m[1][1]).sqrt();
        [
            (m[0][2] + m[2][0]) / s,
            (m[1][2] + m[2][1]) / s,
            s / 4.0,
            (m[1][0] - m[0][1]) / s,
        ]
    };
    let n = dot4(&q, &q).sqrt();
    q.map(|x| x / n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::earth::distance;
    use crate::geometry::time::add_seconds;

    fn t0() -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2024, 6, 15)
            .unwrap()
            .and_hms_opt(8, 31, 0)
            .unwrap()
    }

    /// A circular Keplerian orbit at 720 km in the x-y plane: position and velocity at `t` s.
    fn kepler(t: f64) -> ([f64; 3], [f64; 3]) {
        let r: f64 = 7_098_137.0;
        let w = (3.986_004_418e14 / (r * r * r)).sqrt();
        let (s, c) = (w * t).sin_cos();
        ([r * c, r * s, 0.0], [-r * w * s, r * w * c, 0.0])
    }

    #[test]
    fn hermite_holds_the_orbit_between_1_hz_samples() {
        let samples: Vec<GpsSample> = (0..20)
            .map(|k| {
                let (p, v) = kepler(k as f64);
                GpsSample {
                    utc: add_seconds(t0(), k as f64),
                    utc_offset: 18,
                    position: p,
                    velocity: v,
                }
            })
            .collect();
        let e = Ephemeris::new(&samples, Path::new("G.EEF")).unwrap();
        let (mut dp, mut dv) = (0.0f64, 0.0f64);
        for k in 0..190 {
            let t = k as f64 * 0.1 + 0.05;
            let s = e.at(add_seconds(t0(), t)).unwrap();
            let (p, v) = kepler(t);
            dp = dp.max(distance(s.position, p));
            dv = dv.max(distance(s.velocity, v));
        }
        assert!(dp < 1e-4 && dv < 1e-3, "{dp} m, {dv} m/s");
        let late = e.at(add_seconds(t0(), 19.5)).unwrap_err().to_string();
        assert!(
            late.contains("G.EEF") && late.contains("samples span"),
            "{late}"
        );
    }

    #[test]
    fn slerp_turns_at_a_constant_rate_the_short_way() {
        let about_z = |deg: f64| {
            let h = deg.to_radians() / 2.0;
            [0.0, 0.0, h.sin(), h.cos()]
        };
        let samples: Vec<AttitudeSample> = [10.0, 30.0]
            .iter()
            .enumerate()
            .map(|(k, &deg)| AttitudeSample {
                utc: add_seconds(t0(), k as f64 * 0.1),
                // the second sample given as −q: the same rotation
                quaternion: about_z(deg).map(|x| if k == 1 { -x } else { x }),
                rate: [0.0; 3],
            })
            .collect();
        let a = Attitude::new(&samples, Path::new("A.EEF")).unwrap();
        let m = a.body_to_mod(add_seconds(t0(), 0.025)).unwrap();
        // 15° about z: the body's x axis at 15° from the reference x axis
        assert!((m[1][0].atan2(m[0][0]).to_degrees() - 15.0).abs() < 1e-9);
        let q = quaternion(&m);
        assert!((dot4(&q, &a.at(add_seconds(t0(), 0.025)).unwrap()).abs() - 1.0).abs() < 1e-12);
    }
}
