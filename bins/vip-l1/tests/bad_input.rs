//! Every bad input gets exit 3 and one error line naming the file, and leaves no product.

use std::path::{Path, PathBuf};

use vip_testkit::{run, run_with_stdin, Run, SimScene};

const L1: &str = env!("CARGO_BIN_EXE_vip-l1");

fn scene() -> SimScene {
    SimScene::new("SIMULSIT", "2024-03-15", 48, 64, 3, 600.0)
}

/// The file of `dir` whose name ends with `suffix`.
fn file_ending(dir: &Path, suffix: &str) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(suffix))
        .unwrap_or_else(|| panic!("no *{suffix} in {}", dir.display()))
}

fn band(s: &SimScene, code: &str) -> PathBuf {
    file_ending(
        &s.l1a.with_extension("DBL.DIR"),
        &format!("_{code}.DBL.TIF"),
    )
}

fn gipp(s: &SimScene, prefix: &str) -> PathBuf {
    std::fs::read_dir(s.gipp())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .unwrap()
}

/// vip-l1 on `l1a` with the scene's GIPPs and DEM, unless `gipp`/`dem` replace them.
fn l1(s: &SimScene, l1a: &Path, gipp: Option<&Path>, dem: Option<&Path>) -> Run {
    let mut args = s.l1_args(
        &gipp.map_or(s.gipp(), Path::to_path_buf),
        &dem.map_or(s.dem(), Path::to_path_buf),
        &out(s),
        &[],
    );
    args[0] = l1a.display().to_string();
    run(L1, &args)
}

fn out(s: &SimScene) -> PathBuf {
    s.scratch("OUT")
}

/// Asserts that no product was left in the output folder.
fn nothing_written(s: &SimScene) {
    let out = out(s);
    assert!(
        !out.exists() || std::fs::read_dir(&out).unwrap().next().is_none(),
        "partial output in {}",
        out.display()
    );
}

fn write_u16(path: &Path, cols: usize, lines: usize, value: u16) {
    let spec = vip::raster::RasterSpec::new(cols, lines, 1, vip::raster::SampleType::U16);
    let mut ds = vip::raster::create_geotiff(path, &spec, &[]).unwrap();
    vip::raster::write_window(
        &mut ds,
        1,
        (0, 0),
        (cols, lines),
        &vec![value; cols * lines],
    )
    .unwrap();
    vip::raster::finish(ds, path).unwrap();
}

#[test]
fn good_inputs_make_a_product_also_through_stdin() {
    let s = scene();
    let r = l1(&s, &s.l1a, None, None);
    r.code(0);
    assert_eq!(r.paths().len(), 1);
    assert!(r.paths()[0].is_file());
    // Again through stdin: the product exists, so without --overwrite it is refused.
    let mut args = s.l1_args(&s.gipp(), &s.dem(), &out(&s), &[]);
    args[0] = "-".into();
    let stdin = format!("{}\n", s.l1a.display());
    run_with_stdin(L1, &args, &stdin)
        .code(5)
        .one_error_line("--overwrite");
    args.push("--overwrite".into());
    run_with_stdin(L1, &args, &stdin).code(0);
}

#[test]
fn missing_product() {
    let s = scene();
    let missing = s.dir.join("L1A/VE_TEST_VSC_1AVALD_NOWHERE__20240315.HDR");
    l1(&s, &missing, None, None)
        .code(3)
        .one_error_line("NOWHERE__20240315.HDR: no such file");
    nothing_written(&s);
}

#[test]
fn xml_that_is_not_earth_explorer() {
    let s = scene();
    let bad = s.dir.join("not_ee.HDR");
    std::fs::write(&bad, "<?xml version=\"1.0\"?><kml><Document/></kml>").unwrap();
    l1(&s, &bad, None, None)
        .code(3)
        .one_error_line("not_ee.HDR: not an Earth Explorer file");
    std::fs::write(&bad, "<Earth_Explorer_Header><Fixed_Header>").unwrap();
    l1(&s, &bad, None, None)
        .code(3)
        .one_error_line("not_ee.HDR: not well-formed XML");
}

#[test]
fn earth_explorer_file_of_the_wrong_type() {
    let s = scene();
    let phgain = gipp(&s, "VE_TEST_GIP_PHGAIN");
    l1(&s, &phgain, None, None)
        .code(3)
        .one_error_line("File_Type is GIP_PHGAIN, expected VSC_1AVALD");
}

#[test]
fn missing_band_image() {
    let s = scene();
    let b = band(&s, "B04");
    std::fs::remove_file(&b).unwrap();
    l1(&s, &s.l1a, None, None)
        .code(3)
        .one_error_line(b.file_name().unwrap().to_str().unwrap());
}

#[test]
fn unreadable_tiff() {
    let s = scene();
    let b = band(&s, "B03");
    std::fs::write(&b, "this is not a TIFF").unwrap();
    l1(&s, &s.l1a, None, None)
        .code(3)
        .one_error_line(&format!("{}: not a raster GDAL can read", b.display()));
}

