mod common;

use common::{gdalinfo, json, l1c, BIN};
use vip_testkit::run;

/// A statistic of a band of `gdalinfo -json -stats` output, at the precision of its metadata.
fn gdal_stat(band: &serde_json::Value, key: &str) -> f64 {
    band["metadata"][""][format!("STATISTICS_{key}")]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// stats agree with `gdalinfo -stats -hist` on every band of an L1C image: exact min, max,
/// mean and histogram, std to 1e-6 relative.
#[test]
fn stats_agree_with_gdalinfo() {
    let s = l1c(120, 100, 7);
    let hdr = s.hdr.to_str().unwrap().to_string();
    let ours = json(&["stats", &hdr, "--json", "--ram", "16", "--threads", "2"]);
    let gdal = gdalinfo(&s.image());
    let gbands = gdal["bands"].as_array().unwrap();
    let obands = ours["bands"].as_array().unwrap();
    assert_eq!(obands.len(), 15);
    assert_eq!(ours["kind"], "L1C");
    for (o, g) in obands.iter().zip(gbands) {
        let name = o["name"].as_str().unwrap();
        let gv = |k: &str| gdal_stat(g, k);
        let ov = |k: &str| o[k].as_f64().unwrap();
        assert_eq!(ov("min"), gv("MINIMUM"), "{name} min");
        assert_eq!(ov("max"), gv("MAXIMUM"), "{name} max");
        let (om, gm) = (ov("mean"), gv("MEAN"));
        assert!(
            (om - gm).abs() <= 1e-12 * gm.abs().max(1.0),
            "{name} mean {om} vs {gm}"
        );
        let (os, gs) = (ov("std"), gv("STDDEV"));
        assert!(
            (os - gs).abs() <= 1e-6 * gs.abs().max(1e-300),
            "{name} std {os} vs {gs}"
        );
        let gh = &g["histogram"];
        let oh = &o["histogram"];
        assert_eq!(oh["buckets"], gh["buckets"], "{name} histogram");
        if !gh.is_null() {
            assert!((oh["min"].as_f64().unwrap() - gh["min"].as_f64().unwrap()).abs() < 1e-9);
            assert!((oh["max"].as_f64().unwrap() - gh["max"].as_f64().unwrap()).abs() < 1e-9);
        }
        if name.starts_with('B') {
            assert!(o["valid_fraction"].as_f64().unwrap() > 0.5, "{name}");
            assert!(o["classes"]["clear"]["valid"].as_u64().is_some(), "{name}");
            assert!(o["saturated_fraction"].as_f64().is_some());
        }
    }
}

/// Percentiles are numpy's inverted_cdf, on the same values GDAL reads.
#[test]
fn percentiles_agree_with_numpy() {
    let s = l1c(60, 50, 3);
    let image = s.image();
    let ours = json(&["stats", image.to_str().unwrap(), "--json"]);
    // The oracle reads the raster through the GDAL command line (the venv has no GDAL bindings):
    // gdal_translate to raw ENVI, then numpy.
    let raw = s.sim.scratch("b3.raw");
    let st = std::process::Command::new("gdal_translate")
        .args(["-q", "-b", "3", "-of", "ENVI", "-ot", "Int16"])
        .arg(&image)
        .arg(&raw)
        .status()
        .unwrap();
    assert!(st.success());
    let py = r#"
import sys, json
import numpy as np
v = np.fromfile(sys.argv[1], dtype='<i2').astype(np.float64)
v = v[v != -10000]
ps = [1, 2, 5, 10, 25, 50, 75, 90, 95, 98, 99]
print(json.dumps({f"p{p}": float(np.percentile(v, p, method='inverted_cdf')) for p in ps}))
"#;
    let want: serde_json::Value =
        serde_json::from_str(&vip_testkit::python_oracle(py, &[raw.to_str().unwrap()])).unwrap();
    let got = &ours["bands"][2]["percentiles"];
    for (k, v) in want.as_object().unwrap() {
        assert_eq!(got[k].as_f64(), v.as_f64(), "{k}");
    }
}

#[test]
fn table_on_stdout_without_json() {
    let s = l1c(40, 40, 2);
    run(BIN, &["stats", s.hdr.to_str().unwrap()])
        .code(0)
        .stdout_has("B12")
        .stdout_has("p50");
}

#[test]
fn missing_band_file_is_bad_input_naming_it() {
    let s = l1c(40, 40, 2);
    let copy = s.copy("broken");
    let l = vip::product::L1c::open(&copy).unwrap();
    let image = l.image_path(copy.parent().unwrap());
    std::fs::remove_file(&image).unwrap();
    run(BIN, &["stats", copy.to_str().unwrap()])
        .code(3)
        .one_error_line(image.file_name().unwrap().to_str().unwrap());
}

#[test]
fn unparsable_header_is_bad_input_naming_it() {
    let s = l1c(40, 40, 2);
    let copy = s.copy("garbled");
    std::fs::write(&copy, "<Earth_Explorer_Header><oops").unwrap();
    run(BIN, &["stats", copy.to_str().unwrap()])
        .code(3)
        .one_error_line(copy.file_name().unwrap().to_str().unwrap());
}

#[test]
fn paths_from_stdin() {
    let s = l1c(40, 40, 2);
    let r = vip_testkit::run_with_stdin(
        BIN,
        &["stats", "-", "--json"],
        &format!("{}\n", s.hdr.display()),
    );
    r.code(0).stdout_has("\"B01\"");
}

/// A float32 raster (vip-sim's truth): exact extremes, mean to 1e-12 and std to 1e-6 relative.
#[test]
fn float_raster_agrees_with_gdalinfo() {
    let sim = vip_testkit::SimScene::new("SIMULSIT", "2024-03-15", 50, 40, 4, 300.0);
    let truth = sim.dir.join("truth/TOA_B04.tif");
    let ours = json(&["stats", truth.to_str().unwrap(), "--json"]);
    let g = &gdalinfo(&truth)["bands"][0];
    let gv = |k: &str| gdal_stat(g, k);
    let o = &ours["bands"][0];
    assert_eq!(ours["kind"], "RASTER");
    // GDAL prints 14 significant digits.
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-13 * b.abs();
    assert!(close(o["min"].as_f64().unwrap(), gv("MINIMUM")));
    assert!(close(o["max"].as_f64().unwrap(), gv("MAXIMUM")));
    let (om, gm) = (o["mean"].as_f64().unwrap(), gv("MEAN"));
    assert!(close(om, gm), "{om} vs {gm}");
    let (os, gs) = (o["std"].as_f64().unwrap(), gv("STDDEV"));
    assert!((os - gs).abs() <= 1e-6 * gs.abs(), "{os} vs {gs}");
    assert_eq!(o["histogram"]["buckets"], g["histogram"]["buckets"]);
}

/// Same inputs, same bytes, whatever the threads and the memory budget.
#[test]
fn one_thread_and_many_give_the_same_json() {
    let sim = vip_testkit::SimScene::new("SIMULSIT", "2024-03-15", 300, 40, 4, 300.0);
    let truth = sim.dir.join("truth/TOA_B07.tif");
    let t = truth.to_str().unwrap();
    let a = run(BIN, &["stats", t, "--json", "--threads", "1"]);
    let b = run(
        BIN,
        &["stats", t, "--json", "--threads", "2", "--ram", "16"],
    );
    assert_eq!(a.code(0).stdout, b.code(0).stdout);
}

/// A raw L1A: one band per file, counts, compared with gdalinfo on each file.
#[test]
fn raw_l1a_bands_agree_with_gdalinfo() {
    let sim = vip_testkit::SimScene::new("SIMULSIT", "2024-03-15", 40, 40, 4, 300.0);
    let ours = json(&["stats", sim.l1a.to_str().unwrap(), "--json"]);
    assert_eq!(ours["kind"], "L1A");
    let bands = ours["bands"].as_array().unwrap();
    assert_eq!(bands.len(), 12);
    for b in bands {
        let g = &gdalinfo(std::path::Path::new(b["file"].as_str().unwrap()))["bands"][0];
        assert_eq!(b["min"].as_f64().unwrap(), gdal_stat(g, "MINIMUM"));
        assert_eq!(b["max"].as_f64().unwrap(), gdal_stat(g, "MAXIMUM"));
        let (om, gm) = (b["mean"].as_f64().unwrap(), gdal_stat(g, "MEAN"));
        assert!((om - gm).abs() <= 1e-12 * gm.abs(), "{om} vs {gm}");
        assert_eq!(b["histogram"]["buckets"], g["histogram"]["buckets"]);
    }
}
