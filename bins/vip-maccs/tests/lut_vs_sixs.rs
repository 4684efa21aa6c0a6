//! The LUT code against 6S itself (not the LUT), for every aerosol model of the committed
//! LUT GIPPs (`testdata/luts`, made by `scripts/make-luts`): random off-grid cases over the
//! 12 bands and the whole VENµS geometry (sun zenith 0–78°, view zenith 0–42°, one case in four
//! near the hot spot), committed with 6S's TOA reflectance (`testdata/sixs_cases/MODEL.tsv`,
//! made by `scripts/sixs/make_cases.py`), run through `vip-maccs lut --model MODEL`. A handful
//! of cases per model are rerun live through 6S to show the tables are 6S's.

use std::path::PathBuf;

use vip_testkit::{project_root, run_with_stdin};

const BIN: &str = env!("CARGO_BIN_EXE_vip-maccs");

/// Worst errors allowed, forward (TOA) and inverse (surface reflectance), over the whole
/// geometry, the hot spot included (the path's single-scattering term is interpolated apart,
/// see `lib/src/atmosphere/single_scattering.rs`), and the RMS per band that the committed
/// grid gives away from the hot spot (with margin), so a regression shows before the worst
/// case moves.
const FORWARD_MAX: f64 = 0.002;
const INVERSE_MAX: f64 = 0.003;
const FORWARD_RMS: f64 = 0.0006;
const INVERSE_RMS: f64 = 0.0009;

/// The aerosol models the committed LUTs hold.
const MODELS: [&str; 4] = ["CONTINEN", "DESERT", "MARITIME", "URBAN"];

struct Case {
    fields: Vec<String>,
    rho: f64,
    toa: f64,
}

