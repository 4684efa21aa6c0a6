//! vip-straylight against an independent implementation of the STRLGT model
//! (`scripts/oracles/strlgt_model.py`, numpy and scipy), with filters the simulator does not use:
//! five type-1 strips whose boundaries fall at every column offset in a 4-column block across a
//! dark lake, each with its own asymmetric, non-separable kernel and margins narrower than the
//! kernels; two cross-talk sources per band with their own kernels, shifts, factors and strips.
//! The simulator gives the scene (its stray-light-free signal, the detectors' response) with the
//! image starting at an odd detector; the oracle gives the filters and the stray light.

use std::path::Path;

use vip::ee::gipps::GippCommon;
use vip::ee::strlgt::{
    read_strlgt, write_strlgt, ColRange, Kernel, StrayLightFilters, Type1Filter, Type2Filter,
    Type2Strip,
};
use vip_testkit::{project_root, python, read_band, SimScene};

mod common;
use common::{band_file, eroded};

const SEED: u64 = 4;
const FIRST_DETECTOR: usize = 1999;

fn oracle(args: &[&Path]) {
    let out = std::process::Command::new(python())
        .arg(project_root().join("scripts/oracles/strlgt_model.py"))
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "oracle failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn read_f32(path: &Path) -> Vec<f32> {
    std::fs::read(path)
        .unwrap()
        .chunks(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

fn write_f32(path: &Path, data: &[f32]) {
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes).unwrap();
}

/// The oracle's filters.txt (see the script) as STRLGT filters, one per band.
fn read_filters(dir: &Path) -> Vec<StrayLightFilters> {
    let text = std::fs::read_to_string(dir.join("filters.txt")).unwrap();
    let kernel = |w: &[&str]| Kernel {
        rows: w[0].parse().unwrap(),
        cols: w[1].parse().unwrap(),
        data: read_f32(&dir.join(w[2])),
    };
    let range = |a: &str, b: &str| ColRange {
        first: a.parse().unwrap(),
        last: b.parse().unwrap(),
    };
    let mut out: Vec<StrayLightFilters> = Vec::new();
    for line in text.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w[0] {
            "band" => out.push(StrayLightFilters {
                band: w[1].into(),
                type1_overlap: w[2].parse().unwrap(),
                type1: vec![],
                type2: vec![],
            }),
            "type1" => out.last_mut().unwrap().type1.push(Type1Filter {
                cols: range(w[1], w[2]),
                kernel: kernel(&w[3..6]),
            }),
            "type2" => out.last_mut().unwrap().type2.push(Type2Filter {
                source: w[1].into(),
                overlap: w[2].parse().unwrap(),
                kernel: kernel(&w[3..6]),
                strips: vec![],
            }),
            "strip" => {
                let t2 = out.last_mut().unwrap().type2.last_mut().unwrap();
                t2.strips.push(Type2Strip {
                    cols: range(w[1], w[2]),
                    factor: w[3].parse().unwrap(),
                    shift: w[4].parse().unwrap(),
                });
            }
            other => panic!("filters.txt: unknown item {other}"),
        }
    }
    out
}

/// Replaces the scene's STRLGT GIPPs by `filters`.
fn replace_strlgt(gipp: &Path, common: &GippCommon, filters: &[StrayLightFilters]) {
    for entry in std::fs::read_dir(gipp).unwrap() {
        let p = entry.unwrap().path();
        if p.to_string_lossy().contains("_GIP_STRLGT_") {
            if p.is_dir() {
                std::fs::remove_dir_all(&p).unwrap();
            } else {
                std::fs::remove_file(&p).unwrap();
            }
        }
    }
    for f in filters {
        let hdr = write_strlgt(common, f, gipp).unwrap();
        // What the tool will read is what the oracle applied.
        assert_eq!(&read_strlgt(&hdr).unwrap(), f);
    }
}

