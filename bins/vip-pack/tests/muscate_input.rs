//! MUSCATE products as inputs: a simulated L1C packaged by vip-pack (folder and zip) reads
//! back, through the MUSCATE reader's native view, to the same image bands, masks and angle
//! grids as the native L1C, and the L2 made from the package is the L2 made from the native
//! L1C, raster for raster (GDAL reads both). Bad packages are refused naming them.

use std::path::{Path, PathBuf};

use vip::product::l1c::{self, L1c};
use vip::product::l2a::{self, L2a};
use vip::product::muscate::Input;
use vip_testkit::{files, read_band, SimScene};

mod common;
use common::{l2_options, pack, rewrite};

/// The L2A that `vip-maccs l2` makes of `input` (the library entry the tool calls).
fn l2(s: &SimScene, input: &Path, out: &str) -> PathBuf {
    let opts = vip::cli::Options {
        output: s.scratch(out),
        threads: 2,
        ..Default::default()
    };
    let mut written = vip::level2::run(&[input.to_path_buf()], &l2_options(s), &opts).unwrap();
    assert_eq!(written.len(), 1);
    written.remove(0)
}

/// Every band of two rasters holds the same values (NaN equal to NaN).
fn same_pixels(a: &Path, b: &Path) {
    let n = vip::raster::open(a).unwrap().raster_count();
    assert_eq!(
        n,
        vip::raster::open(b).unwrap().raster_count(),
        "{}",
        a.display()
    );
    for band in 1..=n {
        let (x, w, h) = read_band(a, band);
        let (y, w2, h2) = read_band(b, band);
        assert_eq!((w, h), (w2, h2), "{} band {band}", a.display());
        let diff = x
            .iter()
            .zip(&y)
            .filter(|(p, q)| p.to_bits() != q.to_bits() && !(p.is_nan() && q.is_nan()))
            .count();
        assert_eq!(diff, 0, "{} band {band}: {diff} pixels differ", a.display());
    }
}

/// The rasters of a product folder, by path relative to it.
fn rasters(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = files(dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".TIF"))
        .map(|p| p.strip_prefix(dir).unwrap().to_path_buf())
        .collect();
    v.sort();
    v
}

#[test]
fn a_packaged_l1c_reads_back_to_the_native_l1c_and_makes_the_same_l2a() {
    let s = SimScene::new("SIMULSIT", "2024-03-15", 96, 128, 7, 600.0);
    let hdr = s.l1c();
    let native = L1c::open(&hdr).unwrap();
    let dir = hdr.parent().unwrap();
    let folder = pack(&hdr, &s.scratch("P"), &[]);
    let zip = pack(&hdr, &s.scratch("Z"), &["--zip"]);
    assert!(zip.to_string_lossy().ends_with(".zip"), "{}", zip.display());

    for given in [&folder, &zip] {
        let view = Input::open(given, &["L1C"]).unwrap();
        let back = L1c::open(&view.hdr).unwrap();
        let vdir = view.hdr.parent().unwrap();
        assert_eq!(back.global_id(), native.global_id(), "{}", given.display());
        let (a, b) = (&back.site, &native.site);
        assert_eq!(
            (a.epsg, a.ulx, a.uly, a.pixel_m, a.lines, a.cols),
            (b.epsg, b.ulx, b.uly, b.pixel_m, b.lines, b.cols)
        );
        assert_eq!((a.quantification, a.nodata), (b.quantification, b.nodata));
        assert_eq!((a.acquisition, a.orbit), (b.acquisition, b.orbit));
        assert_eq!(a.aks, b.aks);
        assert_eq!(a.angle_grid_step_m, b.angle_grid_step_m);
        // bands, saturation, aberrant pixels and cloud bands; sun and viewing grids, bit for bit
        same_pixels(&back.image_path(vdir), &native.image_path(dir));
        assert!(native.cla.is_some(), "the L1 writes a cloud altitude grid");
        assert_eq!(back.cla, native.cla);
        for code in [l1c::ANNEX_SOL, l1c::ANNEX_VIE, l1c::ANNEX_CLA] {
            same_pixels(&back.annex_path(vdir, code), &native.annex_path(dir, code));
        }
    }

    let a = l2(&s, &hdr, "L2-native");
    for (given, out) in [(&folder, "L2-folder"), (&zip, "L2-zip")] {
        let b = l2(&s, given, out);
        assert_eq!(a.file_name(), b.file_name(), "same L2A id");
        let (da, db) = (a.with_extension("DBL.DIR"), b.with_extension("DBL.DIR"));
        let (ra, rb) = (rasters(&da), rasters(&db));
        assert_eq!(ra, rb);
        assert!(ra.len() >= 6, "{ra:?}");
        for r in &ra {
            same_pixels(&da.join(r), &db.join(r));
            let (x, y) = (da.join(r), db.join(r));
            assert!(
                std::fs::read(&x).unwrap() == std::fs::read(&y).unwrap(),
                "{} and {} differ in bytes",
                x.display(),
                y.display()
            );
        }
    }
}

