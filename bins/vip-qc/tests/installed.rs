//! `vip-qc check` as an installed binary: copied alone into a folder (as `cargo install` puts
//! it), run from outside the source tree with no variable pointing into it. Regression: the
//! schema rule once passed ("skipped") when the schemas were not found beside the sources; the
//! schemas are now compiled in, so an invalid header fails the check wherever the tool runs.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// A copy of the built vip-qc in a fresh folder, and a working folder, both outside the tree.
struct Installed {
    _tmp: tempfile::TempDir,
    bin: PathBuf,
    cwd: PathBuf,
}

fn install() -> Installed {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin").join("vip-qc");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(common::BIN, &bin).unwrap();
    let cwd = tmp.path().join("work");
    std::fs::create_dir_all(&cwd).unwrap();
    Installed {
        _tmp: tmp,
        bin,
        cwd,
    }
}

impl Installed {
    /// Runs `vip-qc check HDR --json` with every variable naming the source tree removed.
    fn check(&self, hdr: &Path) -> (i32, serde_json::Value, String) {
        let root = vip_testkit::project_root().canonicalize().unwrap();
        let root = root.to_string_lossy();
        let mut cmd = Command::new(&self.bin);
        cmd.current_dir(&self.cwd)
            .arg("check")
            .arg(hdr)
            .arg("--json");
        for (k, v) in std::env::vars_os() {
            if v.to_string_lossy().contains(root.as_ref())
                || k.to_string_lossy().starts_with("VIP_")
            {
                cmd.env_remove(k);
            }
        }
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let report = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
        (
            out.status.code().unwrap(),
            report,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// The schema findings of a report.
fn schema_findings(report: &serde_json::Value) -> Vec<&serde_json::Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "schema")
        .collect()
}

#[test]
fn an_installed_check_fails_one_invalid_header_and_passes_a_valid_product() {
    let tool = install();
    let s = common::l1c(48, 64, 6);
    assert!(!s
        .hdr
        .starts_with(vip_testkit::project_root().canonicalize().unwrap()));

    let (code, report, stderr) = tool.check(&s.hdr);
    assert_eq!(code, 0, "{stderr}");
    let schema = schema_findings(&report);
    // The global header, the image header, the quicklook header and the CLA, SOL and VIE
    // annex headers.
    assert_eq!(schema.len(), 6, "{schema:?}");
    for f in &schema {
        assert_eq!(f["status"], "pass", "{f}");
        assert!(
            f["detail"]
                .as_str()
                .unwrap()
                .starts_with("validates against"),
            "{f}"
        );
    }

    // One annex header of a copy gets an element its schema does not allow.
    let bad = s.copy("INVALID");
    let annex = vip_testkit::files(&bad.with_extension("DBL.DIR"))
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with("_SOL.HDR"))
        .expect("an SOL annex header");
    let xml = std::fs::read_to_string(&annex).unwrap();
    assert!(xml.contains("<Fixed_Header>"));
    std::fs::write(
        &annex,
        xml.replacen("<Fixed_Header>", "<Unexpected_Element/><Fixed_Header>", 1),
    )
    .unwrap();
    let (code, report, stderr) = tool.check(&bad);
    assert_eq!(code, 1, "{stderr}");
    let name = annex.file_name().unwrap().to_str().unwrap();
    let failed: Vec<_> = schema_findings(&report)
        .into_iter()
        .filter(|f| f["status"] == "fail")
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["subject"], name);
    let detail = failed[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("Unexpected_Element") && detail.contains("not expected"),
        "{detail}"
    );
    assert!(stderr.contains(&format!("schema {name}")), "{stderr}");
}
