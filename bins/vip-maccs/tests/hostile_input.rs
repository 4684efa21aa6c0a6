//! Hostile input through the real binary: exit 3, one bounded error line naming the input.
use vip_testkit::{project_root, run, run_with_stdin};

const BIN: &str = env!("CARGO_BIN_EXE_vip-maccs");

#[test]
fn lut_refuses_garbage_on_stdin() {
    let luts = project_root().join("testdata/luts");
    let gipp = luts.to_str().unwrap();
    // (within a pipe buffer: the tool stops reading at the limit; the library test feeds an
    // endless line)
    let long = "7".repeat(50_000);
    let r = run_with_stdin(BIN, &["lut", "--gipp", gipp], &long);
    r.refused("stdin: line 1: longer than 4096 bytes");
    let r = run_with_stdin(
        BIN,
        &["lut", "--gipp", gipp],
        "B04 40 10 60 0.2 NaN 0.3 0.25\n",
    );
    r.refused("stdin: line 1: wv 'NaN' is not a number");
    let word = format!("B04 40 10 60 0.2 2.0 0.3 {}\n", "x".repeat(3000));
    let r = run_with_stdin(BIN, &["lut", "--gipp", gipp], &word);
    r.refused("stdin: line 1: reflectance 'xxx");
}

#[test]
fn lut_refuses_a_billion_laughs_gipp() {
    let luts = project_root().join("testdata/luts");
    let dir = tempfile::tempdir().unwrap();
    let mut hostile = None;
    for e in std::fs::read_dir(&luts).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap();
        let to = dir.path().join(name);
        if name.to_string_lossy().contains("L2TOCR") && p.extension().unwrap() == "HDR" {
            std::fs::write(&to, vip_testkit::billion_laughs(&p)).unwrap();
            hostile = Some(to);
        } else {
            std::os::unix::fs::symlink(&p, &to).unwrap();
        }
    }
    let hostile = hostile.unwrap();
    let r = run_with_stdin(BIN, &["lut", "--gipp", dir.path().to_str().unwrap()], "");
    r.refused(&format!("{}: not well-formed XML", hostile.display()));
}

#[test]
fn l2_refuses_a_zip_with_an_entry_escaping_its_folder_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let evil = dir.path().join("evil.zip");
    vip_testkit::escaping_zip(&evil);
    let out = dir.path().join("out");
    run(
        BIN,
        &[
            "l2",
            evil.to_str().unwrap(),
            "--gipp",
            dir.path().to_str().unwrap(),
            "--dem",
            evil.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
    )
    .refused(&format!(
        "{}: entry 'PKG/../../escape.tif' would be extracted outside the package folder",
        evil.display()
    ));
    assert!(!out.exists());
}
