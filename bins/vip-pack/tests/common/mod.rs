//! What the vip-pack integration tests share: the binary, a small simulated L1C, packaging.

use std::path::{Path, PathBuf};

use vip::pack::stac::{EXT_CLASSIFICATION, EXT_FILE};
use vip_testkit::{run, SimScene};

/// Extensions whose schemas no registry package ships, left out of the offline validation:
/// file (its fields are checked against the files) and classification (its fields are
/// checked by [`check_bitfields`]).
#[allow(dead_code)]
pub const UNCHECKED: [&str; 2] = [EXT_FILE, EXT_CLASSIFICATION];

/// Checks every `classification:bitfields` of the item `item` against the rules of the
/// classification extension 2.0.0 (Bit Field Object: integer `offset` ≥ 0 and `length` ≥ 1,
/// a non-empty list of classes of distinct integer values, each with a `name` matching
/// `^[0-9A-Za-z-_]+$`) and against the asset: the fields fit in its data type, do not
/// overlap, and each class value fits in its field. Returns the keys of the assets checked.
#[allow(dead_code)]
pub fn check_bitfields(item: &serde_json::Value) -> Vec<String> {
    let declared = item["stac_extensions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e == EXT_CLASSIFICATION);
    let mut checked = Vec::new();
    for (key, a) in item["assets"].as_object().unwrap() {
        let Some(fields) = a.get("classification:bitfields") else {
            continue;
        };
        assert!(declared, "{key}: bit fields without the extension");
        let bits = match a["raster:bands"][0]["data_type"].as_str().unwrap() {
            "uint8" => 8,
            "uint16" => 16,
            t => panic!("{key}: bit fields on a {t} raster"),
        };
        let mut used = 0u64;
        let fields = fields.as_array().unwrap();
        assert!(!fields.is_empty(), "{key}");
        for f in fields {
            let name = f["name"].as_str().unwrap();
            let ok_name = |n: &str| {
                !n.is_empty()
                    && n.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            };
            assert!(ok_name(name), "{key}: field name {name}");
            assert!(f["description"].is_string(), "{key} {name}");
            let offset = f["offset"].as_u64().unwrap();
            let length = f["length"].as_u64().unwrap();
            assert!(length >= 1 && offset + length <= bits, "{key} {name}");
            let span = ((1u64 << length) - 1) << offset;
            assert_eq!(used & span, 0, "{key} {name} overlaps");
            used |= span;
            let classes = f["classes"].as_array().unwrap();
            assert!(!classes.is_empty(), "{key} {name}");
            let mut values: Vec<u64> = classes
                .iter()
                .map(|c| {
                    let n = c["name"].as_str().unwrap();
                    assert!(ok_name(n), "{key} {name}: class name {n}");
                    c["value"].as_u64().unwrap()
                })
                .collect();
            assert!(values.iter().all(|&v| v < 1 << length), "{key} {name}");
            values.sort();
            values.dedup();
            assert_eq!(values.len(), classes.len(), "{key} {name}");
        }
        checked.push(key.clone());
    }
    checked
}

pub const BIN: &str = env!("CARGO_BIN_EXE_vip-pack");

/// A small simulated scene of SIMULSIT on `date` and its L1C made by the library (in the
/// scene's scratch folder); returns the scene and the L1C header.
#[allow(dead_code)]
pub fn l1c_of(date: &str, lines: u32, cols: u32, seed: u64) -> (SimScene, PathBuf) {
    let s = SimScene::new("SIMULSIT", date, lines, cols, seed, 600.0);
    let hdr = s.l1c();
    (s, hdr)
}

/// The L2 options of scene `s`: the LUTs of testdata/luts, the scene's DEM, init mode.
#[allow(dead_code)]
pub fn l2_options(s: &SimScene) -> vip::level2::L2Options {
    vip::level2::L2Options {
        gipp: vip_testkit::project_root().join("testdata/luts"),
        dem: s.dem(),
        context: None,
        mode: None,
        model: None,
        params: Default::default(),
    }
}

/// The L2A of scene `s` (L1C `l1c`) made by the library with the LUTs of testdata/luts, in
/// the scene's scratch folder; returns its header.
#[allow(dead_code)]
pub fn l2a_of(s: &SimScene, l1c: &Path) -> PathBuf {
    vip::level2::process(
        l1c,
        &l2_options(s),
        &vip::cli::Options {
            output: s.scratch("L2A"),
            threads: 2,
            ..Default::default()
        },
    )
    .unwrap()
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

/// Rewrites band `band` of the native raster `path` with `f(pixel index)`.
#[allow(dead_code)]
pub fn rewrite(path: &Path, band: usize, f: impl Fn(usize) -> f64) {
    let spec = vip::raster::spec_like(&vip::raster::open(path).unwrap()).unwrap();
    let tmp = path.with_extension("tmp.tif");
    let bands: Vec<Vec<f64>> = (1..=spec.bands)
        .map(|b| {
            let (v, _, _) = vip_testkit::read_band(path, b);
            if b == band {
                (0..v.len()).map(&f).collect()
            } else {
                v
            }
        })
        .collect();
    let mut ds = vip::raster::create_geotiff(&tmp, &spec, &[]).unwrap();
    for (b, v) in bands.iter().enumerate() {
        vip::raster::write_window(&mut ds, b + 1, (0, 0), (spec.width, spec.height), v).unwrap();
    }
    vip::raster::finish(ds, &tmp).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}
