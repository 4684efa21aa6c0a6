//! vip-maccs l2 on bad input: each case either fails with one error line naming the file and
//! the problem (exit 3), or runs and flags the pixels concerned, never silent garbage.

use std::path::{Path, PathBuf};

use vip::raster::{self, SampleType};
use vip_testkit::{project_root, read_band, run, Run, SimScene};

const BIN: &str = env!("CARGO_BIN_EXE_vip-maccs");

fn luts() -> PathBuf {
    project_root().join("testdata/luts")
}

/// A small L1C (no atmosphere in the simulation: the chain's plumbing is what is tested).
fn scene(spec: vip::sim::SceneSpec) -> (SimScene, PathBuf) {
    let s = SimScene::of(spec);
    let l1c = s.l1c();
    (s, l1c)
}

fn small() -> vip::sim::SceneSpec {
    vip::sim::SceneSpec::new("BADINPUT", "2024-06-15", "10:30:00", 160, 160, 3, 300.0).unwrap()
}

fn l2(l1c: &Path, gipp: &Path, dem: &Path, out: &Path) -> Run {
    run(
        BIN,
        &[
            "l2".as_ref(),
            l1c.as_os_str(),
            "--gipp".as_ref(),
            gipp.as_os_str(),
            "--dem".as_ref(),
            dem.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
        ],
    )
}

/// Copies the LUT GIPPs into a fresh folder.
fn copy_luts(to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for f in vip_testkit::files(&luts()) {
        let rel = f.strip_prefix(luts()).unwrap();
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&f, dest).unwrap();
    }
}

#[test]
fn an_l1c_without_angle_grids_is_refused_naming_the_grid() {
    let (s, l1c) = scene(small());
    let dbl = l1c.with_extension("DBL.DIR");
    let sol = std::fs::read_dir(&dbl)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("_SOL.DBL.TIF"))
        .unwrap();
    std::fs::remove_file(&sol).unwrap();
    let out = s.scratch("L2");
    l2(&l1c, &luts(), &s.dem(), &out)
        .code(3)
        .one_error_line("_SOL.DBL.TIF");
    assert!(!out.exists() || vip_testkit::files(&out).is_empty());
}

#[test]
fn a_dem_that_does_not_cover_the_l1c_is_refused() {
    let (s, l1c) = scene(small());
    let cut = s.scratch("cut.tif");
    let st = std::process::Command::new("gdal_translate")
        .args(["-q", "-srcwin", "0", "0", "20", "20"])
        .arg(s.dem())
        .arg(&cut)
        .status()
        .unwrap();
    assert!(st.success());
    l2(&l1c, &luts(), &cut, &s.scratch("L2"))
        .code(3)
        .one_error_line("DEM does not cover");
}

#[test]
fn a_lut_gipp_of_another_mission_is_refused_naming_it() {
    let (s, l1c) = scene(small());
    let gipp = s.scratch("GIPP");
    copy_luts(&gipp);
    let hdr = vip_testkit::files(&gipp)
        .into_iter()
        .find(|p| {
            p.to_string_lossy().contains("L2DIRT") && p.extension().is_some_and(|e| e == "HDR")
        })
        .unwrap();
    let text = std::fs::read_to_string(&hdr).unwrap();
    std::fs::write(
        &hdr,
        text.replace("<Mission>VENuS<", "<Mission>SENTINEL-2<"),
    )
    .unwrap();
    let name = hdr.file_name().unwrap().to_string_lossy().to_string();
    l2(&l1c, &gipp, &s.dem(), &s.scratch("L2"))
        .code(3)
        .one_error_line(&name)
        .stderr_has("SENTINEL-2");
}

#[test]
fn a_sun_beyond_the_lut_angles_is_refused_saying_which_axis() {
    // mid-December, early morning: the sun is about 80° from the zenith, the LUTs stop at 70°
    let spec =
        vip::sim::SceneSpec::new("LOWSUN", "2024-12-15", "08:10:00", 120, 120, 5, 100.0).unwrap();
    let (s, l1c) = scene(spec);
    l2(&l1c, &luts(), &s.dem(), &s.scratch("L2"))
        .code(3)
        .one_error_line("sun zenith");
}

/// Sets band `band` (1-based) of the L1C image to `value` over rows `rows`.
fn overwrite_rows(image: &Path, band: usize, rows: std::ops::Range<usize>, value: i16) {
    let ds = raster::open(image).unwrap();
    let mut spec = raster::spec_like(&ds).unwrap();
    spec.data_type = SampleType::I16;
    let (w, h) = ds.raster_size();
    let planes: Vec<Vec<i16>> = (1..=spec.bands)
        .map(|b| raster::read_window::<i16>(&ds, b, (0, 0), (w, h)).unwrap())
        .collect();
    drop(ds);
    let tmp = image.with_extension("tmp.tif");
    let mut out = raster::create_geotiff(&tmp, &spec, &[]).unwrap();
    for (b, mut p) in planes.into_iter().enumerate() {
        if b + 1 == band {
            for r in rows.clone() {
                p[r * w..(r + 1) * w].iter_mut().for_each(|v| *v = value);
            }
        }
        raster::write_window(&mut out, b + 1, (0, 0), (w, h), &p).unwrap();
    }
    raster::finish(out, &tmp).unwrap();
    std::fs::rename(&tmp, image).unwrap();
}

