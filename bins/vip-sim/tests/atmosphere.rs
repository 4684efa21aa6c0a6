//! vip-sim scene --luts: the atmosphere's truths (grids, ranges, slope effects), the TOA truth
//! against the LUT set's own terms, the copied LUT GIPPs, determinism, refusals.

use std::path::{Path, PathBuf};

use vip::atmosphere::LutSet;
use vip::sim::atmosphere::ENV_CELL_M;
use vip_testkit::{project_root, run};

const SIM: &str = env!("CARGO_BIN_EXE_vip-sim");

fn luts() -> PathBuf {
    project_root().join("testdata/luts")
}

fn scene(dir: &Path, extra: &[&str]) {
    let mut args = vec!["scene", "--seed", "5", "-o", dir.to_str().unwrap()];
    let l = luts();
    args.extend_from_slice(&["--luts", l.to_str().unwrap()]);
    args.extend_from_slice(extra);
    let r = run(SIM, &args);
    r.code(0);
    assert_eq!(r.paths().len(), 1, "{}", r.stdout);
}

/// A single-band float32 raster: (width, height, geotransform, values).
fn read(path: &Path) -> (usize, usize, [f64; 6], Vec<f64>) {
    let ds = vip::raster::open(path).unwrap();
    let (w, h) = ds.raster_size();
    let gt = vip::raster::geo_transform(&ds).unwrap();
    let v = vip::raster::read_window::<f32>(&ds, 1, (0, 0), (w, h)).unwrap();
    (w, h, gt, v.into_iter().map(f64::from).collect())
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn truths_have_the_site_grid_and_the_slopes_their_effect() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("S");
    scene(&dir, &["--lines", "160", "--cols", "160"]);
    let site = json(&dir.join("site.json"));
    let gt = [
        site["ulx"].as_f64().unwrap(),
        5.0,
        0.0,
        site["uly"].as_f64().unwrap(),
        0.0,
        -5.0,
    ];
    let t = dir.join("truth");
    let mut names: Vec<String> = vec!["AOT".into(), "WVC".into()];
    for q in ["TOA", "SRE", "FRE"] {
        names.extend((1..=12).map(|b| format!("{q}_B{b:02}")));
    }
    for n in &names {
        let (w, h, g, _) = read(&t.join(format!("{n}.tif")));
        assert_eq!((w, h, g), (160, 160, gt), "{n}");
    }
    let (_, _, _, aot) = read(&t.join("AOT.tif"));
    let (_, _, _, wv) = read(&t.join("WVC.tif"));
    assert!(aot.iter().all(|&a| (0.15..=0.25).contains(&a)));
    assert!(wv.iter().all(|&v| (1.5..=2.5).contains(&v)));
    let atm = json(&t.join("atmosphere.json"));
    assert_eq!(atm["aerosol_model"], "CONTINEN");
    assert_eq!(atm["aot_mean"], 0.2);
    assert_eq!(atm["wv_mean"], 2.0);
    assert_eq!(atm["terrain_side_m"], vip::sim::atmosphere::ENV_SIDE_M);
    assert_eq!(atm["environment"]["bands"].as_array().unwrap().len(), 12);
    // Every LUT set is in the scene's GIPP folder, whole.
    let models = LutSet::models(&luts()).unwrap();
    assert_eq!(LutSet::models(&dir.join("GIPP")).unwrap(), models);
    for m in &models {
        assert_eq!(
            LutSet::read(&dir.join("GIPP"), m).unwrap(),
            LutSet::read(&luts(), m).unwrap()
        );
    }
    // Slopes from the DEM: facing away from the sun, SRE < FRE; facing it, SRE > FRE.
    let (dw, dh, dgt, dem) = read(&dir.join("DEM.tif"));
    let (sz, sa) = (
        atm["geometry"]["sun_zenith"].as_f64().unwrap().to_radians(),
        atm["geometry"]["sun_azimuth"]
            .as_f64()
            .unwrap()
            .to_radians(),
    );
    let p = dgt[1];
    let (_, _, _, sre) = read(&t.join("SRE_B07.tif"));
    let (_, _, _, fre) = read(&t.join("FRE_B07.tif"));
    // -1: facing away, 1: facing the sun, 0: neither, at DEM pixel (x, y) (central differences)
    let side = |x: usize, y: usize| -> i32 {
        let z = |x: usize, y: usize| dem[y * dw + x];
        let gx = (z(x + 1, y) - z(x - 1, y)) / (2.0 * p);
        let gy = (z(x, y - 1) - z(x, y + 1)) / (2.0 * p);
        let slope = gx.hypot(gy).atan();
        if slope < 15f64.to_radians() {
            return 0;
        }
        // cos of the angle between the downslope direction and the sun azimuth
        let toward = (-gx * sa.sin() - gy * sa.cos()) / gx.hypot(gy);
        let cos_i = sz.cos() * slope.cos() + sz.sin() * slope.sin() * toward;
        if toward < -0.5 && cos_i < sz.cos() - 0.1 {
            -1
        } else if toward > 0.5 && cos_i > sz.cos() + 0.1 {
            1
        } else {
            0
        }
    };
    let (mut away, mut facing) = (0, 0);
    for r in 0..160 {
        for c in 0..160 {
            let (e, n) = (
                gt[0] + (c as f64 + 0.5) * 5.0,
                gt[3] - (r as f64 + 0.5) * 5.0,
            );
            // the four DEM pixel centres around (E, N): the terrain is rough at 20 m, so only
            // points where all four agree count
            let (x, y) = ((e - dgt[0]) / p - 0.5, (dgt[3] - n) / p - 0.5);
            let (x, y) = (x.floor() as usize, y.floor() as usize);
            assert!(x > 0 && y > 0 && x + 2 < dw && y + 2 < dh);
            let sides = [
                side(x, y),
                side(x + 1, y),
                side(x, y + 1),
                side(x + 1, y + 1),
            ];
            let k = r * 160 + c;
            if sides == [-1; 4] {
                away += 1;
                assert!(
                    sre[k] < fre[k],
                    "({r}, {c}) facing away: {} {}",
                    sre[k],
                    fre[k]
                );
            } else if sides == [1; 4] {
                facing += 1;
                assert!(
                    sre[k] > fre[k],
                    "({r}, {c}) facing the sun: {} {}",
                    sre[k],
                    fre[k]
                );
            }
        }
    }
    eprintln!("slopes facing away from the sun: {away} pixels, facing it: {facing}");
    assert!(away > 100 && facing > 100, "{away} {facing}");
}

