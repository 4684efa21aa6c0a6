//! vip-sim scene: layout, formats (the VENµS XSDs, GDAL opening every raster),
//! determinism across thread counts, and refusal of bad requests.

use std::path::{Path, PathBuf};
use std::process::Command;

use vip_testkit::{files, run};

const SIM: &str = env!("CARGO_BIN_EXE_vip-sim");

fn scene(dir: &Path, extra: &[&str]) -> PathBuf {
    let out = dir.to_str().unwrap();
    let mut args = vec![
        "scene", "--lines", "96", "--cols", "128", "--seed", "7", "-o", out,
    ];
    args.extend_from_slice(extra);
    let r = run(SIM, &args);
    r.code(0);
    let paths = r.paths();
    assert_eq!(paths.len(), 1, "{}", r.stdout);
    paths[0].clone()
}

fn gdalinfo(path: &Path, extra: &[&str]) -> String {
    let out = Command::new("gdalinfo")
        .args(extra)
        .arg(path)
        .output()
        .expect("gdalinfo installed");
    assert!(
        out.status.success(),
        "gdalinfo {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn writes_the_documented_layout_in_valid_formats() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("S");
    let l1a = scene(&dir, &[]);
    assert!(
        l1a.starts_with(&dir) && l1a.extension().unwrap() == "HDR" && l1a.is_file(),
        "{}",
        l1a.display()
    );
    for f in ["site.json", "DEM.tif"] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    for b in 1..=12 {
        assert!(dir.join(format!("truth/TOA_B{b:02}.tif")).is_file());
    }
    let all = files(&dir);
    // Every header and GIPP validates against its VENµS schema.
    let xml: Vec<&Path> = all
        .iter()
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("HDR" | "EEF")))
        .map(|p| p.as_path())
        .collect();
    // GIPPs: DARKCU, RELSEN, VIEDIR, OUTORD per band, PHGAIN, REFLEC, SENGEO, CLOUDD, CKQLTL,
    // L3COMM; L1A: global header, one image header per band, the technical file; beside it
    // the auxiliary data: GPSDTA, AOCDTA, EORDTA and the site's reference image REFIMG.
    assert_eq!(xml.len(), 12 * 4 + 6 + 1 + 12 + 1 + 4, "{xml:?}");
    for ty in [
        "_AUX_GPSDTA_",
        "_AUX_AOCDTA_",
        "_EXO_EORDTA_",
        "_AUX_REFIMG_",
    ] {
        assert!(
            all.iter()
                .any(|p| p.parent() == l1a.parent() && p.to_string_lossy().contains(ty)),
            "no {ty} beside the L1A"
        );
    }
    // the L1A lists the ephemeris and attitude of its own orbit
    let product = vip::product::L1a::open(&l1a).unwrap();
    let orbit = product.orbit.expect("an orbit number");
    assert_eq!(product.auxiliary.len(), 2);
    for a in &product.auxiliary {
        assert!(
            a.name.contains(&format!("_{orbit:05}_")),
            "{} {orbit}",
            a.name
        );
        assert!(
            l1a.with_file_name(format!("{}.EEF", a.name)).is_file(),
            "{}",
            a.name
        );
    }
    vip::ee::schema::validate_all(&xml).unwrap();
    // GDAL opens every raster; the site grid is 5 m UTM; the DEM has the requested relief.
    for tif in all
        .iter()
        .filter(|p| p.to_string_lossy().ends_with(".tif") || p.to_string_lossy().ends_with(".TIF"))
    {
        gdalinfo(tif, &[]);
    }
    let info = gdalinfo(&dir.join("truth/TOA_B01.tif"), &[]);
    assert!(info.contains("Size is 128, 96"), "{info}");
    assert!(
        info.contains("Pixel Size = (5.000000000000000,-5.000000000000000)"),
        "{info}"
    );
    assert!(info.contains("UTM zone 31N"), "{info}");
    let stats = gdalinfo(&dir.join("DEM.tif"), &["-stats"]);
    let get = |key: &str| -> f64 {
        let at = stats.find(key).unwrap() + key.len();
        stats[at..]
            .split(|c: char| c == ',' || c.is_whitespace())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(
        get("STATISTICS_MAXIMUM=") - get("STATISTICS_MINIMUM=") > 300.0,
        "{stats}"
    );
    let site: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("site.json")).unwrap()).unwrap();
    assert_eq!(site["epsg"], 32631);
    assert_eq!(site["lines"], 96);
    assert_eq!(site["cols"], 128);
    // Raw counts are 10-bit.
    let raw = all
        .iter()
        .find(|p| p.to_string_lossy().ends_with("_B07.DBL.TIF"))
        .unwrap();
    let stats = gdalinfo(raw, &["-stats"]);
    assert!(stats.contains("Type=UInt16"), "{stats}");
    let max: f64 = stats
        .split("STATISTICS_MAXIMUM=")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(max <= 1023.0);
}

#[test]
fn same_seed_same_bytes_whatever_the_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    scene(&a, &["--threads", "1"]);
    scene(&b, &["--threads", "2", "--ram", "16"]);
    vip_testkit::assert_same_tree(&a, &b);
    let r = run(
        SIM,
        &[
            "scene",
            "--lines",
            "96",
            "--cols",
            "128",
            "--seed",
            "8",
            "-o",
            c.to_str().unwrap(),
        ],
    );
    r.code(0);
    let raw = |d: &Path| {
        files(d)
            .into_iter()
            .find(|p| p.to_string_lossy().ends_with("_B01.DBL.TIF"))
            .unwrap()
    };
    assert_ne!(
        std::fs::read(raw(&a)).unwrap(),
        std::fs::read(raw(&c)).unwrap()
    );
}

