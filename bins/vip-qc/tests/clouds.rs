//! vip-qc on the cloud layers of a real chain: vip-sim scenes of one site, a clear date and a
//! date under scattered cumulus, through vip-l1 and vip-maccs l2 (the library entry points the
//! binaries call). The masks' cloud percentage vip-qc computes agrees with the one each
//! processor wrote in its header (same definition: the header's value is rounded to 0.1 %);
//! the series excludes cloudy pixels: over its clear pixels the cloudy date's reflectance is
//! close to the clear date's, over all its pixels it is not.
//!
//! Oracle: the headers' `Cloud_Percentage`, written by vip-l1 and vip-maccs l2 from their own
//! masks (none of vip-qc's code), and the all-pixel means of `vip-qc stats`, which
//! `tests/stats.rs` checks against `gdalinfo -stats`.

mod common;

use std::path::PathBuf;

use common::{json, BIN};
use vip::sim::clouds::{CloudSpec, Situation};
use vip_testkit::{run, SimScene};

const SIDE: u32 = 256;
const SITE: &str = "QCCLDSIT";
/// Largest difference between vip-qc's cloud percentage and the header's: the header's
/// rounding to 0.1 %.
const HEADER_ROUNDING: f64 = 0.05 + 1e-9;

/// A scene of the site on `date` under `clouds`, its L1C and its L2A.
fn chain(date: &str, clouds: Situation) -> (SimScene, PathBuf, PathBuf) {
    let mut spec = vip::sim::SceneSpec::new(SITE, date, "10:30:00", SIDE, SIDE, 7, 300.0).unwrap();
    spec.atmosphere = Some(vip::sim::atmosphere::AtmosphereSpec {
        model: vip::atmosphere::luts::DEFAULT_MODEL.into(),
        luts: vip_testkit::project_root().join("testdata/luts"),
        aot_mean: 0.1,
        wv_mean: 1.5,
    });
    spec.clouds = CloudSpec::situation(clouds, 3);
    let s = SimScene::of(spec);
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
    let l2a = vip::level2::process(&l1c, &l2, &opts).unwrap();
    (s, l1c, l2a)
}