/// On flat ground (here half snow: the snow line is at the base altitude; a lake gives sharp
/// edges) SRE = FRE, and the TOA truth is the forward model of the SRE truth with the
/// LUT set's own terms (`BandLuts::terms`, not the simulator's tables) at the AOT and WVC
/// truths. Solved for the environment reflectance, each pixel gives the simulator's ρ_env,
/// which lives on cells of [`ENV_CELL_M`], bilinear between their centres: along a row it is
/// linear between two cell centres (second differences measured 4e-6 to 9e-5, bound 2e-4), and
/// it moves between neighbouring pixels by a small share of the SRE's sharpest step (measured
/// 1.0-1.2 %, bound 2 %: 6S's environment function gives the nearest 50 m a few per cent of
/// the weight). A wrong pairing of TOA and SRE, or wrong terms, would leave the SRE's texture
/// in it, pixel-sharp where the SRE is.
#[test]
fn on_flat_ground_the_toa_truth_is_the_forward_model_of_the_sre_truth() {
    for model in LutSet::models(&luts()).unwrap() {
        eprintln!("aerosol model {model}");
        flat_ground_forward_model(&model);
    }
}

fn flat_ground_forward_model(model: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("S");
    scene(
        &dir,
        &[
            "--lines",
            "120",
            "--cols",
            "120",
            "--relief",
            "0",
            "--lake",
            "--aot",
            "0.3",
            "--wv",
            "1.2",
            "--aerosol-model",
            model,
        ],
    );
    let t = dir.join("truth");
    let atm = json(&t.join("atmosphere.json"));
    assert_eq!(atm["aerosol_model"], model);
    let g = &atm["geometry"];
    let set = LutSet::read(&luts(), model).unwrap();
    let (_, _, _, aot) = read(&t.join("AOT.tif"));
    let (_, _, _, wv) = read(&t.join("WVC.tif"));
    assert!(aot.iter().all(|&a| (0.225..=0.375).contains(&a)));
    assert!(wv.iter().all(|&v| (0.9..=1.5).contains(&v)));
    let (_, _, dem_gt, dem) = read(&dir.join("DEM.tif"));
    let alt = dem[0];
    assert!(dem.iter().all(|&h| h == alt));
    let (_, _, gt, _) = read(&t.join("AOT.tif"));
    // the triples of pixels of a row that straddle no cell centre, where the environment is
    // linear along the row
    let kink = |c: usize| -> bool {
        let x = |c: usize| gt[0] + (c as f64 + 0.5) * gt[1];
        let u = |x: f64| (x - dem_gt[0]) / ENV_CELL_M - 0.5;
        u(x(c - 1)).floor() != u(x(c + 1)).floor()
    };
    let mut worst_sre_step = 0.0f64;
    for b in 1..=12 {
        let code = format!("B{b:02}");
        let (_, _, _, toa) = read(&t.join(format!("TOA_{code}.tif")));
        let (_, _, _, sre) = read(&t.join(format!("SRE_{code}.tif")));
        let (_, _, _, fre) = read(&t.join(format!("FRE_{code}.tif")));
        assert!(sre.iter().zip(&fre).all(|(s, f)| (s - f).abs() < 1e-6));
        let raa = {
            let d = (g["sun_azimuth"].as_f64().unwrap()
                - g["view_azimuth"][b - 1].as_f64().unwrap())
            .abs()
            .rem_euclid(360.0);
            d.min(360.0 - d)
        };
        let luts = set.band(&code).unwrap();
        let env: Vec<f64> = (0..toa.len())
            .map(|k| {
                let c = vip::atmosphere::Conditions {
                    sza: g["sun_zenith"].as_f64().unwrap(),
                    vza: g["view_zenith"][b - 1].as_f64().unwrap(),
                    raa,
                    aot: aot[k],
                    wv: wv[k],
                    alt,
                };
                let t = luts.terms(&c);
                assert!(t.clamped.is_empty());
                let y = toa[k] - t.tg_path * t.rho_path;
                let down = t.tg * t.t_down;
                (y - down * t.t_up_dir * sre[k]) / (y * t.s + down * (t.t_up - t.t_up_dir))
            })
            .collect();
        let (mut env_step, mut sre_step, mut bend) = (0.0f64, 0.0f64, 0.0f64);
        for k in 0..toa.len() - 1 {
            if (k + 1) % 120 != 0 {
                env_step = env_step.max((env[k + 1] - env[k]).abs());
                sre_step = sre_step.max((sre[k + 1] - sre[k]).abs());
            }
            let c = k % 120;
            if c > 0 && c + 1 < 120 && !kink(c) {
                bend = bend.max((env[k + 1] - 2.0 * env[k] + env[k - 1]).abs());
            }
        }
        worst_sre_step = worst_sre_step.max(sre_step);
        assert!(env.iter().all(|&e| (0.0..0.95).contains(&e)), "{code}");
        assert!(bend < 2e-4, "{code}: second difference {bend}");
        assert!(
            env_step < 0.02 * sre_step,
            "{code}: environment step {env_step}, SRE step {sre_step}"
        );
        eprintln!(
            "{code}: largest step between neighbours: SRE {sre_step:.3}, implied environment \
             {env_step:.2e}; largest second difference off the cell centres {bend:.1e}"
        );
    }
    assert!(worst_sre_step > 0.05, "{worst_sre_step}");
}

