//! The L1 stereo cloud detection against vip-sim's 3-D clouds: the CLA annex's altitude
//! against the truth CLA for thick clouds, the CLD band against the clouds the L1C shows
//! (truth CLD_SEEN), snow at ground level left clear (it has no B05/B06 disparity), the
//! CLA annex, quicklook and headers against the VENµS schemas, the same bytes for 1 and 2
//! threads, and bad CLOUDD elements refused.
//!
//! Oracle: vip-sim draws each cloud layer at a known altitude and renders every band along its
//! own line of sight (lib/src/sim/clouds.rs); none of the L1's stereo code is shared with it.

use std::path::{Path, PathBuf};

use vip::product::L1c;
use vip::sim::clouds::{CloudSpec, Kind, Layer};
use vip_testkit::{assert_same_tree, files, read_band, run, SimScene};

const L1: &str = env!("CARGO_BIN_EXE_vip-l1");
const SIDE: u32 = 320;
/// Optical thickness above which a cloud is "thick" for the altitude and detection figures.
const THICK: f64 = 2.0;

fn scene(date: &str, relief: f64, height_m: f64, seed: u64) -> SimScene {
    let mut spec =
        vip::sim::SceneSpec::new("SIMULSIT", date, "10:30:00", SIDE, SIDE, seed, relief).unwrap();
    spec.clouds = Some(CloudSpec {
        seed: 11 + seed,
        layers: vec![Layer {
            kind: Kind::Cumulus,
            height_m,
            cover: 0.3,
            tau: (4.0, 30.0),
        }],
    });
    SimScene::of(spec)
}

fn truth(s: &SimScene, name: &str) -> Vec<f64> {
    read_band(&s.dir.join(format!("truth/{name}.tif")), 1).0
}

/// Whether any pixel within `radius` of pixel `i` satisfies `f`.
fn near(v: &[f64], n: usize, i: usize, radius: usize, f: impl Fn(f64) -> bool) -> bool {
    let (x, y) = (i % n, i / n);
    (y.saturating_sub(radius)..(y + radius + 1).min(n))
        .any(|yy| (x.saturating_sub(radius)..(x + radius + 1).min(n)).any(|xx| f(v[yy * n + xx])))
}

struct Figures {
    /// Thick-cloud CLA cells measured within 500 m of the truth, among those measured.
    within_500: f64,
    /// Thick-cloud CLA cells given an altitude.
    cells_found: f64,
    median_error: f64,
    /// Pixels where B07 sees a thick cloud that the CLD band flags.
    detection: f64,
    /// Flagged pixels with no cloud on B07's line of sight within the parallax between bands.
    commission: f64,
    /// Snow pixels (truth SNW > 0.5) far from any cloud that the CLD band flags.
    snow_flagged: Option<f64>,
    cloud_percentage: f64,
}

