//! Refinement on the reference image: vip-sim flies a scene whose auxiliary data are wrong by
//! an attitude bias of about 10 pixels across the track (74 µrad of roll, with pitch and yaw
//! biases) and a 20 ms time offset (25 lines), and writes the site's reference image from its
//! truth. vip-l1 must find the error and put the L1C where the truth is.
//!
//! The oracle is the truth raster, not the model: the L1C's B05 is registered against the
//! truth's B05 TOA reflectance window by window (normalised correlation and Lucas–Kanade),
//! and the same scene processed without its reference image shows the error the refinement
//! removes.

use std::path::{Path, PathBuf};

use vip_testkit::{read_band, run, SimScene};

const L1: &str = env!("CARGO_BIN_EXE_vip-l1");

/// 10 pixels of roll from 720 km, pitch and yaw biases, and 20 ms.
const ERROR: vip::geometry::orbital::KnowledgeError = vip::geometry::orbital::KnowledgeError {
    roll_urad: 74.0,
    pitch_urad: -30.0,
    yaw_urad: 200.0,
    time_s: 0.020,
};

fn scene(roll_deg: f64) -> SimScene {
    let mut spec =
        vip::sim::SceneSpec::new("SIMULSIT", "2024-03-15", "10:30:00", 900, 900, 11, 600.0)
            .unwrap();
    spec.knowledge = ERROR;
    spec.roll_deg = roll_deg;
    SimScene::of(spec)
}

/// vip-l1 on the site grid with the auxiliary data of `aux`; the L1C header and stderr.
fn l1c(s: &SimScene, aux: &Path, out: &str) -> (PathBuf, String) {
    let site = s.site_json();
    let r = run(
        L1,
        &s.l1_args(
            &s.gipp(),
            &s.dem(),
            &s.scratch(out),
            &[
                "--site",
                site.to_str().unwrap(),
                "--aux",
                aux.to_str().unwrap(),
            ],
        ),
    );
    r.code(0);
    (r.paths().remove(0), r.stderr.clone())
}

/// Shifts (columns, lines) of the L1C's band `b` against the truth's, in 6 × 6 windows of
/// `win` pixels searched ±`search`: where the truth shows up in the L1C.
fn registration(s: &SimScene, hdr: &Path, b: usize, win: usize, search: usize) -> Vec<(f64, f64)> {
    let product = vip::product::L1c::open(hdr).unwrap();
    let (l1c, w, h) = read_band(&product.image_path(hdr.parent().unwrap()), b);
    let (truth, _, _) = read_band(&s.dir.join(format!("truth/TOA_B{b:02}.tif")), 1);
    let mut shifts = vec![];
    for i in 0..6 {
        for j in 0..6 {
            let (y0, x0) = (20 + i * (h - 40 - win) / 5, 20 + j * (w - 40 - win) / 5);
            let cut = |v: &[f64], scale: f64| -> Vec<f64> {
                (0..win * win)
                    .map(|k| v[(y0 + k / win) * w + x0 + k % win] * scale)
                    .collect()
            };
            let (a, b) = (cut(&truth, 1.0), cut(&l1c, 0.001));
            if b.iter().any(|&v| v <= -9.0) {
                continue;
            }
            let sh = vip::geometry::shift::estimate(&a, &b, win, win, search);
            if sh.peak > 0.5 {
                shifts.push((sh.dx, sh.dy));
            }
        }
    }
    shifts
}

/// Median of each component.
fn median(v: &[(f64, f64)]) -> (f64, f64) {
    let mid = |f: fn(&(f64, f64)) -> f64| {
        let mut x: Vec<f64> = v.iter().map(f).collect();
        x.sort_by(f64::total_cmp);
        x[x.len() / 2]
    };
    (mid(|s| s.0), mid(|s| s.1))
}

/// 90th percentile of the shifts' lengths.
fn p90(v: &[(f64, f64)]) -> f64 {
    let mut x: Vec<f64> = v.iter().map(|s| s.0.hypot(s.1)).collect();
    x.sort_by(f64::total_cmp);
    x[x.len() * 9 / 10]
}

fn quality_index(hdr: &Path, code: &str) -> f64 {
    let product = vip::product::L1c::open(hdr).unwrap();
    let q = product
        .quality_indexes
        .iter()
        .find(|q| q.code == code && q.band.as_deref() == Some("B05"))
        .unwrap_or_else(|| panic!("no {code} of B05"));
    q.value.parse().unwrap()
}

/// The L1A folder's auxiliary data less the reference image.
fn aux_without_reference(s: &SimScene) -> PathBuf {
    let dir = s.scratch("aux");
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(s.l1a.parent().unwrap()).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let auxiliary = name.contains("_AUX_") || name.contains("_EXO_");
        if p.is_file() && auxiliary && !name.contains("REFIMG") {
            std::fs::copy(&p, dir.join(&name)).unwrap();
        }
    }
    dir
}

