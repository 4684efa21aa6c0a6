//! vip-sim's command line: the conventions every tool keeps, the examples of `series`, and bad
//! input refused with exit 2 (usage) or 3 (bad input file), one message naming the value, and
//! nothing written. Unknown sites and latitudes of `scene` are in tests/sites.rs, bad date
//! lists in tests/series.rs, the cloud parameters' ranges in tests/clouds.rs; here the rest.

use std::path::Path;

use vip_testkit::{project_root, run};

const SIM: &str = env!("CARGO_BIN_EXE_vip-sim");

#[test]
fn common_cli_conventions() {
    vip_testkit::check_common_cli(SIM, "vip-sim");
}

#[test]
fn series_writes_rasters_and_shows_examples() {
    vip_testkit::check_output_flags(SIM, &["series"], &vip_testkit::OUTPUT_FLAGS);
    let help = run(SIM, &["series", "--help"]);
    help.code(0)
        .stdout_has("EXAMPLES:")
        .stdout_has("vip-sim series --site FR-LAM --start 2024-03-01 --count 8")
        .stdout_has("--dates 2024-01-10,2024-02-11,2024-04-02")
        .stdout_has("vip-l1 \"$l1a\" --gipp \"$d/GIPP\"");
    run(SIM, &["--help"])
        .code(0)
        .stdout_has("vip-sim series --site FR-LAM");
}

/// Runs `args` into a folder of a fresh temporary directory: exit `code`, one ERROR line with
/// `needle`, and the directory still empty.
fn refused(code: i32, args: &[&str], needle: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("S");
    let mut all = args.to_vec();
    all.extend_from_slice(&["--lines", "32", "--cols", "32", "-o", out.to_str().unwrap()]);
    run(SIM, &all).code(code).one_error_line(needle);
    assert!(
        std::fs::read_dir(tmp.path()).unwrap().next().is_none(),
        "{args:?} wrote something"
    );
}

#[test]
fn bad_places_of_a_series_are_refused() {
    refused(
        2,
        &["series", "--site", "NOWHERE", "--start", "2024-03-01"],
        "--site NOWHERE: unknown site; known sites: SIMULSIT, CAMARGUE, ARM, ATTO, K34-AMAZ, \
         FR-BIL, FR-LAM, FR-LQ1",
    );
    for (lat, needle) in [("82", "--lat 82"), ("-81.01", "--lat -81.01")] {
        refused(
            2,
            &[
                "series",
                "--site",
                "X",
                "--lat",
                lat,
                "--lon",
                "3",
                "--start",
                "2024-03-01",
            ],
            needle,
        );
    }
    refused(
        2,
        &[
            "series",
            "--site",
            "TOO-LONG-NAME",
            "--lat",
            "10",
            "--lon",
            "3",
            "--start",
            "2024-03-01",
        ],
        "TOO-LONG-NAME",
    );
}

#[test]
fn bad_dates_and_atmospheres_of_a_series_are_refused_before_anything_is_written() {
    refused(
        2,
        &["series", "--dates", "2024-03-01,,2024-03-05"],
        "--dates 2024-03-01,,2024-03-05: date 2 is empty",
    );
    run(
        SIM,
        &[
            "series",
            "--start",
            "2024-03-01",
            "--count",
            "0",
            "-o",
            "NEVER",
        ],
    )
    .code(2)
    .stderr_has("invalid value '0' for '--count");
    assert!(!Path::new("NEVER").exists());
    let luts = project_root().join("testdata/luts");
    let luts = luts.to_str().unwrap();
    for (flag, v) in [("--aot", "-0.1"), ("--aot", "0"), ("--wv", "-1")] {
        refused(
            2,
            &["series", "--start", "2024-03-01", "--luts", luts, flag, v],
            &format!("{flag} {v}: must be positive"),
        );
    }
    // A missing LUT folder is bad input (exit 3), named, refused before the first date.
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-luts");
    let missing = missing.to_str().unwrap();
    for sub in [&["scene"][..], &["series", "--start", "2024-03-01"]] {
        let mut args = sub.to_vec();
        args.extend_from_slice(&["--luts", missing]);
        refused(3, &args, missing);
    }
    assert!(!Path::new(missing).exists());
    // An aerosol model without a LUT set in the folder: the line lists those there.
    for sub in [&["scene"][..], &["series", "--start", "2024-03-01"]] {
        let mut args = sub.to_vec();
        args.extend_from_slice(&["--luts", luts, "--aerosol-model", "VOLCANIC"]);
        refused(
            3,
            &args,
            "no LUT set for aerosol model VOLCANIC (available: CONTINEN, DESERT, MARITIME, URBAN)",
        );
    }
}

#[test]
fn cloud_parameters_out_of_range_are_refused() {
    // (the cloud base, low-layer thickness, cirrus altitude and cover ranges: tests/clouds.rs)
    for (args, needle) in [
        (
            &["--clouds", "cirrus", "--cirrus-tau", "0.01:0.5"][..],
            "--cirrus-tau 0.01:0.5",
        ),
        (
            &["--clouds", "overcast", "--cloud-tau", "20:5"][..],
            "--cloud-tau 20:5",
        ),
        (
            &["--clouds", "scattered", "--cloud-base", "nan"][..],
            "--cloud-base NaN",
        ),
        (
            &["--clouds", "scattered", "--cirrus-tau", "0.1:0.2"][..],
            "--cirrus-tau: --clouds Scattered has no cirrus layer",
        ),
        (
            &["--clouds", "scattered", "--cloud-base", "-1"][..],
            "--cloud-base -1",
        ),
        (&["--relief", "-5"][..], "--relief -5"),
        (&["--relief", "nan"][..], "--relief NaN"),
        (&["--roll", "50"][..], "--roll 50: must be within ±45°"),
        (
            &["--attitude-bias", "0,20000,0"][..],
            "--attitude-bias [0.0, 20000.0, 0.0]: each must be within ±10000 µrad",
        ),
        (
            &["--time-offset", "1500"][..],
            "--time-offset 1500: must be within ±1000 ms",
        ),
        (
            &["--attitude-bias", "1,2"][..],
            "--attitude-bias [1.0, 2.0]: give three values",
        ),
        (
            &["--attitude-noise", "150"][..],
            "--attitude-noise 150: must be within 0-100 µrad",
        ),
    ] {
        let mut all = vec!["scene"];
        all.extend_from_slice(args);
        refused(2, &all, needle);
    }
    // clap's own refusals name the value too (no ERROR line: its usage message).
    let r = run(SIM, &["scene", "--clouds", "hail", "-o", "NEVER"]);
    r.code(2)
        .stderr_has("'hail'")
        .stderr_has("none, scattered, overcast, cirrus, mixed");
    // A series draws each date's sky: it takes --clear, not the cloud flags.
    run(
        SIM,
        &[
            "series",
            "--start",
            "2024-03-01",
            "--clouds",
            "overcast",
            "-o",
            "NEVER",
        ],
    )
    .code(2)
    .stderr_has("unexpected argument '--clouds'");
    assert!(!Path::new("NEVER").exists());
}