/// The figures of the L1C `hdr` made from `s`.
fn figures(s: &SimScene, hdr: &Path) -> Figures {
    let n = SIDE as usize;
    let l1c = L1c::open(hdr).unwrap();
    let dir = hdr.parent().unwrap();
    let cla = l1c.read_cloud_altitude(dir).unwrap().expect("a CLA annex");
    let (tz, tthick) = (truth(s, "CLA"), truth(s, "CLD_THICK"));
    let step = cla.grid.step;
    let (mut errors, mut cells) = (Vec::new(), 0usize);
    for i in 0..cla.grid.lines {
        for j in 0..cla.grid.cols {
            let pixels: Vec<usize> = (i * step.0..((i + 1) * step.0).min(n))
                .flat_map(|r| (j * step.1..((j + 1) * step.1).min(n)).map(move |c| r * n + c))
                .collect();
            if !pixels.iter().all(|&k| tthick[k] > THICK) {
                continue;
            }
            cells += 1;
            let z = f64::from(cla.values[i * cla.grid.cols + j]);
            if z > 0.0 {
                errors.push((z - tz[pixels[0]]).abs());
            }
        }
    }
    assert!(cells > 100, "{cells} thick-cloud cells");
    errors.sort_by(f64::total_cmp);
    let mask = l1c.read_cloud_mask(dir, 0..n).unwrap();
    let seen = truth(s, "CLD_SEEN");
    // Parallax between the bands: |H·(d_B05 − d_B06)| / 5 m is the widest; 2.5 km ≈ 12 px.
    let (mut thick, mut found, mut flagged, mut false_alarms) = (0usize, 0usize, 0usize, 0usize);
    for k in 0..n * n {
        if seen[k] > THICK {
            thick += 1;
            found += usize::from(mask[k] == 1);
        }
        if mask[k] == 1 {
            flagged += 1;
            if !near(&seen, n, k, 16, |v| v > 0.0) {
                false_alarms += 1;
            }
        }
    }
    let any_seen = seen.iter().filter(|&&v| v > 0.1).count() as f64 / (n * n) as f64;
    eprintln!(
        "truth: B07 sees a cloud (tau > 0.1) on {:.1} % of the pixels, a thick one on {:.1} %; \
         {} cloud pixels flagged",
        100.0 * any_seen,
        100.0 * thick as f64 / (n * n) as f64,
        flagged
    );
    let snw = truth(s, "SNW");
    let snow: Vec<usize> = (0..n * n)
        .filter(|&k| snw[k] > 0.5 && !near(&seen, n, k, 16, |v| v > 0.0))
        .collect();
    Figures {
        within_500: errors.iter().filter(|&&e| e < 500.0).count() as f64
            / errors.len().max(1) as f64,
        cells_found: errors.len() as f64 / cells as f64,
        median_error: errors.get(errors.len() / 2).copied().unwrap_or(f64::NAN),
        detection: found as f64 / thick.max(1) as f64,
        commission: false_alarms as f64 / flagged.max(1) as f64,
        snow_flagged: (snow.len() > 500)
            .then(|| snow.iter().filter(|&&k| mask[k] == 1).count() as f64 / snow.len() as f64),
        cloud_percentage: l1c.site.cloud_percentage.unwrap(),
    }
}

fn report(what: &str, f: &Figures) {
    eprintln!(
        "{what}: thick-cloud CLA cells with an altitude {:.1} %, within 500 m {:.1} % (median \
         error {:.0} m); thick clouds seen by B07 flagged {:.1} %, flagged pixels with no cloud \
         within 16 px {:.2} %, snow flagged {}; Cloud_Percentage {}",
        100.0 * f.cells_found,
        100.0 * f.within_500,
        f.median_error,
        100.0 * f.detection,
        100.0 * f.commission,
        f.snow_flagged
            .map_or("n/a".to_string(), |v| format!("{:.2} %", 100.0 * v)),
        f.cloud_percentage
    );
}

/// Cumulus 2.5 km above flat ground in June.
#[test]
fn cumulus_altitude_and_mask_against_the_truth() {
    let s = scene("2024-06-21", 0.0, 2500.0, 3);
    let hdr = s.l1c();
    let f = figures(&s, &hdr);
    report("cumulus at 2500 m, flat", &f);
    assert!(f.cells_found > 0.9, "{}", f.cells_found);
    assert!(f.within_500 > 0.95, "{}", f.within_500);
    assert!(f.detection > 0.95, "{}", f.detection);
    assert!(f.commission < 0.05, "{}", f.commission);
    assert!(f.cloud_percentage > 10.0 && f.cloud_percentage < 70.0);
}

/// Cumulus 1.2 km above a snowy mountain site in January: the snow, bright in every band, is
/// not a cloud for the stereo.
#[test]
fn snow_at_ground_level_is_not_a_cloud() {
    let s = scene("2024-01-20", 1500.0, 1200.0, 7);
    let hdr = s.l1c();
    let f = figures(&s, &hdr);
    report("cumulus at 1200 m over snow and relief", &f);
    // On the real orbit B05 and B06 sample the ground 0.42 pixel apart across the track (the
    // earlier flat model had them in phase): striped fields alias differently in the two
    // bands, a few of their cells match at a false disparity and the cloud vote spreads over
    // the bright snow from there. Measured 1.9 % of the snow (0.85 % with bands in phase).
    let snow = f.snow_flagged.expect("snow in the scene");
    assert!(snow < 0.025, "{snow}");
    // Measured: the altitude is right where found but for those false matches (88 % within
    // 500 m), and a small cloud over snow is only partly found (the propagation over bright
    // cells stops halfway to the snow's ground points); see README.
    assert!(f.within_500 > 0.85, "{}", f.within_500);
    assert!(f.detection > 0.7, "{}", f.detection);
}

