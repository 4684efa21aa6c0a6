//! vip-l1 reads the REFLEC GIPP: its Earth–Sun distance model scales the TOA reflectance, and
//! a REFLEC that is missing or out of range is bad input naming it.

use std::path::{Path, PathBuf};

use vip_testkit::{read_band, run, Run, SimScene};

const L1: &str = env!("CARGO_BIN_EXE_vip-l1");

/// A copy of the scene's GIPP folder in `name`, and the REFLEC file in it.
fn gipp_copy(s: &SimScene, name: &str) -> (PathBuf, PathBuf) {
    let dir = s.scratch(name);
    std::fs::create_dir_all(&dir).unwrap();
    let mut reflec = None;
    for e in std::fs::read_dir(s.gipp()).unwrap() {
        let p = e.unwrap().path();
        let dest = dir.join(p.file_name().unwrap());
        std::fs::copy(&p, &dest).unwrap();
        if dest.to_string_lossy().contains("_GIP_REFLEC_") {
            reflec = Some(dest);
        }
    }
    (dir, reflec.expect("the simulator writes a REFLEC"))
}

fn l1(s: &SimScene, gipp: &Path, out: &str) -> Run {
    run(L1, &s.l1_args(gipp, &s.dem(), &s.scratch(out), &[]))
}

/// `d = 1 − e·cos(n·(JD − t0))` (ICD REFLEC, VE-ST-GSSM-44) at 2024-03-15T10:30:00 UTC.
fn icd_distance(n: f64, e: f64, t0: f64) -> f64 {
    let jd = 2_460_385.0 + 10.5 / 24.0 - 0.5;
    1.0 - e * (n * (jd - t0)).cos()
}

/// Sum of the valid reflectance counts of the 12 bands, and their number.
fn reflectance_sum(hdr: &Path) -> (f64, usize) {
    let p = vip::product::L1c::open(hdr).unwrap();
    let image = p.image_path(hdr.parent().unwrap());
    let (mut sum, mut n) = (0.0, 0);
    for b in 1..=12 {
        for v in read_band(&image, b).0 {
            if v != -10000.0 {
                sum += v;
                n += 1;
            }
        }
    }
    (sum, n)
}

#[test]
fn a_changed_reflec_scales_the_reflectance_by_the_squared_distance_ratio() {
    let s = SimScene::new("SIMULSIT", "2024-03-15", 48, 64, 3, 300.0);
    let r = l1(&s, &s.gipp(), "A");
    r.code(0);
    let a = r.paths().remove(0);
    let (gipp, reflec) = gipp_copy(&s, "G");
    let text = std::fs::read_to_string(&reflec).unwrap();
    let e0 = "<Revolution_Eccentricity>0.016709</Revolution_Eccentricity>";
    assert!(text.contains(e0), "{text}");
    std::fs::write(
        &reflec,
        text.replace(
            e0,
            "<Revolution_Eccentricity>0.05</Revolution_Eccentricity>",
        ),
    )
    .unwrap();
    let r = l1(&s, &gipp, "B");
    r.code(0);
    let b = r.paths().remove(0);

    // ρ = π L d² / (E0 cos θs): the ratio of the two products is the squared distance ratio.
    let n = std::f64::consts::TAU / 365.259_636;
    let (da, db) = (
        icd_distance(n, 0.016_709, 2_451_547.0),
        icd_distance(n, 0.05, 2_451_547.0),
    );
    let want = (db / da).powi(2);
    let ((sa, na), (sb, nb)) = (reflectance_sum(&a), reflectance_sum(&b));
    assert_eq!(na, nb);
    assert!(na > 12 * 48 * 64 / 2, "{na} valid pixels");
    let got = sb / sa;
    eprintln!("reflectance ratio {got:.6}, (d'/d)² = {want:.6}");
    assert!((want - 1.0).abs() > 0.02, "the change must matter: {want}");
    assert!((got - want).abs() < 1e-4, "ratio {got}, expected {want}");
    // The header names the REFLEC it used.
    let id = reflec.file_stem().unwrap().to_str().unwrap();
    assert!(std::fs::read_to_string(&b).unwrap().contains(id), "{id}");
}

#[test]
fn a_missing_or_invalid_reflec_is_bad_input_naming_it() {
    let s = SimScene::new("SIMULSIT", "2024-03-15", 48, 64, 3, 300.0);
    let (gipp, reflec) = gipp_copy(&s, "G");
    let text = std::fs::read_to_string(&reflec).unwrap();
    let e0 = "<Revolution_Eccentricity>0.016709</Revolution_Eccentricity>";
    for (bad, needle) in [
        ("NaN", "Revolution_Eccentricity 'NaN' is not a number"),
        (
            "0.7",
            "Revolution_Eccentricity is 0.7, it must be in [0, 0.1)",
        ),
    ] {
        let with = format!("<Revolution_Eccentricity>{bad}</Revolution_Eccentricity>");
        std::fs::write(&reflec, text.replace(e0, &with)).unwrap();
        l1(&s, &gipp, "OUT")
            .code(3)
            .one_error_line(&format!("{}: ", reflec.display()))
            .one_error_line(needle);
    }
    std::fs::remove_file(&reflec).unwrap();
    l1(&s, &gipp, "OUT")
        .code(3)
        .one_error_line("no GIP_REFLEC applicable to site SIMULSIT");
    assert!(!s.scratch("OUT").exists() || vip_testkit::files(&s.scratch("OUT")).is_empty());
}
