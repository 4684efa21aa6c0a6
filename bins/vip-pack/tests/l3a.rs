//! vip-pack on a simulated L3A (two simulated dates through vip-l1, vip-maccs l2 and l3, by
//! the library): the names CNES WASP gives Theia's VENµS L3A (FRC per band, WGT, DTS and FLG
//! in MASKS/, QKL_ALL, MTD_ALL), the metadata against the MUSCATE schema, every packaged pixel
//! against the native bands read with GDAL through the documented conversions (DTS: day of
//! the year from 0; WGT and DTS no data −10000), the FLG values and the quality indexes
//! measured on them, the STAC item, and a broken L3A refused with nothing written.

use std::path::{Path, PathBuf};

use vip::ee::muscate::MtdAll;
use vip::product::l3a::{self, flags, L3a};
use vip::raster::SampleType;
use vip_testkit::{files, read_band, run, SimScene};

mod common;
use common::{pack, rewrite, BIN};

const DATE: &str = "2024-03-17";
const ID: &str = "VENUS-XS_20240317-000000-000_L3A_SIMULSIT_C_V1-0";
/// Day of the year of DATE from 0 on 1 January: 31 (January) + 29 (February 2024) + 16.
const DOY0: f64 = 76.0;

/// Two small simulated L2As (15 and 19 March) and their L3A of 17 March; returns the scenes
/// (which own the folders) and the L3A header.
fn l3a() -> (Vec<SimScene>, PathBuf) {
    let mut scenes = Vec::new();
    let mut l2as = Vec::new();
    for (date, seed) in [("2024-03-15", 7), ("2024-03-19", 8)] {
        let (s, l1c) = common::l1c_of(date, 48, 64, seed);
        l2as.push(common::l2a_of(&s, &l1c));
        scenes.push(s);
    }
    let out = scenes[0].scratch("L3A");
    let hdr = vip::composite::run(
        &l2as,
        &vip::composite::L3Options {
            date: DATE.parse().unwrap(),
            half_window_days: vip::composite::DEFAULT_HALF_WINDOW_DAYS,
            gipp: scenes[0].gipp(),
        },
        &vip::cli::Options {
            output: out,
            threads: 2,
            ..Default::default()
        },
    )
    .unwrap()
    .remove(0);
    (scenes, hdr)
}

