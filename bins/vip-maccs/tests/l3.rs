//! vip-maccs l3 (the L3A weighted-average synthesis) on a `vip-sim series` with known truth,
//! through vip-l1 and vip-maccs l2 (backward mode, so the masks are the chain's own):
//! - the weights, dates and reflectances against an independent reimplementation of CNES
//!   WASP's formulas (`scripts/oracles/l3_weights.py`, numpy and scipy.ndimage, reading the
//!   L2A rasters with GDAL's utilities);
//! - reflectance against the simulator's surface truth at the synthesis date (the simulator's
//!   surfaces change with the season and share no code with the synthesis; scored where the
//!   truth is smooth at the L1 resampling kernel's scale, `vip_testkit::SMOOTH`, as the L2
//!   accuracy is), seams along the edges of each date's cloud mask (where a date enters the
//!   average), the weighted date against the one the truth's own clouds give;
//! - the headers against the VENµS schemas, 1 and 2 threads giving the same bytes, and the
//!   bad inputs of the issue.

use std::path::{Path, PathBuf};

use vip::product::l2a::bits as l2a_bits;
use vip::product::l3a::{self, flags, L3a};
use vip_testkit::{files, project_root, python, read_band, run, SimSeries};

const BIN: &str = env!("CARGO_BIN_EXE_vip-maccs");
/// Lines and columns of the series (5 m pixels).
const SIZE: u32 = 256;
/// The synthesis date, the middle of the series: August, after the wheat harvest, when the
/// simulated surfaces change by about 0.003 in reflectance in 8 days (in a May green-up they
/// change by 0.02, and no average over a window can stand for one date: see README).
const DATE: &str = "2024-08-10";
const DATES: &str = "2024-08-01,2024-08-04,2024-08-07,2024-08-10,2024-08-13,2024-08-16,2024-08-19";

fn site() -> vip::sim::SceneSpec {
    let mut s =
        vip::sim::SceneSpec::new("FR-LQ1", "2024-08-01", "10:30:00", SIZE, SIZE, 6, 300.0).unwrap();
    s.atmosphere = Some(vip::sim::atmosphere::AtmosphereSpec {
        model: vip::atmosphere::luts::DEFAULT_MODEL.into(),
        luts: project_root().join("testdata/luts"),
        aot_mean: 0.15,
        wv_mean: 1.5,
    });
    s
}

/// The series, its L2As (backward mode) and their headers, valid or not.
fn series() -> (SimSeries, Vec<PathBuf>) {
    let series = SimSeries::new(site(), DATES);
    let l1cs: Vec<&PathBuf> = series.dates.iter().map(|d| &d.1).collect();
    let (ctx, out) = (series.scratch("CTX"), series.scratch("L2"));
    let r = series.l2(BIN, &l1cs, &ctx, &out, &["--mode", "backward"]);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    let headers: Vec<PathBuf> = files(&out)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "HDR") && p.parent() == Some(&out))
        .collect();
    (series, headers)
}

/// vip-maccs l3 of `inputs` at `date` into `out` with `extra` flags.
fn l3(
    series: &SimSeries,
    inputs: &[PathBuf],
    date: &str,
    out: &Path,
    extra: &[&str],
) -> vip_testkit::Run {
    let mut args: Vec<String> = vec!["l3".into()];
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    for (flag, value) in [
        ("--date", date.to_string()),
        ("--gipp", series.gipp().display().to_string()),
        ("-o", out.display().to_string()),
    ] {
        args.push(flag.into());
        args.push(value);
    }
    args.push("-q".into());
    args.extend(extra.iter().map(|s| s.to_string()));
    run(BIN, &args)
}

/// The product's rasters (file name → bytes).
fn rasters(hdr: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = files(&hdr.with_extension("DBL.DIR"))
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".DBL.TIF"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    v.sort();
    v
}

fn rmse(a: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = a.fold((0.0, 0usize), |(s, n), e| (s + e * e, n + 1));
    (s / n.max(1) as f64).sqrt()
}

