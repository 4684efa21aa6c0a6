//! The MUSCATE L2A package of a native L2A, as Theia distributes VENµS L2A made by MAJA
//! (VENUS_MUSCATE template and writer, docs/formats.md cites them): SRE and FRE per band, the
//! ATB file (water vapour and AOT), the masks MUSCATE defines with the native bits mapped to
//! MUSCATE's, the quicklook and `MTD_ALL.xml`.

use std::path::Path;

use super::site::{self, Level, GROUP};
use super::stac::BitField;
use super::{Job, MaskRule, Plan, Share, ShareFormat};
use crate::ee::muscate::FileRef;
use crate::error::Result;
use crate::product::l2a::{self, bits, L2a};
use crate::raster::{BandCopy, SampleType};

/// MUSCATE `CLM` bits (VENUS_MUSCATE order: ALL, ALL_CLOUDS, REFL, REFL_VAR, EXTENSION,
/// SHADOWS, SHADVAR, ALT) from the native CLD bits (ALL, ALL_CLOUDS, SHADOWS, SHADVAR, REFL,
/// REFL_VAR, EXTENSION, ALT): (native CLD bit, MUSCATE bit value).
pub const CLM_FROM_CLD: [(u8, u8); 8] = [
    (bits::CLD_ALL, 1),
    (bits::CLD_ALL_CLOUDS, 2),
    (bits::CLD_REFL, 4),
    (bits::CLD_REFL_VAR, 8),
    (bits::CLD_EXTENSION, 16),
    (bits::CLD_SHADOWS, 32),
    (bits::CLD_SHADVAR, 64),
    (bits::CLD_ALT, 128),
];

/// MUSCATE `MG2` bits: 1 water, 2 cloud, 3 snow, 4 cloud shadow, 5 topographic shadow,
/// 6 hidden surface, 7 sun too low, 8 tangent sun (the bit numbers the MUSCATE metadata
/// gives each mask nature). (native MSK bits, native CLD bits, MUSCATE bit value).
pub const MG2_FROM_NATIVE: [(u8, u8, u8); 8] = [
    (bits::MSK_WAT, 0, 1),
    (0, bits::CLD_ALL_CLOUDS, 2),
    (bits::MSK_SNW, 0, 4),
    (0, bits::CLD_SHADOWS | bits::CLD_SHADVAR, 8),
    (bits::MSK_SHD, 0, 16),
    (bits::MSK_HID, 0, 32),
    (bits::MSK_STL, 0, 64),
    (bits::MSK_TGS, 0, 128),
];

/// The STAC bit fields of `CLM` (MUSCATE order; [`CLM_FROM_CLD`]).
pub fn clm_bitfields() -> Vec<BitField> {
    [
        ("all", "cloud, cloud extension or cloud shadow (summary)"),
        (
            "all_clouds",
            "cloud or cloud extension (summary of the cloud bits)",
        ),
        ("refl", "cloud by the mono-temporal reflectance threshold"),
        (
            "refl_var",
            "cloud by the multi-temporal reflectance variation",
        ),
        ("extension", "extension (dilation) of the cloud mask"),
        ("shadows", "shadow of a cloud detected in the image"),
        (
            "shadvar",
            "shadow of a cloud outside the image (not detected by VIP: always 0)",
        ),
        ("alt", "cloud by its stereoscopic altitude (B05/B06)"),
    ]
    .iter()
    .enumerate()
    .map(|(k, (name, what))| BitField::flag(k as u32, name, what))
    .collect()
}

/// The STAC bit fields of `MG2` (MUSCATE order; [`MG2_FROM_NATIVE`]).
pub fn mg2_bitfields() -> Vec<BitField> {
    [
        ("water", "water"),
        ("cloud", "cloud (CLM bit 2)"),
        ("snow", "snow"),
        ("cloud_shadow", "cloud shadow (CLM bits 6 and 7)"),
        ("topography_shadow", "topographic shadow cast by the relief"),
        (
            "hidden_surface",
            "surface hidden from the satellite by the relief",
        ),
        (
            "sun_too_low",
            "sun too low for an accurate slope correction",
        ),
        (
            "tangent_sun",
            "sun tangent to the slope: no slope correction",
        ),
    ]
    .iter()
    .enumerate()
    .map(|(k, (name, what))| BitField::flag(k as u32, name, what))
    .collect()
}

/// MUSCATE `IAB` bits from the native QLT OTH bits: 1 water vapour interpolated, 2 AOT
/// interpolated.
pub const IAB_FROM_OTH: [(u16, u8); 2] = [(bits::OTH_IWC, 1), (bits::OTH_IAO, 2)];

