//! Where a simulated site lies: a table of real VENµS sites, any other place by longitude and
//! latitude, and the local time of a VENµS pass there.
//!
//! Site names are spelt as the mission spells them; the nick name is the 8-character
//! `[0-9A-Z_]` name the file-name convention needs (`ee::naming`). Sources:
//! - names of the VENµS sites: the SEN2VENµS dataset (J. Michel, J. Vinasco-Salinas,
//!   J. Inglada, O. Hagolle, "SEN2VENµS, a dataset for the training of Sentinel-2
//!   super-resolution algorithms", *Data* 7(7), 96, 2022; Zenodo record 6514159, one archive per
//!   site: ARM, ATTO, FR-BIL, FR-LAM, FR-LQ1, K34-AMAZ, …) and the MAJA test plan
//!   (CNES/MAJA, `Documentation/PlanEssais`: products `VE_TEST_VSC_L1VALD_CAMARGUE_2012010x`);
//! - positions: the instrumented station each site is named after: ATTO, the Amazon Tall
//!   Tower Observatory (attoproject.org, location facts: S 02°08.9′ W 059°00.2′); ARM, the
//!   ARM Southern Great Plains Central Facility near Lamont, Oklahoma (arm.gov, SGP C1:
//!   36.605° N 97.485° W); FR-LQ1, the ICOS station FR-Lqu Laqueuille (ICOS Carbon Portal:
//!   45.6444, 2.7349); FR-LAM, the ICOS/FLUXNET station FR-Lam Lamasquère (43.4965, 1.2379);
//!   FR-BIL, the ICOS station FR-Bil Bilos (44.4937, −0.9561); K34-AMAZ, the LBA K34 tower of
//!   the Cuieiras reserve near Manaus (Araújo et al., *J. Geophys. Res.* 107(D20), 8090, 2002:
//!   2°36′33″ S 60°12′33″ W); CAMARGUE, the middle of the Rhône delta (43.5° N 4.6° E).
//!   SIMULSIT is the simulator's own place (southern French Alps foothills: relief, valleys,
//!   snow in winter).

use chrono::NaiveTime;

use crate::error::{Result, VipError};

/// A site of the table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KnownSite {
    /// Name as the mission spells it.
    pub name: &'static str,
    /// 8-character nick name of file names (shorter ones are padded with `_`).
    pub nick: &'static str,
    /// Longitude and latitude of the site centre, degrees (east and north positive).
    pub lon: f64,
    pub lat: f64,
}

/// The site table (see the module documentation for the sources).
pub const SITES: &[KnownSite] = &[
    site("SIMULSIT", "SIMULSIT", 5.9, 44.2),
    site("CAMARGUE", "CAMARGUE", 4.6, 43.5),
    site("ARM", "ARM", -97.485, 36.605),
    site("ATTO", "ATTO", -59.0033, -2.1483),
    site("K34-AMAZ", "K34_AMAZ", -60.2093, -2.6091),
    site("FR-BIL", "FR_BIL", -0.9561, 44.4937),
    site("FR-LAM", "FR_LAM", 1.2379, 43.4965),
    site("FR-LQ1", "FR_LQ1", 2.7349, 45.6444),
];

const fn site(name: &'static str, nick: &'static str, lon: f64, lat: f64) -> KnownSite {
    KnownSite {
        name,
        nick,
        lon,
        lat,
    }
}

/// Where a site lies when nothing says otherwise: SIMULSIT.
pub const DEFAULT_LONLAT: (f64, f64) = (SITES[0].lon, SITES[0].lat);

/// Highest |latitude| simulated, degrees: the descending track of the 98.3° orbit reaches
/// 81.7°, and scenes must stay under it.
pub const MAX_ABS_LAT: f64 = 81.0;

/// Local mean solar time of the VENµS descending pass.
pub const LOCAL_PASS_TIME: (u32, u32) = (10, 30);

impl KnownSite {
    /// (lon, lat) in degrees.
    pub fn lonlat(&self) -> (f64, f64) {
        (self.lon, self.lat)
    }
}

/// The known site named `name` (its mission name or its nick name, any case).
pub fn find(name: &str) -> Option<&'static KnownSite> {
    let up = name.to_ascii_uppercase();
    SITES.iter().find(|s| s.name == up || s.nick == up)
}