#[test]
fn refuses_to_replace_and_leaves_nothing_half_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("S");
    scene(&dir, &[]);
    let before = files(&dir);
    run(
        SIM,
        &[
            "scene",
            "--lines",
            "96",
            "--cols",
            "128",
            "-o",
            dir.to_str().unwrap(),
        ],
    )
    .code(5)
    .one_error_line("--overwrite");
    assert_eq!(files(&dir), before);
    scene(&dir, &["--overwrite"]);
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers,
        vec![std::ffi::OsString::from("S")],
        "temporary folders left behind"
    );
}

#[test]
fn bad_requests_get_their_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("S");
    let o = out.to_str().unwrap();
    run(SIM, &["scene", "--date", "2024-02-30", "-o", o])
        .code(2)
        .one_error_line("--date");
    run(SIM, &["scene", "--site", "NOT A SITE NAME", "-o", o]).code(2);
    run(SIM, &["scene"]).code(2).one_error_line("-o DIR");
    // Output under a regular file: cannot be created, whoever runs the test.
    let file = tmp.path().join("plain");
    std::fs::write(&file, "x").unwrap();
    let under = file.join("S");
    run(
        SIM,
        &[
            "scene",
            "--lines",
            "32",
            "--cols",
            "32",
            "-o",
            under.to_str().unwrap(),
        ],
    )
    .code(5)
    .one_error_line("plain");
    assert!(!out.exists());
}

/// A full disk, as the process sees it: a file-size limit with SIGXFSZ ignored makes every
/// write past it fail (EFBIG), as ENOSPC would. Exit 5, nothing left behind.
#[test]
fn full_disk_fails_cleanly() {
    use std::os::unix::process::CommandExt;
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("S");
    let mut cmd = Command::new(SIM);
    cmd.args([
        "scene",
        "--lines",
        "256",
        "--cols",
        "256",
        "-o",
        out.to_str().unwrap(),
    ]);
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 64 * 1024,
                rlim_max: 64 * 1024,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &limit);
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let r = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(5), "{stderr}");
    assert_eq!(
        stderr.lines().filter(|l| l.contains(" ERROR ")).count(),
        1,
        "{stderr}"
    );
    assert!(r.stdout.is_empty());
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "partial output left: {left:?}");
}

/// A knowledge error changes what the auxiliary data say, not the images: the same scene with
/// a 69 µrad roll bias (10 pixels across the track from 720 km) and a 20 ms time offset has
/// the same raw images, and vip-l1's model, reading its auxiliary files, puts the site 10
/// pixels across and 20 ms of lines along the track from where the faithful files put it.
#[test]
fn a_knowledge_error_moves_what_the_auxiliary_data_say_not_the_images() {
    let spec = || {
        vip::sim::SceneSpec::new("SIMULSIT", "2024-03-15", "10:30:00", 64, 64, 4, 300.0).unwrap()
    };
    let faithful = vip_testkit::SimScene::of(spec());
    let mut biased = spec();
    biased.knowledge = vip::geometry::orbital::KnowledgeError {
        roll_urad: 69.0,
        pitch_urad: 0.0,
        yaw_urad: 0.0,
        time_s: 0.020,
    };
    let biased = vip_testkit::SimScene::of(biased);
    let raw = |s: &vip_testkit::SimScene| {
        let dir = s.l1a.with_extension("DBL.DIR");
        let mut tifs: Vec<PathBuf> = files(&dir)
            .into_iter()
            .filter(|p| p.to_string_lossy().ends_with(".DBL.TIF"))
            .collect();
        tifs.sort();
        tifs.iter()
            .map(|p| std::fs::read(p).unwrap())
            .collect::<Vec<_>>()
    };
    assert!(raw(&faithful) == raw(&biased), "the images differ");
    let model = |s: &vip_testkit::SimScene| {
        let inputs = vip::level1::Inputs::load(&s.l1a, &s.gipp(), &s.dem(), None).unwrap();
        let to_lonlat = vip::geometry::lonlat::MapToLonLat::new(inputs.epsg).unwrap();
        let te = inputs.product.bands[3].datation.te;
        (inputs.models(&to_lonlat).unwrap().remove(3), te)
    };
    let ((a, te), (b, _)) = (model(&faithful), model(&biased));
    let site = vip::geometry::grid::Site::read(&faithful.site_json()).unwrap();
    let (e, n) = site.centre();
    let (pa, pb) = (a.image_position(e, n, 200.0), b.image_position(e, n, 200.0));
    let (along, across) = (pb.0 - pa.0, pb.1 - pa.1);
    eprintln!("knowledge error: {along:.3} lines along, {across:.3} columns across");
    // tags 20 ms late: the data say the satellite was at each place 20 ms later
    assert!(
        (along.abs() - 0.020 / te).abs() < 0.5,
        "{along} lines, {} expected",
        0.020 / te
    );
    assert!(
        (across.abs() - 69e-6 * 720e3 / 5.3).abs() < 0.5,
        "{across} columns"
    );
}