/// The package plan of the L2A whose global header is `hdr`.
pub fn plan(p: &L2a, hdr: &Path) -> Result<Plan> {
    let name = site::checked_site_name(&p.site, hdr)?;
    let id = site::product_id(p.site.acquisition, "L2A", &name);
    let dir = hdr.parent().unwrap_or(Path::new("."));
    let sre = p.image_path(dir, l2a::IMAGE_SRE);
    let fre = p.image_path(dir, l2a::IMAGE_FRE);
    let (atb, cld, msk, qlt) = (
        p.annex_path(dir, l2a::ANNEX_ATB),
        p.annex_path(dir, l2a::ANNEX_CLD),
        p.annex_path(dir, l2a::ANNEX_MSK),
        p.annex_path(dir, l2a::ANNEX_QLT),
    );

    let (mut jobs, mut assets, sre_files) = site::reflectance_files(
        &id,
        l2a::IMAGE_SRE,
        "SRE_",
        "surface reflectance",
        &sre,
        &p.site,
    );
    let (fre_jobs, fre_assets, fre_files) = site::reflectance_files(
        &id,
        l2a::IMAGE_FRE,
        "FRE_",
        "flat (slope-corrected) surface reflectance",
        &fre,
        &p.site,
    );
    jobs.extend(fre_jobs);
    assets.extend(fre_assets);

    let atb_rel = format!("{id}_ATB_{GROUP}.tif");
    jobs.push(Job::Copy {
        src: atb.clone(),
        rel: atb_rel.clone(),
    });
    assets.push(site::mask_asset(
        "ATB",
        &atb_rel,
        SampleType::U8,
        "data",
        "Water vapour (band 1) and aerosol optical thickness (band 2)",
    ));

    let mask = |code: &str| format!("MASKS/{id}_{code}_{GROUP}.tif");
    let (clm, mg2, sat, pix, edg, iab) = (
        mask("CLM"),
        mask("MG2"),
        mask("SAT"),
        mask("PIX"),
        mask("EDG"),
        mask("IAB"),
    );
    let oth = (qlt.clone(), l2a::QLT_OTH_BAND);
    // CloudPercent and SnowPercent as MAJA computes them (validity_l2_cloud_percentage.py,
    // snow_percentage_computation.py): pixels of the cloud (ALL_CLOUDS) or snow mask, percent;
    // here both among the pixels with data (input 2 of the MG2 job, OTH, bit EDG).
    let percent = |index, bits| Share {
        index,
        bits,
        skip: Some((2, bits::OTH_EDG as i16)),
        format: ShareFormat::Integer,
    };
    jobs.push(Job::Mask {
        inputs: vec![(cld.clone(), 1)],
        rule: MaskRule::Bits(
            CLM_FROM_CLD
                .iter()
                .map(|&(n, m)| (0, i16::from(n), m))
                .collect(),
        ),
        shares: Vec::new(),
        rel: clm.clone(),
    });
    jobs.push(Job::Mask {
        inputs: vec![(msk.clone(), 1), (cld.clone(), 1), oth.clone()],
        rule: MaskRule::Bits(
            MG2_FROM_NATIVE
                .iter()
                .map(|&(m, c, out)| {
                    if m != 0 {
                        (0, i16::from(m), out)
                    } else {
                        (1, i16::from(c), out)
                    }
                })
                .collect(),
        ),
        shares: vec![percent("CloudPercent", 2), percent("SnowPercent", 4)],
        rel: mg2.clone(),
    });
    jobs.push(Job::Mask {
        inputs: vec![oth.clone()],
        rule: MaskRule::Bits(vec![(0, bits::OTH_EDG as i16, 1)]),
        shares: vec![Share {
            index: "NodataPercent",
            bits: 1,
            skip: None,
            format: ShareFormat::Decimals(2),
        }],
        rel: edg.clone(),
    });
    jobs.push(Job::Mask {
        inputs: vec![oth],
        rule: MaskRule::Bits(
            IAB_FROM_OTH
                .iter()
                .map(|&(n, m)| (0, n as i16, m))
                .collect(),
        ),
        shares: Vec::new(),
        rel: iab.clone(),
    });
    for (band, rel, code) in [
        (l2a::QLT_SAT_BAND, &sat, "SAT"),
        (l2a::QLT_PIX_BAND, &pix, "PIX"),
    ] {
        jobs.push(Job::Band {
            src: qlt.clone(),
            copy: BandCopy {
                band,
                data_type: SampleType::U16,
                nodata: None,
                scale: None,
                description: code.into(),
            },
            rel: rel.clone(),
        });
    }
    for (key, rel, role, title, fields) in [
        (
            "CLM",
            &clm,
            "cloud",
            "Detailed cloud mask (8 bits)",
            clm_bitfields(),
        ),
        (
            "MG2",
            &mg2,
            "cloud",
            "Geophysical mask: water, cloud, snow, cloud shadow, topographic shadow, \
             hidden surface, sun too low, tangent sun",
            mg2_bitfields(),
        ),
        (
            "EDG",
            &edg,
            "data-mask",
            "No data (edge)",
            vec![BitField::flag(0, "edge", "no data")],
        ),
        (
            "IAB",
            &iab,
            "quality",
            "Interpolated water vapour (bit 1) and AOT (bit 2)",
            vec![
                BitField::flag(0, "wvc_interpolated", "water vapour interpolated"),
                BitField::flag(
                    1,
                    "aot_interpolated",
                    "aerosol optical thickness interpolated",
                ),
            ],
        ),
    ] {
        assets.push(site::mask_asset(key, rel, SampleType::U8, role, title).with_bitfields(fields));
    }
    assets.extend(site::band_bit_mask_assets(&sat, &pix));
    let (quicklook, more) = site::quicklook_and_metadata(&id, &sre, &p.site);
    jobs.push(quicklook);
    assets.extend(more);

    let inputs = p
        .used_products
        .iter()
        .map(|u| (u.clone(), p.site.acquisition, p.site.creation))
        .collect();
    let mut mtd = site::metadata(
        &p.site,
        &name,
        &id,
        Level {
            level: "L2A",
            quality_level: "N2",
            step: "L2",
            native_id: p.global_id(),
            inputs,
            sol: &p.annex_path(dir, l2a::ANNEX_SOL),
            vie: &p.annex_path(dir, l2a::ANNEX_VIE),
        },
    )?;
    let atb_band = |n: usize| {
        vec![FileRef::new(&atb_rel)
            .with("group_id", GROUP)
            .with("band_number", n)]
    };
    mtd.images = vec![
        site::raster_group("Surface_Reflectance", "int16", false, sre_files),
        site::raster_group("Flat_Reflectance", "int16", false, fre_files),
        site::raster_group(
            "Water_Vapor_Content",
            "byte",
            false,
            atb_band(l2a::ATB_VAP_BAND),
        ),
        site::raster_group(
            "Aerosol_Optical_Thickness",
            "byte",
            false,
            atb_band(l2a::ATB_AOT_BAND),
        ),
    ];
    let byte_bit = |nature: &str, rel: &str, bit| {
        site::raster_group(nature, "byte", true, site::group_bit(rel, bit))
    };
    mtd.masks = vec![
        byte_bit("WVC_Interpolation", &iab, 1),
        byte_bit("AOT_Interpolation", &iab, 2),
        site::raster_group(
            "Detailed_Cloud",
            "byte",
            true,
            vec![FileRef::new(&clm).with("group_id", GROUP)],
        ),
        site::raster_group(
            "Edge",
            "byte",
            true,
            vec![FileRef::new(&edg).with("group_id", GROUP)],
        ),
        site::raster_group("Saturation", "uint16", true, site::per_band(&sat)),
        site::raster_group("Aberrant_Pixels", "uint16", true, site::per_band(&pix)),
        byte_bit("Water", &mg2, 1),
        byte_bit("Cloud", &mg2, 2),
        byte_bit("Snow", &mg2, 3),
        byte_bit("Cloud_Shadow", &mg2, 4),
        byte_bit("Topography_Shadow", &mg2, 5),
        byte_bit("Hidden_Surface", &mg2, 6),
        byte_bit("Sun_Too_Low", &mg2, 7),
        byte_bit("Tangent_Sun", &mg2, 8),
    ];
    // The L2A's CloudPercent and SnowPercent are measured on MG2 as the package is made
    // (not the native header's figure: that one leaves out the cloud extension).
    mtd.quality_indexes.retain(|(k, _)| k != "CloudPercent");
    mtd.water_vapor_quantification = Some((1.0 / p.vap_quantification).round());
    mtd.aot_quantification = Some((1.0 / p.aot_quantification).round());
    mtd.special_values.extend([
        (
            "water_vapor_content_nodata".into(),
            p.vap_nodata.to_string(),
        ),
        (
            "aerosol_optical_thickness_nodata".into(),
            p.aot_nodata.to_string(),
        ),
    ]);
    Ok(Plan {
        id,
        jobs,
        mtd,
        assets,
    })
}
