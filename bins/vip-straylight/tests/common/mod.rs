//! Helpers of the vip-straylight tests.

use std::path::{Path, PathBuf};

use vip_testkit::files;

/// The image of band `code` in a product's `.DBL.DIR` folder `dir`.
pub fn band_file(dir: &Path, code: &str) -> PathBuf {
    files(dir)
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with(&format!("_{code}.DBL.TIF")))
        .unwrap()
}

/// Pixels whose whole (2·r+1)² neighbourhood is dark in `dark`.
pub fn eroded(dark: &[bool], cols: usize, rows: usize, r: usize) -> Vec<bool> {
    let pass = |m: &[bool], horizontal: bool| -> Vec<bool> {
        (0..rows * cols)
            .map(|i| {
                let (y, x) = (i / cols, i % cols);
                let (lo, hi, pos) = if horizontal {
                    (x.saturating_sub(r), (x + r).min(cols - 1), x)
                } else {
                    (y.saturating_sub(r), (y + r).min(rows - 1), y)
                };
                let full = pos >= r && pos + r < if horizontal { cols } else { rows };
                full && (lo..=hi).all(|k| {
                    if horizontal {
                        m[y * cols + k]
                    } else {
                        m[k * cols + x]
                    }
                })
            })
            .collect()
    };
    pass(&pass(dark, true), false)
}

/// vip-straylight on the scene's L1A with its GIPPs, into the scene's scratch folder `C`.
pub fn correct(s: &vip_testkit::SimScene) -> vip_testkit::Run {
    vip_testkit::run(
        env!("CARGO_BIN_EXE_vip-straylight"),
        &[
            s.l1a.to_str().unwrap(),
            "--gipp",
            s.gipp().to_str().unwrap(),
            "-o",
            s.scratch("C").to_str().unwrap(),
        ],
    )
}
