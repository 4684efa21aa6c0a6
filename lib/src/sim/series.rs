//! `vip-sim series`: one site over many dates, each date a full scene folder (DESIGN.md §7)
//! named `YYYYMMDD` under the output, over the same site grid and DEM (same site, seed and
//! relief), plus `series.json` describing the dates and the conditions drawn for each.
//!
//! Per date, from the seed and the date only (never from the order or number of dates): the
//! means of the aerosol optical thickness and of the water-vapour column (log-normal around
//! the `--aot`/`--wv` means, within a factor 2 and 1.5), and the sky (clear, scattered
//! cumulus, overcast, thin cirrus, cumulus under cirrus: [`CloudSpec::situation`]). Surfaces follow from the date in each scene's [`SceneSpec`].
//! The whole output is staged and renamed into place at the end, like one scene.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Serialize;

use super::clouds::{CloudSpec, Situation};
use super::noise;
use super::SceneSpec;
use crate::atmosphere::LutSet;
use crate::cli::Options;
use crate::error::{Result, VipError};
use crate::raster::Staged;

/// Key of the per-date draws in the noise hash (distinct from every other use of the seed).
const DRAW_KEY: i64 = 0x5e7e_5000;
/// Spread (σ of the log) of the per-date AOT and water-vapour means, and the limit of the
/// standard normal draw (so an AOT mean stays within a factor exp(0.35·2) ≈ 2 of `--aot`).
const AOT_LOG_SIGMA: f64 = 0.35;
const WV_LOG_SIGMA: f64 = 0.2;
const DRAW_LIMIT: f64 = 2.0;

/// Climatological frequencies of the cloud situations drawn per date.
const SKIES: [(Situation, f64); 5] = [
    (Situation::None, 0.4),
    (Situation::Scattered, 0.3),
    (Situation::Overcast, 0.15),
    (Situation::Cirrus, 0.1),
    (Situation::Mixed, 0.05),
];

/// The situation of uniform draw `u` in [0, 1).
fn sky_of_unit(u: f64) -> Situation {
    let mut acc = 0.0;
    for (sky, p) in SKIES {
        acc += p;
        if u < acc {
            return sky;
        }
    }
    Situation::Mixed
}

/// A series to simulate.
#[derive(Debug, Clone)]
pub struct SeriesSpec {
    /// What every date shares (site, position, grid, seed, relief, time of day, flags, the
    /// `--aot`/`--wv` means); its date is replaced by each date's.
    pub base: SceneSpec,
    /// The dates, strictly increasing.
    pub dates: Vec<NaiveDate>,
    /// Draw a sky per date (false: clear skies on every date).
    pub clouds: bool,
}

/// What was drawn for one date (a `series.json` entry).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DateConditions {
    #[serde(serialize_with = "iso_date")]
    pub date: NaiveDate,
    /// Scene folder, relative to the series folder.
    pub folder: String,
    /// Mean AOT at 550 nm and mean water-vapour column (g/cm²) of the date (with `--luts`).
    pub aot_mean: Option<f64>,
    pub wv_mean: Option<f64>,
    pub sky: Situation,
    /// The clouds of the date (`None`: clear sky).
    pub clouds: Option<CloudSpec>,
}

#[derive(Serialize)]
struct SeriesRecord<'a> {
    site: &'a str,
    nick: String,
    lon: f64,
    lat: f64,
    lines: usize,
    cols: usize,
    seed: u64,
    time_utc: String,
    dates: &'a [DateConditions],
}

/// `count` dates from `start` (YYYY-MM-DD), `every` days apart.
pub fn dates_from(start: &str, count: u32, every: u32) -> Result<Vec<NaiveDate>> {
    let first = parse_date("--start", start)?;
    if count == 0 || every == 0 {
        return Err(VipError::Usage(format!(
            "--count {count} --every {every}: both must be at least 1"
        )));
    }
    (0..count)
        .map(|k| {
            first
                .checked_add_days(chrono::Days::new(u64::from(k) * u64::from(every)))
                .ok_or_else(|| VipError::Usage(format!("--start {start}: dates run out of range")))
        })
        .collect()
}

