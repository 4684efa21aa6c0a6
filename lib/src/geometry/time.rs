//! Time scales used by the VENµS headers and the physics.

use chrono::{NaiveDate, NaiveDateTime};

/// Julian day of a UTC instant (UTC used as TT: the 69 s difference moves the sun by 0.0008°).
pub fn julian_day(t: NaiveDateTime) -> f64 {
    let unix =
        t.and_utc().timestamp() as f64 + f64::from(t.and_utc().timestamp_subsec_nanos()) * 1e-9;
    unix / 86_400.0 + 2_440_587.5
}

/// The ICD datation epoch, 2000-01-01T12:00:00 UTC.
pub fn icd_epoch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2000, 1, 1)
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .expect("valid epoch")
}

/// Days since the ICD epoch (the `MJD=` values of datation models).
pub fn icd_days(t: NaiveDateTime) -> f64 {
    seconds_between(icd_epoch(), t) / 86_400.0
}

/// The instant `days` after the ICD epoch, to the microsecond.
pub fn from_icd_days(days: f64) -> NaiveDateTime {
    add_seconds(icd_epoch(), days * 86_400.0)
}

/// `b − a` in seconds, with sub-second precision.
pub fn seconds_between(a: NaiveDateTime, b: NaiveDateTime) -> f64 {
    let d = b - a;
    d.num_seconds() as f64 + f64::from(d.subsec_nanos()) * 1e-9
}

/// `t + s` seconds, rounded to the microsecond.
pub fn add_seconds(t: NaiveDateTime, s: f64) -> NaiveDateTime {
    t + chrono::Duration::microseconds((s * 1e6).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn julian_day_of_j2000() {
        assert_eq!(julian_day(icd_epoch()), 2_451_545.0);
        // Meeus example 7.a: 1957 October 4.81 = JD 2436116.31
        let t = NaiveDate::from_ymd_opt(1957, 10, 4)
            .unwrap()
            .and_hms_opt(19, 26, 24)
            .unwrap();
        assert!((julian_day(t) - 2_436_116.31).abs() < 1e-6);
    }

    #[test]
    fn icd_days_round_trip() {
        let t = NaiveDate::from_ymd_opt(2018, 1, 1)
            .unwrap()
            .and_hms_micro_opt(10, 51, 48, 123_456)
            .unwrap();
        assert_eq!(from_icd_days(icd_days(t)), t);
    }
}