/// The names of the table, comma separated.
pub fn known_names() -> String {
    SITES.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
}

/// The nick name of site `name`: the table's for a known site, else `name` itself checked and
/// padded (`ee::naming::nick_name`).
pub fn nick_name(name: &str) -> Result<String> {
    crate::ee::naming::nick_name(find(name).map_or(name, |s| s.nick))
}

/// Where site `name` lies: at `lonlat` when given (any name), else at the known site's
/// position; an unknown name without a position is a usage error listing the known names.
pub fn place(name: &str, lonlat: Option<(f64, f64)>) -> Result<(f64, f64)> {
    let (lon, lat) = match (lonlat, find(name)) {
        (Some(p), _) => p,
        (None, Some(s)) => s.lonlat(),
        (None, None) => {
            return Err(VipError::Usage(format!(
                "--site {name}: unknown site; known sites: {}; or give --lat and --lon",
                known_names()
            )))
        }
    };
    check_position(lon, lat)?;
    Ok((lon, lat))
}

/// Checks that (lon, lat) can be simulated: a longitude in [−180, 180], |latitude| ≤ 81°.
pub fn check_position(lon: f64, lat: f64) -> Result<()> {
    if !(lat.is_finite() && lat.abs() <= MAX_ABS_LAT) {
        return Err(VipError::Usage(format!(
            "--lat {lat}: must lie within ±{MAX_ABS_LAT}° (the orbit's track does not reach \
             further)"
        )));
    }
    if !(lon.is_finite() && lon.abs() <= 180.0) {
        return Err(VipError::Usage(format!(
            "--lon {lon}: must lie within ±180°"
        )));
    }
    Ok(())
}

/// UTC time of day of the VENµS pass over longitude `lon` (10:30 local mean solar time),
/// to the second.
pub fn pass_time_utc(lon: f64) -> NaiveTime {
    let (h, m) = LOCAL_PASS_TIME;
    let local = f64::from(h * 3600 + m * 60);
    let utc = (local - lon * 240.0).round().rem_euclid(86_400.0) as u32;
    NaiveTime::from_num_seconds_from_midnight_opt(utc, 0).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        for s in SITES {
            assert_eq!(nick_name(s.name).unwrap().len(), 8, "{}", s.name);
            check_position(s.lon, s.lat).unwrap();
            assert_eq!(find(&s.name.to_lowercase()), Some(s));
        }
        let nicks: std::collections::BTreeSet<_> = SITES.iter().map(|s| s.nick).collect();
        assert_eq!(nicks.len(), SITES.len());
        assert_eq!(nick_name("FR-LAM").unwrap(), "FR_LAM__");
        assert_eq!(nick_name("fr_lam").unwrap(), "FR_LAM__");
        assert_eq!(nick_name("LOWSUN").unwrap(), "LOWSUN__");
    }

    #[test]
    fn placing() {
        assert_eq!(place("ATTO", None).unwrap(), (-59.0033, -2.1483));
        assert_eq!(place("ANY", Some((10.0, -33.0))).unwrap(), (10.0, -33.0));
        let e = place("NOWHERE", None).unwrap_err().to_string();
        assert!(e.contains("NOWHERE") && e.contains("FR-LQ1"), "{e}");
        let e = place("X", Some((0.0, 81.5))).unwrap_err().to_string();
        assert!(e.contains("--lat 81.5"), "{e}");
        assert!(place("X", Some((181.0, 0.0))).is_err());
        assert!(place("X", Some((0.0, -81.0))).is_ok());
    }

    #[test]
    fn pass_time_is_1030_local_mean_solar_time() {
        let t = |s| NaiveTime::parse_from_str(s, "%H:%M:%S").unwrap();
        assert_eq!(pass_time_utc(0.0), t("10:30:00"));
        // 15° per hour: 6° E passes 24 min earlier in UTC, 97.485° W 6 h 29 min 56 s later.
        assert_eq!(pass_time_utc(6.0), t("10:06:00"));
        assert_eq!(pass_time_utc(-97.485), t("16:59:56"));
        // Across the date line the UTC time wraps (the local date is the next day).
        assert_eq!(pass_time_utc(170.0), t("23:10:00"));
    }
}