/// The dates of a comma-separated list, which must be strictly increasing.
pub fn dates_of_list(list: &str) -> Result<Vec<NaiveDate>> {
    let mut dates: Vec<NaiveDate> = Vec::new();
    for (k, item) in list.split(',').enumerate() {
        if item.trim().is_empty() {
            return Err(VipError::Usage(format!(
                "--dates {list}: date {} is empty (expected D1,D2,... as YYYY-MM-DD)",
                k + 1
            )));
        }
        let d = parse_date("--dates", item.trim())?;
        if let Some(&last) = dates.last() {
            if d <= last {
                let why = if d == last {
                    "repeated"
                } else {
                    "out of order"
                };
                return Err(VipError::Usage(format!(
                    "--dates: {d} is {why} (dates must be increasing)"
                )));
            }
        }
        dates.push(d);
    }
    Ok(dates)
}

fn parse_date(flag: &str, s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| VipError::Usage(format!("{flag} {s}: {e} (expected YYYY-MM-DD)")))
}

impl SeriesSpec {
    /// What is drawn for `date`: a function of the seed and the date only.
    pub fn conditions(&self, date: NaiveDate) -> DateConditions {
        let day = i64::from(chrono::Datelike::num_days_from_ce(&date));
        let seed = self.base.seed;
        let normal =
            |k: i64| noise::gaussian(seed, DRAW_KEY, day, k).clamp(-DRAW_LIMIT, DRAW_LIMIT);
        let atm = self.base.atmosphere.as_ref();
        let sky = if self.clouds {
            sky_of_unit(noise::unit(noise::hash(seed, DRAW_KEY, day, 3)))
        } else {
            Situation::None
        };
        DateConditions {
            date,
            folder: date.format("%Y%m%d").to_string(),
            aot_mean: atm.map(|a| a.aot_mean * (AOT_LOG_SIGMA * normal(1)).exp()),
            wv_mean: atm.map(|a| a.wv_mean * (WV_LOG_SIGMA * normal(2)).exp()),
            sky,
            clouds: CloudSpec::situation(sky, noise::hash(seed, DRAW_KEY, day, 4)),
        }
    }

    /// The scene of one date.
    pub fn scene(&self, c: &DateConditions) -> SceneSpec {
        let mut spec = self.base.clone();
        spec.date = c.date;
        if let (Some(a), Some(aot), Some(wv)) = (&mut spec.atmosphere, c.aot_mean, c.wv_mean) {
            a.aot_mean = aot;
            a.wv_mean = wv;
        }
        spec.clouds = c.clouds.clone();
        spec
    }
}

/// Writes the series under `opts.output` (which must not exist unless `--overwrite`) and
/// returns the L1A header of every date, oldest first.
pub fn write_series(spec: &SeriesSpec, opts: &Options) -> Result<Vec<PathBuf>> {
    if spec.dates.is_empty() {
        return Err(VipError::Usage("vip-sim series: no dates".into()));
    }
    if let Some(w) = spec.dates.windows(2).find(|w| w[1] <= w[0]) {
        return Err(VipError::Usage(format!(
            "--dates: {} is out of order or repeated (dates must be increasing)",
            w[1]
        )));
    }
    check_before_writing(&spec.base)?;
    let staged = Staged::dir(&opts.output, opts.overwrite)?;
    let root = staged.path().to_path_buf();
    let conditions: Vec<DateConditions> = spec.dates.iter().map(|&d| spec.conditions(d)).collect();
    let mut l1a = Vec::new();
    for c in &conditions {
        let scene_opts = Options {
            output: root.join(&c.folder),
            overwrite: false,
            ..opts.clone()
        };
        log::info!("{}: clouds {:?}", c.folder, c.sky);
        for p in super::write_scene(&spec.scene(c), &scene_opts)? {
            l1a.push(relative(&p, &root)?);
        }
    }
    let record = SeriesRecord {
        site: &spec.base.site,
        nick: spec.base.nick()?,
        lon: spec.base.centre_lonlat.0,
        lat: spec.base.centre_lonlat.1,
        lines: spec.base.lines,
        cols: spec.base.cols,
        seed: spec.base.seed,
        time_utc: spec.base.time.format("%H:%M:%S").to_string(),
        dates: &conditions,
    };
    let json = serde_json::to_string_pretty(&record)
        .map_err(|e| VipError::Internal(format!("series.json: {e}")))?;
    let path = root.join("series.json");
    std::fs::write(&path, json + "\n").map_err(|e| VipError::output_io(&path, &e))?;
    let dest = staged.commit()?;
    Ok(l1a.into_iter().map(|p| dest.join(p)).collect())
}