fn check(roll_deg: f64) {
    let s = scene(roll_deg);
    let l1a_dir = s.l1a.parent().unwrap().to_path_buf();
    let (refined, log) = l1c(&s, &l1a_dir, "refined");
    let product = vip::product::L1c::open(&refined).unwrap();
    assert!(product.flags.geometrical_refinement_with_ref_image);
    let used = product.reference_image.clone().unwrap_or_default();
    assert!(used.starts_with("VE_TEST_AUX_REFIMG_"), "{used}");
    let residual = quality_index(&refined, "IMAGE_RESIDUES_REFIMG");
    let valid = quality_index(&refined, "CORRELATION_NB_VALID_POINTS");
    let rate = quality_index(&refined, "CORRELATION_RATE");
    eprintln!("roll {roll_deg}°: tie points {valid}, residual {residual} px, rate {rate}");
    eprintln!(
        "{}",
        log.lines().find(|l| l.contains("refined on")).unwrap()
    );
    assert!(residual < 0.2, "IMAGE_RESIDUES_REFIMG {residual}");
    // the line of sight in the satellite frame: rolled as flown, B05 looking 0.72° fore
    let [x, y, xy] = product.site.view_in_satellite_frame.unwrap();
    eprintln!("satellite frame: X {x:.3}°, Y {y:.3}°, XY {xy:.3}°");
    assert!(
        (y - roll_deg).abs() < 0.3 && (0.5..1.0).contains(&x),
        "X {x}, Y {y}"
    );
    assert!(
        (xy - x
            .to_radians()
            .tan()
            .hypot(y.to_radians().tan())
            .atan()
            .to_degrees())
        .abs()
            < 1e-3
    );
    assert!(valid >= 100.0, "{valid} valid tie points");

    // B05, the reference band, B01 (another band looking fore) and B06 (looking aft): a
    // wrong yaw would move the bands looking fore and aft across the track in opposite
    // directions
    for b in [5, 1, 6] {
        let after = registration(&s, &refined, b, 128, 4);
        let (dx, dy) = median(&after);
        let spread = p90(&after);
        eprintln!(
            "refined B{b:02}: L1C against the truth over {} windows: median ({dx:.3}, \
             {dy:.3}) px, 90 % within {spread:.3}",
            after.len()
        );
        assert!(after.len() >= 30, "{} windows registered", after.len());
        assert!(dx.hypot(dy) < 0.05 && spread < 0.25, "B{b:02}: {after:?}");
    }

    // the control: the same scene without its reference image is not refined, and says so
    let (unrefined, log) = l1c(&s, &aux_without_reference(&s), "unrefined");
    assert!(log.contains("the geometry is not refined"), "{log}");
    let product = vip::product::L1c::open(&unrefined).unwrap();
    assert!(!product.flags.geometrical_refinement_with_ref_image);
    assert_eq!(product.reference_image, None);
    let before = registration(&s, &unrefined, 5, 200, 40);
    let (bx, by) = median(&before);
    eprintln!(
        "unrefined: median ({bx:.2}, {by:.2}) px over {} windows",
        before.len()
    );
    assert!(
        bx.hypot(by) > 10.0,
        "the injected error is not seen: {before:?}"
    );
}

#[test]
fn an_attitude_bias_and_a_time_offset_are_found_at_nadir() {
    check(0.0);
}

#[test]
fn an_attitude_bias_and_a_time_offset_are_found_at_25_degrees() {
    check(25.0);
}

/// RMS of the shifts about their median, pixels.
fn spread(v: &[(f64, f64)]) -> f64 {
    let (mx, my) = median(v);
    let n = v.len() as f64;
    (v.iter()
        .map(|s| (s.0 - mx).powi(2) + (s.1 - my).powi(2))
        .sum::<f64>()
        / n)
        .sqrt()
}

/// Attitude jitter of 4 µrad RMS per axis (2.9 m from 720 km) near 0.7, 2.3 and 7 Hz: the
/// 10 Hz attitude samples catch the slow part, and vip-l1 follows them line by line. The
/// control reads the attitude of the same orbit without the jitter (the quiet twin scene's
/// auxiliary data): the L1C then wanders with the whole jitter.
#[test]
fn attitude_jitter_is_followed_as_far_as_the_samples_show_it() {
    let spec = |noise: f64| {
        let mut spec =
            vip::sim::SceneSpec::new("SIMULSIT", "2024-03-15", "10:30:00", 900, 900, 11, 600.0)
                .unwrap();
        spec.attitude_noise_urad = noise;
        spec
    };
    let shaky = SimScene::of(spec(4.0));
    let quiet = SimScene::of(spec(0.0));
    let b05 = |s: &SimScene| {
        let dir = s.l1a.with_extension("DBL.DIR");
        let tif = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().ends_with("_B05.DBL.TIF"))
            .unwrap();
        std::fs::read(tif).unwrap()
    };
    assert!(
        b05(&shaky) != b05(&quiet),
        "the jitter is not in the images"
    );
    let (followed, _) = l1c(&shaky, shaky.l1a.parent().unwrap(), "followed");
    let (ignored, _) = l1c(&shaky, quiet.l1a.parent().unwrap(), "ignored");
    let (a, b) = (
        registration(&shaky, &followed, 5, 128, 4),
        registration(&shaky, &ignored, 5, 128, 4),
    );
    eprintln!(
        "jitter: L1C against the truth, spread of 36 windows {:.3} px with the jittered \
         samples, {:.3} px with the smooth attitude",
        spread(&a),
        spread(&b)
    );
    assert!(spread(&a) < 0.7 * spread(&b), "{a:?}\n{b:?}");
}

/// A scene much wider than long: the chips are read where they lie across the whole width (a
/// chip's columns were once clamped to the image's line count, and the chips beyond it read
/// zeros: 53 % of them correlated instead of 99.6 %).
#[test]
fn chips_across_a_wide_short_image_correlate() {
    let mut spec =
        vip::sim::SceneSpec::new("SIMULSIT", "2024-03-15", "10:30:00", 400, 2000, 11, 600.0)
            .unwrap();
    spec.knowledge = ERROR;
    let s = SimScene::of(spec);
    let (refined, _) = l1c(&s, s.l1a.parent().unwrap(), "wide");
    let valid = quality_index(&refined, "CORRELATION_PERCENTAGE_VALID_POINTS");
    assert!(valid >= 90.0, "{valid} % of the chips correlated");
}
