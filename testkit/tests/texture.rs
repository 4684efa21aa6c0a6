//! The simulated landscape's spatial structure against real images (issue 13): variogram, power
//! spectrum slope, fine-scale variance and edge density of vip-sim's red and NIR truth, measured
//! by `scripts/oracles/texture.py` (numpy) and held against five Sentinel-2 10 m chips over
//! farmland, pasture with hedges, hilly woodland and forest with a lake (`testdata/texture/`,
//! provenance and figures in its README). The simulated 5 m scene is averaged to 10 m and cut
//! into windows of the chips' 1.2 km so that both are seen at the same pixel and extent.
//! The same real chips blurred by a 10 m Gaussian are the control the acceptance band rejects.

use serde_json::Value;
use vip_testkit::{project_root, python, SimScene};

/// A VENµS band of the simulator, the Sentinel-2 band of the chips near it, and the edge
/// threshold (reflectance per 10 m) of the edge density compared.
struct Band {
    venus: &'static str,
    s2: &'static str,
    edge: &'static str,
}

const BANDS: [Band; 2] = [
    Band {
        venus: "B07",
        s2: "B04",
        edge: "0.02",
    },
    Band {
        venus: "B11",
        s2: "B08",
        edge: "0.05",
    },
];

const CHIPS: [&str; 5] = [
    "S2A_MSIL2A_20170613T101031_87_48",
    "S2A_MSIL2A_20170617T113321_36_85",
    "S2A_MSIL2A_20170617T113321_4_55",
    "S2A_MSIL2A_20171221T112501_56_35",
    "S2B_MSIL2A_20170924T93020_69_24",
];

/// Runs the measure with `args`; one JSON object per output line.
fn texture(args: &[&str]) -> Vec<Value> {
    let out = std::process::Command::new(python())
        .arg(project_root().join("scripts/oracles/texture.py"))
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "texture.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn real_chips(band: &Band) -> Vec<String> {
    CHIPS
        .iter()
        .map(|c| {
            project_root()
                .join(format!("testdata/texture/{c}_{}.tif", band.s2))
                .display()
                .to_string()
        })
        .collect()
}

/// The compared statistics of one measure: β, variance fraction below 40 m wavelength,
/// γ(20 m)/σ², edge density at the band's threshold.
fn figures(m: &Value, band: &Band) -> [f64; 4] {
    [
        m["beta"].as_f64().unwrap(),
        m["var_lt40m"].as_f64().unwrap(),
        m["variogram"]["mean"]["20"].as_f64().unwrap(),
        m["edges"][band.edge].as_f64().unwrap(),
    ]
}

const NAMES: [&str; 4] = ["beta", "var_lt40m", "gamma20/var", "edges"];

/// What in `f` falls outside the band the real figures span: β within ± 0.3 of their range,
/// the fine-scale variance, γ(20 m)/σ² and the edge density within a factor 2 of their range
/// (a landscape too smooth fails below, one of noise above).
fn outside(f: &[f64; 4], real: &[[f64; 4]]) -> Vec<String> {
    let lo = |i: usize| real.iter().map(|r| r[i]).fold(f64::INFINITY, f64::min);
    let hi = |i: usize| real.iter().map(|r| r[i]).fold(f64::NEG_INFINITY, f64::max);
    let bounds = [
        (lo(0) - 0.3, hi(0) + 0.3),
        (0.5 * lo(1), 2.0 * hi(1)),
        (0.5 * lo(2), 2.0 * hi(2)),
        (0.5 * lo(3), 2.0 * hi(3)),
    ];
    (0..4)
        .filter(|&i| !(bounds[i].0..=bounds[i].1).contains(&f[i]))
        .map(|i| {
            format!(
                "{} {:.3} outside [{:.3}, {:.3}]",
                NAMES[i], f[i], bounds[i].0, bounds[i].1
            )
        })
        .collect()
}

fn table(label: &str, f: &[f64; 4]) {
    eprintln!(
        "{label:<40} beta {:.2}  var<40m {:.3}  g20/var {:.3}  edges {:.3}",
        f[0], f[1], f[2], f[3]
    );
}

#[test]
fn measure_recovers_known_structure() {
    let c = &texture(&["--check"])[0];
    let w = &c["white"];
    for (lag, g) in w["variogram"]["mean"].as_object().unwrap() {
        let g = g.as_f64().unwrap();
        assert!((g - 1.0).abs() < 0.03, "white noise γ({lag} m)/σ² = {g}");
    }
    let beta = w["beta"].as_f64().unwrap();
    assert!(beta.abs() < 0.15, "white noise β = {beta}");
    let (got, want) = (
        w["var_lt40m"].as_f64().unwrap(),
        w["expected_var_lt40m"].as_f64().unwrap(),
    );
    assert!(
        (got - want).abs() < 0.02,
        "white noise var<40m {got} vs {want}"
    );
    for (beta, got) in c["fields"].as_object().unwrap() {
        let (b, got) = (beta.parse::<f64>().unwrap(), got.as_f64().unwrap());
        assert!((got - b).abs() < 0.15, "field of β = {b}: measured {got}");
    }
}

#[test]
fn simulated_landscape_is_as_structured_as_real_images() {
    let scene = SimScene::new("SIMULSIT", "2024-06-15", 512, 512, 1, 300.0);
    let mut failures = Vec::new();
    for band in &BANDS {
        let chips = real_chips(band);
        let mut args = vec!["--scale", "1e-4"];
        args.extend(chips.iter().map(String::as_str));
        let real: Vec<[f64; 4]> = texture(&args).iter().map(|m| figures(m, band)).collect();
        for (c, f) in CHIPS.iter().zip(&real) {
            table(&format!("real {c} {}", band.s2), f);
        }

        // The control: the real chips blurred by a 10 m Gaussian must fall outside the band.
        let mut args = vec!["--scale", "1e-4", "--smooth-m", "10"];
        args.extend(chips.iter().map(String::as_str));
        for (c, m) in CHIPS.iter().zip(texture(&args)) {
            let f = figures(&m, band);
            table(&format!("control {c} {}", band.s2), &f);
            assert!(
                !outside(&f, &real).is_empty(),
                "{c} {} blurred by 10 m passes: the acceptance band rejects nothing",
                band.s2
            );
        }

        let truth = scene.dir.join(format!("truth/TOA_{}.tif", band.venus));
        assert!(truth.is_file(), "{} missing", truth.display());
        let truth = truth.display().to_string();
        let sim = &texture(&["--resample-to", "10", "--window-m", "1200", &truth])[0];
        let f = figures(sim, band);
        table(
            &format!("vip-sim TOA_{} (10 m, 1.2 km windows)", band.venus),
            &f,
        );
        failures.extend(
            outside(&f, &real)
                .into_iter()
                .map(|o| format!("{} vs S2 {}: {o}", band.venus, band.s2)),
        );
    }
    assert!(
        failures.is_empty(),
        "the simulated landscape is unlike the real images:\n{}",
        failures.join("\n")
    );
}
