//! vip-sim series: one scene folder per date over one grid and DEM, the per-date atmosphere
//! and sky recorded in series.json and used by each scene, the L1A paths printed oldest
//! first, the same bytes with 1 and 2 threads, a date's scene a function of the seed and that
//! date only, bad date lists refused.

use std::collections::BTreeMap;
use std::path::Path;

use vip_testkit::{files, project_root, run};

const SIM: &str = env!("CARGO_BIN_EXE_vip-sim");

/// The dates of the series of [`series`] and their skies (drawn from seed 3): thin cirrus,
/// scattered cumulus (whose shadows reach the site), clear.
const DATES: &str = "2024-05-02,2024-05-06,2024-05-10";
const SKIES: [&str; 3] = ["cirrus", "scattered", "none"];

/// A series of 64 × 64 pixels of FR-LQ1 with an atmosphere, over `dates` with `seed` and
/// `threads` threads, into `out`; returns the printed L1A paths.
fn series_of(out: &Path, dates: &str, seed: &str, threads: &str) -> Vec<std::path::PathBuf> {
    let luts = project_root().join("testdata/luts");
    let r = run(
        SIM,
        &[
            "series",
            "--site",
            "FR-LQ1",
            "--dates",
            dates,
            "--lines",
            "64",
            "--cols",
            "64",
            "--seed",
            seed,
            "--luts",
            luts.to_str().unwrap(),
            "--threads",
            threads,
            "-q",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    r.code(0);
    r.paths()
}

/// The series of [`DATES`] with seed 3.
fn series(out: &Path, threads: &str) -> Vec<std::path::PathBuf> {
    series_of(out, DATES, "3", threads)
}

/// Every file below `dir` (relative path → bytes).
fn contents(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    files(dir)
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(dir).unwrap().display().to_string();
            (rel, std::fs::read(&p).unwrap())
        })
        .collect()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_series_is_one_scene_per_date_over_one_grid_and_the_same_bytes_for_any_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let (one, two) = (tmp.path().join("T1"), tmp.path().join("T2"));
    let paths = series(&one, "1");
    assert_eq!(series(&two, "2").len(), 3);

    // One L1A per date, oldest first, in its date's scene folder.
    let folders = ["20240502", "20240506", "20240510"];
    assert_eq!(paths.len(), 3);
    for (p, f) in paths.iter().zip(folders) {
        assert!(
            p.starts_with(one.join(f).join("L1A")) && p.is_file(),
            "{}",
            p.display()
        );
        assert!(p.to_str().unwrap().ends_with(&format!("FR_LQ1___{f}.HDR")));
    }

    // The same bytes whatever the thread count, file by file.
    let (a, b) = (contents(&one), contents(&two));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    let differing: Vec<_> = a.keys().filter(|k| a[*k] != b[*k]).collect();
    assert!(
        differing.is_empty(),
        "differ with 1 and 2 threads: {differing:?}"
    );

    // One grid and one DEM for every date; the dates' own conditions in series.json, used
    // by each scene's atmosphere.
    let record = json(&one.join("series.json"));
    assert_eq!(record["site"], "FR-LQ1");
    assert_eq!(record["lat"], 45.6444);
    let dates = record["dates"].as_array().unwrap();
    assert_eq!(dates.len(), 3);
    let dem = &a["20240502/DEM.tif"];
    let mut aots = Vec::new();
    for ((d, f), sky) in dates.iter().zip(folders).zip(SKIES) {
        assert_eq!(d["folder"], f);
        // The drawn sky is the scene's: cloud truth (and the clouds' record) where there are
        // clouds, none under a clear sky.
        assert_eq!(d["sky"], sky, "{f}");
        let cloudy = one.join(f).join("truth/clouds.json").is_file();
        assert_eq!(cloudy, sky != "none", "{f}: clouds.json");
        assert_eq!(a.contains_key(&format!("{f}/truth/SHD.tif")), cloudy, "{f}");
        assert_eq!(&a[&format!("{f}/DEM.tif")], dem, "{f}: another DEM");
        let site = json(&one.join(f).join("site.json"));
        let first = json(&one.join("20240502/site.json"));
        for k in ["epsg", "ulx", "uly", "lines", "cols", "nick"] {
            assert_eq!(site[k], first[k], "{f}: {k}");
        }
        assert!(site["acquisition"].as_str().unwrap().starts_with(&format!(
            "{}-{}-{}T10:19:",
            &f[..4],
            &f[4..6],
            &f[6..]
        )));
        let atm = json(&one.join(f).join("truth/atmosphere.json"));
        assert_eq!(atm["aot_mean"], d["aot_mean"], "{f}");
        assert_eq!(atm["wv_mean"], d["wv_mean"], "{f}");
        let aot = d["aot_mean"].as_f64().unwrap();
        assert!((0.1..=0.4).contains(&aot), "{f}: AOT {aot}");
        aots.push(aot);
    }
    assert!(aots[0] != aots[1] && aots[1] != aots[2], "{aots:?}");
}

#[test]
fn a_date_is_made_of_the_seed_and_that_date_only() {
    let tmp = tempfile::tempdir().unwrap();
    let (all, alone, other) = (
        tmp.path().join("ALL"),
        tmp.path().join("ALONE"),
        tmp.path().join("OTHER"),
    );
    series(&all, "2");
    // The scattered-cumulus date alone: the same scene, byte for byte, as within the series
    // (its draws do not depend on the other dates).
    series_of(&alone, "2024-05-06", "3", "2");
    let (a, b) = (
        contents(&all.join("20240506")),
        contents(&alone.join("20240506")),
    );
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    let differing: Vec<_> = a.keys().filter(|k| a[*k] != b[*k]).collect();
    assert!(differing.is_empty(), "differ alone: {differing:?}");
    // Another seed, another scene.
    series_of(&other, "2024-05-06", "4", "2");
    let c = contents(&other.join("20240506"));
    let l1a = |m: &BTreeMap<String, Vec<u8>>| -> Vec<Vec<u8>> {
        m.iter()
            .filter(|(k, _)| k.starts_with("L1A/") && k.ends_with(".DBL.TIF"))
            .map(|(_, v)| v.clone())
            .collect()
    };
    assert_eq!(l1a(&a).len(), 12);
    assert!(l1a(&a).iter().zip(l1a(&c)).all(|(x, y)| *x != y));
}

#[test]
fn bad_date_lists_are_refused_and_leave_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("S");
    let o = out.to_str().unwrap();
    for (dates, needle) in [
        (
            "2024-03-05,2024-03-01",
            "--dates: 2024-03-01 is out of order",
        ),
        (
            "2024-03-05,2024-03-07,2024-03-07",
            "--dates: 2024-03-07 is repeated",
        ),
        ("2024-03-05,2024-02-30", "--dates 2024-02-30"),
    ] {
        run(SIM, &["series", "--dates", dates, "-o", o])
            .code(2)
            .one_error_line(needle);
    }
    run(SIM, &["series", "--start", "2024-13-01", "-o", o])
        .code(2)
        .one_error_line("--start 2024-13-01");
    run(SIM, &["series", "-o", o]).code(2);
    run(SIM, &["series", "--start", "2024-03-01"])
        .code(2)
        .one_error_line("-o DIR");
    assert!(std::fs::read_dir(tmp.path()).unwrap().next().is_none());
}
