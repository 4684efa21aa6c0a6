//! The LUT code against 6S itself (not the LUT): random off-grid cases over the 12 bands,
//! committed with 6S's TOA reflectance (`testdata/sixs_cases.tsv`, made by
//! `scripts/sixs/make_cases.py`), run through `vip-maccs lut` with the committed LUT set
//! (`testdata/luts`, made by `scripts/make-luts`). A handful of cases are rerun live through
//! 6S to show the table is 6S's.

use std::path::PathBuf;

use vip_testkit::{project_root, run_with_stdin};

const BIN: &str = env!("CARGO_BIN_EXE_vip-maccs");

/// Worst errors allowed, forward (TOA) and inverse (surface reflectance), and the RMS per
/// band that the committed grid gives (with margin), so a regression shows before the worst
/// case moves.
const FORWARD_MAX: f64 = 0.002;
const INVERSE_MAX: f64 = 0.003;
const FORWARD_RMS: f64 = 0.0006;
const INVERSE_RMS: f64 = 0.0009;

struct Case {
    fields: Vec<String>,
    rho: f64,
    toa: f64,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(project_root().join("testdata/sixs_cases.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("band"))
        .map(|l| {
            let f: Vec<String> = l.split('\t').map(str::to_string).collect();
            assert_eq!(f.len(), 9, "{l}");
            Case {
                rho: f[7].parse().unwrap(),
                toa: f[8].parse().unwrap(),
                fields: f,
            }
        })
        .collect()
}

fn luts() -> PathBuf {
    project_root().join("testdata/luts")
}

/// Runs the probe on `input` and returns the value of `column` on each output line.
fn probe(input: &str, extra: &[&str], column: &str) -> Vec<f64> {
    let gipp = luts();
    let mut args = vec!["lut", "--gipp", gipp.to_str().unwrap()];
    args.extend(extra);
    let r = run_with_stdin(BIN, &args, input);
    r.code(0);
    let mut lines = r.stdout.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let k = header.iter().position(|h| *h == column).unwrap();
    lines
        .map(|l| l.split('\t').nth(k).unwrap().parse().unwrap())
        .collect()
}

/// Prints max and RMS per band; returns the worst error and checks the RMS of every band.
fn report(what: &str, cases: &[Case], err: &[f64], rms_max: f64) -> f64 {
    let mut worst = 0.0f64;
    for b in 1..=12 {
        let e: Vec<f64> = cases
            .iter()
            .zip(err)
            .filter(|(c, _)| c.fields[0] == b.to_string())
            .map(|(_, e)| e.abs())
            .collect();
        let max = e.iter().cloned().fold(0.0, f64::max);
        let rms = (e.iter().map(|x| x * x).sum::<f64>() / e.len() as f64).sqrt();
        println!(
            "{what} B{b:02}: {} cases, max |err| {max:.5}, rms {rms:.5}",
            e.len()
        );
        assert!(rms < rms_max, "{what} B{b:02}: RMS error {rms}");
        worst = worst.max(max);
    }
    worst
}

#[test]
fn forward_and_inverse_through_the_luts_match_6s() {
    let cases = cases();
    assert!(cases.len() >= 300, "{} cases", cases.len());
    // forward: surface reflectance → TOA, against 6S's TOA
    let input: String = cases.iter().map(|c| c.fields.join("\t") + "\n").collect();
    let toa = probe(&input, &[], "toa");
    let err: Vec<f64> = cases.iter().zip(&toa).map(|(c, t)| t - c.toa).collect();
    let worst = report("forward TOA", &cases, &err, FORWARD_RMS);
    assert!(worst < FORWARD_MAX, "forward TOA off 6S by up to {worst}");
    // inverse: 6S's TOA → surface reflectance
    let input: String = cases
        .iter()
        .map(|c| format!("{}\t{}\n", c.fields[..7].join("\t"), c.toa))
        .collect();
    let rho = probe(&input, &["--toa"], "rho_s");
    let err: Vec<f64> = cases.iter().zip(&rho).map(|(c, r)| r - c.rho).collect();
    let worst = report("inverse rho_s", &cases, &err, INVERSE_RMS);
    assert!(
        worst < INVERSE_MAX,
        "inverted surface reflectance off by up to {worst}"
    );
}

#[test]
fn the_committed_cases_are_what_6s_gives() {
    let cases = cases();
    let picked: Vec<&Case> = cases.iter().step_by(cases.len() / 6).take(6).collect();
    let script = format!(
        "import sys; sys.path.insert(0, {:?}); import sixs_runner as r\n\
         for line in sys.argv[1:]:\n    \
           b, sza, vza, raa, aot, wv, alt, rho = line.split()\n    \
           print(r.toa(int(b), float(sza), float(vza), float(raa), float(aot), float(wv), float(alt), float(rho)))",
        project_root().join("scripts/sixs").to_str().unwrap()
    );
    let cases: Vec<(String, String, f64)> = picked
        .iter()
        .map(|c| (c.fields[..8].join(" "), format!("{:?}", c.fields), c.toa))
        .collect();
    vip_testkit::rerun_6s(&script, &cases);
}

#[test]
fn bad_cases_and_missing_luts_are_refused_naming_the_input() {
    let gipp = luts();
    let g = gipp.to_str().unwrap();
    run_with_stdin(BIN, &["lut", "--gipp", g], "B13 30 5 90 0.1 1 0 0.2\n")
        .code(3)
        .one_error_line("line 1: band 'B13' is not B01..B12");
    run_with_stdin(BIN, &["lut", "--gipp", g], "# c\nB01 30 5 90 x 1 0 0.2\n")
        .code(3)
        .one_error_line("line 2: aot 'x' is not a number");
    run_with_stdin(BIN, &["lut", "--gipp", g], "B01 30 5\n")
        .code(3)
        .one_error_line("3 fields, 8 expected");
    run_with_stdin(BIN, &["lut", "--gipp", g, "--model", "MARITIME"], "")
        .code(3)
        .one_error_line("no GIP_L2TOCR GIPP for aerosol model MARITIME");
}

#[test]
fn cases_outside_the_tables_are_clamped_and_flagged() {
    let gipp = luts();
    let r = run_with_stdin(
        BIN,
        &["lut", "--gipp", gipp.to_str().unwrap(), "--json"],
        "B04 30 5 90 2.5 1 0 0.2\nB04 30 5 90 0.2 1 0 0.2\n",
    );
    r.code(0);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v[0]["clamped"], serde_json::json!(["AOT_Indexes"]));
    assert_eq!(v[1]["clamped"], serde_json::json!([]));
    // the clamped case is the table's edge: same terms as AOT at the last node
    let edge = v[0]["rho_path"].as_f64().unwrap();
    let r = run_with_stdin(
        BIN,
        &["lut", "--gipp", gipp.to_str().unwrap(), "--json"],
        "B04 30 5 90 0.8 1 0 0.2\n",
    );
    let w: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(w[0]["rho_path"].as_f64().unwrap(), edge);
}
