//! Which aerosol model vip-maccs l2 takes: the site's from its L2SITE GIPP, or the automatic
//! choice falling back to it on weak evidence; a site asking for a model its GIPP folder lacks
//! is bad input. (Whether the automatic choice finds the right model on scenes with enough
//! dark vegetation is `l2_accuracy`'s business.)

use std::path::{Path, PathBuf};

use vip::ee::gipps::{write_gipp, GippCommon};
use vip::ee::l2site::{l2site, L2Site, SiteAerosol};
use vip::ee::Applicability;
use vip_testkit::{project_root, run, SimScene};

const BIN: &str = env!("CARGO_BIN_EXE_vip-maccs");
const NICK: &str = "AEROSITE";

/// A scene of `lines` × `cols` under an urban atmosphere, and its L1C.
fn scene(lines: u32, cols: u32) -> (SimScene, PathBuf) {
    let mut spec =
        vip::sim::SceneSpec::new(NICK, "2024-06-15", "10:30:00", lines, cols, 41, 200.0).unwrap();
    spec.atmosphere = Some(vip::sim::atmosphere::AtmosphereSpec {
        luts: project_root().join("testdata/luts"),
        model: "URBAN".into(),
        aot_mean: 0.3,
        wv_mean: 1.5,
    });
    let scene = SimScene::of(spec);
    let l1c = scene.l1c();
    (scene, l1c)
}

/// Writes the site's L2SITE, saying `model` and `automatic`, into `dir`; returns its id.
fn write_l2site(dir: &Path, model: &str, automatic: bool) -> String {
    let when = |y| {
        chrono::NaiveDate::from_ymd_opt(y, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
    };
    let common = GippCommon::new(
        "TEST",
        Applicability::site("TEST", 'S', NICK).unwrap(),
        (when(2000), when(2100)),
    )
    .unwrap();
    let site = L2Site {
        dark_pixel_threshold: 0.05,
        darkest_pixel_surface_reflectance: 0.01,
        aerosol: Some(SiteAerosol {
            model: model.into(),
            automatic,
        }),
    };
    let path = write_gipp(&l2site(&common, &site).unwrap(), dir).unwrap();
    vip::ee::schema::validate(&path).unwrap();
    path.file_stem().unwrap().to_str().unwrap().to_string()
}

fn l2(scene: &SimScene, l1c: &Path, out: &str, extra: &[&str]) -> vip_testkit::Run {
    let out = scene.scratch(out);
    let mut args: Vec<String> = [
        "l2",
        l1c.to_str().unwrap(),
        "--gipp",
        scene.gipp().to_str().unwrap(),
        "--dem",
        scene.dem().to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec();
    args.extend(extra.iter().map(|a| a.to_string()));
    run(BIN, &args)
}

fn product(r: &vip_testkit::Run) -> vip::product::l2a::L2a {
    r.code(0);
    vip::product::l2a::L2a::open(&r.paths()[0]).unwrap()
}

#[test]
fn the_site_s_model_comes_from_its_l2site() {
    let (scene, l1c) = scene(200, 200);
    // no L2SITE, no L2COMM: continental
    let p = product(&l2(&scene, &l1c, "L2_DEFAULT", &[]));
    assert_eq!(
        p.aerosol_note,
        "aerosol model CONTINEN, the site's (default)"
    );
    // the L2SITE names the model: its LUT GIPPs and the L2SITE are listed as used
    let id = write_l2site(&scene.gipp(), "URBAN", false);
    let p = product(&l2(&scene, &l1c, "L2_SITE", &[]));
    assert_eq!(
        p.aerosol_note,
        format!("aerosol model URBAN, the site's ({id})")
    );
    let used: Vec<&str> = p.site.gipps_used.iter().map(|(_, i)| i.as_str()).collect();
    assert!(used.contains(&id.as_str()), "{used:?}");
    assert!(
        used.iter().any(|i| i.contains("_GIP_L2TOCR_L_URBAN_")),
        "{used:?}"
    );
    assert!(!used.iter().any(|i| i.contains("_L_CONTINEN_")), "{used:?}");
    // --model wins over the site
    let p = product(&l2(&scene, &l1c, "L2_ASKED", &["--model", "CONTINEN"]));
    assert_eq!(p.aerosol_note, "aerosol model CONTINEN, asked for");
}

#[test]
fn a_model_asked_for_does_not_read_the_site_s_l2site() {
    let (scene, l1c) = scene(200, 200);
    let id = write_l2site(&scene.gipp(), "CONTINEN", false);
    let path = scene.gipp().join(format!("{id}.EEF"));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("<Model>CONTINEN</Model>"), "{text}");
    std::fs::write(
        &path,
        text.replace("<Model>CONTINEN</Model>", "<Model>continental</Model>"),
    )
    .unwrap();
    // the site's model is needed: the malformed L2SITE is refused, naming it
    let r = l2(&scene, &l1c, "L2", &[]);
    r.code(3);
    assert!(r.stderr.contains(&id), "{}", r.stderr);
    // a model asked for leaves the L2SITE unread and unlisted
    let p = product(&l2(&scene, &l1c, "L2_ASKED", &["--model", "CONTINEN"]));
    assert_eq!(p.aerosol_note, "aerosol model CONTINEN, asked for");
    assert!(
        !p.site.gipps_used.iter().any(|(n, _)| n == "GIP_L2SITE"),
        "{:?}",
        p.site.gipps_used
    );
}

#[test]
fn weak_evidence_keeps_the_site_s_model() {
    // 1 km square: one window of cells, where the choice needs four
    let (scene, l1c) = scene(200, 200);
    write_l2site(&scene.gipp(), "CONTINEN", true);
    let p = product(&l2(&scene, &l1c, "L2", &[]));
    assert!(
        p.aerosol_note
            .starts_with("aerosol model CONTINEN, the site's: too few windows of dark vegetation"),
        "{}",
        p.aerosol_note
    );
}

#[test]
fn a_model_the_folder_lacks_is_refused_naming_it() {
    let (scene, l1c) = scene(64, 64);
    write_l2site(&scene.gipp(), "VOLCANIC", false);
    let r = l2(&scene, &l1c, "L2", &[]);
    r.code(3).one_error_line(
        "no LUT set for aerosol model VOLCANIC (available: CONTINEN, DESERT, MARITIME, URBAN)",
    );
    assert!(!scene.scratch("L2").exists() || vip_testkit::files(&scene.scratch("L2")).is_empty());
    // a malformed --model is a usage error
    l2(&scene, &l1c, "L2", &["--model", "urban"]).code(2);
}
