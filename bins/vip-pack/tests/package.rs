//! vip-pack on a small simulated L1C: layout, metadata against the native header and the
//! schema, rasters against the native image, manifest and verify, zip, COG, bad input.

use std::path::{Path, PathBuf};

use vip::ee::muscate::MtdAll;
use vip::product::l1c::L1c;
use vip_testkit::{files, read_band, run, SimScene};

mod common;
use common::{pack, BIN};

/// A small L1C made by the library, in the scene's scratch folder.
fn l1c() -> (SimScene, PathBuf) {
    common::l1c_of("2024-03-15", 96, 128, 7)
}

fn rel_files(dir: &Path) -> Vec<String> {
    files(dir)
        .iter()
        .map(|p| p.strip_prefix(dir).unwrap().display().to_string())
        .collect()
}

/// Rewrites the L1C image with band `band` set to `nodata` over rows and columns `0..n`: the
/// simulated scene covers its whole grid, so this makes an edge that only one band has.
fn with_edge(image: &Path, band: usize, n: usize, nodata: i16) {
    let spec = vip::raster::spec_like(&vip::raster::open(image).unwrap()).unwrap();
    let bands: Vec<Vec<i16>> = (1..=spec.bands)
        .map(|b| {
            let (mut v, w, _) = read_band(image, b);
            if b == band {
                for i in (0..v.len()).filter(|i| i / w < n && i % w < n) {
                    v[i] = f64::from(nodata);
                }
            }
            v.iter().map(|x| *x as i16).collect()
        })
        .collect();
    let tmp = image.with_extension("tmp.tif");
    let mut ds = vip::raster::create_geotiff(&tmp, &spec, &[]).unwrap();
    for (b, v) in bands.iter().enumerate() {
        vip::raster::write_window(&mut ds, b + 1, (0, 0), (spec.width, spec.height), v).unwrap();
    }
    vip::raster::finish(ds, &tmp).unwrap();
    std::fs::rename(&tmp, image).unwrap();
}

