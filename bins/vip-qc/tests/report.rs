//! `--report DIR`: an HTML page with PNG figures and their data, checked in headless Chromium
//! (Debian's `chromium`, installed by scripts/test, driven by vip_testkit::chromium): the page
//! renders and every image loads.

mod common;

use std::path::{Path, PathBuf};

use common::{edit_image, l1c, l1c_of, Scene, BIN};
use vip_testkit::chromium::{chromium, chromium_out, loaded_images};
use vip_testkit::run;

/// Width and height of a PNG file.
fn png_size(path: &Path) -> (u32, u32) {
    let d = png::Decoder::new(std::fs::File::open(path).unwrap());
    let r = d.read_info().unwrap();
    (r.info().width, r.info().height)
}

/// Every image of the report loads in Chromium at the size of its PNG file; returns the
/// image files.
fn assert_renders(report: &Path) -> Vec<PathBuf> {
    let imgs = loaded_images(&report.join("index.html"));
    assert!(!imgs.is_empty(), "no image in {}", report.display());
    imgs.iter()
        .map(|i| {
            let file = report.join(&i.src);
            assert_eq!(
                (i.width, i.height),
                png_size(&file),
                "{} did not load in Chromium",
                i.src
            );
            file
        })
        .collect()
}

fn report_json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

/// A stats report: the screenshot of the page is not blank (plots drawn in colour where the
/// figures are), each image loads, and report.json carries the histograms stats gives.
#[test]
fn stats_report_renders_in_chromium() {
    let s = l1c(60, 50, 3);
    let dir = s.sim.scratch("report");
    let d = dir.to_str().unwrap();
    let hdr = s.hdr.to_str().unwrap();
    let r = run(BIN, &["stats", hdr, "--json", "--report", d]);
    r.code(0);
    let stats: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let files = assert_renders(&dir);
    assert!(files.iter().any(|f| f.ends_with("s1-quicklook.png")));
    assert!(files.iter().any(|f| f.ends_with("s1-histograms.png")));

    // The figures' data is the result's.
    let rep = report_json(&dir);
    let sec = &rep["sections"][0];
    assert_eq!(sec["result"], stats);
    let hist = sec["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "histograms")
        .unwrap();
    let b01 = &hist["panels"][0];
    assert_eq!(b01["name"], "B01");
    assert_eq!(b01["buckets"], stats["bands"][0]["histogram"]["buckets"]);

    // Screenshot: the page, with its plots, at the window's size.
    let shot = s.sim.scratch("shot.png");
    let profile = tempfile::tempdir().unwrap();
    let mut c = chromium(profile.path());
    c.arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}/index.html", dir.display()));
    chromium_out(c);
    let decoder = png::Decoder::new(std::fs::File::open(&shot).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (1200, 1600));
    let px = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(px).collect();
    let colours: std::collections::HashSet<&[u8]> = pixels.iter().copied().collect();
    let saturated_blue = pixels
        .iter()
        .filter(|p| p[2] > 200 && p[0] < 120 && p[1] < 120)
        .count();
    assert!(
        colours.len() > 100,
        "{} colours: blank page?",
        colours.len()
    );
    // The histogram bars (blue) cover a visible part of the page.
    assert!(saturated_blue > 2000, "{saturated_blue} blue pixels");

    // An existing report is kept without --overwrite (exit 5), replaced with it.
    run(BIN, &["stats", hdr, "--report", d])
        .code(5)
        .one_error_line(d);
    run(BIN, &["stats", hdr, "--report", d, "--overwrite"]).code(0);
    let leftovers: Vec<_> = std::fs::read_dir(dir.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-") || n.contains(".old-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// check, compare, geom and series reports render with their images: the difference map, the
/// vector field and the time series.
#[test]
fn every_subcommand_writes_a_report_that_renders() {
    let a = l1c_of("SIMULSIT", "2023-03-15", 70, 60, 3);
    let b: Scene = l1c_of("SIMULSIT", "2024-03-15", 70, 60, 3);
    // A copy of A whose B04 is 0.05 brighter on its first 10 lines.
    let edited = a.copy("edited");
    edit_image(&edited, |band, v| {
        if band == 4 {
            v[..600].iter_mut().for_each(|x| *x += 50.0);
        }
    });
    let (ha, hb, he) = (
        a.hdr.to_str().unwrap(),
        b.hdr.to_str().unwrap(),
        edited.to_str().unwrap(),
    );
    let cases: [(&str, Vec<&str>, i32, &str); 4] = [
        ("check", vec!["check", hb], 0, "s1-histograms.png"),
        ("compare", vec!["compare", ha, he], 1, "s1-difference.png"),
        (
            "geom",
            vec![
                "geom",
                hb,
                "--reference",
                ha,
                "--window",
                "32",
                "--step",
                "16",
            ],
            0,
            "s1-shifts.png",
        ),
        ("series", vec!["series", ha, hb], 0, "s1-series.png"),
    ];
    for (name, args, code, figure) in cases {
        let dir = a.sim.scratch(name);
        let mut args = args.clone();
        args.extend(["--report", dir.to_str().unwrap()]);
        let r = run(BIN, &args);
        assert!(
            r.code == code || (name == "check" && r.code == 1),
            "{name}: exit {}\n{}",
            r.code,
            r.stderr
        );
        let files = assert_renders(&dir);
        assert!(
            files.iter().any(|f| f.ends_with(figure)),
            "{name}: {files:?}"
        );
    }
    // The difference map is B04's edit exactly, and nothing elsewhere.
    let rep = report_json(&a.sim.scratch("compare"));
    let maps = &rep["sections"][0]["figures"][0];
    assert_eq!(maps["kind"], "maps");
    assert_eq!(
        (maps["width"].as_u64(), maps["height"].as_u64()),
        (Some(60), Some(70))
    );
    for p in maps["panels"].as_array().unwrap() {
        let values = p["values"].as_array().unwrap();
        assert_eq!(values.len(), 70 * 60);
        for (i, v) in values.iter().enumerate() {
            let Some(d) = v.as_f64() else { continue };
            let want = if p["name"] == "B04" && i < 600 {
                0.05
            } else {
                0.0
            };
            assert!((d - want).abs() < 1e-9, "{} cell {i}: {d}", p["name"]);
        }
    }
}
