//! vip-maccs l2 on a date too cloudy to issue (ICD L2NOTV), on a small simulated site: a
//! clear date, then the next day under vip-sim's stratus deck (95 % cover). The GIPP folder
//! holds the VENµS example L2COMM with `Max_Cloud_Percentage` lowered to 50 %, so the
//! verdict does not hang on how far above 90 % the deck is measured.
//! - one date: exit 1 with one line naming the L1C, its cloud percentage and the L2NOTV
//!   header; that header alone is written (no L2VALD header, no folder), validates against
//!   the VENµS schemas (in-process and with `xmllint`), says `VSC_L2NOTV`, the cloud
//!   percentage and why; the context is left byte for byte as the clear date made it; the
//!   readers (L2a::open, vip-pack's and vip-qc's entry points) refuse it as bad input;
//! - both dates in one run (backward mode: the cloudy date is first met in the pass that only
//!   builds the history): the clear date issued, the cloudy date's L2NOTV header written once,
//!   the context ends at the clear date.

use std::path::{Path, PathBuf};

use vip::product::l2a;
use vip::sim::clouds::{CloudSpec, Situation};
use vip_testkit::{files, project_root, run, Run, SimScene};

const BIN: &str = env!("CARGO_BIN_EXE_vip-maccs");
const SITE: &str = "NOTVSITE";
const SIDE: u32 = 160;
const MAX_CLOUD: &str = "50";

/// The scene of the site on `date` under `clouds`, and its L1C.
fn scene(date: &str, clouds: Situation) -> (SimScene, PathBuf) {
    let mut spec = vip::sim::SceneSpec::new(SITE, date, "10:30:00", SIDE, SIDE, 5, 300.0).unwrap();
    spec.atmosphere = Some(vip::sim::atmosphere::AtmosphereSpec {
        model: vip::atmosphere::luts::DEFAULT_MODEL.into(),
        luts: project_root().join("testdata/luts"),
        aot_mean: 0.1,
        wv_mean: 1.5,
    });
    spec.clouds = CloudSpec::situation(clouds, 5);
    let s = SimScene::of(spec);
    let l1c = s.l1c();
    (s, l1c)
}

/// The scene's GIPP folder copied to `to`, with the example L2COMM at `MAX_CLOUD` %.
fn gipp_with_l2comm(s: &SimScene, to: &Path) -> PathBuf {
    std::fs::create_dir_all(to).unwrap();
    for f in files(&s.gipp()) {
        let dest = to.join(f.strip_prefix(s.gipp()).unwrap());
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&f, dest).unwrap();
    }
    let example = project_root()
        .join("testdata/venus/examples/VE_TEST_GIP_L2COMM_L_ALLSITES_00001_20170801_99991231.EEF");
    let text = std::fs::read_to_string(&example).unwrap();
    let old = "<Max_Cloud_Percentage>90</Max_Cloud_Percentage>";
    assert!(text.contains(old));
    let new = format!("<Max_Cloud_Percentage>{MAX_CLOUD}</Max_Cloud_Percentage>");
    std::fs::write(
        to.join(example.file_name().unwrap()),
        text.replace(old, &new),
    )
    .unwrap();
    to.to_path_buf()
}

fn l2(l1cs: &[&Path], gipp: &Path, dem: &Path, ctx: &Path, out: &Path, mode: &str) -> Run {
    let mut args: Vec<String> = vec!["l2".into()];
    args.extend(l1cs.iter().map(|p| p.display().to_string()));
    for (flag, value) in [
        ("--gipp", gipp),
        ("--dem", dem),
        ("--context", ctx),
        ("-o", out),
    ] {
        args.push(flag.into());
        args.push(value.display().to_string());
    }
    if !mode.is_empty() {
        args.extend(["--mode".into(), mode.into()]);
    }
    args.extend(["--threads", "2", "--no-progress"].map(String::from));
    run(BIN, &args)
}

/// The files under `out` whose name holds `part`.
fn named(out: &Path, part: &str) -> Vec<PathBuf> {
    files(out)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(part))
        .collect()
}

/// Every file of the context folder with its bytes.
fn snapshot(ctx: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    files(ctx)
        .into_iter()
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect()
}

/// Checks the L2NOTV header `hdr` of a date measured `cloud` % cloudy.
fn check_notv_header(hdr: &Path, cloud: f64) {
    // the VENµS schemas, as every test validates a header, and xmllint on the schema file
    vip::ee::schema::validate_all(&[hdr]).unwrap();
    let schema =
        project_root().join("lib/schemas/venus/icd/Venus/VE_VSC_PDT_L2_L2PublishedProduct.xsd");
    let lint = std::process::Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(&schema)
        .arg(hdr)
        .output()
        .expect("xmllint (Debian: libxml2-utils)");
    assert!(
        lint.status.success(),
        "{}",
        String::from_utf8_lossy(&lint.stderr)
    );
    let doc = vip::ee::EeDoc::read(hdr).unwrap();
    assert_eq!(doc.xsi_type, "VSC_PDT_L2_Header_Type");
    assert_eq!(doc.fixed.file_type, "VSC_L2NOTV");
    let info = doc.specific.get("Product_Information").unwrap();
    let declared: f64 = info.find_text("Cloud_Percentage").unwrap().parse().unwrap();
    assert!(
        (declared - cloud).abs() <= 0.05 + 1e-9,
        "{declared} vs {cloud}"
    );
    assert!(declared > 50.0, "{declared}");
    assert!(
        doc.fixed
            .notes
            .starts_with("product not valid: cloud percentage")
            && doc
                .fixed
                .notes
                .ends_with(&format!("above Max_Cloud_Percentage {MAX_CLOUD} %")),
        "{}",
        doc.fixed.notes
    );
    let org = doc.specific.get("Product_Organization").unwrap();
    assert_eq!(org.all("Image_File").count(), 0);
    let used = info
        .find_text("List_of_Used_Product_Ids/Used_Product_Id")
        .unwrap();
    assert!(used.contains("_VSC_L1VALD_NOTVSITE_"), "{used}");
}