/// One series for every check (the bad inputs last: they damage an L2A).
#[test]
fn l3a_of_a_simulated_series() {
    let (series, headers) = series();
    synthesis_against_the_truth_and_an_independent_oracle(&series, &headers);
    bad_inputs_write_nothing(&series, &headers);
}

fn synthesis_against_the_truth_and_an_independent_oracle(series: &SimSeries, headers: &[PathBuf]) {
    let (one, two) = (series.scratch("L3_1"), series.scratch("L3_2"));
    let r = l3(series, headers, DATE, &one, &["--threads", "1"]);
    r.code(0);
    let hdr = r.paths().remove(0);
    let r2 = l3(series, headers, DATE, &two, &["--threads", "2"]);
    r2.code(0);
    assert_eq!(
        rasters(&hdr),
        rasters(&r2.paths()[0]),
        "1 and 2 threads write the same rasters"
    );

    // headers
    let product = L3a::open(&hdr).unwrap();
    let hdrs: Vec<PathBuf> = files(&one)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "HDR"))
        .collect();
    let refs: Vec<&Path> = hdrs.iter().map(|p| p.as_path()).collect();
    vip::ee::schema::validate_all(&refs).unwrap();
    assert!(product.inputs.len() >= 5, "{} inputs", product.inputs.len());

    // against the truth of the synthesis date, where at least 2 clear dates were averaged
    let dir = hdr.parent().unwrap();
    let flg = read_band(&product.annex_path(dir, l3a::ANNEX_MSK), 1).0;
    let nbd = read_band(&product.annex_path(dir, l3a::ANNEX_QLT), 3).0;
    let truth_dir = series
        .dates
        .iter()
        .find(|(s, _)| s.ends_with(DATE.replace('-', "")))
        .map(|(s, _)| s.join("truth"))
        .unwrap();
    let used: Vec<bool> = flg
        .iter()
        .zip(&nbd)
        .map(|(&f, &n)| f == f64::from(flags::LAND) && n >= 2.0)
        .collect();
    let share = used.iter().filter(|u| **u).count() as f64 / used.len() as f64;
    println!(
        "land seen on >= 2 dates: {:.1} % of the pixels",
        100.0 * share
    );
    assert!(share > 0.5, "{share}");
    let mut worst = 0.0f64;
    for b in 1..=12 {
        let fre = read_band(&product.image_path(dir), b).0;
        let truth = read_band(&truth_dir.join(format!("FRE_B{b:02}.tif")), 1).0;
        let err = |keep: &[bool]| {
            rmse(
                fre.iter()
                    .zip(&truth)
                    .zip(keep)
                    .filter(|(_, k)| **k)
                    .map(|((f, t), _)| f * product.site.quantification - t),
            )
        };
        let smooth = vip_testkit::smooth(&used, &truth, SIZE as usize);
        let (all, e) = (err(&used), err(&smooth));
        println!("B{b:02}: L3A FRE RMSE against the truth of {DATE}: {e:.4} where smooth, {all:.4} over all");
        worst = worst.max(e);
    }
    assert!(worst < 0.01, "worst band RMSE {worst}");

    // seams: the error's step between neighbours across the edge of a date's cloud mask
    // (where a date enters or leaves the average) against its step between other neighbours,
    // where the truth is smooth
    let fre = read_band(&product.image_path(dir), 11).0;
    let truth = read_band(&truth_dir.join("FRE_B11.tif"), 1).0;
    let n = SIZE as usize;
    let smooth = vip_testkit::smooth(&used, &truth, n);
    let err: Vec<f64> = fre
        .iter()
        .zip(&truth)
        .map(|(f, t)| f * product.site.quantification - t)
        .collect();
    let masks: Vec<Vec<f64>> = headers
        .iter()
        .filter(|h| h.to_string_lossy().contains("L2VALD"))
        .map(|h| {
            let l2a = vip::product::L2a::open(h).unwrap();
            read_band(&l2a.annex_path(h.parent().unwrap(), "CLD"), 1).0
        })
        .collect();
    let (mut across, mut within) = (vec![], vec![]);
    for r in 0..n {
        for c in 0..n {
            for (r2, c2) in [(r, c + 1), (r + 1, c)] {
                let (p, q) = (r * n + c, r2 * n + c2);
                if r2 >= n || c2 >= n || !smooth[p] || !smooth[q] {
                    continue;
                }
                let step = (err[p] - err[q]).abs();
                let edge = masks
                    .iter()
                    .any(|m| (m[p] as u8 & l2a_bits::CLD_ALL) != (m[q] as u8 & l2a_bits::CLD_ALL));
                if edge {
                    across.push(step);
                } else {
                    within.push(step);
                }
            }
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    println!(
        "seams, B11: mean error step {:.4} across {} cloud-mask edges, {:.4} across {} other neighbours",
        mean(&across),
        across.len(),
        mean(&within),
        within.len()
    );
    assert!(across.len() > 200, "the series has cloud edges");
    assert!(mean(&across) < 1.5 * mean(&within) + 0.0005);

    // the independent oracle, and the weighted date against the truth's
    let l2_dirs: Vec<String> = product
        .inputs
        .iter()
        .map(|i| {
            headers
                .iter()
                .find(|h| h.to_string_lossy().contains(&i.id))
                .unwrap()
                .with_extension("DBL.DIR")
                .display()
                .to_string()
        })
        .collect();
    let truths: Vec<String> = product
        .inputs
        .iter()
        .map(|i| {
            let d = i.date.format("%Y%m%d").to_string();
            series
                .dates
                .iter()
                .find(|(s, _)| s.ends_with(&d))
                .unwrap()
                .0
                .display()
                .to_string()
        })
        .collect();
    let out = std::process::Command::new(python())
        .arg(project_root().join("scripts/oracles/l3_weights.py"))
        .args(["--date", DATE, "--half-window", "11"])
        .arg(hdr.with_extension("DBL.DIR"))
        .args(&l2_dirs)
        .arg("--truth")
        .args(&truths)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    println!("oracle: {m}");
    let f = |k: &str| m[k].as_f64().unwrap();
    assert!(f("wgt_max_err") <= 0.0006, "{m}");
    assert!(f("pxd_mismatch") < 0.001, "{m}");
    assert!(f("fre_max_err") <= 1.0, "{m}");
    assert!(
        f("cloud_weighted") > 0.05,
        "the cloud weight is exercised: {m}"
    );
    assert!(f("date_truth_abs_mean") < 1.0, "{m}");
}

fn bad_inputs_write_nothing(series: &SimSeries, headers: &[PathBuf]) {
    let out = series.scratch("L3");
    // no L2A in the window: exit 1, nothing written
    l3(series, headers, "2025-01-01", &out, &[])
        .code(1)
        .stderr_has("no valid L2A within 11 days of 2025-01-01");
    assert!(!out.exists() || files(&out).is_empty());
    // a date that is not one
    l3(series, headers, "2024-13-01", &out, &[]).code(2);
    // the same L2A twice
    let valid: Vec<PathBuf> = headers
        .iter()
        .filter(|h| h.to_string_lossy().contains("L2VALD"))
        .cloned()
        .collect();
    let twice = [valid[0].clone(), valid[0].clone()];
    l3(series, &twice, DATE, &out, &[])
        .code(3)
        .one_error_line("a second L2A of");
    // a corrupt raster among many: exit 3 naming it
    let hurt = valid[1].with_extension("DBL.DIR");
    let fre = files(&hurt)
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with("_FRE.DBL.TIF"))
        .unwrap();
    let bytes = std::fs::read(&fre).unwrap();
    std::fs::write(&fre, &bytes[..bytes.len() / 3]).unwrap();
    l3(series, &valid, DATE, &out, &[])
        .code(3)
        .one_error_line(&fre.file_name().unwrap().to_string_lossy());
    assert!(
        files(&out)
            .iter()
            .all(|p| !p.to_string_lossy().contains("L3VALD")),
        "nothing partial written"
    );
}