#[test]
fn correction_agrees_with_an_independent_model_at_every_boundary_offset() {
    let mut spec =
        vip::sim::SceneSpec::new("SIMULSIT", "2024-07-01", "10:30:00", 320, 320, SEED, 300.0)
            .unwrap();
    spec.straylight = true;
    spec.lake = true;
    spec.first_detector = Some(FIRST_DETECTOR);
    let s = SimScene::of(spec);
    let product = vip::product::L1a::open(&s.l1a).unwrap();
    assert_eq!(product.geometry.first_detector, FIRST_DETECTOR);
    let cols = product.bands[0].cols;

    // The oracle's filters and the stray light its model adds to the simulator's signal.
    let (fdir, sdir, odir) = (
        s.scratch("filters"),
        s.scratch("signal"),
        s.scratch("stray"),
    );
    for d in [&fdir, &sdir, &odir] {
        std::fs::create_dir_all(d).unwrap();
    }
    oracle(&[Path::new("filters"), &s.l1a, &fdir]);
    let mut signal = Vec::new();
    for b in &product.bands {
        let (v, w, h) = read_band(&s.dir.join(format!("truth/SIGNAL_{}.tif", b.code)), 1);
        assert_eq!((w, h), (b.cols, b.lines));
        let v: Vec<f32> = v.iter().map(|&x| x as f32).collect();
        write_f32(&sdir.join(format!("{}.f32", b.code)), &v);
        signal.push(v);
    }
    oracle(&[Path::new("forward"), &s.l1a, &fdir, &sdir, &odir]);
    let filters = read_filters(&fdir);
    let common = GippCommon::new(
        "TEST",
        vip::ee::Applicability::site("TEST", 'S', "SIMULSIT").unwrap(),
        vip::ee::header::open_validity(product.date),
    )
    .unwrap();
    replace_strlgt(&s.gipp(), &common, &filters);

    // The raw product the simulator's detectors (response, noise, 10-bit rounding) make of
    // the signal plus the oracle's stray light.
    let cal = vip::sim::instrument::draw(SEED, FIRST_DETECTOR..FIRST_DETECTOR + cols);
    let mut clean = Vec::new();
    let mut added = Vec::new();
    for (b, band) in product.bands.iter().enumerate() {
        let stray = read_f32(&odir.join(format!("{}.f32", band.code)));
        let response = |i: usize, s: f32| cal[b].response(FIRST_DETECTOR + i % cols, f64::from(s));
        let counts: Vec<u16> = signal[b]
            .iter()
            .zip(&stray)
            .enumerate()
            .map(|(i, (&s, &d))| {
                let (l, c) = (i / cols, i % cols);
                let key = (SEED, l as i64, c as i64);
                cal[b].count_of_signal(b, FIRST_DETECTOR + c, f64::from(s + d), key)
            })
            .collect();
        let path = band_file(&s.l1a.with_extension("DBL.DIR"), &band.code);
        let spec = vip::raster::RasterSpec::new(cols, band.lines, 1, vip::raster::SampleType::U16);
        let mut ds = vip::raster::create_geotiff(&path, &spec, &[]).unwrap();
        vip::raster::write_window(&mut ds, 1, (0, 0), (cols, band.lines), &counts).unwrap();
        vip::raster::finish(ds, &path).unwrap();
        let c: Vec<f64> = signal[b]
            .iter()
            .enumerate()
            .map(|(i, &s)| response(i, s))
            .collect();
        added.push(
            signal[b]
                .iter()
                .zip(&stray)
                .enumerate()
                .map(|(i, (&s, &d))| response(i, s + d) - c[i])
                .collect::<Vec<f64>>(),
        );
        clean.push(c);
    }

    let r = common::correct(&s);
    r.code(0);
    let corrected = r.paths().remove(0);

    // Type-1 boundaries as image columns: one at each offset in a 4-column block.
    let edges: Vec<usize> = filters[0].type1[1..]
        .iter()
        .map(|t| t.cols.first - FIRST_DETECTOR)
        .collect();
    let mut offsets: Vec<usize> = edges.iter().map(|e| e % 4).collect();
    offsets.sort();
    assert_eq!(offsets, [0, 1, 2, 3], "boundaries at {edges:?}");
    for (b, band) in product.bands.iter().enumerate() {
        let (raw, _, rows) = read_band(&band_file(&s.l1a.with_extension("DBL.DIR"), &band.code), 1);
        let (corr, _, _) = read_band(
            &band_file(&corrected.with_extension("DBL.DIR"), &band.code),
            1,
        );
        let dark = |i: usize| clean[b][i] - cal[b].dark[FIRST_DETECTOR + i % cols];
        let is_dark: Vec<bool> = (0..rows * cols).map(|i| dark(i) < 80.0).collect();
        let far = eroded(&is_dark, cols, rows, 20);
        let judge = |idx: &[usize]| {
            let mean = |f: &dyn Fn(usize) -> f64| {
                idx.iter().map(|&i| f(i)).sum::<f64>() / idx.len() as f64
            };
            let level = mean(&|i| dark(i));
            (
                mean(&|i| added[b][i]) / level,
                mean(&|i| (raw[i] - corr[i]) - added[b][i]) / level,
                mean(&|i| corr[i] - clean[b][i]) / level,
                // 0.1 % of the signal, or a fiftieth of a raw count where that is larger
                // (water in the near infrared: a few counts)
                0.001f64.max(0.02 / level),
            )
        };
        // Defective detectors are passed through uncorrected (the L1 fills them).
        let defective = |i: usize| {
            let j = FIRST_DETECTOR + i % cols;
            cal[b].defects.iter().any(|&(d, _)| d == j)
        };
        let all: Vec<usize> = (0..rows * cols)
            .filter(|&i| far[i] && !defective(i))
            .collect();
        // Water is dark from the red on (the visible bands see it at 100 counts or more).
        if all.len() < 500 {
            eprintln!("{}: {} dark pixels", band.code, all.len());
            assert!(b < 4, "{}: only {} dark pixels", band.code, all.len());
            continue;
        }
        let (before, error, after, tolerance) = judge(&all);
        eprintln!(
            "{}: {} dark pixels: stray light {:.3} %, after correction {:.4} % (correction error {:.4} %)",
            band.code,
            all.len(),
            100.0 * before,
            100.0 * after,
            100.0 * error
        );
        assert!(before > 0.01, "{}: stray light {before}", band.code);
        assert!(
            error.abs() < tolerance,
            "{}: stray light left {:.4} % of the dark signal",
            band.code,
            100.0 * error
        );
        // Within 4 columns of each boundary (the old defect left 40 % of the stray light there,
        // about 1 % of the signal).
        for &e in &edges {
            let near: Vec<usize> = all
                .iter()
                .copied()
                .filter(|&i| (i % cols).abs_diff(e) <= 4)
                .collect();
            if near.len() < 50 {
                // The visible bands' dark pixels are land, away from some boundaries.
                assert!(b < 4, "{}: boundary {e}: {} pixels", band.code, near.len());
                continue;
            }
            let (before, error, after, tolerance) = judge(&near);
            eprintln!(
                "  boundary at column {e} (offset {}): stray light {:.3} %, after {:.4} % (correction error {:.4} %)",
                e % 4,
                100.0 * before,
                100.0 * after,
                100.0 * error
            );
            assert!(
                error.abs() < tolerance,
                "{}: stray light left {:.4} % of the dark signal within 4 columns of the boundary at column {e}",
                band.code,
                100.0 * error
            );
        }
    }
}
