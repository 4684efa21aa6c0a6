//! Hostile input through the real binary: exit 3, one bounded error line naming the input.

use vip_testkit::{project_root, run};

const BIN: &str = env!("CARGO_BIN_EXE_vip-qc");

const L1C: &str = "testdata/venus/examples/VE_TEST_VSC_L1VALD_CAMARGUE_20180101.HDR";

#[test]
fn check_refuses_a_malformed_rules_file() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.json");
    let product = project_root().join(L1C);
    let args = [
        "check",
        product.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
    ];
    let key = "k".repeat(100_000);
    std::fs::write(&rules, format!("{{\"{key}\": 1}}")).unwrap();
    run(BIN, &args).refused(&format!(
        "{}: not a rules file: unknown field",
        rules.display()
    ));
    std::fs::write(
        &rules,
        format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000)),
    )
    .unwrap();
    run(BIN, &args).refused(&format!("{}: not a rules file", rules.display()));
    std::fs::write(&rules, [b'{', 0xff, b'}']).unwrap();
    run(BIN, &args).refused(&format!("{}: not UTF-8 text", rules.display()));
}

#[test]
fn check_refuses_a_billion_laughs_header() {
    let dir = tempfile::tempdir().unwrap();
    let text = vip_testkit::billion_laughs(&project_root().join(L1C));
    let hdr = dir.path().join("VE_TEST_VSC_L1VALD_CAMARGUE_20180101.HDR");
    std::fs::write(&hdr, text).unwrap();
    run(BIN, &["check", hdr.to_str().unwrap()]).refused(&format!("{}: ", hdr.display()));
}

#[test]
fn a_zip_with_an_entry_escaping_its_folder_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let evil = dir.path().join("evil.zip");
    vip_testkit::escaping_zip(&evil);
    for sub in ["stats", "check"] {
        run(BIN, &[sub, evil.to_str().unwrap()]).refused(&format!(
            "{}: entry 'PKG/../../escape.tif' would be extracted outside the package folder",
            evil.display()
        ));
    }
    assert!(!dir.path().parent().unwrap().join("escape.tif").exists());
}