/// What each date's scene would refuse, refused before anything is written: the site's nick
/// name, the atmosphere's means (each date's are the base's times a positive factor) and the
/// LUT set.
fn check_before_writing(base: &SceneSpec) -> Result<()> {
    base.nick()?;
    if let Some(a) = &base.atmosphere {
        for (flag, v) in [("--aot", a.aot_mean), ("--wv", a.wv_mean)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(VipError::Usage(format!("{flag} {v}: must be positive")));
            }
        }
        LutSet::read(&a.luts, &a.model)?;
    }
    Ok(())
}

fn iso_date<S: serde::Serializer>(d: &NaiveDate, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(&d.format("%Y-%m-%d"))
}

fn relative(p: &Path, root: &Path) -> Result<PathBuf> {
    p.strip_prefix(root)
        .map(Path::to_path_buf)
        .map_err(|_| VipError::Internal(format!("{} outside the series", p.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn date_lists() {
        assert_eq!(
            dates_from("2024-02-27", 3, 2).unwrap(),
            [d("2024-02-27"), d("2024-02-29"), d("2024-03-02")]
        );
        assert_eq!(dates_of_list("2024-01-01, 2024-01-05").unwrap().len(), 2);
        for (list, needle) in [
            ("2024-01-05,2024-01-01", "2024-01-01 is out of order"),
            ("2024-01-05,2024-01-05", "2024-01-05 is repeated"),
            ("2024-01-05,2024-13-01", "--dates 2024-13-01"),
            (
                "2024-01-05,,2024-01-09",
                "--dates 2024-01-05,,2024-01-09: date 2 is empty",
            ),
            ("", "--dates : date 1 is empty"),
        ] {
            let e = dates_of_list(list).unwrap_err();
            assert!(
                matches!(e, VipError::Usage(_)) && e.to_string().contains(needle),
                "{e}"
            );
        }
    }

    #[test]
    fn draws_depend_on_seed_and_date_only_and_have_their_frequencies() {
        let base = SceneSpec::new("SIMULSIT", "2024-01-01", "10:30:00", 64, 64, 9, 100.0).unwrap();
        let mut spec = SeriesSpec {
            base,
            dates: vec![],
            clouds: true,
        };
        spec.base.atmosphere = Some(super::super::atmosphere::AtmosphereSpec {
            luts: PathBuf::new(),
            model: crate::atmosphere::luts::DEFAULT_MODEL.into(),
            aot_mean: 0.2,
            wv_mean: 2.0,
        });
        let days: Vec<_> = (0..4000)
            .map(|k| d("2020-01-01") + chrono::Days::new(k))
            .collect();
        let all: Vec<_> = days.iter().map(|&x| spec.conditions(x)).collect();
        assert_eq!(spec.conditions(days[17]), all[17]);
        let share =
            |s: Situation| all.iter().filter(|c| c.sky == s).count() as f64 / all.len() as f64;
        for (sky, p) in SKIES {
            // Binomial σ over 4000 draws is under 0.008.
            assert!((share(sky) - p).abs() < 0.03, "{sky:?} {}", share(sky));
        }
        let aot: Vec<f64> = all.iter().map(|c| c.aot_mean.unwrap()).collect();
        assert!(aot.iter().all(|&a| (0.099..=0.41).contains(&a)));
        // Log-normal: the median of the draws is the given mean.
        let mut sorted = aot.clone();
        sorted.sort_by(f64::total_cmp);
        assert!((sorted[2000] - 0.2).abs() < 0.01, "{}", sorted[2000]);
        spec.clouds = false;
        assert!(days.iter().all(|&x| spec.conditions(x).clouds.is_none()));
    }
}
