//! Simulator round trip: vip-sim makes a raw L1A from a known TOA truth over relief; vip-l1
//! must give the truth back on the site grid, for every band.

use std::path::Path;

use vip_testkit::run;

const L1: &str = env!("CARGO_BIN_EXE_vip-l1");

fn read(path: &Path, band: usize) -> (Vec<f64>, usize, usize) {
    let ds = vip::raster::open(path).unwrap();
    let (w, h) = ds.raster_size();
    let v: Vec<f64> = vip::raster::read_window::<f64>(&ds, band, (0, 0), (w, h)).unwrap();
    (v, w, h)
}

struct Errors {
    /// Per band: (99th percentile of |error|, count of compared pixels).
    per_band: Vec<(f64, usize)>,
}

fn l1c_against_truth(scene: &Path, l1c_hdr: &Path, border: usize, skip_flagged: bool) -> Errors {
    let product = vip::product::L1c::open(l1c_hdr).unwrap();
    let image = product.image_path(l1c_hdr.parent().unwrap());
    let (sat, _, _) = read(&image, 13);
    let (pix, _, _) = read(&image, 14);
    let mut per_band = Vec::new();
    for b in 1..=12 {
        let (l1c, w, h) = read(&image, b);
        let (truth, tw, th) = read(&scene.join(format!("truth/TOA_B{b:02}.tif")), 1);
        assert_eq!((w, h), (tw, th));
        let mut errs = Vec::new();
        for r in border..h - border {
            for c in border..w - border {
                let i = r * w + c;
                if l1c[i] == -10000.0 {
                    continue;
                }
                if skip_flagged && (sat[i] != 0.0 || pix[i] != 0.0) {
                    continue;
                }
                errs.push((l1c[i] * 0.001 - truth[i]).abs());
            }
        }
        errs.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let p99 = errs[(errs.len() as f64 * 0.99) as usize];
        per_band.push((p99, errs.len()));
    }
    Errors { per_band }
}

#[test]
fn truth_comes_back_within_0_002_over_relief() {
    let tmp = tempfile::tempdir().unwrap();
    let scene = tmp.path().join("S");
    let spec = vip::sim::SceneSpec::new("SIMULSIT", "2024-03-15", "10:30:00", 160, 192, 11, 900.0)
        .unwrap();
    let opts = vip::cli::Options {
        output: scene.clone(),
        threads: 2,
        ..Default::default()
    };
    let l1a = vip::sim::write_scene(&spec, &opts).unwrap().remove(0);
    let site = vip::geometry::grid::Site::read(&scene.join("site.json")).unwrap();
    let (dem, _) = vip::geometry::dem::Dem::read(&scene.join("DEM.tif")).unwrap();
    let (mut lo, mut hi) = (f64::MAX, f64::MIN);
    for r in 0..site.lines {
        for c in 0..site.cols {
            let (e, n) = site.pixel_centre(r as f64, c as f64);
            lo = lo.min(dem.height(e, n));
            hi = hi.max(dem.height(e, n));
        }
    }
    assert!(hi - lo >= 500.0, "relief over the site {lo:.0}..{hi:.0} m");
    let out = tmp.path().join("OUT");
    let r = run(
        L1,
        &[
            l1a.to_str().unwrap(),
            "--gipp",
            scene.join("GIPP").to_str().unwrap(),
            "--dem",
            scene.join("DEM.tif").to_str().unwrap(),
            "--site",
            scene.join("site.json").to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
    );
    r.code(0);
    let hdr = r.paths().remove(0);
    let all = l1c_against_truth(&scene, &hdr, 4, false);
    let clean = l1c_against_truth(&scene, &hdr, 4, true);
    for b in 0..12 {
        eprintln!(
            "B{:02}: p99 |err| {:.5} ({} px), unflagged {:.5} ({} px)",
            b + 1,
            all.per_band[b].0,
            all.per_band[b].1,
            clean.per_band[b].0,
            clean.per_band[b].1
        );
    }
    for (b, (p99, n)) in all.per_band.iter().enumerate() {
        assert!(*n > 160 * 192 / 2, "B{:02}: only {n} valid pixels", b + 1);
        assert!(
            *p99 < 0.002,
            "B{:02}: 99th percentile error {p99:.5}",
            b + 1
        );
    }

    // Control: the same run on a flat DEM misplaces each band by its own parallax (up to
    // 0.0125 × 900 m ≈ 2 pixels for B05/B06), which the comparison must see.
    let flat = tmp.path().join("flat.tif");
    {
        let src = vip::raster::open(&scene.join("DEM.tif")).unwrap();
        let spec = vip::raster::spec_like(&src).unwrap();
        let mut ds = vip::raster::create_geotiff(&flat, &spec, &[]).unwrap();
        let zeros = vec![0f32; spec.width * spec.height];
        vip::raster::write_window(&mut ds, 1, (0, 0), (spec.width, spec.height), &zeros).unwrap();
        vip::raster::finish(ds, &flat).unwrap();
    }
    let out = tmp.path().join("FLAT");
    let r = run(
        L1,
        &[
            l1a.to_str().unwrap(),
            "--gipp",
            scene.join("GIPP").to_str().unwrap(),
            "--dem",
            flat.to_str().unwrap(),
            "--site",
            scene.join("site.json").to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
    );
    r.code(0);
    let flat_errors = l1c_against_truth(&scene, &r.paths()[0], 4, false);
    for b in [4, 5] {
        eprintln!(
            "flat DEM B{:02}: p99 {:.5}",
            b + 1,
            flat_errors.per_band[b].0
        );
        assert!(
            flat_errors.per_band[b].0 > 0.002,
            "B{:02} on a flat DEM: {:.5}",
            b + 1,
            flat_errors.per_band[b].0
        );
    }
}