fn rel_files(pkg: &Path) -> Vec<String> {
    let mut v: Vec<String> = files(pkg)
        .iter()
        .map(|p| p.strip_prefix(pkg).unwrap().display().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn l3a_package_names_metadata_pixels_and_flags() {
    let (scenes, hdr) = l3a();
    let native = L3a::open(&hdr).unwrap();
    let dir = hdr.parent().unwrap();
    let (qlt, msk) = (
        native.annex_path(dir, l3a::ANNEX_QLT),
        native.annex_path(dir, l3a::ANNEX_MSK),
    );
    // The synthesis saw the land clear somewhere.
    let (flg0, _, _) = read_band(&msk, 1);
    assert!(flg0.iter().any(|&f| f == f64::from(flags::LAND)));
    // Every status value, and no data where FLG says so, so that each conversion shows.
    rewrite(&msk, 1, |i| {
        if i % 5 == 0 {
            (i / 5 % 7) as f64
        } else {
            flg0[i]
        }
    });
    let (flg, _, _) = read_band(&msk, 1);
    let (pxd0, _, _) = read_band(&qlt, l3a::QLT_PXD_BAND);
    rewrite(&qlt, l3a::QLT_PXD_BAND, |i| {
        if flg[i] == f64::from(flags::NO_DATA) {
            f64::from(l3a::PXD_NODATA)
        } else {
            pxd0[i]
        }
    });

    let dist = scenes[0].scratch("DIST");
    let pkg = pack(&hdr, &dist, &[]);
    assert_eq!(pkg, dist.join(ID));
    // WASP's names (ProductCreatorVenusMuscate::copyRaster, GlobalDefs.h).
    let mut want: Vec<String> = (1..=12)
        .map(|b| format!("{ID}_FRC_B{b}.tif"))
        .chain(
            ["DTS", "FLG", "WGT"]
                .iter()
                .map(|m| format!("MASKS/{ID}_{m}_XS.tif")),
        )
        .chain([
            format!("{ID}_MTD_ALL.xml"),
            format!("{ID}_QKL_ALL.jpg"),
            "MANIFEST.sha256".to_string(),
        ])
        .collect();
    want.sort();
    assert_eq!(rel_files(&pkg), want);

    // The metadata validates and says what WASP's says.
    let mtd_path = pkg.join(format!("{ID}_MTD_ALL.xml"));
    vip::ee::schema::validate_all(&[&mtd_path]).unwrap();
    let m = MtdAll::read(&mtd_path).unwrap();
    assert_eq!((m.level.as_str(), m.quality_level.as_str()), ("L3A", "N3"));
    assert_eq!(m.product_id, ID);
    assert_eq!(m.identifier, "VENUS-XS_20240317-000000-000_L3A_SIMULSIT_C");
    assert_eq!(m.acquisition.to_string(), "2024-03-17 00:00:00");
    assert_eq!((m.orbit_number, m.date_precision_s), (-1, 1.0));
    assert_eq!(m.reflectance_quantification, 1000.0);
    assert!(m
        .special_values
        .contains(&("nodata".to_string(), "-10000".to_string())));
    assert!(m.sun_grids.is_none() && m.view_grids.is_empty());
    let text = std::fs::read_to_string(&mtd_path).unwrap();
    assert!(!text.contains("Angles_Grids_List"));
    let natures: Vec<(&str, &str, &str)> = m
        .images
        .iter()
        .chain(&m.masks)
        .map(|g| {
            (
                g.nature.as_str(),
                g.encoding.as_deref().unwrap(),
                g.files[0].path.as_str(),
            )
        })
        .collect();
    let (dts, wgt, flg_rel) = (
        format!("MASKS/{ID}_DTS_XS.tif"),
        format!("MASKS/{ID}_WGT_XS.tif"),
        format!("MASKS/{ID}_FLG_XS.tif"),
    );
    assert_eq!(
        natures,
        [
            (
                "Flat_Reflectance",
                "int16",
                format!("{ID}_FRC_B1.tif").as_str()
            ),
            ("Weighted_Average_Dates", "int16", dts.as_str()),
            ("Pixel_Weight", "int16", wgt.as_str()),
            ("Pixel_Status_Flag", "byte", flg_rel.as_str()),
        ]
    );
    assert_eq!(m.images[0].files.len(), 12);
    assert_eq!(m.masks[0].files[0].attr("group_id"), Some("XS"));
    for f in m.referenced_files() {
        assert!(pkg.join(&f).is_file(), "{f}");
    }

    // Pixels: FRC is the native FRE, band for band, with its nodata and scale.
    let fre = native.image_path(dir);
    for b in 1..=12 {
        assert_eq!(
            read_band(&pkg.join(format!("{ID}_FRC_B{b}.tif")), 1),
            read_band(&fre, b),
            "B{b}"
        );
    }
    let ds = vip::raster::open(&pkg.join(format!("{ID}_FRC_B7.tif"))).unwrap();
    assert_eq!(ds.rasterband(1).unwrap().no_data_value(), Some(-10000.0));
    assert_eq!(ds.rasterband(1).unwrap().scale(), Some(0.001));
    // DTS: the day of the year of the weighted date, 0 on 1 January; WGT: the native weight
    // sum; both −10000 where the pixel was never observed; FLG: the native values.
    let (pxd, _, _) = read_band(&qlt, l3a::QLT_PXD_BAND);
    let (wgt_n, _, _) = read_band(&qlt, l3a::QLT_WGT_BAND);
    let (p_dts, _, _) = read_band(&pkg.join(&dts), 1);
    let (p_wgt, _, _) = read_band(&pkg.join(&wgt), 1);
    let (p_flg, _, _) = read_band(&pkg.join(&flg_rel), 1);
    assert_eq!(p_flg, flg);
    let mut seen = [0usize; 7];
    for i in 0..flg.len() {
        let never = flg[i] == f64::from(flags::NO_DATA);
        seen[flg[i] as usize] += 1;
        let want_dts = if never { -10000.0 } else { pxd[i] + DOY0 };
        assert_eq!(p_dts[i], want_dts, "DTS at {i}");
        let want_wgt = if never { -10000.0 } else { wgt_n[i] };
        assert_eq!(p_wgt[i], want_wgt, "WGT at {i}");
    }
    assert!(seen.iter().all(|&n| n > 0), "{seen:?}");
    assert!(p_dts.iter().any(|&d| (70.0..=80.0).contains(&d)));
    for (path, t, nodata) in [
        (&dts, SampleType::I16, Some(-10000.0)),
        (&wgt, SampleType::I16, Some(-10000.0)),
        (&flg_rel, SampleType::U8, None),
    ] {
        let ds = vip::raster::open(&pkg.join(path)).unwrap();
        let band = ds.rasterband(1).unwrap();
        assert_eq!(band.no_data_value(), nodata, "{path}");
        assert_eq!(SampleType::from_gdal(band.band_type()), Some(t), "{path}");
    }
    // CloudPercent and SnowPercent as WASP measures them: FLG 1 and 2 among all pixels, rounded.
    let index = |k: &str| {
        m.quality_indexes
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let pct = |v: u8| {
        let n = flg.iter().filter(|&&f| f == f64::from(v)).count();
        format!("{}", (100.0 * n as f64 / flg.len() as f64).round())
    };
    assert_eq!(index("CloudPercent"), pct(flags::CLOUD));
    assert_eq!(index("SnowPercent"), pct(flags::SNOW));
    assert_eq!(
        m.quality_indexes
            .iter()
            .filter(|(n, _)| n == "CloudPercent")
            .count(),
        1
    );
    run(BIN, &["verify", pkg.to_str().unwrap()]).code(0);
}

#[test]
fn l3a_zip_cog_and_stac() {
    let (scenes, hdr) = l3a();
    let z = pack(&hdr, &scenes[0].scratch("Z"), &["--zip", "--cog", "--stac"]);
    assert_eq!(
        z.file_name().unwrap().to_str().unwrap(),
        format!("{ID}.zip")
    );
    run(BIN, &["verify", z.to_str().unwrap()]).code(0);
    let inner = format!("/vsizip/{}/{ID}/MASKS/{ID}_DTS_XS.tif", z.display());
    let out = std::process::Command::new("gdalinfo")
        .arg(&inner)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("LAYOUT=COG"));
    let x = scenes[0].scratch("X");
    let st = std::process::Command::new("unzip")
        .args(["-q", z.to_str().unwrap(), "-d"])
        .arg(&x)
        .status()
        .unwrap();
    assert!(st.success());
    vip::ee::schema::validate_all(&[&x.join(ID).join(format!("{ID}_MTD_ALL.xml"))]).unwrap();
    let doc: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(x.join(ID).join(format!("{ID}_STAC.json"))).unwrap(),
    )
    .unwrap();
    let assets = doc["assets"].as_object().unwrap();
    let mut keys: Vec<&str> = assets.keys().map(String::as_str).collect();
    keys.sort();
    let mut want: Vec<String> = (1..=12).map(|b| format!("FRC_B{b}")).collect();
    want.extend(["DTS", "FLG", "WGT", "metadata", "thumbnail"].map(String::from));
    want.sort();
    assert_eq!(keys, want);
    assert_eq!(doc["properties"]["datetime"], "2024-03-17T00:00:00.000Z");
    assert_eq!(assets["FRC_B4"]["raster:bands"][0]["nodata"], -10000.0);
    assert_eq!(assets["DTS"]["raster:bands"][0]["data_type"], "int16");
    assert_eq!(assets["WGT"]["raster:bands"][0]["scale"], 0.001);
    let classes: Vec<(u64, &str)> = assets["FLG"]["classification:bitfields"][0]["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["value"].as_u64().unwrap(), c["name"].as_str().unwrap()))
        .collect();
    assert_eq!(
        classes,
        [
            (0, "no_data"),
            (1, "cloud"),
            (2, "snow"),
            (3, "water"),
            (4, "land"),
            (5, "cloud_shadow"),
            (6, "saturated")
        ]
    );
    let (valid, report) = vip_testkit::stac_validate(&doc, &common::UNCHECKED);
    assert!(valid, "{report}");
    assert_eq!(common::check_bitfields(&doc), ["FLG"]);
}

#[test]
fn an_l3a_without_its_image_is_bad_input_and_nothing_is_written() {
    let (scenes, hdr) = l3a();
    let native = L3a::open(&hdr).unwrap();
    let image = native.image_path(hdr.parent().unwrap());
    std::fs::remove_file(&image).unwrap();
    let dist = scenes[0].scratch("DIST");
    run(BIN, &[hdr.to_str().unwrap(), "-o", dist.to_str().unwrap()])
        .code(3)
        .one_error_line(image.file_name().unwrap().to_str().unwrap());
    assert!(!dist.exists() || files(&dist).is_empty());
}
