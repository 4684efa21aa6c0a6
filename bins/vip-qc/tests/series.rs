mod common;

use common::{declare_cloud, edit_image, json, l1c_of, Scene, BIN};
use vip_testkit::run;

const DRIFT_PER_YEAR: f64 = 0.02;

/// The dates of the series: the same day of four years, so the sun (hence the simulated TOA
/// reflectance) is nearly the same and a calibration drift stands out.
const DATES: [&str; 4] = ["2021-02-15", "2022-02-15", "2023-02-15", "2024-02-15"];

fn years_since_first(date: &str) -> f64 {
    let d = |s: &str| chrono_days(s);
    (d(date) - d(DATES[0])) as f64 / 365.25
}

/// Days since 1970-01-01 of `YYYY-MM-DD` (civil calendar).
fn chrono_days(s: &str) -> i64 {
    let p: Vec<i64> = s.split('-').map(|x| x.parse().unwrap()).collect();
    let (y, m, d) = if p[1] <= 2 {
        (p[0] - 1, p[1] + 12, p[2])
    } else {
        (p[0], p[1], p[2])
    };
    365 * y + y / 4 - y / 100 + y / 400 + (153 * (m - 3) + 2) / 5 + d - 719_469
}

/// The pixels vip-qc reads, dumped band-sequential as raw int16 (the oracle has no GDAL).
fn raw_image(s: &Scene, name: &str) -> std::path::PathBuf {
    let raw = s.sim.scratch(name);
    let st = std::process::Command::new("gdal_translate")
        .args(["-q", "-of", "ENVI", "-co", "INTERLEAVE=BSQ", "-ot", "Int16"])
        .arg(s.image())
        .arg(&raw)
        .status()
        .unwrap();
    assert!(st.success());
    raw
}

