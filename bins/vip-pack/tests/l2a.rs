//! vip-pack on a simulated L2A (vip-sim → vip-l1 → vip-maccs l2, through the library): the
//! MUSCATE L2A layout and names of Theia's VENµS L2A, the metadata against the MUSCATE schema
//! and the native header, pixels and mask bits against the native product read with GDAL.

use std::path::PathBuf;

use vip::ee::muscate::MtdAll;
use vip::product::l2a::{self, L2a};
use vip_testkit::{files, read_band, run, SimScene};

mod common;
use common::{pack, rewrite, BIN};

/// A small simulated L2A (LUTs of testdata/luts); returns the scene and the L2A header.
fn l2a() -> (SimScene, PathBuf) {
    let (s, l1c) = common::l1c_of("2024-03-15", 96, 128, 7);
    let hdr = common::l2a_of(&s, &l1c);
    (s, hdr)
}

fn bit(v: f64, n: u32) -> u32 {
    (v as u32 >> n) & 1
}

#[test]
fn l2a_package_layout_metadata_pixels_and_mask_bits() {
    let (s, hdr) = l2a();
    let native = L2a::open(&hdr).unwrap();
    let dir = hdr.parent().unwrap();
    // Every bit combination of the native masks, so that a bit moved to a wrong place shows.
    rewrite(&native.annex_path(dir, l2a::ANNEX_CLD), 1, |i| {
        (i % 256) as f64
    });
    rewrite(&native.annex_path(dir, l2a::ANNEX_MSK), 1, |i| {
        ((i / 3) % 64) as f64
    });
    let qlt = native.annex_path(dir, l2a::ANNEX_QLT);
    rewrite(&qlt, l2a::QLT_OTH_BAND, |i| ((i / 7) % 16) as f64);
    rewrite(&qlt, l2a::QLT_SAT_BAND, |i| (i % 4096) as f64);

    let dist = s.scratch("DIST");
    let pkg = pack(&hdr, &dist, &[]);
    let id = "VENUS-XS_20240315-103000-000_L2A_SIMULSIT_C_V1-0";
    assert_eq!(pkg, dist.join(id));
    // The names of Theia's VENµS L2A (MUSCATE template): SRE and FRE per band, ATB, masks.
    let mut want: Vec<String> = (1..=12)
        .flat_map(|b| [format!("{id}_SRE_B{b}.tif"), format!("{id}_FRE_B{b}.tif")])
        .chain(
            ["CLM", "EDG", "IAB", "MG2", "PIX", "SAT"]
                .iter()
                .map(|m| format!("MASKS/{id}_{m}_XS.tif")),
        )
        .chain([
            format!("{id}_ATB_XS.tif"),
            format!("{id}_MTD_ALL.xml"),
            format!("{id}_QKL_ALL.jpg"),
            "MANIFEST.sha256".to_string(),
        ])
        .collect();
    want.sort();
    let mut got: Vec<String> = files(&pkg)
        .iter()
        .map(|p| p.strip_prefix(&pkg).unwrap().display().to_string())
        .collect();
    got.sort();
    assert_eq!(got, want);

    // The metadata validates against the MUSCATE schema and says what the files hold.
    let mtd_path = pkg.join(format!("{id}_MTD_ALL.xml"));
    vip::ee::schema::validate_all(&[&mtd_path]).unwrap();
    let m = MtdAll::read(&mtd_path).unwrap();
    assert_eq!(m.level, "L2A");
    assert_eq!(m.quality_level, "N2");
    assert_eq!(m.reflectance_quantification, 1000.0);
    assert_eq!(m.water_vapor_quantification, Some(20.0));
    assert_eq!(m.aot_quantification, Some(200.0));
    for sv in [
        ("nodata", "-10000"),
        ("water_vapor_content_nodata", "0"),
        ("aerosol_optical_thickness_nodata", "0"),
    ] {
        assert!(
            m.special_values.contains(&(sv.0.into(), sv.1.into())),
            "{sv:?}"
        );
    }
    let natures = |groups: &[vip::ee::muscate::FileGroup]| -> Vec<String> {
        groups.iter().map(|g| g.nature.clone()).collect()
    };
    assert_eq!(
        natures(&m.images),
        [
            "Surface_Reflectance",
            "Flat_Reflectance",
            "Water_Vapor_Content",
            "Aerosol_Optical_Thickness"
        ]
    );
    let bit_of = |nature: &str| -> (String, String) {
        let g = m.masks.iter().find(|g| g.nature == nature).unwrap();
        let f = &g.files[0];
        (
            f.path.rsplit('_').nth(1).unwrap().to_string(),
            f.attr("bit_number").unwrap_or("").to_string(),
        )
    };
    for (nature, file, bit) in [
        ("Water", "MG2", "1"),
        ("Cloud", "MG2", "2"),
        ("Snow", "MG2", "3"),
        ("Cloud_Shadow", "MG2", "4"),
        ("Topography_Shadow", "MG2", "5"),
        ("Hidden_Surface", "MG2", "6"),
        ("Sun_Too_Low", "MG2", "7"),
        ("Tangent_Sun", "MG2", "8"),
        ("WVC_Interpolation", "IAB", "1"),
        ("AOT_Interpolation", "IAB", "2"),
        ("Detailed_Cloud", "CLM", ""),
        ("Edge", "EDG", ""),
        ("Saturation", "SAT", "1"),
        ("Aberrant_Pixels", "PIX", "1"),
    ] {
        assert_eq!(bit_of(nature), (file.into(), bit.into()), "{nature}");
    }
    for f in m.referenced_files() {
        assert!(pkg.join(&f).is_file(), "{f}");
    }

    // Pixels: reflectances and ATB are the native ones.
    let sre = native.image_path(dir, l2a::IMAGE_SRE);
    let fre = native.image_path(dir, l2a::IMAGE_FRE);
    let atb = native.annex_path(dir, l2a::ANNEX_ATB);
    for b in [1, 7, 12] {
        assert_eq!(
            read_band(&pkg.join(format!("{id}_SRE_B{b}.tif")), 1),
            read_band(&sre, b)
        );
        assert_eq!(
            read_band(&pkg.join(format!("{id}_FRE_B{b}.tif")), 1),
            read_band(&fre, b)
        );
    }
    for b in [1, 2] {
        assert_eq!(
            read_band(&pkg.join(format!("{id}_ATB_XS.tif")), b),
            read_band(&atb, b)
        );
    }
    let ds = vip::raster::open(&pkg.join(format!("{id}_FRE_B4.tif"))).unwrap();
    assert_eq!(ds.rasterband(1).unwrap().no_data_value(), Some(-10000.0));
    assert_eq!(ds.rasterband(1).unwrap().scale(), Some(0.001));
    assert!(read_band(&sre, 7).0.iter().any(|&v| v != -10000.0));

    // Mask bits: MUSCATE's layout (VENUS_MUSCATE writer and template), from the native bits.
    let mask = |code: &str| read_band(&pkg.join(format!("MASKS/{id}_{code}_XS.tif")), 1).0;
    let (cld, _, _) = read_band(&native.annex_path(dir, l2a::ANNEX_CLD), 1);
    let (msk, _, _) = read_band(&native.annex_path(dir, l2a::ANNEX_MSK), 1);
    let (oth, _, _) = read_band(&qlt, l2a::QLT_OTH_BAND);
    let (clm, mg2, edg, iab) = (mask("CLM"), mask("MG2"), mask("EDG"), mask("IAB"));
    // native CLD bits (0-based): ALL, ALL_CLOUDS, SHADOWS, SHADVAR, REFL, REFL_VAR, EXTENSION,
    // ALT; MUSCATE CLM: ALL, ALL_CLOUDS, REFL, REFL_VAR, EXTENSION, SHADOWS, SHADVAR, ALT.
    let clm_from = [0, 1, 4, 5, 6, 2, 3, 7];
    for i in 0..cld.len() {
        for (k, &n) in clm_from.iter().enumerate() {
            assert_eq!(
                bit(clm[i], k as u32),
                bit(cld[i], n),
                "CLM bit {} at {i}",
                k + 1
            );
        }
        // MSK (0-based): WAT, HID, SHD, STL, TGS, SNW.
        let want_mg2 = [
            bit(msk[i], 0),
            bit(cld[i], 1),
            bit(msk[i], 5),
            bit(cld[i], 2) | bit(cld[i], 3),
            bit(msk[i], 2),
            bit(msk[i], 1),
            bit(msk[i], 3),
            bit(msk[i], 4),
        ];
        for (k, w) in want_mg2.iter().enumerate() {
            assert_eq!(bit(mg2[i], k as u32), *w, "MG2 bit {} at {i}", k + 1);
        }
        assert_eq!(edg[i] as u32, bit(oth[i], 0), "EDG at {i}");
        assert_eq!(bit(iab[i], 0), bit(oth[i], 2), "IAB bit 1 at {i}");
        assert_eq!(bit(iab[i], 1), bit(oth[i], 1), "IAB bit 2 at {i}");
    }
    assert_eq!(mask("SAT"), read_band(&qlt, l2a::QLT_SAT_BAND).0);
    assert_eq!(mask("PIX"), read_band(&qlt, l2a::QLT_PIX_BAND).0);
    // The no-data share measured on EDG is in the quality indexes.
    let edge = edg.iter().filter(|&&e| e != 0.0).count() as f64 / edg.len() as f64 * 100.0;
    let q = m
        .quality_indexes
        .iter()
        .find(|(k, _)| k == "NodataPercent")
        .unwrap();
    assert!(
        (q.1.parse::<f64>().unwrap() - edge).abs() < 0.01,
        "{q:?} vs {edge}"
    );
    run(BIN, &["verify", pkg.to_str().unwrap()]).code(0);
}

