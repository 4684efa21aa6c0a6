mod common;

use std::path::Path;

use common::{json, l1c, Scene, BIN};
use vip_testkit::run;

/// Writes band `band` of the L1C image of `s`, shifted by (sx, sy) pixels by scipy's cubic
/// spline (`ndimage.shift`, an independent resampler), as a float32 GeoTIFF on the same grid.
fn shifted_band(s: &Scene, band: usize, sx: f64, sy: f64, name: &str) -> std::path::PathBuf {
    let image = s.image();
    let raw = s.sim.scratch(&format!("{name}.in.raw"));
    let st = std::process::Command::new("gdal_translate")
        .args([
            "-q",
            "-b",
            &band.to_string(),
            "-of",
            "ENVI",
            "-ot",
            "Float32",
        ])
        .arg(&image)
        .arg(&raw)
        .status()
        .unwrap();
    assert!(st.success());
    let out_raw = s.sim.scratch(&format!("{name}.out.raw"));
    let spec = vip::raster::spec_like(&vip::raster::open(&image).unwrap()).unwrap();
    let py = r#"
import sys
import numpy as np
from scipy import ndimage
src, dst, h, w, sx, sy = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
a = np.fromfile(src, dtype='<f4').reshape(h, w).astype(np.float64)
nodata = a == -10000
a[nodata] = a[~nodata].mean()
b = ndimage.shift(a, (sy, sx), order=3, mode='nearest')
m = ndimage.shift(nodata.astype(np.float64), (sy, sx), order=0, mode='constant', cval=1.0) > 0.5
b[m] = -10000
b.astype('<f4').tofile(dst)
"#;
    vip_testkit::python_oracle(
        py,
        &[
            raw.to_str().unwrap(),
            out_raw.to_str().unwrap(),
            &spec.height.to_string(),
            &spec.width.to_string(),
            &sx.to_string(),
            &sy.to_string(),
        ],
    );
    let bytes = std::fs::read(&out_raw).unwrap();
    let v: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let out = s.sim.scratch(&format!("{name}.tif"));
    let one = vip::raster::RasterSpec {
        bands: 1,
        data_type: vip::raster::SampleType::F32,
        scale: None,
        band_descriptions: Vec::new(),
        ..spec
    };
    let mut ds = vip::raster::create_geotiff(&out, &one, &[]).unwrap();
    vip::raster::write_window(&mut ds, 1, (0, 0), (one.width, one.height), &v).unwrap();
    vip::raster::finish(ds, &out).unwrap();
    out
}

/// scikit-image's phase_cross_correlation (upsample 100) on the central `crop` × `crop` pixels:
/// the displacement (dx, dy) of `moved` relative to band 4 of `reference`. Phase normalisation
/// of windows that are not periodic is biased towards zero, so the oracle uses the plain
/// cross-correlation (`normalization=None`) of high-passed (minus a Gaussian blur of σ = 3 px,
/// which does not move anything) and Hann-tapered windows.
fn skimage_shift(reference: &Path, moved: &Path, s: &Scene, crop: usize) -> (f64, f64) {
    let raw_ref = s.sim.scratch("ref.raw");
    let raw_mov = s.sim.scratch("mov.raw");
    for (src, band, dst) in [(reference, "4", &raw_ref), (moved, "1", &raw_mov)] {
        let st = std::process::Command::new("gdal_translate")
            .args(["-q", "-b", band, "-of", "ENVI", "-ot", "Float32"])
            .arg(src)
            .arg(dst)
            .status()
            .unwrap();
        assert!(st.success());
    }
    let spec = vip::raster::spec_like(&vip::raster::open(reference).unwrap()).unwrap();
    let py = r#"
import sys, json
import numpy as np
from scipy import ndimage
from skimage.registration import phase_cross_correlation
h, w, n = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
r, c = (h - n) // 2, (w - n) // 2
a = np.fromfile(sys.argv[1], dtype='<f4').reshape(h, w).astype(np.float64)[r:r + n, c:c + n]
b = np.fromfile(sys.argv[2], dtype='<f4').reshape(h, w).astype(np.float64)[r:r + n, c:c + n]
assert not (a == -10000).any() and not (b == -10000).any(), "nodata in the crop"
a, b = a - ndimage.gaussian_filter(a, 3), b - ndimage.gaussian_filter(b, 3)
hann = np.outer(np.hanning(n), np.hanning(n))
s, _, _ = phase_cross_correlation(a * hann, b * hann, upsample_factor=100, normalization=None)
# The shift that registers b onto a is minus b's displacement.
print(json.dumps([-float(s[1]), -float(s[0])]))
"#;
    let out = vip_testkit::python_oracle(
        py,
        &[
            raw_ref.to_str().unwrap(),
            raw_mov.to_str().unwrap(),
            &spec.height.to_string(),
            &spec.width.to_string(),
            &crop.to_string(),
        ],
    );
    let v: Vec<f64> = serde_json::from_str(&out).unwrap();
    (v[0], v[1])
}

