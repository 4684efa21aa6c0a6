//! The MUSCATE L3A package of a native L3A, as Theia distributes the VENµS L3A syntheses made
//! by CNES WASP (`ProductFormatter/src/ProductCreatorVenusMuscate.cpp`, docs/formats.md cites
//! the sources): the composite flat reflectance per band (`FRC`), the weighted-average dates
//! (`DTS`), the weight sums (`WGT`) and the pixel status (`FLG`) in `MASKS/`, the quicklook and
//! `MTD_ALL.xml`, named after the synthesis date.
//!
//! Where the native L3A keeps a value in another convention than WASP's files, the package
//! holds WASP's, by a lossless transformation:
//! - `DTS`: WASP's weighted-average day of the year, counted from 0 on 1 January
//!   (`MetadataHelper::GetAcquisitionDateAsDoy`), of the synthesis date's year: the native PXD
//!   (days from the synthesis date) plus the synthesis date's day of the year ([`dts_offset`]);
//!   across the new year it runs below 0 or past 365 where WASP's restarts; no data −10000
//!   (WASP's `DATE_NO_DATA`) where PXD is [`l3a::PXD_NODATA`];
//! - `WGT`: the native WGT (weight sum × 1000, WASP's quantification), −10000 (WASP's
//!   `WEIGHT_NO_DATA` × 1000) where the pixel was never observed (FLG 0; native WGT 0).

use std::path::Path;

use chrono::Datelike;

use super::site::{self, Production, GROUP};
use super::stac::{Asset, AssetKind, BitField};
use super::{Job, Plan, ShareFormat, ValueRule, ValueShare};
use crate::ee::muscate::FileRef;
use crate::error::Result;
use crate::product::l3a::{self, flags, L3a};
use crate::raster::SampleType;

/// File code of the composite reflectance bands (WASP's `COMPOSITE_REFLECTANCE_SUFFIX`).
pub const REFLECTANCE_CODE: &str = "FRC";
/// Mask codes of the weights, dates and flags (WASP's `COMPOSITE_WEIGHTS_SUFFIX`,
/// `COMPOSITE_DATES_SUFFIX`, `COMPOSITE_FLAGS_SUFFIX`).
pub const WGT_CODE: &str = "WGT";
pub const DTS_CODE: &str = "DTS";
pub const FLG_CODE: &str = "FLG";
/// WASP's no-data value of DTS and WGT (`NO_DATA_VALUE`, `DATE_NO_DATA`, `WEIGHT_NO_DATA` ×
/// `WEIGHT_QUANTIF_VALUE`).
pub const NODATA: i16 = -10000;
/// WASP's quicklook stretch of its VENµS L3A (`gdal_translate -scale 0 3000` of reflectances
/// × 10000): reflectance 0–0.3.
pub const QUICKLOOK_STRETCH: (f64, f64) = (0.0, 0.3);
/// `Product_Quality_List level` of WASP's L3A.
pub const QUALITY_LEVEL: &str = "N3";

/// What is added to the native PXD (days from the synthesis date `date`) to make WASP's DTS:
/// the day of the year of `date`, 0 on 1 January.
pub fn dts_offset(date: chrono::NaiveDate) -> i16 {
    date.ordinal0() as i16
}

/// The STAC bit field of `FLG`: one 3-bit field whose classes are WASP's status values.
pub fn flg_bitfields() -> Vec<BitField> {
    let classes = [
        (flags::NO_DATA, "no_data", "never observed"),
        (flags::CLOUD, "cloud", "never seen clear: cloud"),
        (flags::SNOW, "snow", "snow"),
        (flags::WATER, "water", "water"),
        (flags::LAND, "land", "clear observations averaged"),
        (
            flags::SHADOW,
            "cloud_shadow",
            "never seen clear: cloud shadow",
        ),
        (flags::SATURATED, "saturated", "saturated"),
    ];
    vec![BitField {
        name: "status".into(),
        description: "pixel status (WASP's FLG values, not bits)".into(),
        offset: 0,
        length: 3,
        classes: classes
            .iter()
            .map(|(v, n, d)| (u32::from(*v), n.to_string(), d.to_string()))
            .collect(),
    }]
}