#[test]
fn truncated_tiff() {
    let s = scene();
    let b = band(&s, "B05");
    let bytes = std::fs::read(&b).unwrap();
    std::fs::write(&b, &bytes[..bytes.len() * 2 / 3]).unwrap();
    l1(&s, &s.l1a, None, None)
        .code(3)
        .one_error_line(&b.display().to_string());
    nothing_written(&s);
}

#[test]
fn image_size_differs_from_the_header() {
    let s = scene();
    write_u16(&band(&s, "B02"), 10, 10, 100);
    l1(&s, &s.l1a, None, None)
        .code(3)
        .one_error_line("image is 10 × 10, the header says");
}

#[test]
fn all_zero_image() {
    let s = scene();
    let b = band(&s, "B08");
    let (cols, lines) = vip::raster::open(&b).unwrap().raster_size();
    write_u16(&b, cols, lines, 0);
    l1(&s, &s.l1a, None, None)
        .code(3)
        .one_error_line(&format!("{}: every count is zero", b.display()));
    nothing_written(&s);
}

#[test]
fn gipp_missing_for_the_site_and_date() {
    let s = scene();
    std::fs::remove_file(gipp(
        &s,
        "VE_TEST_GIP_DARKCU_S_SIMULSIT_00001_20240315_99991231_B07",
    ))
    .unwrap();
    l1(&s, &s.l1a, None, None)
        .code(3)
        .one_error_line("no GIP_DARKCU for band B07 with TDI 08 applicable to site SIMULSIT");
}

#[test]
fn gipps_of_another_site_or_not_yet_valid() {
    let s = scene();
    for (other, needle) in [
        (
            SimScene::new("OTHERSIT", "2024-03-15", 48, 64, 3, 600.0),
            "found GIP_PHGAIN valid 2024-03-15..9999-12-31 for site OTHERSIT",
        ),
        (
            SimScene::new("SIMULSIT", "2024-06-01", 48, 64, 3, 600.0),
            "found GIP_PHGAIN valid 2024-06-01..9999-12-31 for site SIMULSIT",
        ),
    ] {
        l1(&s, &s.l1a, Some(&other.gipp()), None)
            .code(3)
            .one_error_line("no GIP_PHGAIN applicable to site SIMULSIT on 2024-03-15T10:30:00")
            .one_error_line(needle);
    }
}

#[test]
fn gipp_folder_missing_and_dem_missing() {
    let s = scene();
    l1(&s, &s.l1a, Some(&s.dir.join("elsewhere")), None)
        .code(3)
        .one_error_line("elsewhere");
    std::fs::remove_file(s.dem()).unwrap();
    l1(&s, &s.l1a, None, None)
        .code(3)
        .one_error_line("DEM.tif: no such file");
}

#[test]
fn dem_that_does_not_cover_the_footprint() {
    let s = scene();
    let small = s.scratch("small_dem.tif");
    let ok = std::process::Command::new("gdal_translate")
        .args(["-q", "-srcwin", "0", "0", "20", "20"])
        .arg(s.dem())
        .arg(&small)
        .status()
        .unwrap();
    assert!(ok.success());
    l1(&s, &s.l1a, None, Some(&small))
        .code(3)
        .one_error_line("small_dem.tif: DEM does not cover the output grid");
    nothing_written(&s);
}

#[test]
fn a_geographic_dem_is_refused_naming_the_dem_not_the_site() {
    let s = scene();
    let geo = s.scratch("dem_4326.tif");
    let ok = std::process::Command::new("gdalwarp")
        .args(["-q", "-t_srs", "EPSG:4326"])
        .arg(s.dem())
        .arg(&geo)
        .status()
        .unwrap();
    assert!(ok.success());
    let site = s.site_json().display().to_string();
    for extra in [vec![], vec!["--site", site.as_str()]] {
        let mut args = s.l1_args(&s.gipp(), &geo, &out(&s), &extra);
        args[0] = s.l1a.display().to_string();
        run(L1, &args)
            .code(3)
            .one_error_line(&format!(
                "{}: DEM must be in a map projection",
                geo.display()
            ))
            .one_error_line("EPSG:4326 is not");
        nothing_written(&s);
    }
}

/// The auxiliary file beside the L1A whose name holds `kind`.
fn aux_file(s: &SimScene, kind: &str) -> PathBuf {
    std::fs::read_dir(s.l1a.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains(kind))
        .unwrap_or_else(|| panic!("no {kind} beside {}", s.l1a.display()))
}

#[test]
fn missing_ephemeris_or_attitude_file() {
    for kind in ["_AUX_GPSDTA_", "_AUX_AOCDTA_"] {
        let s = scene();
        let f = aux_file(&s, kind);
        std::fs::remove_file(&f).unwrap();
        l1(&s, &s.l1a, None, None)
            .code(3)
            .one_error_line(f.file_name().unwrap().to_str().unwrap())
            .stderr_has("is missing");
        nothing_written(&s);
    }
}