/// A band shifted by (0.3, −1.7) pixels is measured within 0.05 pixel, and scikit-image's
/// phase correlation on the same windows agrees within 0.05 pixel.
#[test]
fn recovers_a_known_sub_pixel_shift() {
    let s = l1c(200, 200, 11);
    let (sx, sy) = (0.3, -1.7);
    let moved = shifted_band(&s, 4, sx, sy, "moved");
    let g = json(&[
        "geom",
        moved.to_str().unwrap(),
        "--reference",
        s.hdr.to_str().unwrap(),
        "--band",
        "B04",
        "--window",
        "48",
        "--json",
    ]);
    let (dx, dy) = (
        g["mean_dx"].as_f64().unwrap(),
        g["mean_dy"].as_f64().unwrap(),
    );
    eprintln!(
        "vip-qc: dx {dx} dy {dy}, {} of {} windows",
        g["kept"], g["windows"]
    );
    assert!(g["kept"].as_u64().unwrap() >= 4, "{g}");
    assert!(
        (dx - sx).abs() < 0.05 && (dy - sy).abs() < 0.05,
        "dx {dx} dy {dy}"
    );
    let (kx, ky) = skimage_shift(&s.image(), &moved, &s, 128);
    eprintln!("skimage: dx {kx} dy {ky}");
    assert!(
        (kx - dx).abs() < 0.05 && (ky - dy).abs() < 0.05,
        "skimage {kx} {ky}"
    );
}

#[test]
fn max_rms_decides_the_verdict() {
    let s = l1c(160, 160, 11);
    let moved = shifted_band(&s, 4, 0.0, 1.0, "down");
    let (m, r) = (moved.to_str().unwrap(), s.hdr.to_str().unwrap());
    let geom = |max_rms: &str| {
        let args = [
            "geom",
            m,
            "--reference",
            r,
            "--band",
            "B04",
            "--window",
            "48",
            "--max-rms",
            max_rms,
        ];
        run(BIN, &args)
    };
    geom("1.5").code(0);
    geom("0.5").code(1).one_error_line("RMS shift 1.0");
    // The product against itself: no shift, measured on as many windows as the shifted band;
    // a quarter-pixel shift on the same windows is seen and fails a 0.1 pixel limit.
    let shifted = json(&["geom", m, "--reference", r, "--window", "48", "--json"]);
    let g = json(&["geom", r, "--reference", r, "--window", "48", "--json"]);
    assert!(g["kept"].as_u64().unwrap() >= 4, "{g}");
    assert_eq!(g["kept"], shifted["kept"], "{g}");
    assert!(g["rms"].as_f64().unwrap() < 1e-3, "{g}");
    let quarter = shifted_band(&s, 4, 0.25, 0.0, "quarter");
    let q = quarter.to_str().unwrap();
    let args = [
        "geom",
        q,
        "--reference",
        r,
        "--window",
        "48",
        "--max-rms",
        "0.1",
    ];
    run(BIN, &args).code(1).one_error_line("RMS shift 0.2");
    let g = json(&["geom", q, "--reference", r, "--window", "48", "--json"]);
    let dx = g["mean_dx"].as_f64().unwrap();
    assert!((dx - 0.25).abs() < 0.05, "{g}");
}

#[test]
fn different_grids_are_bad_input_naming_the_file() {
    let a = l1c(40, 50, 2);
    let b = l1c(40, 44, 2);
    run(
        BIN,
        &[
            "geom",
            b.hdr.to_str().unwrap(),
            "--reference",
            a.hdr.to_str().unwrap(),
            "--window",
            "16",
        ],
    )
    .code(3)
    .one_error_line("not the same grid");
}
