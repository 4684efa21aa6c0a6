//! Sun position and Earth–Sun distance.
//!
//! Algorithm: the NOAA solar calculator equations, from J. Meeus, *Astronomical Algorithms*
//! (2nd ed., 1998), ch. 25 (solar coordinates, apparent longitude, obliquity with nutation
//! correction) and ch. 28 (equation of time). Stated accuracy ≈ 0.01° for years 1950–2050.
//! Zenith angles here are geometric (no refraction): that is what TOA reflectance needs.

use chrono::NaiveDateTime;

use super::time::julian_day;

/// Sun direction seen from a point at the surface.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SunAngles {
    /// Geometric zenith angle, degrees.
    pub zenith: f64,
    /// Azimuth, degrees clockwise from north, in [0, 360).
    pub azimuth: f64,
}

/// Sun quantities that depend on time only; [`SunEphemeris::angles`] then gives the angles at
/// any place cheaply (a few trigonometric calls), so a whole image line shares one ephemeris.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SunEphemeris {
    /// Declination, radians.
    pub declination: f64,
    /// Equation of time, minutes.
    pub equation_of_time_min: f64,
    /// Earth–Sun distance, astronomical units.
    pub distance_au: f64,
    /// Minutes since 00:00 UTC of the day.
    minutes_utc: f64,
}

impl SunEphemeris {
    /// Ephemeris at a UTC instant.
    pub fn at(t: NaiveDateTime) -> Self {
        let jd = julian_day(t);
        let tc = (jd - 2_451_545.0) / 36_525.0; // Julian centuries since J2000.0
        let l0 = (280.46646 + tc * (36000.76983 + tc * 0.0003032)).rem_euclid(360.0);
        let m = 357.52911 + tc * (35999.05029 - 0.0001537 * tc);
        let e = 0.016708634 - tc * (0.000042037 + 0.0000001267 * tc);
        let mr = m.to_radians();
        let c = mr.sin() * (1.914602 - tc * (0.004817 + 0.000014 * tc))
            + (2.0 * mr).sin() * (0.019993 - 0.000101 * tc)
            + (3.0 * mr).sin() * 0.000289;
        let true_long = l0 + c;
        let true_anom = (m + c).to_radians();
        let distance_au = 1.000001018 * (1.0 - e * e) / (1.0 + e * true_anom.cos());
        let omega = (125.04 - 1934.136 * tc).to_radians();
        let app_long = (true_long - 0.00569 - 0.00478 * omega.sin()).to_radians();
        let eps0 =
            23.0 + (26.0 + (21.448 - tc * (46.815 + tc * (0.00059 - tc * 0.001813))) / 60.0) / 60.0;
        let eps = (eps0 + 0.00256 * omega.cos()).to_radians();
        let declination = (eps.sin() * app_long.sin()).asin();
        let y = (eps / 2.0).tan().powi(2);
        let l0r = l0.to_radians();
        let eot_rad = y * (2.0 * l0r).sin() - 2.0 * e * mr.sin()
            + 4.0 * e * y * mr.sin() * (2.0 * l0r).cos()
            - 0.5 * y * y * (4.0 * l0r).sin()
            - 1.25 * e * e * (2.0 * mr).sin();
        let secs = t.and_utc().timestamp().rem_euclid(86_400) as f64
            + f64::from(t.and_utc().timestamp_subsec_nanos()) * 1e-9;
        SunEphemeris {
            declination,
            equation_of_time_min: 4.0 * eot_rad.to_degrees(),
            distance_au,
            minutes_utc: secs / 60.0,
        }
    }