/// The cloud percentage in the one ERROR line of `r`, which names the L1C `l1c` and the
/// L2NOTV header `hdr`.
fn verdict(r: &Run, l1c: &Path, hdr: &Path) -> f64 {
    r.code(1)
        .one_error_line(&l1c.display().to_string())
        .one_error_line(&hdr.display().to_string())
        .one_error_line(&format!("above Max_Cloud_Percentage {MAX_CLOUD}"));
    let line = r.stderr.lines().find(|l| l.contains(" ERROR ")).unwrap();
    let (before, _) = line.split_once(" % cloudy").unwrap();
    before.rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn a_too_cloudy_date_gets_an_l2notv_header_alone_and_leaves_the_context() {
    let (clear, clear_l1c) = scene("2024-06-15", Situation::None);
    let (_cloudy, cloudy_l1c) = scene("2024-06-16", Situation::Overcast);
    let gipp = gipp_with_l2comm(&clear, &clear.scratch("GIPP"));
    let dem = clear.dem();

    // one date: the clear one starts the context, the cloudy one is not issued
    let (ctx, out) = (clear.scratch("CTX"), clear.scratch("L2"));
    l2(&[&clear_l1c], &gipp, &dem, &ctx, &out, "init").code(0);
    let before = snapshot(&ctx);
    assert!(!before.is_empty());
    let r = l2(&[&cloudy_l1c], &gipp, &dem, &ctx, &out, "nominal");
    let notv = out.join("VE_TEST_VSC_L2NOTV_NOTVSITE_20240616.HDR");
    let cloud = verdict(&r, &cloudy_l1c, &notv);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert_eq!(
        r.stderr.lines().filter(|l| l.contains(" ERROR ")).count(),
        1
    );
    check_notv_header(&notv, cloud);
    // the header alone: nothing else of that date, no temporary file left
    let of_date = named(&out, "20240616");
    assert_eq!(of_date, std::slice::from_ref(&notv), "{of_date:?}");
    assert!(!out
        .join("VE_TEST_VSC_L2NOTV_NOTVSITE_20240616.DBL.DIR")
        .exists());
    assert_eq!(
        files(&out)
            .iter()
            .filter(|p| p.to_string_lossy().contains(".tmp-"))
            .count(),
        0
    );
    assert_eq!(snapshot(&ctx), before, "the context changed");
    // once there, the header is not replaced without --overwrite (exit 5)
    l2(&[&cloudy_l1c], &gipp, &dem, &ctx, &out, "nominal")
        .code(5)
        .one_error_line("--overwrite");
    assert_eq!(snapshot(&ctx), before, "the context changed");

    // the readers refuse it as bad input saying why, in one line
    for e in [
        l2a::L2a::open(&notv).unwrap_err(),
        vip::pack::plan_for(&notv).map(|_| ()).unwrap_err(),
        vip::qc::Input::open(&notv).map(|_| ()).unwrap_err(),
    ] {
        assert_eq!(e.exit_code(), 3, "{e}");
        let msg = e.to_string();
        assert!(
            msg.contains(notv.to_str().unwrap())
                && msg.contains("not valid (too cloudy): no rasters")
                && !msg.contains('\n'),
            "{msg}"
        );
    }

    // both dates in one run: backward mode meets the cloudy date first while building the
    // history (nothing written), then issues the clear date and writes the cloudy date's
    // L2NOTV header
    let (ctx2, out2) = (clear.scratch("CTX2"), clear.scratch("L2both"));
    let r = l2(&[&clear_l1c, &cloudy_l1c], &gipp, &dem, &ctx2, &out2, "");
    let notv2 = out2.join(notv.file_name().unwrap());
    verdict(&r, &cloudy_l1c, &notv2);
    let pass: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("backward pass: "))
        .collect();
    assert_eq!(pass.len(), 1, "{}", r.stderr);
    assert!(
        pass[0].contains("no L2A issued") && !pass[0].contains("L2NOTV"),
        "{}",
        pass[0]
    );
    assert_eq!(named(&out2, "_L2NOTV_"), std::slice::from_ref(&notv2));
    assert!(out2
        .join("VE_TEST_VSC_L2VALD_NOTVSITE_20240615.HDR")
        .is_file());
    assert!(named(&out2, "_L2VALD_NOTVSITE_20240616").is_empty());
    check_notv_header(&notv2, cloud);
    let context = vip::context::Context::open(&ctx2).unwrap().unwrap();
    assert_eq!(context.last_date().to_string(), "2024-06-15");
}