#[test]
fn l1c_package_layout_metadata_and_rasters() {
    let (s, hdr) = l1c();
    let native = L1c::open(&hdr).unwrap();
    with_edge(
        &native.image_path(hdr.parent().unwrap()),
        5,
        10,
        native.site.nodata,
    );
    let dist = s.scratch("DIST");
    let pkg = pack(&hdr, &dist, &[]);
    let id = "VENUS-XS_20240315-103000-000_L1C_SIMULSIT_C_V1-0";
    assert_eq!(pkg, dist.join(id));
    // Only the package in the output folder, nothing staged left.
    assert_eq!(rel_files(&dist).len(), rel_files(&pkg).len());
    let mut want: Vec<String> = (1..=12)
        .map(|b| format!("{id}_SRE_B{b}.tif"))
        .chain(
            ["CLM", "EDG", "PIX", "SAT"]
                .iter()
                .map(|m| format!("MASKS/{id}_{m}_XS.tif")),
        )
        .chain([
            format!("DATA/{id}_CLA_XS.tif"),
            format!("{id}_MTD_ALL.xml"),
            format!("{id}_QKL_ALL.jpg"),
            "MANIFEST.sha256".to_string(),
        ])
        .collect();
    want.sort();
    assert_eq!(rel_files(&pkg), want);

    // The metadata validates against the MUSCATE schema ...
    let mtd_path = pkg.join(format!("{id}_MTD_ALL.xml"));
    vip::ee::schema::validate_all(&[&mtd_path]).unwrap();
    let text = std::fs::read_to_string(&mtd_path).unwrap();
    assert!(!text.contains("NOT_INITIALIZED"));
    // ... and reads back to the native header's values.
    let m = MtdAll::read(&mtd_path).unwrap();
    assert_eq!(m.product_id, id);
    assert_eq!(m.level, "L1C");
    assert_eq!(m.site, "SIMULSIT");
    assert_eq!(m.acquisition, native.site.acquisition);
    assert_eq!(m.production, native.site.creation);
    assert_eq!(m.epsg, native.site.epsg);
    assert_eq!((m.nrows, m.ncols), (native.site.lines, native.site.cols));
    assert_eq!(
        (m.ulx, m.uly, m.xdim),
        (native.site.ulx, native.site.uly, native.site.pixel_m)
    );
    assert_eq!(
        m.reflectance_quantification,
        1.0 / native.site.quantification
    );
    // The simulated chain carries the orbit number of its auxiliary data.
    let orbit = native.site.orbit.expect("an orbit number");
    assert_eq!(m.orbit_number, i64::from(orbit));
    assert_eq!(
        m.special_values[0],
        ("nodata".into(), native.site.nodata.to_string())
    );
    let close = |a: f64, b: f64, tol: f64| assert!((a - b).abs() <= tol, "{a} vs {b}");
    close(m.sun_mean.0, native.site.sun.zenith[4], 1e-6);
    close(m.sun_mean.1, native.site.sun.azimuth[4], 1e-6);
    for (d, v) in m.view_mean.iter().enumerate() {
        assert_eq!(v.0, format!("{:02}", d + 1));
        close(v.1, native.site.view[d].zenith[4], 1e-6);
        close(v.2, native.site.view[d].azimuth[4], 1e-6);
    }
    let ul = m.points[0];
    close(ul.lon, native.site.corners_lonlat[0].0, 1e-9);
    close(ul.lat, native.site.corners_lonlat[0].1, 1e-9);
    for (b, ak) in m.band_infos.iter().zip(&native.site.aks) {
        close(b.coefficients[0].1, *ak, 1e-6);
    }
    // The sun grid in the metadata is the SOL annex converted to angles: its centre node is
    // close to the header's centre angle.
    let sun = m.sun_grids.as_ref().unwrap();
    let (gl, gc) = native.site.angle_grid_shape();
    assert_eq!((sun.zenith.rows.len(), sun.zenith.rows[0].len()), (gl, gc));
    close(
        sun.zenith.rows[gl / 2][gc / 2],
        native.site.sun.zenith[4],
        0.5,
    );
    assert_eq!(m.view_grids.len(), 4);
    // Every file the metadata names exists.
    for f in m.referenced_files() {
        assert!(pkg.join(&f).is_file(), "{f}");
    }

    // Bands and masks hold the native pixels.
    let image = native.image_path(hdr.parent().unwrap());
    for (file, band) in [
        (format!("{id}_SRE_B1.tif"), 1),
        (format!("{id}_SRE_B12.tif"), 12),
        (format!("MASKS/{id}_SAT_XS.tif"), 13),
        (format!("MASKS/{id}_PIX_XS.tif"), 14),
        (format!("MASKS/{id}_CLM_XS.tif"), 15),
    ] {
        assert_eq!(
            read_band(&pkg.join(&file), 1),
            read_band(&image, band),
            "{file}"
        );
    }
    // The edge mask is 1 exactly where some band has no data: both directions, on a scene
    // that has both kinds of pixel (a mask of all ones or all zeros fails).
    let (edg, _, _) = read_band(&pkg.join(format!("MASKS/{id}_EDG_XS.tif")), 1);
    let reflectance: Vec<Vec<f64>> = (1..=12).map(|b| read_band(&image, b).0).collect();
    assert_eq!(edg.len(), reflectance[0].len());
    let mut edge = 0;
    for (i, e) in edg.iter().enumerate() {
        let no_data = reflectance
            .iter()
            .any(|b| b[i] == native.site.nodata as f64);
        assert_eq!(*e, f64::from(u8::from(no_data)), "EDG at pixel {i}");
        edge += usize::from(no_data);
    }
    assert_eq!(edge, 10 * 10, "edge pixels");
    let ds = vip::raster::open(&pkg.join(format!("{id}_SRE_B3.tif"))).unwrap();
    let b = ds.rasterband(1).unwrap();
    assert_eq!(b.no_data_value(), Some(-10000.0));
    assert_eq!(b.scale(), Some(native.site.quantification));
    let ql = vip::raster::open(&pkg.join(format!("{id}_QKL_ALL.jpg"))).unwrap();
    assert_eq!(ql.raster_count(), 3);

    // The manifest matches what sha256sum says.
    let out = std::process::Command::new("sha256sum")
        .args(["-c", "--quiet", "MANIFEST.sha256"])
        .current_dir(&pkg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    run(BIN, &["verify", pkg.to_str().unwrap()])
        .code(0)
        .stdout_has(id);

    // Packaging again is refused without --overwrite (exit 5) and accepted with it.
    run(BIN, &[hdr.to_str().unwrap(), "-o", dist.to_str().unwrap()])
        .code(5)
        .one_error_line("--overwrite");
    pack(&hdr, &dist, &["--overwrite"]);
    assert_eq!(rel_files(&dist).len(), want.len());
}

#[test]
fn verify_names_a_flipped_byte_a_missing_file_and_an_extra_file() {
    let (s, hdr) = l1c();
    let pkg = pack(&hdr, &s.scratch("DIST"), &[]);
    let p = pkg.to_str().unwrap();
    let id = pkg.file_name().unwrap().to_str().unwrap().to_string();

    let b5 = pkg.join(format!("{id}_SRE_B5.tif"));
    let mut bytes = std::fs::read(&b5).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&b5, &bytes).unwrap();
    run(BIN, &["verify", p])
        .code(1)
        .one_error_line(&format!("{id}_SRE_B5.tif: checksum mismatch"));
    bytes[mid] ^= 0x01;
    std::fs::write(&b5, &bytes).unwrap();
    run(BIN, &["verify", p]).code(0);

    let sat = pkg.join(format!("MASKS/{id}_SAT_XS.tif"));
    let kept = std::fs::read(&sat).unwrap();
    std::fs::remove_file(&sat).unwrap();
    run(BIN, &["verify", p])
        .code(1)
        .one_error_line(&format!("MASKS/{id}_SAT_XS.tif: missing"));
    std::fs::write(&sat, kept).unwrap();

    std::fs::write(pkg.join("MASKS/notes.txt"), "x").unwrap();
    run(BIN, &["verify", p])
        .code(1)
        .one_error_line("MASKS/notes.txt: extra file");
}

