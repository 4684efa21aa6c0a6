//! The MUSCATE L1C package of a native L1C: file names, how each file is made, and the
//! `MTD_ALL.xml` values taken from the native header and angle grids ([`super::site`]).

use std::path::Path;

use super::site::{self, Level, GROUP};
use super::stac::BitField;
use super::{Job, Plan};
use crate::ee::muscate::FileRef;
use crate::error::Result;
use crate::product::l1c::{self, L1c};
use crate::raster::{BandCopy, SampleType};

/// File code of the reflectance bands (`<ID>_<code>_B<n>.tif`): the code of the MUSCATE L2A
/// bands; the VENµS reference material names no MUSCATE L1C band files.
pub const REFLECTANCE_CODE: &str = "SRE";

/// The package plan of the L1C whose global header is `hdr`.
pub fn plan(p: &L1c, hdr: &Path) -> Result<Plan> {
    let name = site::checked_site_name(&p.site, hdr)?;
    let id = site::product_id(p.site.acquisition, "L1C", &name);
    let dir = hdr.parent().unwrap_or(Path::new("."));
    let image = p.image_path(dir);

    let (mut jobs, mut assets, band_files) = site::reflectance_files(
        &id,
        REFLECTANCE_CODE,
        "",
        "TOA reflectance",
        &image,
        &p.site,
    );
    let mask = |code: &str| format!("MASKS/{id}_{code}_{GROUP}.tif");
    let bit_copy = |band, t, d: &str| BandCopy {
        band,
        data_type: t,
        nodata: None,
        scale: None,
        description: d.to_string(),
    };
    let (sat, pix, edg, clm) = (mask("SAT"), mask("PIX"), mask("EDG"), mask("CLM"));
    for (band, t, name, rel) in [
        (l1c::SAT_BAND, SampleType::U16, "SAT", &sat),
        (l1c::PIX_BAND, SampleType::U16, "PIX", &pix),
        (l1c::CLD_BAND, SampleType::U8, "CLM", &clm),
    ] {
        jobs.push(Job::Band {
            src: image.clone(),
            copy: bit_copy(band, t, name),
            rel: rel.clone(),
        });
    }
    jobs.push(Job::Mask {
        inputs: (1..=venus_bands()).map(|b| (image.clone(), b)).collect(),
        rule: super::MaskRule::AnyEquals(p.site.nodata),
        shares: vec![super::Share {
            index: "NodataPercent",
            bits: 1,
            skip: None,
            format: super::ShareFormat::Decimals(2),
        }],
        rel: edg.clone(),
    });
    for (key, rel, role, title, field) in [
        (
            "EDG",
            &edg,
            "data-mask",
            "No data in some band",
            ("edge", "no data in some band"),
        ),
        (
            "CLM",
            &clm,
            "cloud",
            "L1 cloud mask, bit 1",
            ("cloud", "cloud (L1 stereo mask)"),
        ),
    ] {
        assets.push(
            site::mask_asset(key, rel, SampleType::U8, role, title)
                .with_bitfields(vec![BitField::flag(0, field.0, field.1)]),
        );
    }
    assets.extend(site::band_bit_mask_assets(&sat, &pix));
    // The stereo cloud altitude, as the VENµS MUSCATE L1C carries it for MAJA's cloud shadows
    // (data nature Cloud_Altitude_Grid, read by MAJA's MUSCATE L1 reader).
    let cla = p.cla_path(dir).map(|src| {
        let rel = format!("DATA/{id}_CLA_{GROUP}.tif");
        jobs.push(Job::Copy {
            src,
            rel: rel.clone(),
        });
        assets.push(site::mask_asset(
            "CLA",
            &rel,
            SampleType::U16,
            "data",
            "Cloud altitude from the B05/B06 stereo, metres (0: no cloud)",
        ));
        rel
    });
    let (quicklook, more) = site::quicklook_and_metadata(&id, &image, &p.site);
    jobs.push(quicklook);
    assets.extend(more);

    let mut inputs = vec![(p.global_id(), p.site.acquisition, p.site.creation)];
    if !p.input_product_id.is_empty() {
        inputs.push((
            p.input_product_id.clone(),
            p.site.acquisition,
            p.site.creation,
        ));
    }
    let mut mtd = site::metadata(
        &p.site,
        &name,
        &id,
        Level {
            level: "L1C",
            quality_level: "Natif",
            step: "L1",
            native_id: p.global_id(),
            inputs,
            sol: &p.annex_path(dir, l1c::ANNEX_SOL),
            vie: &p.annex_path(dir, l1c::ANNEX_VIE),
        },
    )?;
    mtd.images = vec![site::raster_group(
        "Reflectance",
        "int16",
        false,
        band_files,
    )];
    mtd.masks = vec![
        site::raster_group("Aberrant_Pixels", "uint16", true, site::per_band(&pix)),
        site::raster_group("Cloud", "byte", true, site::group_bit(&clm, 1)),
        site::raster_group(
            "Edge",
            "byte",
            true,
            vec![FileRef::new(&edg).with("group_id", GROUP)],
        ),
        site::raster_group("Saturation", "uint16", true, site::per_band(&sat)),
    ];
    mtd.data = cla
        .map(|rel| {
            site::raster_group(
                "Cloud_Altitude_Grid",
                "uint16",
                false,
                vec![FileRef::new(rel)],
            )
        })
        .into_iter()
        .collect();
    Ok(Plan {
        id,
        jobs,
        mtd,
        assets,
    })
}

fn venus_bands() -> usize {
    crate::mission::venus::BANDS.len()
}