/// Four dates of one site, band B04 made to drift by a known gain, masks edited so that
/// every kind of unstable pixel occurs: the trend gives the drift back; the per-date means,
/// stable-pixel count and cloud percentages agree with numpy on the raw images; the slope and
/// its standard error agree with scipy's linregress.
#[test]
fn series_recovers_a_known_drift() {
    let scenes: Vec<Scene> = DATES
        .iter()
        .map(|d| l1c_of("SIMULSIT", d, 90, 70, 5))
        .collect();
    for (k, (s, d)) in scenes.iter().zip(DATES).enumerate() {
        let gain = 1.0 + DRIFT_PER_YEAR * years_since_first(d);
        edit_image(&s.hdr, |band, v| match band {
            4 => v
                .iter_mut()
                .filter(|x| **x != -10000.0)
                .for_each(|x| *x = (*x * gain).round()),
            // A nodata block in B01 of the first product.
            1 if k == 0 => v[..70 * 5].iter_mut().for_each(|x| *x = -10000.0),
            // B04 saturated on a few pixels of the second; defective B12 on the third (kept:
            // interpolated pixels are not unstable).
            13 if k == 1 => v[2000..2100].iter_mut().for_each(|x| *x = 8.0),
            14 if k == 2 => v[3000..3040].iter_mut().for_each(|x| *x = 2048.0),
            // A cloud in the fourth.
            15 if k == 3 => v[70 * 40..70 * 55].iter_mut().for_each(|x| *x = 1.0),
            _ => {}
        });
        // Cloud detection ran: the masks are measurements (cloud cover is not measured
        // otherwise; see cloud_cover_not_measured_is_null_and_a_dash).
        declare_cloud(&s.hdr, if k == 3 { "16.7" } else { "0.0" });
    }
    // Given in reverse: the series sorts by date.
    let mut args = vec!["series".to_string(), "--json".into()];
    args.extend(scenes.iter().rev().map(|s| s.hdr.display().to_string()));
    args.extend(["--ram", "16", "--threads", "2"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let ours = json(&args);
    let bands = ours["bands"].as_array().unwrap();
    assert_eq!(bands.len(), 12);
    let dates = ours["dates"].as_array().unwrap();
    for (d, want) in dates.iter().zip(DATES) {
        assert!(d["acquisition"].as_str().unwrap().starts_with(want));
        assert!((d["years"].as_f64().unwrap() - years_since_first(want)).abs() < 1e-9);
        assert!(d["aot"].is_null(), "an L1C has no AOT");
    }
    for t in ours["trends"].as_array().unwrap() {
        let band = t["band"].as_str().unwrap();
        let drift = t["relative_drift_per_year"].as_f64().unwrap();
        let want = if band == "B04" { DRIFT_PER_YEAR } else { 0.0 };
        assert!(
            (drift - want).abs() < 1e-3,
            "{band}: relative drift {drift}, want {want}"
        );
    }

    // Oracle: numpy on the raw images.
    let raws: Vec<String> = scenes
        .iter()
        .enumerate()
        .map(|(k, s)| raw_image(s, &format!("img{k}.raw")).display().to_string())
        .collect();
    let py = r#"
import sys, json
import numpy as np
h, w = 90, 70
imgs = [np.fromfile(p, dtype='<i2').reshape(15, h, w).astype(np.int64) for p in sys.argv[1:]]
valid = [np.all(im[:12] != -10000, axis=0) for im in imgs]
stable = np.ones((h, w), bool)
for im, v in zip(imgs, valid):
    stable &= v & ((im[12] & 0xfff) == 0) & ((im[14] & 1) == 0)
means = [[float((im[b][stable] * 0.001).mean()) for b in range(12)] for im in imgs]
cloud = [float(100.0 * np.sum(v & ((im[14] & 1) != 0)) / np.sum(v)) for im, v in zip(imgs, valid)]
print(json.dumps({"stable": int(stable.sum()), "means": means, "cloud": cloud}))
"#;
    let args: Vec<&str> = raws.iter().map(String::as_str).collect();
    let want: serde_json::Value =
        serde_json::from_str(&vip_testkit::python_oracle(py, &args)).unwrap();
    let stable = want["stable"].as_u64().unwrap();
    assert!(stable > 3000 && stable < 90 * 70, "{stable}");
    for t in ours["trends"].as_array().unwrap() {
        assert_eq!(t["stable_pixels"].as_u64(), Some(stable));
    }
    for (k, d) in dates.iter().enumerate() {
        let c = d["cloud_percentage"].as_f64().unwrap();
        let wc = want["cloud"][k].as_f64().unwrap();
        assert!((c - wc).abs() < 1e-9, "date {k}: cloud {c} vs {wc}");
        for b in 0..12 {
            let m = d["mean"][b].as_f64().unwrap();
            let wm = want["means"][k][b].as_f64().unwrap();
            assert!((m - wm).abs() < 1e-12, "date {k} band {b}: {m} vs {wm}");
        }
    }
    // 15 of 90 lines.
    assert!((dates[3]["cloud_percentage"].as_f64().unwrap() - 100.0 / 6.0).abs() < 1e-9);

    // Oracle: scipy's least squares on our per-date means of B04.
    let b04: Vec<String> = dates.iter().map(|d| d["mean"][3].to_string()).collect();
    let t: Vec<String> = DATES
        .iter()
        .map(|d| years_since_first(d).to_string())
        .collect();
    let py = r#"
import sys, json
from scipy import stats
n = (len(sys.argv) - 1) // 2
t = [float(x) for x in sys.argv[1:1 + n]]
v = [float(x) for x in sys.argv[1 + n:]]
r = stats.linregress(t, v)
print(json.dumps({"slope": r.slope, "stderr": r.stderr, "intercept": r.intercept}))
"#;
    let args: Vec<&str> = t.iter().chain(&b04).map(String::as_str).collect();
    let lr: serde_json::Value =
        serde_json::from_str(&vip_testkit::python_oracle(py, &args)).unwrap();
    let trend = &ours["trends"][3];
    for (ours_key, key) in [
        ("slope_per_year", "slope"),
        ("slope_stderr", "stderr"),
        ("intercept", "intercept"),
    ] {
        let (a, b) = (trend[ours_key].as_f64().unwrap(), lr[key].as_f64().unwrap());
        assert!(
            (a - b).abs() <= 1e-9 * b.abs().max(1e-6),
            "{ours_key} {a} vs {b}"
        );
    }
}

/// The TSV table: a header and one line per date, a blank line, one trend line per band;
/// the same answer whatever the threads and the memory budget.
#[test]
fn tsv_by_default_and_independent_of_threads() {
    let scenes: Vec<Scene> = DATES[..2]
        .iter()
        .map(|d| l1c_of("SIMULSIT", d, 40, 30, 2))
        .collect();
    let hdrs: Vec<String> = scenes.iter().map(|s| s.hdr.display().to_string()).collect();
    let mut a: Vec<&str> = vec!["series"];
    a.extend(hdrs.iter().map(String::as_str));
    let one = run(BIN, &[&a[..], &["--threads", "1"]].concat());
    let two = run(BIN, &[&a[..], &["--threads", "2", "--ram", "16"]].concat());
    assert_eq!(one.code(0).stdout, two.code(0).stdout);
    let blocks: Vec<&str> = one.stdout.split("\n\n").collect();
    assert_eq!(blocks.len(), 2, "{}", one.stdout);
    let dates: Vec<&str> = blocks[0].lines().collect();
    assert_eq!(dates.len(), 3);
    assert!(dates[0].starts_with(
        "acquisition\tproduct\tcloud_percentage\taot\theader_cloud_percentage\t\
         shadow_percentage\tsnow_percentage\twater_percentage\tclear_pixels\tstatus\tB01"
    ));
    assert_eq!(dates[1].split('\t').count(), 22);
    assert_eq!(dates[1].split('\t').nth(3), Some("NA"), "no AOT in an L1C");
    // An L1C has a cloud mask, no snow or water mask.
    assert_eq!(
        dates[1].split('\t').nth(6),
        Some("NA"),
        "no snow mask in an L1C"
    );
    assert_eq!(dates[1].split('\t').nth(9), Some("ok"));
    let trends: Vec<&str> = blocks[1].lines().collect();
    assert_eq!(trends.len(), 13);
    // Two dates: a slope but no standard error.
    assert_eq!(trends[1].split('\t').nth(4), Some("NA"));
}

/// Regression: an L1C declaring no cloud percentage (no cloud detection ran, as vip-l1 did
/// before it detected clouds) has a cloud mask that is a placeholder of zeros, which series
/// once reported as 0 % cloud. That cover is not measured: null in JSON, `-` in the table and
/// the HTML report; a product whose header declares a percentage gets the measured one.
#[test]
fn cloud_cover_not_measured_is_null_and_a_dash() {
    let scenes: Vec<Scene> = DATES[..2]
        .iter()
        .map(|d| l1c_of("SIMULSIT", d, 40, 30, 3))
        .collect();
    for s in &scenes {
        declare_cloud(&s.hdr, "NIL=N/A");
    }
    let hdrs: Vec<String> = scenes.iter().map(|s| s.hdr.display().to_string()).collect();
    let report = scenes[0].sim.scratch("report");
    let args = [
        "series",
        &hdrs[0],
        &hdrs[1],
        "--report",
        report.to_str().unwrap(),
    ];
    let r = run(BIN, &args);
    r.code(0);
    let cloud: Vec<&str> = r
        .stdout
        .lines()
        .skip(1)
        .take(2)
        .map(|l| l.split('\t').nth(2).unwrap())
        .collect();
    assert_eq!(cloud, ["-", "-"], "{}", r.stdout);
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    assert!(
        html.contains(r.stdout.lines().nth(1).unwrap()),
        "the report's table is the printed one"
    );
    let j = json(&["series", &hdrs[0], &hdrs[1], "--json"]);
    for d in j["dates"].as_array().unwrap() {
        assert!(d["cloud_percentage"].is_null(), "{d}");
    }

    // Declared on the second date, with a quarter of the mask cloudy: measured there only.
    edit_image(&scenes[1].hdr, |band, v| {
        if band == 15 {
            let n = v.len() / 4;
            v[..n].fill(1.0);
        }
    });
    declare_cloud(&scenes[1].hdr, "25.0");
    let j = json(&["series", &hdrs[0], &hdrs[1], "--json"]);
    let dates = j["dates"].as_array().unwrap();
    assert!(dates[0]["cloud_percentage"].is_null());
    let c = dates[1]["cloud_percentage"].as_f64().unwrap();
    assert!((c - 25.0).abs() < 1e-9, "{c}");
}

/// A product of another site or another grid is a bad input naming it.
#[test]
fn other_site_or_grid_is_bad_input_naming_the_file() {
    let a = l1c_of("SIMULSIT", "2024-03-15", 40, 30, 2);
    let other_grid = l1c_of("SIMULSIT", "2024-04-15", 40, 36, 2);
    let other_site = l1c_of("OTHERSIT", "2024-05-15", 40, 30, 2);
    let p = |s: &Scene| s.hdr.display().to_string();
    run(BIN, &["series", &p(&a), &p(&other_grid)])
        .code(3)
        .one_error_line("20240415")
        .stderr_has("not the same grid");
    run(BIN, &["series", &p(&a), &p(&other_site)])
        .code(3)
        .one_error_line(other_site.hdr.file_name().unwrap().to_str().unwrap())
        .stderr_has("site");
    let truth = a.sim.dir.join("truth/TOA_B04.tif");
    run(BIN, &["series", &p(&a), truth.to_str().unwrap()])
        .code(3)
        .one_error_line("TOA_B04.tif");
}

/// Two L2A of one site (vip-sim with an atmosphere, vip-l1, vip-maccs l2): the series carries
/// each date's AOT, read from the products' ATB, close to the simulated one.
#[test]
fn series_of_l2a_products_reads_their_aot() {
    let luts = vip_testkit::project_root().join("testdata/luts");
    let mut products = Vec::new();
    let mut truth = Vec::new();
    let mut scenes = Vec::new();
    for (date, aot) in [("2024-06-15", 0.1), ("2024-06-25", 0.35)] {
        let mut spec =
            vip::sim::SceneSpec::new("QCL2SITE", date, "10:30:00", 320, 320, 9, 300.0).unwrap();
        spec.atmosphere = Some(vip::sim::atmosphere::AtmosphereSpec {
            model: vip::atmosphere::luts::DEFAULT_MODEL.into(),
            luts: luts.clone(),
            aot_mean: aot,
            wv_mean: 1.5,
        });
        let s = vip_testkit::SimScene::of(spec);
        let l1c = s.l1c();
        let l2 = vip::level2::L2Options {
            gipp: s.gipp(),
            dem: s.dem(),
            context: None,
            mode: None,
            model: None,
            params: vip::level2::Params::default(),
        };
        let opts = vip::cli::Options {
            output: s.scratch("L2"),
            threads: 2,
            ..Default::default()
        };
        products.push(vip::level2::process(&l1c, &l2, &opts).unwrap());
        let (t, ..) = vip_testkit::read_band(&s.dir.join("truth/AOT.tif"), 1);
        truth.push(t.iter().sum::<f64>() / t.len() as f64);
        scenes.push(s);
    }
    let args: Vec<String> = ["series".to_string(), "--json".into()]
        .into_iter()
        .chain(products.iter().map(|p| p.display().to_string()))
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let j = json(&args);
    let dates = j["dates"].as_array().unwrap();
    assert_eq!(dates.len(), 2);
    for (d, t) in dates.iter().zip(&truth) {
        let aot = d["aot"].as_f64().unwrap();
        assert!(
            (aot - t).abs() < 0.05,
            "series AOT {aot}, simulated mean {t}"
        );
    }
}
