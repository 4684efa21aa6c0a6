//! Every bad input gets exit 3 and one error line naming the file, before any processing.

use std::path::{Path, PathBuf};

use vip_testkit::{run, run_with_stdin};

const L1: &str = env!("CARGO_BIN_EXE_vip-l1");

struct Scene {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    l1a: PathBuf,
}

impl Scene {
    fn new() -> Scene {
        Scene::of("SIMULSIT", "2024-03-15")
    }

    fn of(site: &str, date: &str) -> Scene {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("S");
        let spec = vip::sim::SceneSpec::new(site, date, "10:30:00", 48, 64, 3, 600.0).unwrap();
        let opts = vip::cli::Options {
            output: dir.clone(),
            threads: 1,
            ..Default::default()
        };
        let l1a = vip::sim::write_scene(&spec, &opts).unwrap().remove(0);
        Scene {
            _tmp: tmp,
            dir,
            l1a,
        }
    }

    fn band(&self, code: &str) -> PathBuf {
        let dbl = self.l1a.with_extension("DBL.DIR");
        std::fs::read_dir(dbl)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().ends_with(&format!("_{code}.DBL.TIF")))
            .unwrap()
    }

    fn gipp(&self, prefix: &str) -> PathBuf {
        std::fs::read_dir(self.dir.join("GIPP"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
            .unwrap()
    }

    fn l1(&self, l1a: &Path) -> vip_testkit::Run {
        let gipp = self.dir.join("GIPP");
        let dem = self.dir.join("DEM.tif");
        run(
            L1,
            &[
                l1a.to_str().unwrap(),
                "--gipp",
                gipp.to_str().unwrap(),
                "--dem",
                dem.to_str().unwrap(),
                "-o",
                self.dir.join("OUT").to_str().unwrap(),
            ],
        )
    }
}

#[test]
fn good_inputs_make_a_product_also_through_stdin() {
    let s = Scene::new();
    let r = s.l1(&s.l1a);
    r.code(0);
    assert_eq!(r.paths().len(), 1);
    assert!(r.paths()[0].is_file());
    // Again through stdin: the product exists, so without --overwrite it is refused.
    let gipp = s.dir.join("GIPP");
    let dem = s.dir.join("DEM.tif");
    let out = s.dir.join("OUT");
    let args = [
        "-",
        "--gipp",
        gipp.to_str().unwrap(),
        "--dem",
        dem.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    let stdin = format!("{}\n", s.l1a.display());
    run_with_stdin(L1, &args, &stdin)
        .code(5)
        .one_error_line("--overwrite");
    let mut again = args.to_vec();
    again.push("--overwrite");
    run_with_stdin(L1, &again, &stdin).code(0);
}

#[test]
fn missing_product() {
    let s = Scene::new();
    let missing = s.dir.join("L1A/VE_TEST_VSC_1AVALD_NOWHERE__20240315.HDR");
    s.l1(&missing)
        .code(3)
        .one_error_line("NOWHERE__20240315.HDR: no such file");
}

#[test]
fn xml_that_is_not_earth_explorer() {
    let s = Scene::new();
    let bad = s.dir.join("not_ee.HDR");
    std::fs::write(&bad, "<?xml version=\"1.0\"?><kml><Document/></kml>").unwrap();
    s.l1(&bad)
        .code(3)
        .one_error_line("not_ee.HDR: not an Earth Explorer file");
    std::fs::write(&bad, "<Earth_Explorer_Header><Fixed_Header>").unwrap();
    s.l1(&bad)
        .code(3)
        .one_error_line("not_ee.HDR: not well-formed XML");
}

#[test]
fn earth_explorer_file_of_the_wrong_type() {
    let s = Scene::new();
    let gipp = s.gipp("VE_TEST_GIP_PHGAIN");
    s.l1(&gipp)
        .code(3)
        .one_error_line("File_Type is GIP_PHGAIN, expected VSC_1AVALD");
}

#[test]
fn missing_band_image() {
    let s = Scene::new();
    let b = s.band("B04");
    std::fs::remove_file(&b).unwrap();
    s.l1(&s.l1a)
        .code(3)
        .one_error_line(b.file_name().unwrap().to_str().unwrap());
}

#[test]
fn unreadable_tiff() {
    let s = Scene::new();
    let b = s.band("B03");
    std::fs::write(&b, "this is not a TIFF").unwrap();
    s.l1(&s.l1a)
        .code(3)
        .one_error_line(&format!("{}: not a raster GDAL can read", b.display()));
}

#[test]
fn truncated_tiff() {
    let s = Scene::new();
    let b = s.band("B05");
    let bytes = std::fs::read(&b).unwrap();
    std::fs::write(&b, &bytes[..bytes.len() * 2 / 3]).unwrap();
    s.l1(&s.l1a)
        .code(3)
        .one_error_line(&b.display().to_string());
}

#[test]
fn gipp_missing_for_the_site_and_date() {
    let s = Scene::new();
    std::fs::remove_file(s.gipp("VE_TEST_GIP_DARKCU_S_SIMULSIT_00001_20240315_99991231_B07"))
        .unwrap();
    s.l1(&s.l1a)
        .code(3)
        .one_error_line("no GIP_DARKCU for band B07 with TDI 08 applicable to site SIMULSIT");
}

#[test]
fn gipp_folder_missing_and_dem_missing() {
    let s = Scene::new();
    std::fs::rename(s.dir.join("GIPP"), s.dir.join("elsewhere")).unwrap();
    s.l1(&s.l1a).code(3).one_error_line("GIPP");
    std::fs::rename(s.dir.join("elsewhere"), s.dir.join("GIPP")).unwrap();
    std::fs::remove_file(s.dir.join("DEM.tif")).unwrap();
    s.l1(&s.l1a).code(3).one_error_line("DEM.tif: no such file");
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
fn image_size_differs_from_the_header() {
    let s = Scene::new();
    let b = s.band("B02");
    write_u16(&b, 10, 10, 100);
    s.l1(&s.l1a)
        .code(3)
        .one_error_line("image is 10 × 10, the header says");
}

#[test]
fn all_zero_image() {
    let s = Scene::new();
    let b = s.band("B08");
    let ds = vip::raster::open(&b).unwrap();
    let (cols, lines) = ds.raster_size();
    drop(ds);
    write_u16(&b, cols, lines, 0);
    s.l1(&s.l1a)
        .code(3)
        .one_error_line(&format!("{}: every count is zero", b.display()));
    assert!(!s
        .dir
        .join("OUT")
        .join(
            s.l1a
                .file_name()
                .unwrap()
                .to_string_lossy()
                .replace("1AVALD", "L1VALD")
        )
        .exists());
}

#[test]
fn dem_that_does_not_cover_the_footprint() {
    let s = Scene::new();
    let small = s.dir.join("small_dem.tif");
    let dem = s.dir.join("DEM.tif");
    let ok = std::process::Command::new("gdal_translate")
        .args([
            "-q",
            "-srcwin",
            "0",
            "0",
            "20",
            "20",
            dem.to_str().unwrap(),
            small.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(ok.success());
    let gipp = s.dir.join("GIPP");
    run(
        L1,
        &[
            s.l1a.to_str().unwrap(),
            "--gipp",
            gipp.to_str().unwrap(),
            "--dem",
            small.to_str().unwrap(),
            "-o",
            s.dir.join("OUT").to_str().unwrap(),
        ],
    )
    .code(3)
    .one_error_line("small_dem.tif: DEM does not cover the output grid");
}

#[test]
fn gipps_of_another_site_or_not_yet_valid() {
    let s = Scene::new();
    for (other, needle) in [
        (
            Scene::of("OTHERSIT", "2024-03-15"),
            "found GIP_PHGAIN valid 2024-03-15..9999-12-31 for site OTHERSIT",
        ),
        (
            Scene::of("SIMULSIT", "2024-06-01"),
            "found GIP_PHGAIN valid 2024-06-01..9999-12-31 for site SIMULSIT",
        ),
    ] {
        let gipp = other.dir.join("GIPP");
        let dem = s.dir.join("DEM.tif");
        run(
            L1,
            &[
                s.l1a.to_str().unwrap(),
                "--gipp",
                gipp.to_str().unwrap(),
                "--dem",
                dem.to_str().unwrap(),
                "-o",
                s.dir.join("OUT").to_str().unwrap(),
            ],
        )
        .code(3)
        .one_error_line("no GIP_PHGAIN applicable to site SIMULSIT on 2024-03-15T10:30:00")
        .one_error_line(needle);
    }
}
