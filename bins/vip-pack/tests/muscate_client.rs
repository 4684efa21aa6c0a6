//! A public MUSCATE client reads vip-pack's L2A masks: majamask (PyPI, the CNES StartMaja
//! tool that turns a MUSCATE product's CLM and MG2 masks into one class per pixel) is run on the
//! package folder as its users run it, and its classes must be those the native L2A's own bits
//! give, pixel by pixel, over every combination of the native CLD and MSK bits.
//!
//! majamask's classes, in its priority order (its documentation; bit numbers from 0): 1 CLM bit
//! 7 (cirrus for Sentinel-2; for VENµS the stereo-altitude cloud bit), 2 CLM bit 1 (every cloud),
//! 3 MG2 bit 3 (cloud shadow), 4 MG2 bit 2 (snow), 5 MG2 bit 0 (water), 6 MG2 bit 4 (topographic
//! shadow), 7 MG2 bit 5 (hidden surface), 8 MG2 bit 6 or 7 (sun too low, tangent sun), else 0.

use std::process::Command;

use vip::product::l2a::{self, bits, L2a};
use vip_testkit::read_band;

mod common;
use common::{pack, rewrite};

/// The class majamask gives a pixel, from the native CLD and MSK bits.
fn class(cld: u8, msk: u8) -> u8 {
    let rules: [(bool, u8); 8] = [
        (cld & bits::CLD_ALT != 0, 1),
        (cld & bits::CLD_ALL_CLOUDS != 0, 2),
        (cld & (bits::CLD_SHADOWS | bits::CLD_SHADVAR) != 0, 3),
        (msk & bits::MSK_SNW != 0, 4),
        (msk & bits::MSK_WAT != 0, 5),
        (msk & bits::MSK_SHD != 0, 6),
        (msk & bits::MSK_HID != 0, 7),
        (msk & (bits::MSK_STL | bits::MSK_TGS) != 0, 8),
    ];
    rules.iter().find(|r| r.0).map_or(0, |r| r.1)
}

#[test]
fn majamask_reads_the_package_masks_as_the_native_bits_say() {
    let (s, l1c) = common::l1c_of("2024-03-15", 64, 96, 11);
    let hdr = common::l2a_of(&s, &l1c);
    let native = L2a::open(&hdr).unwrap();
    let dir = hdr.parent().unwrap();
    let (cld_path, msk_path) = (
        native.annex_path(dir, l2a::ANNEX_CLD),
        native.annex_path(dir, l2a::ANNEX_MSK),
    );
    // every CLD value, and every MSK value against many of them
    rewrite(&cld_path, 1, |i| (i % 256) as f64);
    rewrite(&msk_path, 1, |i| ((i / 256 + i) % 64) as f64);
    let pkg = pack(&hdr, &s.scratch("DIST"), &[]);

    let out = Command::new(vip_testkit::python())
        .args(["-m", "majamask.rastermask", "-product"])
        .arg(&pkg)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Process complete"), "{text}");
    let classes = pkg.join("MASKS/rastermask_XS.tif");
    assert!(classes.exists(), "{text}");

    let (got, w, h) = read_band(&classes, 1);
    let (cld, msk) = (read_band(&cld_path, 1).0, read_band(&msk_path, 1).0);
    assert_eq!((w, h), (96, 64));
    let want: Vec<f64> = cld
        .iter()
        .zip(&msk)
        .map(|(&c, &m)| f64::from(class(c as u8, m as u8)))
        .collect();
    let differ = got.iter().zip(&want).filter(|(a, b)| a != b).count();
    assert_eq!(differ, 0, "{differ} pixels of {} differ", got.len());
    // every class occurs, so no rule went untested
    for c in 0..=8 {
        assert!(want.contains(&f64::from(c)), "class {c} never occurs");
    }
}
