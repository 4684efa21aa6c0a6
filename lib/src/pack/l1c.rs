//! The MUSCATE L1C package of a native L1C: file names, how each file is made, and the
//! `MTD_ALL.xml` values taken from the native header and angle grids.

use std::path::Path;

use chrono::NaiveDateTime;

use super::stac::{Asset, AssetKind};
use super::{mtd_name, Job, Plan};
use crate::ee::muscate::{
    AngleGrid, AngleGrids, BandInfo, FileGroup, FileRef, GeoPoint, Job as MtdJob, MtdAll,
    ViewingGrids,
};
use crate::error::{Result, VipError};
use crate::mission::venus;
use crate::product::l1c::{self, L1c};
use crate::raster::{self, BandCopy, SampleType};

/// File code of the reflectance bands (`<ID>_<code>_B<n>.tif`): the code of the MUSCATE L2A
/// bands; the VENµS reference material names no MUSCATE L1C band files.
pub const REFLECTANCE_CODE: &str = "SRE";
/// The MUSCATE band group of VENµS.
pub const GROUP: &str = "XS";
/// Quicklook bands (MUSCATE ids) and their native image bands.
pub const QUICKLOOK_BANDS: (&str, [usize; 3]) = ("B7,B4,B3", [7, 4, 3]);
/// Quicklook stretch, TOA reflectance mapped to 1..255.
pub const QUICKLOOK_STRETCH: (f64, f64) = (0.0, 0.25);
/// Product version written in the id (`V1-0`) and `PRODUCT_VERSION`.
pub const VERSION: (u32, u32) = (1, 0);

/// MUSCATE band id (`B1` … `B12`) of native band `B01` … `B12`.
pub fn band_id(native: &str) -> String {
    format!(
        "B{}",
        native.trim_start_matches('B').trim_start_matches('0')
    )
}

/// The site name of a native nick (8 characters, `_`-padded).
pub fn site_name(nick: &str) -> String {
    nick.trim_end_matches('_').to_string()
}

/// `VENUS-XS_<yyyymmdd-hhmmss-mmm>_<level>_<site>_C_V<M>-<m>`.
pub fn product_id(acquisition: NaiveDateTime, level: &str, site: &str) -> String {
    format!(
        "VENUS-XS_{}_{level}_{site}_C_V{}-{}",
        acquisition.format("%Y%m%d-%H%M%S-%3f"),
        VERSION.0,
        VERSION.1
    )
}

fn crs_name(epsg: u32) -> String {
    match epsg {
        4326 => "WGS 84".into(),
        32601..=32660 => format!("WGS 84 / UTM zone {}N", epsg - 32600),
        32701..=32760 => format!("WGS 84 / UTM zone {}S", epsg - 32700),
        _ => format!("EPSG:{epsg}"),
    }
}

fn raster_group(nature: &str, encoding: &str, mask: bool, files: Vec<FileRef>) -> FileGroup {
    FileGroup {
        nature: nature.into(),
        format: "image/tiff".into(),
        encoding: Some(encoding.into()),
        endianness: Some("LittleEndian".into()),
        compression: mask.then(|| "DEFLATE".into()),
        files,
    }
}

/// Zenith and azimuth grids of one direction from its DX/DY planes.
fn angle_grids(path: &Path, dx_band: usize, step_m: f64) -> Result<AngleGrids> {
    let ds = raster::open(path)?;
    let (w, h) = ds.raster_size();
    let dx = raster::read_window::<f64>(&ds, dx_band, (0, 0), (w, h))?;
    let dy = raster::read_window::<f64>(&ds, dx_band + 1, (0, 0), (w, h))?;
    let mut zen = Vec::with_capacity(h);
    let mut azi = Vec::with_capacity(h);
    for r in 0..h {
        let (mut zr, mut ar) = (Vec::with_capacity(w), Vec::with_capacity(w));
        for c in 0..w {
            let (x, y) = (dx[r * w + c], dy[r * w + c]);
            if x.is_nan() || y.is_nan() {
                zr.push(f64::NAN);
                ar.push(f64::NAN);
            } else {
                let (z, a) = l1c::grid_to_angles(x, y);
                zr.push(z);
                ar.push(a);
            }
        }
        zen.push(zr);
        azi.push(ar);
    }
    let grid = |rows| AngleGrid {
        col_step_m: step_m,
        row_step_m: step_m,
        rows,
    };
    Ok(AngleGrids {
        zenith: grid(zen),
        azimuth: grid(azi),
    })
}

