//! vip-qc check: passes a good L1C, fails (exit 1) naming the rule, the subject and the values
//! when a rule or the product is broken, exit 3 for a product that cannot be read.

mod common;

use vip_testkit::run;

const QC: &str = env!("CARGO_BIN_EXE_vip-qc");

#[test]
fn a_good_product_passes_and_broken_ones_fail_naming_the_rule() {
    let s = common::l1c(64, 80, 3);
    let hdr = s.hdr.to_str().unwrap();
    let r = run(QC, &["check", hdr, "--json"]);
    r.code(0);
    let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert!(findings
        .iter()
        .any(|f| f["rule"] == "schema" && f["status"] == "pass"));
    assert!(
        findings
            .iter()
            .filter(|f| f["rule"] == "reflectance")
            .count()
            == 12
    );

    // A stricter rules file fails the bright bands and says which, with their values.
    let rules = s.sim.scratch("strict.json");
    std::fs::write(&rules, r#"{"reflectance_max": 0.3}"#).unwrap();
    run(QC, &["check", hdr, "--rules", rules.to_str().unwrap()])
        .code(1)
        .one_error_line("reflectance B")
        .one_error_line("(allowed -0.2..0.3)");

    // A mask bit no band owns.
    let image = s.image();
    let (spec, bands) = {
        let ds = vip::raster::open(&image).unwrap();
        let spec = vip::raster::spec_like(&ds).unwrap();
        let bands: Vec<Vec<i16>> = (1..=spec.bands)
            .map(|b| vip::raster::read_window(&ds, b, (0, 0), (spec.width, spec.height)).unwrap())
            .collect();
        (spec, bands)
    };
    let mut ds = vip::raster::create_geotiff(&image, &spec, &[]).unwrap();
    for (k, mut data) in bands.into_iter().enumerate() {
        if k + 1 == 13 {
            data[0] |= 1 << 13;
        }
        vip::raster::write_window(&mut ds, k + 1, (0, 0), (spec.width, spec.height), &data)
            .unwrap();
    }
    vip::raster::finish(ds, &image).unwrap();
    run(QC, &["check", hdr])
        .code(1)
        .one_error_line("mask-bits SAT: bits [13] used");

    // Unreadable rules, missing product.
    std::fs::write(&rules, "not json").unwrap();
    run(QC, &["check", hdr, "--rules", rules.to_str().unwrap()])
        .code(3)
        .one_error_line("strict.json: not a rules file");
    run(QC, &["check", "/nonexistent/X.HDR"])
        .code(3)
        .one_error_line("X.HDR");
}

/// The findings of `rule` in a `check --json` report.
fn findings<'a>(report: &'a serde_json::Value, rule: &str) -> Vec<&'a serde_json::Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

/// Regression: the shipped `max_nodata_fraction` was 1.0, which no product can exceed. At 0.8
/// (the L2COMM's Max_No_Data_Percentage) a nominal product passes and one that is 85 %
/// no-data in every band (an acquisition that only caught the edge of its site) fails.
#[test]
fn a_product_mostly_outside_its_footprint_fails_the_nodata_rule() {
    let s = common::l1c(64, 80, 4);
    let hdr = s.hdr.to_str().unwrap();
    let nominal = common::json(&["check", hdr, "--json"]);
    let nodata = findings(&nominal, "nodata");
    assert_eq!(nodata.len(), 12);
    assert!(nodata.iter().all(|f| f["status"] == "pass"), "{nodata:?}");

    common::edit_image(&s.hdr, |band, v| {
        if band <= 12 {
            let n = v.len() * 85 / 100;
            v[..n].fill(-10000.0);
        }
    });
    let r = run(QC, &["check", hdr, "--json"]);
    r.code(1)
        .one_error_line("nodata B01: nodata fraction 0.8")
        .one_error_line("(allowed 0.8)");
    let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    for f in findings(&report, "nodata") {
        assert_eq!(f["status"], "fail", "{f}");
    }
}

/// Regression: an L1C declaring no cloud percentage (as vip-l1 did before it detected clouds)
/// had its cloud rule left out of the report, a silent pass. It is now listed as not
/// measured (neither pass nor fail, in the table, the JSON and a warning); a declared
/// percentage is checked against the CLD mask and against `max_cloud_percentage`.
#[test]
fn cloud_cover_is_checked_when_declared_and_not_measured_otherwise() {
    let s = common::l1c(64, 80, 5);
    let hdr = s.hdr.to_str().unwrap();
    // vip-l1 declares what its cloud detection found; a header may declare none.
    common::declare_cloud(&s.hdr, "NIL=N/A");
    let r = run(QC, &["check", hdr, "--json"]);
    r.code(0)
        .stderr_has(" WARN ")
        .stderr_has("cloud CLD: not measured");
    let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let cloud = findings(&report, "cloud");
    assert_eq!(cloud.len(), 2, "{cloud:?}");
    assert!(
        cloud.iter().all(|f| f["status"] == "not_measured"),
        "{cloud:?}"
    );
    run(QC, &["check", hdr]).code(0).stdout_has("not measured");

    // 20 % of the pixels cloudy in the mask; declared as such, then declared wrong.
    common::edit_image(&s.hdr, |band, v| {
        if band == 15 {
            let n = v.len() / 5;
            v[..n].fill(1.0);
        }
    });
    common::declare_cloud(&s.hdr, "20.0");
    let ok = common::json(&["check", hdr, "--json"]);
    let cloud = findings(&ok, "cloud");
    assert_eq!(cloud.len(), 2, "{cloud:?}");
    assert!(cloud.iter().all(|f| f["status"] == "pass"), "{cloud:?}");
    common::declare_cloud(&s.hdr, "30.0");
    run(QC, &["check", hdr])
        .code(1)
        .one_error_line("cloud CLD: declared 30.0 %, mask 20.0 %");

    // A 95 % cloudy product, truthfully declared, is over the 90 % the chain processes.
    common::edit_image(&s.hdr, |band, v| {
        if band == 15 {
            let n = v.len() * 95 / 100;
            v[..n].fill(1.0);
        }
    });
    common::declare_cloud(&s.hdr, "95.0");
    let r = run(QC, &["check", hdr, "--json"]);
    r.code(1)
        .one_error_line("1 check(s) failed")
        .one_error_line("cloud cover: declared 95.0 % (allowed 90)");
}
