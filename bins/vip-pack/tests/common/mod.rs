//! What the vip-pack integration tests share: the binary, a small simulated L1C, packaging.

use std::path::{Path, PathBuf};

use vip_testkit::{run, SimScene};

pub const BIN: &str = env!("CARGO_BIN_EXE_vip-pack");

/// A small simulated scene of SIMULSIT on `date` and its L1C made by the library (in the
/// scene's scratch folder); returns the scene and the L1C header.
pub fn l1c_of(date: &str, lines: u32, cols: u32, seed: u64) -> (SimScene, PathBuf) {
    let s = SimScene::new("SIMULSIT", date, lines, cols, seed, 600.0);
    let hdr = s.l1c();
    (s, hdr)
}

/// Runs vip-pack on `hdr` into `out` with `extra` flags; it must succeed and print one path.
pub fn pack(hdr: &Path, out: &Path, extra: &[&str]) -> PathBuf {
    let mut args = vec![hdr.to_str().unwrap(), "-o", out.to_str().unwrap()];
    args.extend(extra);
    let r = run(BIN, &args);
    r.code(0);
    let paths = r.paths();
    assert_eq!(paths.len(), 1, "{}", r.stdout);
    paths[0].clone()
}
