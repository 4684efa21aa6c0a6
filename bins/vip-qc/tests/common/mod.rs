//! What the vip-qc tests share: simulated L1C products made through the library.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use vip_testkit::SimScene;

pub const BIN: &str = env!("CARGO_BIN_EXE_vip-qc");

/// A simulated scene and the L1C made from it.
pub struct Scene {
    pub sim: SimScene,
    pub hdr: PathBuf,
}

/// An L1C of `lines` × `cols` pixels of a simulated scene, written into the scene's scratch.
pub fn l1c(lines: u32, cols: u32, seed: u64) -> Scene {
    l1c_of("SIMULSIT", "2024-03-15", lines, cols, seed)
}

/// An L1C of `site` on `date` (`YYYY-MM-DD`), `lines` × `cols` pixels.
pub fn l1c_of(site: &str, date: &str, lines: u32, cols: u32, seed: u64) -> Scene {
    let sim = SimScene::new(site, date, lines, cols, seed, 600.0);
    let hdr = sim.l1c();
    Scene { sim, hdr }
}

impl Scene {
    /// The 15-band image of the L1C.
    pub fn image(&self) -> PathBuf {
        let p = vip::product::L1c::open(&self.hdr).unwrap();
        p.image_path(self.hdr.parent().unwrap())
    }

    /// A copy of the whole L1C (header and folder) under `name` in the scratch folder; returns
    /// the copy's header.
    pub fn copy(&self, name: &str) -> PathBuf {
        let dest = self.sim.scratch(name);
        copy_dir(self.hdr.parent().unwrap(), &dest);
        dest.join(self.hdr.file_name().unwrap())
    }
}

fn copy_dir(src: &Path, dest: &Path) {
    std::fs::create_dir_all(dest).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let p = e.unwrap().path();
        let d = dest.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &d);
        } else {
            std::fs::copy(&p, &d).unwrap();
        }
    }
}

/// Runs vip-qc with `args`, parses stdout as JSON.
pub fn json(args: &[&str]) -> serde_json::Value {
    let r = vip_testkit::run(BIN, args);
    r.code(0);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stdout))
}

/// `gdalinfo -json -stats -hist` of `path`, without leaving an .aux.xml beside it.
pub fn gdalinfo(path: &Path) -> serde_json::Value {
    let out = std::process::Command::new("gdalinfo")
        .args([
            "-json",
            "-stats",
            "-hist",
            "--config",
            "GDAL_PAM_ENABLED",
            "NO",
        ])
        .arg(path)
        .output()
        .expect("gdalinfo runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Rewrites the 15-band image of the L1C `hdr` after `edit(band, values)` on each band
/// (1-based), keeping its georeferencing, type and nodata.
pub fn edit_image(hdr: &Path, edit: impl Fn(usize, &mut Vec<f64>)) {
    let l = vip::product::L1c::open(hdr).unwrap();
    let image = l.image_path(hdr.parent().unwrap());
    let spec = vip::raster::spec_like(&vip::raster::open(&image).unwrap()).unwrap();
    let bands: Vec<Vec<i16>> = (1..=spec.bands)
        .map(|b| {
            let (mut v, _, _) = vip_testkit::read_band(&image, b);
            edit(b, &mut v);
            v.iter().map(|&x| x as i16).collect()
        })
        .collect();
    let tmp = image.with_extension("new.tif");
    let mut ds = vip::raster::create_geotiff(&tmp, &spec, &[]).unwrap();
    for (b, v) in bands.iter().enumerate() {
        vip::raster::write_window(&mut ds, b + 1, (0, 0), (spec.width, spec.height), v).unwrap();
    }
    vip::raster::finish(ds, &tmp).unwrap();
    std::fs::rename(&tmp, &image).unwrap();
}

/// Writes `text` as the cloud percentage the L1C `hdr` declares (`NIL=N/A` for none, as a
/// header whose cloud detection did not run declares).
pub fn declare_cloud(hdr: &Path, text: &str) {
    let xml = std::fs::read_to_string(hdr).unwrap();
    let start = xml.find("<Cloud_Percentage>").unwrap() + "<Cloud_Percentage>".len();
    let end = start + xml[start..].find('<').unwrap();
    std::fs::write(hdr, format!("{}{text}{}", &xml[..start], &xml[end..])).unwrap();
}