#[test]
fn bad_packages_are_refused_naming_them() {
    let s = SimScene::new("SIMULSIT", "2024-03-16", 48, 64, 3, 300.0);
    let hdr = s.l1c();
    let folder = pack(&hdr, &s.scratch("P"), &[]);
    let refused = |p: &Path, levels: &[&str], what: &str| {
        let e = Input::open(p, levels).unwrap_err();
        assert_eq!(e.exit_code(), 3, "{e}");
        let msg = e.to_string();
        assert!(msg.starts_with(&p.display().to_string()), "{msg}");
        assert!(msg.contains(what), "{msg}");
        assert_eq!(msg.lines().count(), 1, "{msg}");
    };
    // a level the caller does not take
    refused(&folder, &["L2A"], "this takes L2A");

    // a copy of the package, changed by `edit` (given the copy's folder)
    let changed = |name: &str, edit: &dyn Fn(&Path)| {
        let copy = s.scratch(name).join(folder.file_name().unwrap());
        copy_dir(&folder, &copy);
        edit(&copy);
        copy
    };
    let file_ending = |dir: &Path, end: &str| {
        files(dir)
            .into_iter()
            .find(|p| p.to_string_lossy().ends_with(end))
            .unwrap()
    };
    let edit_mtd = |from: &'static str, to: &'static str| {
        move |dir: &Path| {
            let mtd = file_ending(dir, "_MTD_ALL.xml");
            let text = std::fs::read_to_string(&mtd).unwrap();
            assert!(text.contains(from), "{from}");
            std::fs::write(&mtd, text.replace(from, to)).unwrap();
        }
    };
    // a file the metadata names is missing
    let copy = changed("missing", &|d| {
        std::fs::remove_file(file_ending(d, "_B7.tif")).unwrap()
    });
    refused(&copy, &["L1C"], "missing");
    // metadata that does not validate
    let copy = changed("invalid", &edit_mtd("<PLATFORM>", "<PLATFORMS>"));
    refused(&copy, &["L1C"], "does not validate");
    // another mission
    let copy = changed(
        "mission",
        &edit_mtd(">VENUS</PLATFORM>", ">SENTINEL2A</PLATFORM>"),
    );
    refused(&copy, &["L1C"], "SENTINEL2A");

    // a zip with an entry escaping its folder
    let evil = s.scratch("evil").join("evil.zip");
    vip_testkit::escaping_zip(&evil);
    refused(&evil, &["L1C"], "outside the package folder");
}

fn copy_dir(from: &Path, to: &Path) {
    for f in files(from) {
        let dest = to.join(f.strip_prefix(from).unwrap());
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&f, &dest).unwrap();
    }
}

/// Statistics of `input` as `vip-qc stats` makes them, without the names of files and product.
fn qc_stats(input: &Path) -> serde_json::Value {
    let i = vip::qc::input::Input::open(input).unwrap();
    let opts = vip::qc::stats::StatsOptions {
        ram_bytes: 64 << 20,
        threads: 2,
    };
    let mut v = serde_json::to_value(vip::qc::stats::stats(&i, &opts).unwrap()).unwrap();
    v["product"] = serde_json::Value::Null;
    // the header's cloud cover: MUSCATE's CloudPercent is measured on MG2 as MAJA does
    v["masks"]["header_cloud_percentage"] = serde_json::Value::Null;
    for b in v["bands"].as_array_mut().unwrap() {
        b["file"] = serde_json::Value::Null;
    }
    v
}