    /// Sun zenith and azimuth at geodetic latitude/longitude (degrees, east positive).
    pub fn angles(&self, lat_deg: f64, lon_deg: f64) -> SunAngles {
        let true_solar_min =
            (self.minutes_utc + self.equation_of_time_min + 4.0 * lon_deg).rem_euclid(1440.0);
        let hour_angle = (true_solar_min / 4.0 - 180.0).to_radians();
        let lat = lat_deg.to_radians();
        let d = self.declination;
        let cos_z = (lat.sin() * d.sin() + lat.cos() * d.cos() * hour_angle.cos()).clamp(-1.0, 1.0);
        let zenith = cos_z.acos();
        // Azimuth from north, clockwise (atan2 form, well conditioned everywhere).
        let az = (-hour_angle.sin() * d.cos())
            .atan2(d.sin() * lat.cos() - d.cos() * lat.sin() * hour_angle.cos());
        SunAngles {
            zenith: zenith.to_degrees(),
            azimuth: az.to_degrees().rem_euclid(360.0),
        }
    }

    /// The ephemeris `seconds` later, for instants close to this one: only the Earth's rotation
    /// moves (declination and equation of time change by < 1e-5° over a scene).
    pub fn after(&self, seconds: f64) -> SunEphemeris {
        SunEphemeris {
            minutes_utc: self.minutes_utc + seconds / 60.0,
            ..*self
        }
    }

    /// cos of the sun zenith at a place (the factor of the TOA reflectance formula).
    pub fn cos_zenith(&self, lat_deg: f64, lon_deg: f64) -> f64 {
        let hour_angle = ((self.minutes_utc + self.equation_of_time_min + 4.0 * lon_deg) / 4.0
            - 180.0)
            .to_radians();
        let lat = lat_deg.to_radians();
        let d = self.declination;
        lat.sin() * d.sin() + lat.cos() * d.cos() * hour_angle.cos()
    }
}

/// A place on the ground as [`SunClock::cos_zenith`] takes it: sine and cosine of its
/// latitude and longitude, computed once and shared by every band that sees the place.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Place {
    sin_lat: f64,
    cos_lat: f64,
    sin_lon: f64,
    cos_lon: f64,
}

impl Place {
    /// The place at geodetic latitude/longitude (degrees, east positive).
    pub fn new(lat_deg: f64, lon_deg: f64) -> Self {
        let (sin_lat, cos_lat) = lat_deg.to_radians().sin_cos();
        let (sin_lon, cos_lon) = lon_deg.to_radians().sin_cos();
        Place {
            sin_lat,
            cos_lat,
            sin_lon,
            cos_lon,
        }
    }
}

/// cos of the sun zenith at any place and any instant within a minute or so of an ephemeris,
/// without a trigonometric call per evaluation: the hour angle is the ephemeris's (at
/// longitude 0) turned by the place's longitude and by the Earth's rotation since the
/// ephemeris, the latter by its Taylor series to the fourth order (exact to 1e-15 over ±60 s).
/// Declination and equation of time are held, as [`SunEphemeris::after`] holds them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SunClock {
    sin_dec: f64,
    cos_dec: f64,
    /// cos and sin of the hour angle at longitude 0.
    cos_h0: f64,
    sin_h0: f64,
}

impl SunClock {
    /// The clock of `eph`.
    pub fn new(eph: &SunEphemeris) -> Self {
        let (sin_dec, cos_dec) = eph.declination.sin_cos();
        let h0 = ((eph.minutes_utc + eph.equation_of_time_min) / 4.0 - 180.0).to_radians();
        let (sin_h0, cos_h0) = h0.sin_cos();
        SunClock {
            sin_dec,
            cos_dec,
            cos_h0,
            sin_h0,
        }
    }

    /// cos of the sun zenith at `place`, `seconds` after the ephemeris.
    pub fn cos_zenith(&self, place: &Place, seconds: f64) -> f64 {
        // the Earth turns 360° in 1440 minutes: 1/240 degree per second
        let d = (seconds / 240.0).to_radians();
        let d2 = d * d;
        let (sin_d, cos_d) = (d * (1.0 - d2 / 6.0), 1.0 - d2 / 2.0 * (1.0 - d2 / 12.0));
        let (cos_t, sin_t) = (
            self.cos_h0 * cos_d - self.sin_h0 * sin_d,
            self.sin_h0 * cos_d + self.cos_h0 * sin_d,
        );
        let cos_hour = cos_t * place.cos_lon - sin_t * place.sin_lon;
        place.sin_lat * self.sin_dec + place.cos_lat * self.cos_dec * cos_hour
    }
}