#[test]
fn l2a_zip_cog_and_stac() {
    let (s, hdr) = l2a();
    let z = pack(&hdr, &s.scratch("Z"), &["--zip", "--cog", "--stac"]);
    let id = "VENUS-XS_20240315-103000-000_L2A_SIMULSIT_C_V1-0";
    assert_eq!(
        z.file_name().unwrap().to_str().unwrap(),
        format!("{id}.zip")
    );
    run(BIN, &["verify", z.to_str().unwrap()]).code(0);
    let inner = format!("/vsizip/{}/{id}/MASKS/{id}_MG2_XS.tif", z.display());
    let out = std::process::Command::new("gdalinfo")
        .arg(&inner)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("LAYOUT=COG"));
    let x = s.scratch("X");
    let st = std::process::Command::new("unzip")
        .args(["-q", z.to_str().unwrap(), "-d"])
        .arg(&x)
        .status()
        .unwrap();
    assert!(st.success());
    let doc: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(x.join(id).join(format!("{id}_STAC.json"))).unwrap(),
    )
    .unwrap();
    let assets = doc["assets"].as_object().unwrap();
    for key in [
        "SRE_B1", "FRE_B12", "ATB", "CLM", "MG2", "SAT", "PIX", "EDG", "IAB",
    ] {
        assert!(assets.contains_key(key), "{key}");
    }
    // Offline: the file extension has no local schema (as in stac.rs).
    let (valid, report) = vip_testkit::stac_validate(&doc, &common::UNCHECKED);
    assert!(valid, "{report}");
    assert_eq!(
        common::check_bitfields(&doc),
        ["CLM", "EDG", "IAB", "MG2", "PIX", "SAT"]
    );
}

#[test]
fn a_product_of_another_level_is_bad_input_and_nothing_is_written() {
    // A native header of a level vip-pack does not package (a raw L1A's type): exit 3, one
    // line naming it.
    let (s, hdr) = l2a();
    let text = std::fs::read_to_string(&hdr).unwrap();
    let other = hdr.with_file_name("OTHER.HDR");
    std::fs::write(&other, text.replace(">VSC_L2VALD<", ">VSC_1AVALD<")).unwrap();
    let dist = s.scratch("DIST");
    run(
        BIN,
        &[other.to_str().unwrap(), "-o", dist.to_str().unwrap()],
    )
    .code(3)
    .one_error_line("OTHER.HDR");
    assert!(!dist.exists() || files(&dist).is_empty());
}
