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
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("S");
        let spec = vip::sim::SceneSpec::new("SIMULSIT", "2024-03-15", "10:30:00", 48, 64, 3, 600.0)
            .unwrap();
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