/// The factor (1/d)² that scales the mean solar irradiance to the day's, d in AU.
pub fn irradiance_factor(t: NaiveDateTime) -> f64 {
    SunEphemeris::at(t).distance_au.powi(-2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap()
    }

    /// Bennett's refraction (Meeus eq. 16.4) with the pressure/temperature factor, degrees.
    fn refraction(elevation_deg: f64, pressure_hpa: f64, temp_c: f64) -> f64 {
        let r_arcmin = 1.02
            / (elevation_deg + 10.3 / (elevation_deg + 5.11))
                .to_radians()
                .tan();
        r_arcmin / 60.0 * (pressure_hpa / 1010.0) * (283.0 / (273.0 + temp_c))
    }

    #[test]
    fn nrel_spa_reference_case() {
        // Reda & Andreas (2004), NREL/TP-560-34302, Table A5.1: 2003-10-17 12:30:30 local
        // (UT−7), 39.742476 N, 105.1786 W, 820 hPa, 11 °C: topocentric zenith 50.11162°
        // (refracted), azimuth 194.34024°. Parallax (~0.0024°) is below the tolerance.
        let eph = SunEphemeris::at(t("2003-10-17T19:30:30"));
        let a = eph.angles(39.742476, -105.1786);
        let refracted = a.zenith - refraction(90.0 - a.zenith, 820.0, 11.0);
        assert!((refracted - 50.11162).abs() < 0.01, "zenith {refracted}");
        assert!(
            (a.azimuth - 194.34024).abs() < 0.01,
            "azimuth {}",
            a.azimuth
        );
    }

    #[test]
    fn meeus_example_25a_declination() {
        // Meeus example 25.a: 1992 October 13.0 TD: apparent declination −7.78507°,
        // radius vector 0.99766 AU (ΔT ≈ 1 min is negligible here).
        let eph = SunEphemeris::at(t("1992-10-13T00:00:00"));
        assert!((eph.declination.to_degrees() + 7.78507).abs() < 0.005);
        assert!((eph.distance_au - 0.99766).abs() < 1e-4);
    }

    #[test]
    fn earth_sun_factor_matches_6s_varsol() {
        // 6S VARSOL values quoted in domain.md §6: 1.0343 (day 4), 0.9674 (day 185).
        assert!((irradiance_factor(t("2024-01-04T12:00:00")) - 1.0343).abs() < 1.5e-3);
        assert!((irradiance_factor(t("2024-07-03T12:00:00")) - 0.9674).abs() < 1.5e-3);
    }

    #[test]
    fn clock_agrees_with_the_ephemeris_over_a_minute() {
        let eph = SunEphemeris::at(t("2024-03-15T10:30:00"));
        let clock = SunClock::new(&eph);
        for (lat, lon) in [(44.1, 6.0), (-33.9, 151.2), (69.6, -18.9), (0.0, 179.9)] {
            let place = Place::new(lat, lon);
            for s in [-60.0, -9.3, 0.0, 0.4, 4.5, 60.0] {
                let want = eph.after(s).cos_zenith(lat, lon);
                let got = clock.cos_zenith(&place, s);
                assert!((got - want).abs() < 1e-14, "{lat} {lon} {s}: {got} {want}");
            }
        }
    }

    #[test]
    fn cos_zenith_agrees_with_angles() {
        let eph = SunEphemeris::at(t("2024-03-15T10:30:00"));
        let a = eph.angles(44.1, 6.0);
        assert!((eph.cos_zenith(44.1, 6.0) - a.zenith.to_radians().cos()).abs() < 1e-12);
    }
}
