//! The committed surface-spectra table of vip-sim is what `scripts/make-spectra` makes from its
//! sources (PROSAIL from the oracles' virtual environment): nobody edits the numbers by hand.

use std::process::Command;
use vip_testkit::{project_root, python};

/// Tolerance on a reflectance: one unit of the table's fifth decimal, for floating-point noise.
const TOL: f64 = 1.0e-5 + 1.0e-9;

/// The first difference between two tables beyond `TOL` (text columns must match exactly).
fn difference(made: &str, committed: &str) -> Option<String> {
    let (a, b): (Vec<&str>, Vec<&str>) = (made.lines().collect(), committed.lines().collect());
    if a.len() != b.len() {
        return Some(format!("{} rows made, {} committed", a.len(), b.len()));
    }
    for (n, (x, y)) in a.iter().zip(&b).enumerate() {
        let (cx, cy): (Vec<&str>, Vec<&str>) = (x.split('\t').collect(), y.split('\t').collect());
        let same = cx.len() == cy.len()
            && cx.iter().zip(&cy).all(|(u, v)| {
                u == v
                    || matches!((u.parse::<f64>(), v.parse::<f64>()),
                                (Ok(p), Ok(q)) if (p - q).abs() <= TOL)
            });
        if !same {
            return Some(format!("line {}:\nmade      {x}\ncommitted {y}", n + 1));
        }
    }
    None
}

#[test]
fn make_spectra_reproduces_the_committed_table() {
    let root = project_root();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("spectra.tsv");
    let run = Command::new(root.join("scripts/make-spectra"))
        .arg(&out)
        .env("VIP_PYTHON", python())
        .output()
        .expect("scripts/make-spectra runs");
    assert!(
        run.status.success(),
        "scripts/make-spectra failed:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let made = std::fs::read_to_string(&out).unwrap();
    let committed =
        std::fs::read_to_string(root.join("testdata/spectra/venus_surface_spectra.tsv")).unwrap();
    if let Some(d) = difference(&made, &committed) {
        panic!("testdata/spectra/venus_surface_spectra.tsv is stale (scripts/make-spectra): {d}");
    }
    // The comparison sees a change of two units of the last decimal in one reflectance.
    let last = committed.lines().last().unwrap();
    let (head, tail) = last.rsplit_once('\t').unwrap();
    let changed = format!("{head}\t{:.5}", tail.parse::<f64>().unwrap() + 2.0e-5);
    let tampered = committed.replacen(last, &changed, 1);
    assert!(difference(&tampered, &committed).is_some());
}
