//! `vip-sim scene --first-detector N`: the raw image starts at detector N.

use vip_testkit::run;

const SIM: &str = env!("CARGO_BIN_EXE_vip-sim");

#[test]
fn the_raw_image_starts_at_the_chosen_detector() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("S");
    let args = |n: &str| {
        [
            "scene",
            "--lines",
            "64",
            "--cols",
            "64",
            "--first-detector",
            n,
            "-o",
            out.to_str().unwrap(),
        ]
        .map(String::from)
    };
    let r = run(SIM, &args("1001"));
    r.code(0);
    let l1a = vip::product::L1a::open(&r.paths()[0]).unwrap();
    assert_eq!(l1a.geometry.first_detector, 1001);
    std::fs::remove_dir_all(&out).unwrap();
    run(SIM, &args("5150"))
        .code(2)
        .one_error_line("--first-detector 5150: the site does not fit the detector array");
    assert!(!out.exists());
}