#[test]
fn same_bytes_whatever_the_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let args = ["--lines", "96", "--cols", "128"];
    scene(&a, &[&args[..], &["--threads", "1"]].concat());
    scene(
        &b,
        &[&args[..], &["--threads", "2", "--ram", "16"]].concat(),
    );
    vip_testkit::assert_same_tree(&a, &b);
}

#[test]
fn bad_atmospheres_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("S");
    let o = out.to_str().unwrap();
    let l = luts();
    let l = l.to_str().unwrap();
    let small = ["scene", "--lines", "32", "--cols", "32", "-o", o];
    let r = run(SIM, &[&small[..], &["--aot", "0.3"]].concat());
    r.code(2);
    assert!(r.stderr.contains("--luts"), "{}", r.stderr);
    run(SIM, &[&small[..], &["--luts", l, "--aot", "0"]].concat())
        .code(2)
        .one_error_line("--aot");
    // AOT up to 1.25 × 0.7 is beyond the set's 0.8
    run(SIM, &[&small[..], &["--luts", l, "--aot", "0.7"]].concat())
        .code(2)
        .one_error_line("AOT");
    let missing = tmp.path().join("none");
    run(
        SIM,
        &[&small[..], &["--luts", missing.to_str().unwrap()]].concat(),
    )
    .code(3)
    .one_error_line("none");
    assert!(!out.exists());
}