fn l2_file(out: &Path, suffix: &str) -> PathBuf {
    vip_testkit::files(out)
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with(suffix))
        .unwrap_or_else(|| panic!("no {suffix} in {}", out.display()))
}

#[test]
fn negative_toa_pixels_become_no_data_in_that_band_only_and_are_counted() {
    let (s, l1c) = scene(small());
    let image = l2_file(
        &l1c.with_extension("DBL.DIR"),
        "L1VALD_BADINPUT_20240615.DBL.TIF",
    );
    overwrite_rows(&image, 3, 40..50, -25);
    let out = s.scratch("L2");
    l2(&l1c, &luts(), &s.dem(), &out)
        .code(0)
        .stderr_has("negative TOA");
    let sre = l2_file(&out, "_SRE.DBL.TIF");
    let (b3, w, _) = read_band(&sre, 3);
    let (b4, _, _) = read_band(&sre, 4);
    for c in 20..140 {
        assert_eq!(b3[45 * w + c], -10000.0, "negative TOA gives no-data");
        assert_ne!(b4[45 * w + c], -10000.0, "other bands are corrected");
        assert_ne!(b3[60 * w + c], -10000.0);
    }
}

#[test]
fn altitudes_beyond_the_luts_are_clamped_and_flagged() {
    // relief up to about 3700 m; the LUTs stop at 3000 m
    let spec = vip::sim::SceneSpec::new("HIGHALPS", "2024-06-15", "10:30:00", 160, 160, 7, 3600.0)
        .unwrap();
    let (s, l1c) = scene(spec);
    let out = s.scratch("L2");
    l2(&l1c, &luts(), &s.dem(), &out)
        .code(0)
        .stderr_has("outside the LUT altitudes");
    let (oth, w, h) = read_band(&l2_file(&out, "_QLT.DBL.TIF"), 3);
    let (dem, ..) = (vip::geometry::dem::Dem::read(&s.dem()).unwrap(),);
    let hdr = vip::product::l1c::L1c::open(&l1c).unwrap();
    let (mut flagged, mut high) = (0, 0);
    for r in 0..h {
        for c in 0..w {
            let (e, n) = (
                hdr.site.ulx + (c as f64 + 0.5) * hdr.site.pixel_m,
                hdr.site.uly - (r as f64 + 0.5) * hdr.site.pixel_m,
            );
            let is_high = dem.0.height(e, n) > 3000.0;
            let is_flagged = (oth[r * w + c] as u16) & vip::product::l2a::bits::OTH_CLAMP != 0;
            assert_eq!(is_high, is_flagged, "pixel {r},{c}");
            high += usize::from(is_high);
            flagged += usize::from(is_flagged);
        }
    }
    assert!(high > 100, "the scene reaches above the LUTs: {high}");
    assert_eq!(flagged, high);
}

#[test]
fn an_l2comm_in_the_gipp_folder_sets_the_parameters_and_a_broken_one_is_refused() {
    let (s, l1c) = scene(small());
    let gipp = s.scratch("GIPP");
    copy_luts(&gipp);
    let example = vip_testkit::project_root()
        .join("testdata/venus/examples/VE_TEST_GIP_L2COMM_L_ALLSITES_00001_20170801_99991231.EEF");
    let text = std::fs::read_to_string(&example).unwrap();
    let l2comm = gipp.join(example.file_name().unwrap());
    // a sun-too-low threshold no slope passes: every pixel is flagged STL
    std::fs::write(
        &l2comm,
        text.replace(
            "<Slope_Min_Cos_I>0.20</Slope_Min_Cos_I>",
            "<Slope_Min_Cos_I>1.00</Slope_Min_Cos_I>",
        ),
    )
    .unwrap();
    let out = s.scratch("L2");
    l2(&l1c, &gipp, &s.dem(), &out).code(0);
    let (msk, ..) = read_band(&l2_file(&out, "_MSK.DBL.TIF"), 1);
    let stl = msk
        .iter()
        .filter(|v| (**v as u8) & vip::product::l2a::bits::MSK_STL != 0)
        .count();
    assert!(stl > msk.len() * 9 / 10, "{stl} of {}", msk.len());
    let header = std::fs::read_to_string(l2_file(&out, "L2VALD_BADINPUT_20240615.HDR")).unwrap();
    assert!(header.contains("VE_TEST_GIP_L2COMM_L_ALLSITES_00001_20170801_99991231"));

    std::fs::write(&l2comm, text.replace("<MS_Slope>0.5</MS_Slope>", "")).unwrap();
    l2(&l1c, &gipp, &s.dem(), &s.scratch("L2b"))
        .code(3)
        .one_error_line("MS_Slope");
}

#[test]
fn an_l1c_image_one_line_short_of_its_header_is_refused_naming_both_sizes() {
    let (s, l1c) = scene(small());
    let image = vip::product::l1c::L1c::open(&l1c)
        .unwrap()
        .image_path(l1c.parent().unwrap());
    vip_testkit::crop_in_place(&image, 160, 159);
    let out = s.scratch("L2");
    l2(&l1c, &luts(), &s.dem(), &out)
        .code(3)
        .one_error_line(&format!("{}: image is 160 × 159", image.display()))
        .one_error_line("header says 160 × 160");
    assert!(!out.exists() || vip_testkit::files(&out).is_empty());
}
