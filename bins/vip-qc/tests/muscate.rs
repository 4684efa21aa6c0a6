//! vip-qc on MUSCATE products, through the real binary: a simulated L1C and its MUSCATE
//! package (folder given by a path relative to the working folder, and zip) get the same
//! statistics and series, and compare finds no difference between them.

use std::path::{Path, PathBuf};
use std::process::Command;

use vip_testkit::SimScene;

const BIN: &str = env!("CARGO_BIN_EXE_vip-qc");

/// The package of `hdr` written by vip-pack's library into `out` (a folder, or a zip).
fn package(hdr: &Path, out: &Path, zip: bool) -> PathBuf {
    let opts = vip::cli::Options {
        output: out.to_path_buf(),
        threads: 2,
        ..Default::default()
    };
    let pack = vip::pack::PackOptions {
        zip,
        cog: false,
        stac: false,
    };
    let mut written = vip::pack::run(&[hdr.to_path_buf()], &pack, &opts).unwrap();
    written.remove(0)
}

/// vip-qc `args` run in `dir`: its exit status and its JSON output, without the names of the
/// product and of its files.
fn qc(dir: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let o = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{e}: {text} {}", String::from_utf8_lossy(&o.stderr)));
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                for k in [
                    "product",
                    "file",
                    "path",
                    "a",
                    "b",
                    "header_cloud_percentage",
                ] {
                    m.remove(k);
                }
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    (o.status.code().unwrap(), v)
}

#[test]
fn stats_series_and_compare_agree_on_an_l1c_and_its_packages() {
    let s = SimScene::new("SIMULSIT", "2024-03-15", 64, 80, 5, 300.0);
    let hdr = s.l1c();
    let folder = package(&hdr, &s.scratch("P"), false);
    let zip = package(&hdr, &s.scratch("Z"), true);
    // the folder given by a path relative to the working folder
    let cwd = folder.parent().unwrap();
    let rel = folder.file_name().unwrap().to_str().unwrap();
    let native = hdr.to_str().unwrap();
    let z = zip.to_str().unwrap();

    let (code, a) = qc(cwd, &["stats", native, "--json"]);
    assert_eq!(code, 0);
    for given in [rel, z] {
        assert_eq!(
            qc(cwd, &["stats", given, "--json"]),
            (0, a.clone()),
            "{given}"
        );
    }
    let (code, a) = qc(cwd, &["series", native, "--json"]);
    assert_eq!(code, 0);
    assert_eq!(qc(cwd, &["series", rel, "--json"]), (0, a.clone()));
    for given in [rel, z] {
        let (code, c) = qc(
            cwd,
            &["compare", native, given, "--tolerance", "0", "--json"],
        );
        assert_eq!(code, 0, "{c}");
        assert_eq!(c["pass"], true, "{c}");
    }
}
