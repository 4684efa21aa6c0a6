//! The adjacency effect against 6S, an oracle independent of both the simulator and the
//! processor: 6S's TOA reflectance at the centre of a Lambertian disc of radius 0.1–10 km
//! (reflectance 0.03 in a 0.30 environment and the reverse; AOT 0.25 and 0.5; B03, B07, B11;
//! continental aerosol; θs 40°, θv 12°, Δφ 120°, LUT nodes) and over uniform ground:
//! `testdata/adjacency_6s.tsv`, made by `scripts/oracles/adjacency_6s.py`, four cases rerun live.
//!
//! Figures (`cargo test -p vip-maccs --test adjacency_6s -- --nocapture` prints them per case
//! and per radius; max |err| over bands, AOTs and contrasts):
//!
//! - The simulator's forward model (its environment [`Window`] of 6S's [`EnvFunction`] on the
//!   48 m raster, then [`PointTerms::toa`]) gives 6S's TOA within 0.00045 over the discs (RMS
//!   0.00016–0.00029 per radius), uniform ground within 0.00004; its weight of the disc is
//!   6S's F(R) within 0.006.
//! - The processor's correction formula (`PixelTerms::uniform` then `PixelTerms::adjacency`)
//!   gives back uniform ground within 0.00006, and, fed the environment 6S's function makes of
//!   the disc, the disc's reflectance within 0.0012 (RMS 0.0003–0.0006 per radius).
//! - With its own window (6S's function on its environment grid of 50 m cells, each cell its
//!   true reflectance) the processor gets the discs' reflectance within 0.0012 (RMS
//!   0.0003–0.0006 per radius). The box it used before (MAJA's mean over 9 × 9 cells of
//!   240 m) was off by up to 0.077 (R = 2 km, AOT 0.5): 6S's F(R) is 0.11–0.14 at 0.1 km,
//!   0.48–0.60 at 1 km and 0.86–0.95 at 10 km (more of the Rayleigh light comes from afar),
//!   the box's 0.007, 0.67 and 1.

use std::path::PathBuf;

use vip::atmosphere::environment::{EnvFunction, SummedArea, Window};
use vip::atmosphere::surface::PixelTerms;
use vip::atmosphere::{BandLuts, Conditions, LutSet};
use vip::level2;
use vip::sim::atmosphere::{PointTerms, ENV_CELL_M};
use vip_testkit::{project_root, rerun_6s};

/// LUT probe bounds (`lut_vs_sixs.rs`): forward TOA, inverse surface reflectance.
const LUT_FORWARD: f64 = 0.002;
const LUT_INVERSE: f64 = 0.003;
/// Worst TOA difference, simulator − 6S, over the discs: half the LUT probe's bound, the cases
/// sitting on LUT nodes; what is left is the ring approximation of F on 48 m cells and the
/// Rayleigh/aerosol split of the transmissions.
const SIM_MAX: f64 = 0.001;
/// Half width of the raster the simulator's environment is computed on, metres: far enough
/// that the Rayleigh weight beyond it (which the simulator spreads over the raster) is ~1 %.
const SIM_HALF_M: f64 = 50_000.0;