#[test]
fn zip_is_deterministic_and_readable_through_vsizip() {
    let (s, hdr) = l1c();
    let a = pack(&hdr, &s.scratch("A"), &["--zip"]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let b = pack(&hdr, &s.scratch("B"), &["--zip", "--threads", "1"]);
    let id = "VENUS-XS_20240315-103000-000_L1C_SIMULSIT_C_V1-0";
    assert_eq!(
        a.file_name().unwrap().to_str().unwrap(),
        format!("{id}.zip")
    );
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    // Only the zip in the output folder.
    assert_eq!(rel_files(&s.scratch("A")), vec![format!("{id}.zip")]);
    let inner = format!("/vsizip/{}/{id}/{id}_SRE_B7.tif", a.display());
    let (v, w, h) = read_band(Path::new(&inner), 1);
    assert_eq!((w, h), (128, 96));
    assert!(v.iter().any(|&x| x != -10000.0));
    let ql = format!("/vsizip/{}/{id}/{id}_QKL_ALL.jpg", a.display());
    vip::raster::open(Path::new(&ql)).unwrap();
    run(BIN, &["verify", a.to_str().unwrap()]).code(0);
    // unzip agrees with the archive and its manifest.
    let out = std::process::Command::new("unzip")
        .args(["-q", a.to_str().unwrap(), "-d"])
        .arg(s.scratch("X"))
        .output()
        .unwrap();
    assert!(out.status.success());
    run(BIN, &["verify", s.scratch("X").join(id).to_str().unwrap()]).code(0);
}

/// A zip holding `names` (each with a little content).
fn zip_with(path: &Path, names: &[&str]) {
    let f = std::fs::File::create(path).unwrap();
    let mut z = zip::ZipWriter::new(f);
    for n in names {
        z.start_file(*n, zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut z, b"x").unwrap();
    }
    z.finish().unwrap();
}

#[test]
fn verify_refuses_zip_entries_that_escape() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, entries) in [
        ("dotdot.zip", vec!["P/MANIFEST.sha256", "P/../../evil.txt"]),
        ("absolute.zip", vec!["/etc/evil", "P/MANIFEST.sha256"]),
        ("two-roots.zip", vec!["P/MANIFEST.sha256", "Q/x.tif"]),
    ] {
        let z = tmp.path().join(name);
        zip_with(&z, &entries);
        run(BIN, &["verify", z.to_str().unwrap()])
            .code(3)
            .one_error_line("outside the package folder");
    }
    assert_eq!(files(tmp.path()).len(), 3);
}

#[test]
fn bad_input_is_refused_and_nothing_is_written() {
    let (s, hdr) = l1c();
    let dist = s.scratch("DIST");
    // A missing product.
    run(BIN, &["nope.HDR", "-o", dist.to_str().unwrap()])
        .code(3)
        .one_error_line("nope.HDR");
    // A product with a missing file.
    let native = L1c::open(&hdr).unwrap();
    let dir = hdr.parent().unwrap();
    let vie = native.annex_path(dir, "VIE");
    let kept = std::fs::read(&vie).unwrap();
    std::fs::remove_file(&vie).unwrap();
    run(BIN, &[hdr.to_str().unwrap(), "-o", dist.to_str().unwrap()])
        .code(3)
        .one_error_line("VIE");
    std::fs::write(&vie, kept).unwrap();
    // A site name that would put files outside the output folder.
    let text = std::fs::read_to_string(&hdr).unwrap();
    let evil = dir.join("EVIL.HDR");
    std::fs::write(&evil, text.replace(">SIMULSIT<", ">../../X<")).unwrap();
    run(BIN, &[evil.to_str().unwrap(), "-o", dist.to_str().unwrap()]).code(3);
    assert!(!dist.exists() || files(&dist).is_empty());
    assert!(!s.scratch("X").exists());
}