#[test]
fn a_packaged_l2a_reads_back_to_the_native_l2a() {
    let (s, l1c) = common::l1c_of("2024-03-15", 96, 128, 7);
    let hdr = common::l2a_of(&s, &l1c);
    let native = L2a::open(&hdr).unwrap();
    let dir = hdr.parent().unwrap();
    // Every bit combination of the native masks, so that a bit read back to a wrong place shows.
    rewrite(&native.annex_path(dir, l2a::ANNEX_CLD), 1, |i| {
        (i % 256) as f64
    });
    rewrite(&native.annex_path(dir, l2a::ANNEX_MSK), 1, |i| {
        ((i / 3) % 64) as f64
    });
    let qlt = native.annex_path(dir, l2a::ANNEX_QLT);
    // (OTH bits 1-3: its fourth, LUT-clamped geometry, has no MUSCATE mask)
    rewrite(&qlt, l2a::QLT_OTH_BAND, |i| ((i / 7) % 8) as f64);
    let zip = pack(&hdr, &s.scratch("Z"), &["--zip"]);
    let view = Input::open(&zip, &["L2A"]).unwrap();
    let back = L2a::open(&view.hdr).unwrap();
    let vdir = view.hdr.parent().unwrap();
    assert_eq!(back.global_id(), native.global_id());
    assert_eq!(
        (back.vap_quantification, back.aot_quantification),
        (native.vap_quantification, native.aot_quantification)
    );
    assert_eq!(
        (back.vap_nodata, back.aot_nodata),
        (native.vap_nodata, native.aot_nodata)
    );
    for code in [l2a::IMAGE_SRE, l2a::IMAGE_FRE] {
        same_pixels(&back.image_path(vdir, code), &native.image_path(dir, code));
    }
    for code in [
        l2a::ANNEX_ATB,
        l2a::ANNEX_CLD,
        l2a::ANNEX_MSK,
        l2a::ANNEX_SOL,
        l2a::ANNEX_VIE,
    ] {
        same_pixels(&back.annex_path(vdir, code), &native.annex_path(dir, code));
    }
    same_pixels(
        &back.annex_path(vdir, l2a::ANNEX_QLT),
        &native.annex_path(dir, l2a::ANNEX_QLT),
    );

    // vip-qc stats gives the same figures on the native L2A and on its package, and
    // vip-qc compare finds no difference in any band at tolerance 0
    assert_eq!(qc_stats(&hdr), qc_stats(&zip));
    let (a, b) = (
        vip::qc::input::Input::open(&hdr).unwrap(),
        vip::qc::input::Input::open(&zip).unwrap(),
    );
    let c = vip::qc::compare::compare(
        &a,
        &b,
        &vip::qc::compare::CompareOptions {
            tolerance: 0.0,
            max_fraction: 0.0,
            band: None,
            ram_bytes: 64 << 20,
            threads: 2,
        },
    )
    .unwrap();
    assert!(c.pass, "{:?}", c.failures);
    assert!(c.bands.len() >= 30, "{} bands compared", c.bands.len());

    // vip-maccs l3 on the package makes the L3A it makes on the native L2A
    let l3 = |input: &Path, out: &str| {
        let opts = vip::cli::Options {
            output: s.scratch(out),
            threads: 2,
            ..Default::default()
        };
        let l3 = vip::composite::L3Options {
            date: native.site.date,
            half_window_days: 11,
            gipp: vip_testkit::project_root().join("testdata/luts"),
        };
        let mut w = vip::composite::run(&[input.to_path_buf()], &l3, &opts).unwrap();
        w.remove(0)
    };
    let (ya, yb) = (l3(&hdr, "L3-native"), l3(&zip, "L3-zip"));
    let (da, db) = (ya.with_extension("DBL.DIR"), yb.with_extension("DBL.DIR"));
    let ra = rasters(&da);
    assert_eq!(ra, rasters(&db));
    assert!(ra.len() >= 3, "{ra:?}");
    for r in &ra {
        same_pixels(&da.join(r), &db.join(r));
    }
}

#[test]
fn the_reference_venus_l2a_metadata_is_read_up_to_its_missing_files() {
    // MAJA's VENµS L2A metadata (the ICD's validated example), alone in a folder: the reader
    // validates and parses it, then names the first file it lists that is not there.
    let dir = tempfile::tempdir().unwrap();
    let name = "VENUS-XS_20180102-105148-000_L2A_CAMARGUE_C_V1-0_MTD_ALL.xml";
    std::fs::copy(
        vip_testkit::project_root()
            .join("testdata/venus/examples")
            .join(name),
        dir.path().join(name),
    )
    .unwrap();
    let e = Input::open(dir.path(), &["L2A"]).unwrap_err();
    assert_eq!(e.exit_code(), 3, "{e}");
    let msg = e.to_string();
    assert!(msg.contains("which is missing"), "{msg}");
    assert!(
        msg.contains("VENUS-XS_20180102-105148-000_L2A_CAMARGUE_C_V1-0_"),
        "{msg}"
    );
    // and as an L1C input it is the wrong level
    let e = Input::open(dir.path(), &["L1C"]).unwrap_err();
    assert!(
        e.to_string()
            .contains("a MUSCATE L2A product; this takes L1C"),
        "{e}"
    );
}