#[test]
fn ephemeris_that_does_not_cover_the_acquisition() {
    let s = scene();
    let gps = aux_file(&s, "_AUX_GPSDTA_");
    // keep the first three 1 Hz samples only: the acquisition runs on past them
    let text = std::fs::read_to_string(&gps).unwrap();
    let start = text.find("<GPS_Data").unwrap();
    let end = text.rfind("</GPS_Data>").unwrap() + "</GPS_Data>".len();
    let samples: Vec<&str> = text[start..end].split_inclusive("</GPS_Data>").collect();
    let kept = samples[..3].concat();
    let list_open = text[..start].rfind('<').unwrap();
    let head = text[..list_open].to_string()
        + &text[list_open..start].replace(&format!("count=\"{}\"", samples.len()), "count=\"3\"");
    std::fs::write(&gps, head + &kept + &text[end..]).unwrap();
    l1(&s, &s.l1a, None, None)
        .code(3)
        .one_error_line(gps.file_name().unwrap().to_str().unwrap());
    nothing_written(&s);
}

#[test]
fn earth_orientation_out_of_date_or_missing() {
    let s = scene();
    let hdr = aux_file(&s, "_EXO_EORDTA_");
    let hdr = hdr.with_extension("HDR");
    // a validity that ends before the acquisition
    let text = std::fs::read_to_string(&hdr).unwrap();
    let stop = text.find("<Validity_Stop>").unwrap() + "<Validity_Stop>".len();
    let end = text[stop..].find('<').unwrap() + stop;
    std::fs::write(
        &hdr,
        format!("{}UTC=2024-03-14T12:00:00{}", &text[..stop], &text[end..]),
    )
    .unwrap();
    l1(&s, &s.l1a, None, None)
        .code(3)
        .one_error_line(hdr.file_name().unwrap().to_str().unwrap())
        .stderr_has("out of date");
    nothing_written(&s);
    std::fs::remove_file(&hdr).unwrap();
    l1(&s, &s.l1a, None, None)
        .code(3)
        .one_error_line("holds no Earth orientation file (EXO_EORDTA)");
}

/// The reference image's header beside the L1A.
fn reference_header(s: &SimScene) -> PathBuf {
    let hdr = aux_file(s, "_AUX_REFIMG_");
    let name = hdr.file_name().unwrap().to_string_lossy().into_owned();
    let id = name.split('.').next().unwrap();
    hdr.with_file_name(format!("{id}.HDR"))
}

/// The reference image's GeoTIFF beside the L1A.
fn reference_image(s: &SimScene) -> PathBuf {
    file_ending(&reference_header(s).with_extension("DBL.DIR"), "_IMG.TIF")
}

/// Rewrites the georeferencing of `tif`: EPSG `epsg`, the origin moved by `offset` metres.
fn georeference(tif: &Path, epsg: u32, offset: f64) {
    let mut ds = gdal::Dataset::open_ex(
        tif,
        gdal::DatasetOptions {
            open_flags: gdal::GdalOpenFlags::GDAL_OF_UPDATE,
            ..Default::default()
        },
    )
    .unwrap();
    let mut gt = ds.geo_transform().unwrap();
    gt[0] += offset;
    ds.set_geo_transform(&gt).unwrap();
    ds.set_spatial_ref(&gdal::spatial_ref::SpatialRef::from_epsg(epsg).unwrap())
        .unwrap();
}

#[test]
fn reference_image_of_another_projection_or_place() {
    // another UTM zone, then the right zone but 100 km east: another site's image
    for (epsg, offset, says) in [
        (32632, 0.0, "the product in EPSG:32631"),
        (32631, 100_000.0, "does not overlap"),
    ] {
        let s = scene();
        let tif = reference_image(&s);
        georeference(&tif, epsg, offset);
        l1(&s, &s.l1a, None, None)
            .code(3)
            .one_error_line(tif.file_name().unwrap().to_str().unwrap())
            .stderr_has(says);
        nothing_written(&s);
    }
}

#[test]
fn reference_image_header_that_lists_no_image_or_is_missing() {
    let s = scene();
    let hdr = reference_header(&s);
    let text = std::fs::read_to_string(&hdr).unwrap();
    std::fs::write(&hdr, text.replace("Packaged_DBL_File", "Packaged_File")).unwrap();
    l1(&s, &s.l1a, None, None)
        .code(3)
        .one_error_line(hdr.file_name().unwrap().to_str().unwrap());
    nothing_written(&s);
    // without one: made unrefined, and said
    std::fs::remove_file(&hdr).unwrap();
    let r = l1(&s, &s.l1a, None, None);
    r.code(0).stderr_has("no reference image (AUX_REFIMG)");
}