/// The package plan of the L1C whose global header is `hdr`.
pub fn plan(p: &L1c, hdr: &Path) -> Result<Plan> {
    let site = site_name(&p.nick);
    if site.is_empty()
        || !site
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(VipError::bad_input(
            hdr,
            format!("site name '{site}' cannot make a file name inside the output folder"),
        ));
    }
    let id = product_id(p.acquisition, "L1C", &site);
    let dir = hdr.parent().unwrap_or(Path::new("."));
    let image = p.image_path(dir);
    let nodata = f64::from(p.nodata);
    let bands: Vec<String> = venus::BANDS.iter().map(|b| band_id(b.code)).collect();

    let mut jobs = Vec::new();
    let mut assets = Vec::new();
    let mut band_files = Vec::new();
    for (i, b) in bands.iter().enumerate() {
        let rel = format!("{id}_{REFLECTANCE_CODE}_{b}.tif");
        band_files.push(FileRef::new(&rel).with("band_id", b));
        assets.push(Asset {
            key: b.clone(),
            rel: rel.clone(),
            title: format!("{b} TOA reflectance"),
            roles: vec!["data", "reflectance"],
            kind: AssetKind::Raster {
                data_type: SampleType::I16,
                nodata: Some(nodata),
                scale: Some(p.quantification),
                band: Some(&venus::BANDS[i]),
            },
        });
        jobs.push(Job::Band {
            src: image.clone(),
            copy: BandCopy {
                band: i + 1,
                data_type: SampleType::I16,
                nodata: Some(nodata),
                scale: Some(p.quantification),
                description: b.clone(),
            },
            rel,
        });
    }
    let mask = |code: &str| format!("MASKS/{id}_{code}_{GROUP}.tif");
    let per_band = |rel: &str| -> Vec<FileRef> {
        bands
            .iter()
            .enumerate()
            .map(|(i, b)| {
                FileRef::new(rel)
                    .with("band_id", b)
                    .with("bit_number", i + 1)
            })
            .collect()
    };
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
    jobs.push(Job::Edge {
        src: image.clone(),
        bands: (1..=bands.len()).collect(),
        nodata: p.nodata,
        rel: edg.clone(),
    });
    for (key, rel, t, role, title) in [
        (
            "SAT",
            &sat,
            SampleType::U16,
            "saturation",
            "Saturation, bit n = band Bn",
        ),
        (
            "PIX",
            &pix,
            SampleType::U16,
            "quality",
            "Aberrant or defective pixels, bit n = band Bn",
        ),
        (
            "EDG",
            &edg,
            SampleType::U8,
            "data-mask",
            "No data in some band",
        ),
        ("CLM", &clm, SampleType::U8, "cloud", "L1 cloud mask, bit 1"),
    ] {
        assets.push(Asset {
            key: key.into(),
            rel: rel.clone(),
            title: title.into(),
            roles: vec![role],
            kind: AssetKind::Raster {
                data_type: t,
                nodata: None,
                scale: None,
                band: None,
            },
        });
    }
    let quicklook = format!("{id}_QKL_ALL.jpg");
    assets.push(Asset {
        key: "thumbnail".into(),
        rel: quicklook.clone(),
        title: format!("Quicklook ({})", QUICKLOOK_BANDS.0),
        roles: vec!["thumbnail"],
        kind: AssetKind::Quicklook,
    });
    assets.push(Asset {
        key: "metadata".into(),
        rel: mtd_name(&id),
        title: "MUSCATE metadata".into(),
        roles: vec!["metadata"],
        kind: AssetKind::Metadata,
    });
    jobs.push(Job::Quicklook {
        src: image.clone(),
        rgb: QUICKLOOK_BANDS.1,
        stretch: (
            QUICKLOOK_STRETCH.0 / p.quantification,
            QUICKLOOK_STRETCH.1 / p.quantification,
        ),
        nodata: Some(nodata),
        rel: quicklook.clone(),
    });

    let images = vec![raster_group("Reflectance", "int16", false, band_files)];
    let masks = vec![
        raster_group("Aberrant_Pixels", "uint16", true, per_band(&pix)),
        raster_group(
            "Cloud",
            "byte",
            true,
            vec![FileRef::new(&clm)
                .with("group_id", GROUP)
                .with("bit_number", 1)],
        ),
        raster_group(
            "Edge",
            "byte",
            true,
            vec![FileRef::new(&edg).with("group_id", GROUP)],
        ),
        raster_group("Saturation", "uint16", true, per_band(&sat)),
    ];

    let step = p.angle_grid_step_m;
    let sun_grids = angle_grids(&p.annex_path(dir, l1c::ANNEX_SOL), 1, step)?;
    let vie = p.annex_path(dir, l1c::ANNEX_VIE);
    let view_grids = l1c::VIE_BANDS
        .iter()
        .enumerate()
        .map(|(d, b)| {
            Ok(ViewingGrids {
                band_id: band_id(b),
                detector_id: (d + 1).to_string(),
                grids: angle_grids(&vie, 2 * d + 1, step)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;

    // Points: pixel centres of the corners (as the native footprint), then the image centre.
    let px = p.pixel_m;
    let (x0, x1) = (p.ulx + px / 2.0, p.ulx + (p.cols as f64 - 0.5) * px);
    let (y0, y1) = (p.uly - px / 2.0, p.uly - (p.lines as f64 - 0.5) * px);
    let (xc, yc) = (
        p.ulx + p.cols as f64 * px / 2.0,
        p.uly - p.lines as f64 * px / 2.0,
    );
    // Native order: UL, UR, LL, LR, centre; MUSCATE order: UL, UR, LR, LL, centre.
    let ll = &p.corners_lonlat;
    let pt = |i: usize, x: f64, y: f64| GeoPoint {
        lat: ll[i].1,
        lon: ll[i].0,
        x,
        y,
    };
    let points = [
        pt(0, x0, y0),
        pt(1, x1, y0),
        pt(3, x1, y1),
        pt(2, x0, y1),
        pt(4, xc, yc),
    ];

    let band_infos = venus::BANDS
        .iter()
        .enumerate()
        .map(|(i, b)| BandInfo {
            band_id: band_id(b.code),
            coefficients: p
                .aks
                .get(i)
                .map(|&ak| vec![("Ak".to_string(), ak)])
                .unwrap_or_default(),
            resolution_m: p.pixel_m,
            wavelength_nm: Some((
                b.centre_nm - b.width_nm / 2.0,
                b.centre_nm + b.width_nm / 2.0,
                b.centre_nm,
            )),
        })
        .collect();

    let mut quality_indexes = Vec::new();
    if let Some(c) = p.cloud_percentage {
        quality_indexes.push(("CloudPercent".to_string(), crate::ee::muscate::dec(c, 1)));
    }
    let mut inputs = vec![(p.global_id(), p.acquisition, p.creation)];
    if !p.input_product_id.is_empty() {
        inputs.push((p.input_product_id.clone(), p.acquisition, p.creation));
    }
    let mtd = MtdAll {
        identifier: id
            .trim_end_matches(&format!("_V{}-{}", VERSION.0, VERSION.1))
            .to_string(),
        authority: "THEIA".into(),
        producer: "MUSCATE".into(),
        project: "VENUS".into(),
        site,
        original_data_diffuser: format!("{}_{}", p.creator, p.creator_version),
        product_id: id.clone(),
        acquisition: p.acquisition,
        production: p.creation,
        product_version: format!("{}.{}", VERSION.0, VERSION.1),
        level: "L1C".into(),
        platform: "VENUS".into(),
        spectral_content: GROUP.into(),
        // The native header's Acquisition_Orbit_Number; 0 says unknown (NIL=N/A).
        orbit_number: p.orbit.map_or(0, i64::from),
        date_precision_s: 0.001,
        bands: bands.clone(),
        group_id: GROUP.into(),
        quicklook: format!("./{quicklook}"),
        quicklook_bands: QUICKLOOK_BANDS.0.into(),
        images,
        masks,
        data: Vec::new(),
        epsg: p.epsg,
        crs_name: crs_name(p.epsg),
        points,
        ulx: p.ulx,
        uly: p.uly,
        xdim: px,
        ydim: -px,
        nrows: p.lines,
        ncols: p.cols,
        sun_mean: (p.sun.zenith[4], p.sun.azimuth[4]),
        view_mean: p
            .view
            .iter()
            .enumerate()
            .map(|(d, v)| (format!("{:02}", d + 1), v.zenith[4], v.azimuth[4]))
            .collect(),
        sun_grids: Some(sun_grids),
        view_grids,
        reflectance_quantification: (1.0 / p.quantification).round(),
        water_vapor_quantification: None,
        aot_quantification: None,
        special_values: vec![("nodata".into(), p.nodata.to_string())],
        band_infos,
        quality_level: "Natif".into(),
        quality_indexes,
        jobs: vec![MtdJob {
            workplan_id: "VIP".into(),
            step_id: "L1".into(),
            job_id: p.global_id(),
            producer: "MUSCATE".into(),
            start: p.creation,
            end: p.creation,
            inputs,
            outputs: vec![(id.clone(), p.acquisition, p.creation)],
        }],
    };
    Ok(Plan {
        id,
        jobs,
        mtd,
        assets,
    })
}