struct Case {
    band: String,
    c: Conditions,
    radius_km: f64,
    rho_t: f64,
    rho_e: f64,
    toa: f64,
    fields: Vec<String>,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(project_root().join("testdata/adjacency_6s.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("band"))
        .map(|l| {
            let f: Vec<String> = l.split('\t').map(str::to_string).collect();
            assert_eq!(f.len(), 11, "{l}");
            let v = |i: usize| -> f64 { f[i].parse().unwrap() };
            Case {
                band: format!("B{:02}", v(0)),
                c: Conditions {
                    sza: v(1),
                    vza: v(2),
                    raa: v(3),
                    aot: v(4),
                    wv: v(5),
                    alt: v(6) * 1000.0,
                },
                radius_km: v(7),
                rho_t: v(8),
                rho_e: v(9),
                toa: v(10),
                fields: f,
            }
        })
        .collect()
}

fn luts() -> LutSet {
    LutSet::read(&project_root().join("testdata/luts"), "CONTINEN").unwrap()
}

/// Share of the square cell of side `cell_m` centred (dx, dy) metres from the disc's centre
/// that lies in the disc of radius `r_m`.
fn disc_share(cell_m: f64, dx: f64, dy: f64, r_m: f64) -> f64 {
    let d = dx.hypot(dy);
    let half_diag = cell_m * std::f64::consts::FRAC_1_SQRT_2;
    if d + half_diag <= r_m {
        return 1.0;
    }
    if d - half_diag >= r_m {
        return 0.0;
    }
    const N: usize = 16;
    let s = |i: usize| ((i as f64 + 0.5) / N as f64 - 0.5) * cell_m;
    let inside = (0..N * N)
        .filter(|k| (dx + s(k % N)).hypot(dy + s(k / N)) < r_m)
        .count();
    inside as f64 / (N * N) as f64
}

/// The share of the environment the disc of `radius_km` holds on a raster of `n` × `n` cells of
/// `cell_m` centred on it, the cell offsets from the centre cell given to `share`.
fn disc_raster(n: usize, cell_m: f64, radius_km: f64) -> impl Fn(usize) -> f64 {
    let mid = (n / 2) as f64;
    move |k| {
        let (dx, dy) = ((k % n) as f64 - mid, (k / n) as f64 - mid);
        disc_share(cell_m, dx * cell_m, dy * cell_m, radius_km * 1000.0)
    }
}

/// The simulator's weight of the disc in the environment of its centre, band `l` under `c`.
fn sim_disc_weight(l: &BandLuts, c: &Conditions, sat: &SummedArea, n: usize) -> f64 {
    let w = Window::environment(&EnvFunction::of(l, c), ENV_CELL_M, n);
    w.mean_at(sat, n / 2, n / 2)
}

/// The simulator's weight of the disc for every disc case (NaN for uniform ground).
fn sim_disc_weights(set: &LutSet, cases: &[Case]) -> Vec<f64> {
    let n = 2 * (SIM_HALF_M / ENV_CELL_M).round() as usize + 1;
    let mut out = vec![f64::NAN; cases.len()];
    for r in radii(cases) {
        let sat = SummedArea::new(n, n, disc_raster(n, ENV_CELL_M, r));
        for (k, case) in cases.iter().enumerate().filter(|(_, c)| c.radius_km == r) {
            out[k] = sim_disc_weight(set.band(&case.band).unwrap(), &case.c, &sat, n);
        }
    }
    out
}

/// The processor's weight of the disc in the environment of its centre, band `l` under `c`:
/// its window on its environment grid of cells of true reflectance (every cell one sample).
fn processor_disc_weight(l: &BandLuts, c: &Conditions, sat: &SummedArea, n: usize) -> f64 {
    let w = Window::environment(&EnvFunction::of(l, c), level2::ENV_CELL_M, n);
    let ones = SummedArea::new(n, n, |_| 1.0);
    w.weighted_sum_at(sat, n / 2, n / 2) / w.weighted_sum_at(&ones, n / 2, n / 2)
}

/// The processor's weight of the disc for every disc case (NaN for uniform ground).
fn processor_disc_weights(set: &LutSet, cases: &[Case]) -> Vec<f64> {
    let n = 2 * (SIM_HALF_M / level2::ENV_CELL_M).round() as usize + 1;
    let mut out = vec![f64::NAN; cases.len()];
    for r in radii(cases) {
        let sat = SummedArea::new(n, n, disc_raster(n, level2::ENV_CELL_M, r));
        for (k, case) in cases.iter().enumerate().filter(|(_, c)| c.radius_km == r) {
            out[k] = processor_disc_weight(set.band(&case.band).unwrap(), &case.c, &sat, n);
        }
    }
    out
}

/// 6S's own environment weight F(R) of the disc: from its TOA, inverting its coupling formula
/// with the LUT terms (exact for the uniform cases).
fn sixs_disc_weight(t: &PointTerms, case: &Case) -> f64 {
    // toa = P + Tg·T↓·(T↑dir·ρt + T↑dif·e)/(1 − S·e), linear in e once multiplied out
    let g = t.tg * t.t_down;
    let (dir, dif) = (t.t_up_dir, t.t_up - t.t_up_dir);
    let y = case.toa - t.path;
    let e = (y - g * dir * case.rho_t) / (g * dif + y * t.s);
    (e - case.rho_e) / (case.rho_t - case.rho_e)
}

/// The radii of the disc cases, ascending.
fn radii(cases: &[Case]) -> Vec<f64> {
    let mut radii: Vec<f64> = cases
        .iter()
        .map(|c| c.radius_km)
        .filter(|r| r.is_finite())
        .collect();
    radii.sort_by(f64::total_cmp);
    radii.dedup();
    radii
}

/// Prints the max and RMS of `err` per radius (`err` holds (radius, error) pairs); returns
/// the worst.
fn report(what: &str, radii: &[f64], err: &[(f64, f64)]) -> f64 {
    println!("{what}, per radius (km): max |err|, rms");
    let mut worst = 0.0f64;
    for &r in radii {
        let e: Vec<f64> = err.iter().filter(|x| x.0 == r).map(|x| x.1).collect();
        let max = e.iter().map(|x| x.abs()).fold(0.0, f64::max);
        let rms = (e.iter().map(|x| x * x).sum::<f64>() / e.len() as f64).sqrt();
        println!("  {r:4}: {max:.5} {rms:.5}");
        worst = worst.max(max);
    }
    worst
}

#[test]
fn the_simulator_gives_6s_toa_over_discs_and_uniform_ground() {
    let set = luts();
    let cases = cases();
    assert_eq!(cases.len(), 120);
    let radii = radii(&cases);
    let weights = sim_disc_weights(&set, &cases);
    let processor = processor_disc_weights(&set, &cases);
    let (mut err, mut f_err) = (vec![], 0.0f64);
    println!("band aot radius rho_t: F(R) of 6S, of the simulator, of the processor");
    for ((case, &w), &wp) in cases.iter().zip(&weights).zip(&processor) {
        if case.radius_km.is_infinite() {
            continue;
        }
        let r = case.radius_km;
        let t = PointTerms::from(&set.band(&case.band).unwrap().terms(&case.c));
        let env = case.rho_e + w * (case.rho_t - case.rho_e);
        err.push((r, t.toa(case.rho_t, env) - case.toa));
        let f6s = sixs_disc_weight(&t, case);
        f_err = f_err.max((w - f6s).abs());
        println!(
            "{} {} {r:4} {}: {f6s:.3} {w:.3} {:.3}",
            case.band, case.c.aot, case.rho_t, wp
        );
    }
    let worst = report("simulator TOA − 6S", &radii, &err);
    println!("simulator F(R) − 6S's max |err| {f_err:.4}");
    assert!(worst < SIM_MAX, "simulator off 6S by up to {worst}");
    let mut uniform = 0.0f64;
    for case in cases.iter().filter(|c| c.radius_km.is_infinite()) {
        let t = PointTerms::from(&set.band(&case.band).unwrap().terms(&case.c));
        uniform = uniform.max((t.toa(case.rho_t, case.rho_t) - case.toa).abs());
    }
    println!("uniform ground: simulator TOA − 6S max |err| {uniform:.5}");
    assert!(uniform < LUT_FORWARD, "uniform TOA off 6S by {uniform}");
}

/// The processor's disc reflectance from 6S's TOA, minus the disc's, per case: (radius,
/// error), the environment of the disc's centre holding the disc with `weight[k]` for case k.
fn processor_errors(set: &LutSet, cases: &[Case], weight: &[f64]) -> Vec<(f64, f64)> {
    cases
        .iter()
        .zip(weight)
        .map(|(case, &w)| {
            let p = PixelTerms::from(&set.band(&case.band).unwrap().terms(&case.c));
            let rho_s = p.uniform(case.toa);
            if case.radius_km.is_infinite() {
                return (case.radius_km, rho_s - case.rho_t);
            }
            let env = case.rho_e + w * (case.rho_t - case.rho_e);
            (case.radius_km, p.adjacency(rho_s, env) - case.rho_t)
        })
        .collect()
}

#[test]
fn the_processor_inverts_6s_uniform_ground() {
    let set = luts();
    let cases = cases();
    let err = processor_errors(&set, &cases, &processor_disc_weights(&set, &cases));
    let worst = report("processor ρ − ρt, uniform ground", &[f64::INFINITY], &err);
    assert!(worst < LUT_INVERSE, "uniform inversion off by {worst}");
    println!("processor ρ − ρt, discs, its own window, per AOT and disc: max |err|, rms");
    for aot in [0.25, 0.5] {
        for rho_t in [0.03, 0.3] {
            let e: Vec<f64> = cases
                .iter()
                .zip(&err)
                .filter(|(c, e)| e.0.is_finite() && c.c.aot == aot && c.rho_t == rho_t)
                .map(|(_, e)| e.1)
                .collect();
            let max = e.iter().map(|x| x.abs()).fold(0.0, f64::max);
            let rms = (e.iter().map(|x| x * x).sum::<f64>() / e.len() as f64).sqrt();
            println!("  AOT {aot} ρt {rho_t}: {max:.5} {rms:.5}");
        }
    }
}

/// The processor's correction formula (`PixelTerms::uniform` then `PixelTerms::adjacency`) is
/// 6S's coupling: given the environment 6S's environment function makes of the disc (as the
/// simulator computes it, checked against 6S above), it gives back the disc's reflectance
/// from 6S's TOA within the LUT inversion's bound. What stands between the processor and 6S
/// over the discs is its window alone.
#[test]
fn given_6s_environment_the_processor_recovers_6s_discs() {
    let set = luts();
    let cases = cases();
    let err = processor_errors(&set, &cases, &sim_disc_weights(&set, &cases));
    let discs: Vec<(f64, f64)> = err.into_iter().filter(|e| e.0.is_finite()).collect();
    let worst = report(
        "processor ρ − ρt, discs, 6S's environment function",
        &radii(&cases),
        &discs,
    );
    assert!(worst < LUT_INVERSE, "disc reflectance off by up to {worst}");
}

/// What the processor reaches with its own window (6S's environment function on its
/// environment grid of [`level2::ENV_CELL_M`] cells, each cell its true reflectance).
#[test]
fn the_processor_recovers_6s_discs() {
    let set = luts();
    let cases = cases();
    let err = processor_errors(&set, &cases, &processor_disc_weights(&set, &cases));
    let discs: Vec<(f64, f64)> = err.into_iter().filter(|e| e.0.is_finite()).collect();
    let worst = report(
        "processor ρ − ρt, discs, its own window",
        &radii(&cases),
        &discs,
    );
    assert!(worst < LUT_INVERSE, "disc reflectance off by up to {worst}");
}

#[test]
fn the_committed_table_is_what_6s_gives() {
    let cases = cases();
    // a dark disc and a bright one, an aerosol-heavy case and a Rayleigh-heavy one
    let picked: Vec<&Case> = [5, 17, 50, 104].iter().map(|&i| &cases[i]).collect();
    let script = format!(
        "import sys; sys.path.insert(0, {:?}); import adjacency_6s as a\n\
         for line in sys.argv[1:]:\n    \
           b, aot, r, rt, re = line.split()\n    \
           print(a.toa((int(b), float(aot), float(r), float(rt), float(re))))",
        oracles().to_str().unwrap()
    );
    let cases: Vec<(String, String, f64)> = picked
        .iter()
        .map(|c| {
            let f = &c.fields;
            let line = format!("{} {} {} {} {}", f[0], f[4], f[7], f[8], f[9]);
            (line, format!("{:?}", c.fields), c.toa)
        })
        .collect();
    rerun_6s(&script, &cases);
}

fn oracles() -> PathBuf {
    project_root().join("scripts/oracles")
}
