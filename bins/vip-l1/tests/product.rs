//! The L1C as other programs see it: the VENµS L1 schemas, GDAL opening every
//! raster, and the same bytes whatever the thread count.

use std::path::{Path, PathBuf};
use std::process::Command;

use vip_testkit::{files, SimScene};

const L1: &str = env!("CARGO_BIN_EXE_vip-l1");

fn l1(scene: &Path, out: &Path, threads: &str) -> PathBuf {
    let r = Command::new(L1)
        .env("SOURCE_DATE_EPOCH", "1735689600")
        .args([
            "--gipp",
            scene.join("GIPP").to_str().unwrap(),
            "--dem",
            scene.join("DEM.tif").to_str().unwrap(),
        ])
        .args([
            "--threads",
            threads,
            "--ram",
            "16",
            "-o",
            out.to_str().unwrap(),
        ])
        .arg(
            std::fs::read_dir(scene.join("L1A"))
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| {
                    p.to_string_lossy().ends_with("_20240315.HDR")
                        && p.to_string_lossy().contains("_1AVALD_")
                })
                .unwrap(),
        )
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    PathBuf::from(String::from_utf8(r.stdout).unwrap().trim())
}

#[test]
fn validates_opens_and_is_deterministic() {
    let s = SimScene::new("SIMULSIT", "2024-03-15", 300, 200, 5, 700.0);
    let scene = s.dir.clone();
    let (a, b) = (s.scratch("A"), s.scratch("B"));
    let hdr = l1(&scene, &a, "1");
    l1(&scene, &b, "2");
    let (fa, fb) = (files(&a), files(&b));
    // Global header, image, quicklook and 3 annexes (CLA, SOL, VIE; header + raster each),
    // 12 RPC VRTs.
    assert_eq!(fa.len(), 1 + 2 * 5 + 12, "{fa:?}");
    assert_eq!(fb.len(), fa.len(), "{fb:?}");
    for (x, y) in fa.iter().zip(&fb) {
        assert_eq!(x.strip_prefix(&a).unwrap(), y.strip_prefix(&b).unwrap());
        assert!(
            std::fs::read(x).unwrap() == std::fs::read(y).unwrap(),
            "{} differs between 1 and 2 threads",
            x.display()
        );
    }
    let xml: Vec<&Path> = fa
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "HDR"))
        .map(|p| p.as_path())
        .collect();
    assert_eq!(xml.len(), 6);
    vip::ee::schema::validate_all(&xml).unwrap();
    for tif in fa.iter().filter(|p| {
        let name = p.to_string_lossy();
        name.ends_with(".TIF") || name.ends_with(".JPG")
    }) {
        let out = Command::new("gdalinfo")
            .arg("-stats")
            .arg(tif)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", tif.display());
    }
    let product = vip::product::L1c::open(&hdr).unwrap();
    assert_eq!(product.site.quantification, 0.001);
    // the acquisition's orbit, from the L1A
    let raw = vip::product::L1a::open(&s.l1a).unwrap();
    assert!(raw.orbit.is_some());
    assert_eq!(product.site.orbit, raw.orbit);
    assert_eq!(product.site.aks.len(), 12);
    let info = String::from_utf8(
        Command::new("gdalinfo")
            .arg(product.image_path(&a))
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        info.contains("Band 15") && info.contains("Type=Int16"),
        "{info}"
    );
    assert!(
        info.contains("NoData Value=-1e+04") || info.contains("NoData Value=-10000"),
        "{info}"
    );
}
