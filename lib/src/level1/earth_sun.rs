//! The Earth–Sun distance of the TOA reflectance, from the REFLEC GIPP (ICD `GIP_REFLEC`,
//! variables of VE-ST-GSSM-44): `d = 1 − e·cos(n·(t − t0))` AU, with `n` the mean rotation
//! speed (rad/day), `e` the revolution eccentricity and `t0` the julian day of a perihelion.
//! The GIPP carries no solar irradiance (the ICD puts band irradiances in SPECSE): E0 per band
//! stays [`crate::mission::venus::BANDS`]. Its `Maximum_Reflectance_Value` codes a 10-bit
//! product, which VIP does not write; it is checked, not used.

use std::path::Path;

use chrono::NaiveDateTime;

use crate::ee::gipps::{self, ReflectanceParameters};
use crate::error::{Result, VipError};
use crate::geometry::time::julian_day;

/// Mean motion of the Earth, rad/day (anomalistic year of 365.2596 days).
const EARTH_MEAN_MOTION: f64 = std::f64::consts::TAU / 365.259_636;

/// The Earth–Sun distance model of a REFLEC GIPP, checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EarthSun(ReflectanceParameters);

impl EarthSun {
    /// Reads and checks the REFLEC GIPP at `path`: every value finite, an eccentricity in
    /// [0, 0.1), a mean rotation speed within 1 % of the Earth's, a positive maximum
    /// reflectance. Anything else is bad input naming the GIPP.
    pub fn read(path: &Path) -> Result<EarthSun> {
        EarthSun::new(gipps::read_reflec(path)?, path)
    }

    /// `p` checked as [`EarthSun::read`] does; errors name `path`.
    pub fn new(p: ReflectanceParameters, path: &Path) -> Result<EarthSun> {
        let bad = |what: &str, v: f64, want: &str| {
            Err(VipError::bad_input(
                path,
                format!("GIP_REFLEC {what} is {v}, it must be {want}"),
            ))
        };
        let (n, e) = (p.mean_rotation_speed, p.eccentricity);
        if !(0.0..0.1).contains(&e) {
            return bad("Revolution_Eccentricity", e, "in [0, 0.1) (Earth: 0.0167)");
        }
        if (n / EARTH_MEAN_MOTION - 1.0).abs() > 0.01 || n.is_nan() {
            return bad(
                "Mean_Rotation_Speed",
                n,
                "the Earth's mean motion within 1 % (0.0172 rad/day)",
            );
        }
        if !p.t0_day.is_finite() {
            return bad("T0_Day", p.t0_day, "a julian day");
        }
        if p.max_reflectance.is_nan() || p.max_reflectance <= 0.0 || p.max_reflectance.is_infinite()
        {
            return bad("Maximum_Reflectance_Value", p.max_reflectance, "positive");
        }
        Ok(EarthSun(p))
    }

    /// Earth–Sun distance at `t` (UTC), astronomical units.
    pub fn distance_au(&self, t: NaiveDateTime) -> f64 {
        let p = &self.0;
        1.0 - p.eccentricity * (p.mean_rotation_speed * (julian_day(t) - p.t0_day)).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::sun::SunEphemeris;

    /// The parameters vip-sim writes: perihelion 2000-01-03 (JD 2451547), anomalistic year.
    fn earth() -> ReflectanceParameters {
        ReflectanceParameters {
            mean_rotation_speed: EARTH_MEAN_MOTION,
            eccentricity: 0.016_709,
            t0_day: 2_451_547.0,
            max_reflectance: 1.2,
        }
    }

    #[test]
    fn the_first_order_model_follows_the_meeus_ephemeris() {
        // Over 2024, the ICD's first-order model with the simulator's parameters stays within
        // 5e-4 AU of the Meeus distance (4.3e-4 found; the e² terms it drops reach 2.8e-4):
        // under 1e-3 relative in reflectance, half a count at ρ = 0.5.
        let m = EarthSun::new(earth(), Path::new("REFLEC")).unwrap();
        let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1)
            .unwrap()
            .and_hms_opt(10, 30, 0)
            .unwrap();
        let mut worst = 0f64;
        for day in 0..366 {
            let t = start + chrono::Duration::days(day);
            worst = worst.max((m.distance_au(t) - SunEphemeris::at(t).distance_au).abs());
        }
        assert!(worst < 5e-4, "{worst}");
        // Perihelion in early January, aphelion in early July.
        let jan = start + chrono::Duration::days(2);
        let jul = start + chrono::Duration::days(184);
        assert!((m.distance_au(jan) - (1.0 - 0.016_709)).abs() < 1e-4);
        assert!((m.distance_au(jul) - (1.0 + 0.016_709)).abs() < 1e-4);
    }

    #[test]
    fn values_out_of_range_are_bad_input_naming_the_gipp() {
        let path = Path::new("G/VE_TEST_GIP_REFLEC.EEF");
        for p in [
            ReflectanceParameters {
                eccentricity: f64::NAN,
                ..earth()
            },
            ReflectanceParameters {
                eccentricity: -0.01,
                ..earth()
            },
            ReflectanceParameters {
                eccentricity: 0.5,
                ..earth()
            },
            ReflectanceParameters {
                mean_rotation_speed: 1.0,
                ..earth()
            },
            ReflectanceParameters {
                t0_day: f64::INFINITY,
                ..earth()
            },
            ReflectanceParameters {
                max_reflectance: 0.0,
                ..earth()
            },
        ] {
            let e = EarthSun::new(p, path).unwrap_err();
            assert_eq!(e.exit_code(), 3);
            assert!(e
                .to_string()
                .starts_with("G/VE_TEST_GIP_REFLEC.EEF: GIP_REFLEC"));
        }
    }
}