/// The package plan of the L3A whose global header is `hdr`.
pub fn plan(p: &L3a, hdr: &Path) -> Result<Plan> {
    let name = site::checked_site_name(&p.site, hdr)?;
    // WASP names the product and dates its metadata by the synthesis date at 00:00:00.000.
    let synthesis = p.site.date.and_hms_opt(0, 0, 0).unwrap_or_default();
    let id = site::product_id(synthesis, "L3A", &name);
    let dir = hdr.parent().unwrap_or(Path::new("."));
    let image = p.image_path(dir);
    let qlt = p.annex_path(dir, l3a::ANNEX_QLT);
    let msk = p.annex_path(dir, l3a::ANNEX_MSK);

    let (mut jobs, mut assets, frc_files) = site::reflectance_files(
        &id,
        REFLECTANCE_CODE,
        "FRC_",
        "flat reflectance composite (weighted average)",
        &image,
        &p.site,
    );
    let mask = |code: &str| format!("MASKS/{id}_{code}_{GROUP}.tif");
    let (wgt, dts, flg) = (mask(WGT_CODE), mask(DTS_CODE), mask(FLG_CODE));
    let flg_in = (msk.clone(), 1);
    jobs.push(Job::Derive {
        inputs: vec![(qlt.clone(), l3a::QLT_WGT_BAND), flg_in.clone()],
        rule: ValueRule::ReplaceWhere {
            input: 1,
            equals: i16::from(flags::NO_DATA),
            to: NODATA,
        },
        data_type: SampleType::I16,
        nodata: Some(f64::from(NODATA)),
        shares: Vec::new(),
        rel: wgt.clone(),
    });
    jobs.push(Job::Derive {
        inputs: vec![(qlt.clone(), l3a::QLT_PXD_BAND)],
        rule: ValueRule::Shift {
            add: dts_offset(p.site.date),
            from: l3a::PXD_NODATA,
            to: NODATA,
        },
        data_type: SampleType::I16,
        nodata: Some(f64::from(NODATA)),
        shares: Vec::new(),
        rel: dts.clone(),
    });
    // CloudPercent and SnowPercent as WASP counts them (countSpecialPixels): FLG 1 and FLG 2
    // among all the pixels, rounded to the nearest integer.
    let share = |index, value: u8| ValueShare {
        index,
        value: i16::from(value),
        format: ShareFormat::Rounded,
    };
    jobs.push(Job::Derive {
        inputs: vec![flg_in],
        rule: ValueRule::Copy,
        data_type: SampleType::U8,
        nodata: None,
        shares: vec![
            share("CloudPercent", flags::CLOUD),
            share("SnowPercent", flags::SNOW),
        ],
        rel: flg.clone(),
    });
    let raster = |key: &str, rel: &str, t, nodata, scale, role, title: &str| Asset {
        key: key.into(),
        rel: rel.into(),
        title: title.into(),
        roles: vec![role],
        kind: AssetKind::Raster {
            data_type: t,
            nodata,
            scale,
            band: None,
        },
        bitfields: Vec::new(),
    };
    let nodata = Some(f64::from(NODATA));
    assets.push(raster(
        "WGT",
        &wgt,
        SampleType::I16,
        nodata,
        Some(1.0 / l3a::WEIGHT_QUANTIFICATION),
        "quality",
        "Sum of the weights of the observations averaged",
    ));
    assets.push(raster(
        "DTS",
        &dts,
        SampleType::I16,
        nodata,
        None,
        "data",
        "Weighted-average date, day of the synthesis date's year (0 on 1 January)",
    ));
    assets.push(
        raster(
            "FLG",
            &flg,
            SampleType::U8,
            None,
            None,
            "data-mask",
            "Pixel status: 0 no data, 1 cloud, 2 snow, 3 water, 4 land, 5 cloud shadow, \
             6 saturated",
        )
        .with_bitfields(flg_bitfields()),
    );
    let (mut quicklook, more) = site::quicklook_and_metadata(&id, &image, &p.site);
    if let Job::Quicklook { stretch, .. } = &mut quicklook {
        *stretch = (
            QUICKLOOK_STRETCH.0 / p.site.quantification,
            QUICKLOOK_STRETCH.1 / p.site.quantification,
        );
    }
    jobs.push(quicklook);
    assets.extend(more);

    // The metadata dates the product by the synthesis date, as WASP's does (its acquisition,
    // mean acquisition and the quality section's source product).
    let mut header = p.site.clone();
    header.acquisition = synthesis;
    let inputs = p
        .inputs
        .iter()
        .map(|i| (i.id.clone(), i.acquisition, p.site.creation))
        .collect();
    let mut mtd = site::metadata_without_grids(
        &header,
        &name,
        &id,
        Production {
            level: "L3A",
            quality_level: QUALITY_LEVEL,
            step: "L3",
            native_id: p.global_id(),
            inputs,
        },
    );
    // WASP: ORBIT_NUMBER −1 (a synthesis has no orbit), DATE_PRECISION 1 s for VENµS.
    mtd.orbit_number = -1;
    mtd.date_precision_s = 1.0;
    mtd.images = vec![site::raster_group(
        "Flat_Reflectance",
        "int16",
        false,
        frc_files,
    )];
    let group_file = |rel: &str| vec![FileRef::new(rel).with("group_id", GROUP)];
    mtd.masks = vec![
        site::raster_group("Weighted_Average_Dates", "int16", true, group_file(&dts)),
        site::raster_group("Pixel_Weight", "int16", true, group_file(&wgt)),
        site::raster_group("Pixel_Status_Flag", "byte", true, group_file(&flg)),
    ];
    // Measured on FLG as the package is made (the native header's figure counts cloud
    // shadows too).
    mtd.quality_indexes.retain(|(k, _)| k != "CloudPercent");
    Ok(Plan {
        id,
        jobs,
        mtd,
        assets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn dts_is_the_day_of_the_year_from_zero_and_runs_on_across_the_new_year() {
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(dts_offset(d("2024-01-01")), 0);
        assert_eq!(dts_offset(d("2024-03-17")), 76);
        assert_eq!(dts_offset(d("2024-12-31")), 365);
        let rule = ValueRule::Shift {
            add: dts_offset(d("2024-01-03")),
            from: l3a::PXD_NODATA,
            to: NODATA,
        };
        // 2023-12-30 is 4 days before: −2; 2024-01-05 is day 4
        assert_eq!(rule.apply(|_| -4), -2);
        assert_eq!(rule.apply(|_| 2), 4);
        assert_eq!(rule.apply(|_| l3a::PXD_NODATA), NODATA);
    }

    #[test]
    fn wgt_is_nodata_where_never_observed() {
        let rule = ValueRule::ReplaceWhere {
            input: 1,
            equals: i16::from(flags::NO_DATA),
            to: NODATA,
        };
        let px = |wgt: i16, flg: u8| rule.apply(|k| if k == 0 { wgt } else { i16::from(flg) });
        assert_eq!(px(0, flags::NO_DATA), NODATA);
        assert_eq!(px(0, flags::CLOUD), 0);
        assert_eq!(px(1234, flags::LAND), 1234);
    }
}