fn cases(model: &str) -> Vec<Case> {
    let path = project_root().join(format!("testdata/sixs_cases/{model}.tsv"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        text.contains(&format!("{model} aerosol model")),
        "{}",
        path.display()
    );
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

/// Runs the probe of `model` on `input` and returns the value of `column` on each output line.
fn probe(model: &str, input: &str, extra: &[&str], column: &str) -> Vec<f64> {
    probe_in(&luts(), model, input, extra, column)
}

/// [`probe`] with the LUT sets of `gipp`.
fn probe_in(
    gipp: &std::path::Path,
    model: &str,
    input: &str,
    extra: &[&str],
    column: &str,
) -> Vec<f64> {
    let mut args = vec!["lut", "--gipp", gipp.to_str().unwrap(), "--model", model];
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

impl Case {
    /// Near the hot spot: relative azimuth within 6°, view zenith within 4° of the sun's.
    fn hot_spot(&self) -> bool {
        let f = |k: usize| -> f64 { self.fields[k].parse().unwrap() };
        f(3) <= 6.0 && (f(1) - f(2)).abs() <= 4.0
    }
}

/// Prints max and RMS per band of the cases away from the hot spot and the hot-spot cases' max
/// and RMS; checks the RMS of every band away from the hot spot against `rms_max` and the
/// worst error, away from and near the hot spot, against `max_allowed`.
fn report(what: &str, cases: &[Case], err: &[f64], (rms_max, max_allowed): (f64, f64)) {
    let mut worst = 0.0f64;
    let hot: Vec<f64> = cases
        .iter()
        .zip(err)
        .filter(|(c, _)| c.hot_spot())
        .map(|(_, e)| e.abs())
        .collect();
    let hot_worst = hot.iter().cloned().fold(0.0, f64::max);
    println!(
        "{what} near the hot spot: {} cases, max |err| {hot_worst:.5}, rms {:.5}",
        hot.len(),
        (hot.iter().map(|x| x * x).sum::<f64>() / hot.len() as f64).sqrt()
    );
    assert!(hot.len() >= 60, "{what}: {} hot-spot cases", hot.len());
    for b in 1..=12 {
        let e: Vec<f64> = cases
            .iter()
            .zip(err)
            .filter(|(c, _)| c.fields[0] == b.to_string() && !c.hot_spot())
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
    assert!(worst < max_allowed, "{what}: off 6S by up to {worst}");
    assert!(
        hot_worst < max_allowed,
        "{what}: off 6S by up to {hot_worst} near the hot spot"
    );
}

#[test]
fn every_model_of_the_committed_luts_has_its_cases() {
    let sets = vip::atmosphere::LutSet::models(&luts()).unwrap();
    assert_eq!(sets, MODELS, "LUT sets in testdata/luts");
    for m in MODELS {
        assert!(cases(m).len() >= 300, "{m}");
    }
}

#[test]
fn forward_and_inverse_through_the_luts_match_6s() {
    for model in MODELS {
        let cases = cases(model);
        // forward: surface reflectance → TOA, against 6S's TOA
        let input: String = cases.iter().map(|c| c.fields.join("\t") + "\n").collect();
        let toa = probe(model, &input, &[], "toa");
        let err: Vec<f64> = cases.iter().zip(&toa).map(|(c, t)| t - c.toa).collect();
        let bounds = (FORWARD_RMS, FORWARD_MAX);
        report(&format!("{model} forward TOA"), &cases, &err, bounds);
        // inverse: 6S's TOA → surface reflectance
        let input: String = cases
            .iter()
            .map(|c| format!("{}\t{}\n", c.fields[..7].join("\t"), c.toa))
            .collect();
        let rho = probe(model, &input, &["--toa"], "rho_s");
        let err: Vec<f64> = cases.iter().zip(&rho).map(|(c, r)| r - c.rho).collect();
        let bounds = (INVERSE_RMS, INVERSE_MAX);
        report(&format!("{model} inverse rho_s"), &cases, &err, bounds);
    }
}

#[test]
fn the_committed_cases_are_what_6s_gives() {
    let mut rerun = vec![];
    for model in MODELS {
        let cases = cases(model);
        for c in cases.iter().step_by(cases.len() / 3).take(3) {
            rerun.push((
                format!("{model} {}", c.fields[..8].join(" ")),
                format!("{model} {:?}", c.fields),
                c.toa,
            ));
        }
    }
    let script = format!(
        "import sys; sys.path.insert(0, {:?}); import sixs_runner as r\n\
         for line in sys.argv[1:]:\n    \
           m, b, sza, vza, raa, aot, wv, alt, rho = line.split()\n    \
           print(r.toa(int(b), float(sza), float(vza), float(raa), float(aot), float(wv), float(alt), float(rho), model=m))",
        project_root().join("scripts/sixs").to_str().unwrap()
    );
    vip_testkit::rerun_6s(&script, &rerun);
}

#[test]
fn the_whole_venus_geometry_is_inside_the_tables() {
    // VENµS points up to 30° off nadir (view zenith ≈ 37.6° on the ground at the swath edge,
    // seen on a real acquisition) and winter scenes at high latitude put the sun beyond 70°
    let input = "B01 75 40 0 0.3 2 0 0.1\nB12 78 42 180 0.3 2 3 0.1\nB07 0 0 0 0 0 0 0.1\n";
    for model in MODELS {
        let gipp = luts();
        let r = run_with_stdin(
            BIN,
            &[
                "lut",
                "--gipp",
                gipp.to_str().unwrap(),
                "--model",
                model,
                "--json",
            ],
            input,
        );
        r.code(0);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        for k in 0..3 {
            assert_eq!(v[k]["clamped"], serde_json::json!([]), "{model} case {k}");
        }
    }
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
    run_with_stdin(BIN, &["lut", "--gipp", g, "--model", "VOLCANIC"], "")
        .code(3)
        .one_error_line(
            "no LUT set for aerosol model VOLCANIC (available: CONTINEN, DESERT, MARITIME, URBAN)",
        );
}

/// A copy of the CONTINEN set of the committed LUTs in a fresh folder.
fn set_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(luts()).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        if name.contains("_L_CONTINEN_") {
            vip_testkit::copy_tree(&p, &dir.path().join(&name));
        }
    }
    dir
}

#[test]
fn tables_whose_axes_disagree_are_refused_naming_the_file() {
    // the direct transmission's altitudes are not the path's
    let dir = set_copy();
    let hdr = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_str().unwrap().contains("L2DIRT") && p.extension().unwrap() == "HDR")
        .unwrap();
    let text = std::fs::read_to_string(&hdr).unwrap();
    let (a, b) = (
        text.find("<Altitude_Indexes>").unwrap(),
        text.find("</Altitude_Indexes>").unwrap(),
    );
    let nodes: Vec<&str> = text[a + 18..b].split_whitespace().collect();
    let last: f64 = nodes[nodes.len() - 1].parse().unwrap();
    let moved = format!("{} {}", nodes[..nodes.len() - 1].join(" "), last + 500.0);
    std::fs::write(
        &hdr,
        format!("{}<Altitude_Indexes>{moved}{}", &text[..a], &text[b..]),
    )
    .unwrap();
    let r = set_probe(dir.path());
    r.code(3).one_error_line("Altitude_Indexes");
    assert!(
        r.stderr.contains("L2DIRT") && r.stderr.contains("disagrees with the L2TOCR"),
        "{}",
        r.stderr
    );

    // a set without its gaseous transmissions
    let dir = set_copy();
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let p = e.unwrap().path();
        if p.to_str().unwrap().contains("L2GAST") && p.extension().unwrap() == "HDR" {
            std::fs::remove_file(p).unwrap();
        }
    }
    set_probe(dir.path())
        .code(3)
        .one_error_line("no GIP_L2GAST GIPP for aerosol model CONTINEN");
}

#[test]
fn without_its_phase_function_the_set_misses_the_hot_spot() {
    // the same tables interpolated plainly: the backscatter peak falls between the nodes
    let dir = set_copy();
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let p = e.unwrap().path();
        if p.to_str().unwrap().contains("L2PHAS") && p.extension().unwrap() == "HDR" {
            std::fs::remove_file(p).unwrap();
        }
    }
    let hot: Vec<Case> = cases("CONTINEN")
        .into_iter()
        .filter(Case::hot_spot)
        .collect();
    let input: String = hot.iter().map(|c| c.fields.join("\t") + "\n").collect();
    let worst = |gipp: &std::path::Path| {
        let toa = probe_in(gipp, "CONTINEN", &input, &[], "toa");
        hot.iter()
            .zip(&toa)
            .map(|(c, t)| (t - c.toa).abs())
            .fold(0.0, f64::max)
    };
    let (plain, split) = (worst(dir.path()), worst(&luts()));
    println!("hot spot, forward: {plain:.5} plainly, {split:.5} with the phase function");
    assert!(plain > FORWARD_MAX && split < FORWARD_MAX / 2.0);
}

/// The probe of the CONTINEN set in `gipp`, on no case.
fn set_probe(gipp: &std::path::Path) -> vip_testkit::Run {
    let gipp = gipp.to_str().unwrap();
    run_with_stdin(BIN, &["lut", "--gipp", gipp, "--model", "CONTINEN"], "")
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
