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
        .any(|f| f["rule"] == "schema" && f["pass"] == true));
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