fn path(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

/// Mean reflectance of band `name` over all its valid pixels, from `vip-qc stats`.
fn all_pixel_mean(stats: &serde_json::Value, name: &str) -> f64 {
    let b = stats["bands"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == name)
        .unwrap();
    b["mean"].as_f64().unwrap() * b["scale"].as_f64().unwrap()
}

#[test]
fn cloud_percentages_agree_with_the_headers_and_series_excludes_clouds() {
    let (_clear_scene, clear_l1c, clear_l2a) = chain("2024-06-15", Situation::None);
    let (cloudy_scene, cloudy_l1c, cloudy_l2a) = chain("2024-06-16", Situation::Scattered);

    // check: the mask's cloud percentage against the header's, for the L1C and the L2A.
    let mut figures = Vec::new();
    for p in [&clear_l1c, &clear_l2a, &cloudy_l1c, &cloudy_l2a] {
        let r = run(BIN, &["check", path(p), "--json"]);
        let j: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        let m = &j["masks"];
        let (ours, header) = (
            m["cloud_percentage"].as_f64().unwrap(),
            m["header_cloud_percentage"].as_f64().unwrap(),
        );
        eprintln!(
            "{}: cloud {ours:.3} % (header {header}), cloud+extension+shadow {}, shadow {}, \
             snow {}, water {}, clear {} of {}",
            j["product"],
            m["cloud_all_percentage"],
            m["shadow_percentage"],
            m["snow_percentage"],
            m["water_percentage"],
            m["clear_pixels"],
            m["seen_pixels"]
        );
        assert!(
            (ours - header).abs() <= HEADER_ROUNDING,
            "{}: mask {ours} %, header {header} %",
            p.display()
        );
        let cloud: Vec<&serde_json::Value> = j["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "cloud" && f["subject"] == "CLD")
            .collect();
        assert_eq!(cloud.len(), 1, "{j}");
        assert_eq!(cloud[0]["status"], "pass", "{j}");
        figures.push(ours);
    }
    // The scattered cumulus covers a share of the scene; the clear date next to nothing.
    assert!(figures[3] > 5.0, "cloudy L2A: {} %", figures[3]);
    assert!(figures[1] < 1.0, "clear L2A: {} %", figures[1]);

    // The HTML report shows the masks over the quicklook: red where CLD has a cloud.
    let dir = cloudy_scene.scratch("check-report");
    run(BIN, &["check", path(&cloudy_l2a), "--report", path(&dir)]).code(0);
    assert!(dir.join("s1-masks.png").is_file());
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(html.contains("s1-masks.png"));
    let rep: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let fig = rep["sections"][0]["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["file"] == "s1-masks.png")
        .unwrap();
    let rgb: Vec<u64> = fig["rgb"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let red = rgb
        .chunks(3)
        .filter(|p| p[0] > p[1] + 60 && p[0] > p[2] + 60)
        .count() as f64
        / (rgb.len() / 3) as f64;
    eprintln!("masks.png: {:.1} % red (cloud)", 100.0 * red);
    assert!(red > 0.01, "{red}");

    // stats carries the same summary.
    let stats = json(&["stats", path(&cloudy_l2a), "--json"]);
    assert_eq!(
        stats["masks"]["cloud_percentage"].as_f64(),
        Some(figures[3])
    );

    // series: over clear pixels the two dates agree, over all pixels they do not.
    let series = json(&["series", path(&clear_l2a), path(&cloudy_l2a), "--json"]);
    let dates = series["dates"].as_array().unwrap();
    assert_eq!(dates.len(), 2);
    for d in dates {
        assert_eq!(d["status"], "ok", "{d}");
        assert!(d["clear_pixels"].as_u64().unwrap() > 0);
        assert!(d["snow_percentage"].is_number() && d["water_percentage"].is_number());
    }
    let clear_stats = json(&["stats", path(&clear_l2a), "--json"]);
    let bands: Vec<&str> = series["bands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap())
        .collect();
    for name in ["B03", "B07", "B10"] {
        let b = bands.iter().position(|n| *n == name).unwrap();
        let stable = |k: usize| dates[k]["mean"][b].as_f64().unwrap();
        let own = |k: usize| dates[k]["clear_mean"][b].as_f64().unwrap();
        let all = (
            all_pixel_mean(&clear_stats, name),
            all_pixel_mean(&stats, name),
        );
        eprintln!(
            "{name}: stable pixels {:.4} / {:.4}, each date's clear pixels {:.4} / {:.4}, \
             all pixels {:.4} / {:.4}",
            stable(0),
            stable(1),
            own(0),
            own(1),
            all.0,
            all.1
        );
        let d_stable = (stable(1) - stable(0)).abs();
        let d_own = (own(1) - own(0)).abs();
        let d_all = (all.1 - all.0).abs();
        assert!(
            d_stable < 0.01,
            "{name}: stable pixels differ by {d_stable}"
        );
        assert!(d_own < 0.01, "{name}: clear pixels differ by {d_own}");
        assert!(
            d_all > 3.0 * d_stable.max(d_own) && d_all > 0.02,
            "{name}: all pixels differ by only {d_all}"
        );
    }

    // A date with too few clear pixels is reported, not averaged.
    let r = run(
        BIN,
        &[
            "series",
            path(&clear_l2a),
            path(&cloudy_l2a),
            "--json",
            "--min-clear",
            "100",
        ],
    );
    let j: serde_json::Value = serde_json::from_str(&r.code(0).stdout).unwrap();
    let d = &j["dates"][1];
    assert_eq!(d["status"], "too_few_clear_pixels", "{d}");
    assert!(
        d["mean"][0].is_null() && d["clear_mean"][0].is_null(),
        "{d}"
    );
    r.stderr_has("not averaged");
    drop(cloudy_scene);
}
