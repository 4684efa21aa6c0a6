//! Hostile input through the real binary: exit 3, one bounded error line naming the input.

use std::path::{Path, PathBuf};

use vip_testkit::run;

const BIN: &str = env!("CARGO_BIN_EXE_vip-pack");

/// A package folder `dir/PKG` (two files and their manifest) as the library writes it.
fn package(dir: &Path) -> PathBuf {
    let root = dir.join("PKG");
    std::fs::create_dir_all(root.join("MASKS")).unwrap();
    std::fs::write(root.join("PKG_MTD_ALL.xml"), "<a/>").unwrap();
    std::fs::write(root.join("MASKS/PKG_CLM.tif"), [7u8; 300]).unwrap();
    let hashes = vip::pack::manifest::hash_files(&root).unwrap();
    vip::pack::manifest::write_entries(&root, &hashes).unwrap();
    root
}

#[test]
fn verify_refuses_a_corrupted_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let root = package(dir.path());
    let m = root.join(vip::pack::MANIFEST);
    let pkg = root.to_str().unwrap();
    run(BIN, &["verify", pkg]).code(0);
    let good = std::fs::read(&m).unwrap();
    // a 5 MB path with control characters
    let line = format!("{}  ../{}\u{1b}[2J\n", "a".repeat(64), "x".repeat(5 << 20));
    std::fs::write(&m, [good.as_slice(), line.as_bytes()].concat()).unwrap();
    run(BIN, &["verify", pkg]).refused(&format!("{}: line 3: '../xxx", m.display()));
    std::fs::write(&m, [&good[..70], &[0xff, 0xfe], &good[70..]].concat()).unwrap();
    run(BIN, &["verify", pkg]).refused(&format!("{}: not UTF-8 text", m.display()));
    // a manifest that says it is 1 GiB (sparse) is refused unread
    std::fs::OpenOptions::new()
        .write(true)
        .open(&m)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    run(BIN, &["verify", pkg]).refused("1073741824 bytes or more");
}

#[test]
fn verify_refuses_a_corrupted_zip() {
    let dir = tempfile::tempdir().unwrap();
    let root = package(dir.path());
    let zip = dir.path().join("PKG.zip");
    vip::pack::archive::write_zip(&root, "PKG", &zip).unwrap();
    let z = zip.to_str().unwrap();
    run(BIN, &["verify", z]).code(0);
    let good = std::fs::read(&zip).unwrap();
    // cut: no central directory
    std::fs::write(&zip, &good[..good.len() / 2]).unwrap();
    run(BIN, &["verify", z]).refused(&format!("{z}: not a readable zip"));
    // random bytes
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(&zip, noise).unwrap();
    run(BIN, &["verify", z]).refused(&format!("{z}: not a readable zip"));
}
