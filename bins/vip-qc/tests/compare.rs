mod common;

use common::{edit_image, json, l1c, BIN};
use vip_testkit::run;

/// A copy compares identical; the same copy with B05 moved one column to the right (a
/// one-pixel registration error) is reported different, with the max |diff| and RMSE computed
/// here from the pixels.
#[test]
fn a_copy_is_identical_and_a_shifted_one_is_not() {
    let s = l1c(40, 50, 2);
    let copy = s.copy("same");
    let c = json(&[
        "compare",
        s.hdr.to_str().unwrap(),
        copy.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(c["pass"], true);
    for b in c["bands"].as_array().unwrap() {
        assert_eq!(b["over_tolerance"], 0, "{}", b["name"]);
        let name = b["name"].as_str().unwrap();
        if name.starts_with('B') {
            assert_eq!(b["max_abs_diff"].as_f64(), Some(0.0), "{name}");
            assert_eq!(b["rmse"].as_f64(), Some(0.0), "{name}");
        }
    }

    let (b5, w, h) = vip_testkit::read_band(&s.image(), 5);
    assert!(b5.iter().all(|&x| x != -10000.0), "B05 has no no-data here");
    let shifted = s.copy("shifted");
    edit_image(&shifted, |b, v| {
        if b == 5 {
            for row in v.chunks_mut(w) {
                row.copy_within(..w - 1, 1);
            }
        }
    });
    let diffs: Vec<f64> = (0..h)
        .flat_map(|r| (1..w).map(move |c| (r, c)))
        .map(|(r, c)| (b5[r * w + c - 1] - b5[r * w + c]) * 0.001)
        .collect();
    let max = diffs.iter().fold(0.0f64, |m, d| m.max(d.abs()));
    let rmse = (diffs.iter().map(|d| d * d).sum::<f64>() / (w * h) as f64).sqrt();
    assert!(max >= 0.001, "a one-pixel shift moves B05 by {max}");
    let r = run(
        BIN,
        &[
            "compare",
            s.hdr.to_str().unwrap(),
            shifted.to_str().unwrap(),
            "--json",
        ],
    );
    r.code(1).one_error_line("B05: ");
    let c: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let got = &c["bands"][4];
    assert_eq!(got["name"], "B05");
    assert!(
        (got["max_abs_diff"].as_f64().unwrap() - max).abs() < 1e-9,
        "{got}"
    );
    assert!((got["rmse"].as_f64().unwrap() - rmse).abs() < 1e-9, "{got}");
    for b in c["bands"].as_array().unwrap() {
        assert_eq!(b["pass"], b["name"] != "B05", "{b}");
    }
}

/// Three counts (0.003 reflectance) added to 100 pixels of B03: within a 0.004 tolerance, over
/// 0.002 (exit 1 naming the band and the values), and within --max-fraction when allowed.
#[test]
fn tolerance_decides_the_verdict() {
    let s = l1c(40, 50, 2);
    let copy = s.copy("edited");
    edit_image(&copy, |b, v| {
        if b == 3 {
            for x in v.iter_mut().filter(|x| **x != -10000.0).take(100) {
                *x += 3.0;
            }
        }
    });
    let (a, b) = (s.hdr.to_str().unwrap(), copy.to_str().unwrap());
    let c = json(&["compare", a, b, "--tolerance", "0.004", "--json"]);
    assert_eq!(c["pass"], true);
    let b3 = &c["bands"][2];
    assert_eq!(b3["name"], "B03");
    assert!((b3["max_abs_diff"].as_f64().unwrap() - 0.003).abs() < 1e-9);
    let n = b3["compared"].as_f64().unwrap();
    assert!((b3["bias"].as_f64().unwrap() - 0.3 / n).abs() < 1e-12);
    assert!((b3["rmse"].as_f64().unwrap() - (100.0 * 0.003f64.powi(2) / n).sqrt()).abs() < 1e-12);
    let r = run(BIN, &["compare", a, b, "--tolerance", "0.002"]);
    r.code(1)
        .one_error_line("B03: 100 pixels")
        .one_error_line("max |diff| 0.003");
    assert!(!r.stderr.contains("B04"));
    r.stdout_has("FAIL");
    run(
        BIN,
        &[
            "compare",
            a,
            b,
            "--tolerance",
            "0.002",
            "--max-fraction",
            "0.1",
        ],
    )
    .code(0);
}

/// Cloud mask confusion: 30 clear pixels turned cloudy in B, 10 cloudy turned clear.
#[test]
fn mask_confusion_gives_precision_and_recall() {
    let s = l1c(40, 50, 2);
    let truth = s.copy("truth");
    let test = s.copy("test");
    edit_image(&truth, |b, v| {
        if b == 15 {
            v.iter_mut().for_each(|x| *x = 0.0);
            v[..100].iter_mut().for_each(|x| *x = 1.0);
        }
    });
    edit_image(&test, |b, v| {
        if b == 15 {
            v.iter_mut().for_each(|x| *x = 0.0);
            v[10..130].iter_mut().for_each(|x| *x = 1.0);
        }
    });
    let r = run(
        BIN,
        &[
            "compare",
            truth.to_str().unwrap(),
            test.to_str().unwrap(),
            "--json",
        ],
    );
    r.code(1).one_error_line("CLD: 40 pixels");
    let c: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let cld = c["bands"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "CLD")
        .unwrap();
    let m = &cld["bits"]["0"];
    assert_eq!(
        (m["tp"].as_u64(), m["fp"].as_u64(), m["fn"].as_u64()),
        (Some(90), Some(30), Some(10))
    );
    assert!((m["precision"].as_f64().unwrap() - 0.75).abs() < 1e-12);
    assert!((m["recall"].as_f64().unwrap() - 0.9).abs() < 1e-12);
}

/// L1C reflectance against vip-sim's truth: one band with --band, in reflectance, at the
/// accuracy the L1 round trip proves (bins/vip-l1/tests/round_trip.rs: 99 % of the pixels
/// where the truth is smooth within 0.002; across the world's pixel-sharp edges the resampled
/// L1C departs by a share of the contrast), so with a share of the pixels allowed over the
/// tolerance. Measured on this scene: 40 of 2000 pixels (2 %) over 0.002, max |diff| 0.0145,
/// RMSE 0.00105, bias 0.00002 (the int16 quantisation alone gives up to 0.0005).
/// Negative control: the truth of B04 against the L1C's B03 fails.
#[test]
fn against_the_simulator_truth() {
    let s = l1c(40, 50, 2);
    let (hdr, truth) = (s.hdr.to_str().unwrap(), s.sim.dir.join("truth/TOA_B04.tif"));
    let truth = truth.to_str().unwrap();
    let c = json(&[
        "compare",
        hdr,
        truth,
        "--band",
        "B04",
        "--tolerance",
        "0.002",
        "--max-fraction",
        "0.03",
        "--json",
    ]);
    assert_eq!(c["bands"].as_array().unwrap().len(), 1);
    let b = &c["bands"][0];
    assert_eq!(b["compared"].as_u64(), Some(40 * 50));
    assert!(b["over_tolerance"].as_u64().unwrap() <= 60, "{b}");
    assert!(b["max_abs_diff"].as_f64().unwrap() < 0.03, "{b}");
    assert!(b["rmse"].as_f64().unwrap() < 0.0015, "{b}");
    assert!(b["bias"].as_f64().unwrap().abs() < 0.0002, "{b}");
    let r = run(
        BIN,
        &[
            "compare",
            hdr,
            truth,
            "--band",
            "B03",
            "--tolerance",
            "0.002",
            "--max-fraction",
            "0.03",
        ],
    );
    r.code(1).one_error_line("B03: ");
}

#[test]
fn different_grids_are_bad_input_naming_the_file() {
    let a = l1c(40, 50, 2);
    let b = l1c(40, 44, 2);
    let r = run(
        BIN,
        &["compare", a.hdr.to_str().unwrap(), b.hdr.to_str().unwrap()],
    );
    r.code(3).one_error_line("not the same grid");
    r.one_error_line(b.image().file_name().unwrap().to_str().unwrap());
}

#[test]
fn missing_product_is_bad_input() {
    let a = l1c(40, 50, 2);
    run(
        BIN,
        &["compare", a.hdr.to_str().unwrap(), "/nonexistent/X.HDR"],
    )
    .code(3)
    .one_error_line("/nonexistent/X.HDR");
}