#[test]
fn cog_rasters_have_the_cog_layout() {
    let (s, hdr) = l1c();
    let pkg = pack(&hdr, &s.scratch("DIST"), &["--cog"]);
    let tifs: Vec<PathBuf> = files(&pkg)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "tif"))
        .collect();
    assert_eq!(tifs.len(), 17);
    for t in &tifs {
        let out = std::process::Command::new("gdalinfo")
            .arg(t)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("LAYOUT=COG"), "{}:\n{text}", t.display());
        assert!(text.contains("COMPRESSION=DEFLATE"), "{}", t.display());
    }
    run(BIN, &["verify", pkg.to_str().unwrap()]).code(0);
}

#[test]
fn orbit_number_comes_from_the_native_header() {
    let (s, hdr) = l1c();
    let text = std::fs::read_to_string(&hdr).unwrap();
    let orbit = vip::product::L1c::open(&hdr).unwrap().site.orbit.unwrap();
    let ours = format!("\">{orbit}</Acquisition_Orbit_Number>");
    assert!(text.contains(&ours), "no orbit {orbit} in the header");
    let dir = hdr.parent().unwrap();
    // another number, and none (NIL=N/A: 0 says unknown)
    for (value, expected, out) in [("1234", 1234, "DIST"), ("NIL=N/A", 0, "DIST0")] {
        let with = dir.join(format!("ORBIT{expected}.HDR"));
        std::fs::write(
            &with,
            text.replace(&ours, &format!("\">{value}</Acquisition_Orbit_Number>")),
        )
        .unwrap();
        let pkg = pack(&with, &s.scratch(out), &[]);
        let id = pkg.file_name().unwrap().to_str().unwrap();
        let mtd = pkg.join(format!("{id}_MTD_ALL.xml"));
        vip::ee::schema::validate_all(&[&mtd]).unwrap();
        assert_eq!(MtdAll::read(&mtd).unwrap().orbit_number, expected);
    }
    // An orbit that is not a number is bad input naming the header.
    let bad = dir.join("BADORBIT.HDR");
    std::fs::write(
        &bad,
        text.replace(&ours, "\">12x4</Acquisition_Orbit_Number>"),
    )
    .unwrap();
    run(
        BIN,
        &[
            bad.to_str().unwrap(),
            "-o",
            s.scratch("D2").to_str().unwrap(),
        ],
    )
    .code(3)
    .one_error_line("BADORBIT.HDR");
}

#[test]
fn the_icd_example_l2a_header_without_its_rasters_is_bad_input() {
    // The ICD's example L2A header: vip-pack takes it as an L2A (it packages L2As now), and
    // its rasters are not beside it: exit 3 naming a missing file, nothing written.
    let l2a = vip_testkit::project_root()
        .join("testdata/venus/examples/VE_TEST_VSC_L2VALD_CAMARGUE_20180102.HDR");
    let tmp = tempfile::tempdir().unwrap();
    let dist = tmp.path().join("DIST");
    run(BIN, &[l2a.to_str().unwrap(), "-o", dist.to_str().unwrap()])
        .code(3)
        .one_error_line("VE_TEST_VSC_");
    assert!(!dist.exists() || files(&dist).is_empty());
}

#[test]
fn an_image_one_line_short_of_its_header_is_refused_naming_both_sizes() {
    let (s, hdr) = l1c();
    let image = L1c::open(&hdr).unwrap().image_path(hdr.parent().unwrap());
    vip_testkit::crop_in_place(&image, 128, 95);
    let dist = s.scratch("DIST");
    run(BIN, &[hdr.to_str().unwrap(), "-o", dist.to_str().unwrap()])
        .code(3)
        .one_error_line(&format!("{}: image is 128 × 95", image.display()))
        .one_error_line("header says 128 × 96");
    assert!(!dist.exists() || files(&dist).is_empty());
}