/// The binary: schemas, 1 and 2 threads, and a bad CLOUDD.
#[test]
fn annexes_validate_threads_agree_and_a_bad_cloudd_is_refused() {
    let s = scene("2024-06-21", 300.0, 2000.0, 5);
    let (a, b) = (s.scratch("A"), s.scratch("B"));
    for (out, threads) in [(&a, "1"), (&b, "2")] {
        let args = s.l1_args(
            &s.gipp(),
            &s.dem(),
            out,
            &["--threads", threads, "--ram", "16", "--site"],
        );
        let mut args = args;
        args.push(s.site_json().display().to_string());
        let r = std::process::Command::new(L1)
            .env("SOURCE_DATE_EPOCH", "1735689600")
            .args(&args)
            .output()
            .unwrap();
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    }
    assert_same_tree(&a, &b);
    let xml: Vec<PathBuf> = files(&a)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "HDR"))
        .collect();
    assert!(xml
        .iter()
        .any(|p| p.to_string_lossy().ends_with("_CLA.HDR")));
    assert!(xml.iter().any(|p| p.to_string_lossy().contains("_PDTQLK_")));
    let refs: Vec<&Path> = xml.iter().map(PathBuf::as_path).collect();
    vip::ee::schema::validate_all(&refs).unwrap();
    let hdr = xml
        .iter()
        .find(|p| p.parent() == Some(a.as_path()))
        .unwrap();
    let text = std::fs::read_to_string(hdr).unwrap();
    for needle in [
        "<Cloud_Detection_Statistics>",
        "<Blue_Band>B02</Blue_Band>",
        "<Code>CLOUDS_RATE</Code>",
        "<Nature>VSC_PDTQLK</Nature>",
        "sk=\"CLA\"",
    ] {
        assert!(text.contains(needle), "{needle}");
    }
    // GDAL reads the quicklook: 3 bands of 16 × 16 pixels (320 / 20).
    let jpg = files(&a)
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with(".DBL.JPG"))
        .unwrap();
    let (_, w, h) = read_band(&jpg, 3);
    assert_eq!((w, h), (16, 16));

    // A CLOUDD with an element missing or out of range: exit 3, one line naming the file and
    // the element, nothing written.
    let cloudd = files(&s.gipp())
        .into_iter()
        .find(|p| p.to_string_lossy().contains("_GIP_CLOUDD_"))
        .unwrap();
    let good = std::fs::read_to_string(&cloudd).unwrap();
    for (from, to, needle) in [
        (
            "<Disparity_Threshold>1.5</Disparity_Threshold>",
            "",
            "Disparity_Threshold",
        ),
        (
            "<Cloud_Detection_Maximum_Altitude>8000</Cloud_Detection_Maximum_Altitude>",
            "<Cloud_Detection_Maximum_Altitude>-1</Cloud_Detection_Maximum_Altitude>",
            "Cloud_Detection_Maximum_Altitude",
        ),
        (
            "<Stereo_Secondary_Band_Code>B06</Stereo_Secondary_Band_Code>",
            "<Stereo_Secondary_Band_Code>B05</Stereo_Secondary_Band_Code>",
            "Stereo_Secondary_Band_Code",
        ),
        (
            "<Reference_Window_Nb_Of_Lines>11</Reference_Window_Nb_Of_Lines>",
            "<Reference_Window_Nb_Of_Lines>10</Reference_Window_Nb_Of_Lines>",
            "Reference_Window_Nb_Of_Lines",
        ),
    ] {
        assert!(good.contains(from), "{from}");
        std::fs::write(&cloudd, good.replace(from, to)).unwrap();
        let out = s.scratch("BAD");
        let r = run(L1, &s.l1_args(&s.gipp(), &s.dem(), &out, &[]));
        r.code(3).one_error_line(needle);
        r.stderr_has(cloudd.file_name().unwrap().to_str().unwrap());
        assert!(
            !out.exists() || files(&out).is_empty(),
            "nothing written: {:?}",
            files(&out)
        );
    }
    std::fs::write(&cloudd, good).unwrap();
}
