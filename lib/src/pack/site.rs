//! What the MUSCATE packages of every level share: the id and file names, the reflectance
//! files of one image, the file groups, and the `MTD_ALL.xml` sections that come from the
//! native site header (grid, points, mean angles and angle grids, bands, production job).

use std::path::Path;

use chrono::NaiveDateTime;

use super::stac::{Asset, AssetKind, BitField};
use super::{mtd_name, Job};
use crate::ee::muscate::{
    AngleGrid, AngleGrids, BandInfo, FileGroup, FileRef, GeoPoint, Job as MtdJob, MtdAll,
    ViewingGrids,
};
use crate::error::{Result, VipError};
use crate::mission::venus;
use crate::product::{l1c, SiteHeader};
use crate::raster::{self, BandCopy, SampleType};

/// The MUSCATE band group of VENµS.
pub const GROUP: &str = "XS";
/// Quicklook bands (MUSCATE ids) and their native image bands.
pub const QUICKLOOK_BANDS: (&str, [usize; 3]) = ("B7,B4,B3", [7, 4, 3]);
/// Quicklook stretch, reflectance mapped to 1..255.
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

/// The MUSCATE band ids of the VENµS bands, B1 first.
pub fn band_ids() -> Vec<String> {
    venus::BANDS.iter().map(|b| band_id(b.code)).collect()
}

fn crs_name(epsg: u32) -> String {
    match epsg {
        4326 => "WGS 84".into(),
        32601..=32660 => format!("WGS 84 / UTM zone {}N", epsg - 32600),
        32701..=32760 => format!("WGS 84 / UTM zone {}S", epsg - 32700),
        _ => format!("EPSG:{epsg}"),
    }
}

/// A group of GeoTIFFs; masks say their compression (DEFLATE), as MUSCATE's do.
pub fn raster_group(nature: &str, encoding: &str, mask: bool, files: Vec<FileRef>) -> FileGroup {
    FileGroup {
        nature: nature.into(),
        format: "image/tiff".into(),
        encoding: Some(encoding.into()),
        endianness: Some("LittleEndian".into()),
        compression: mask.then(|| "DEFLATE".into()),
        files,
    }
}

/// `rel` once per band, with `band_id` and `bit_number` n for band Bn (a bit per band mask).
pub fn per_band(rel: &str) -> Vec<FileRef> {
    band_ids()
        .iter()
        .enumerate()
        .map(|(i, b)| {
            FileRef::new(rel)
                .with("band_id", b)
                .with("bit_number", i + 1)
        })
        .collect()
}

/// `rel` of group XS with bit `bit` (a geophysical or interpolation bit).
pub fn group_bit(rel: &str, bit: usize) -> Vec<FileRef> {
    vec![FileRef::new(rel)
        .with("group_id", GROUP)
        .with("bit_number", bit)]
}

/// The STAC assets of the per-band bit masks every level carries: saturation and aberrant
/// pixels, bit n = band Bn.
pub fn band_bit_mask_assets(sat: &str, pix: &str) -> [Asset; 2] {
    let per_band = |what: &str| -> Vec<BitField> {
        band_ids()
            .iter()
            .enumerate()
            .map(|(k, b)| BitField::flag(k as u32, b, &format!("{what} in band {b}")))
            .collect()
    };
    [
        mask_asset(
            "SAT",
            sat,
            SampleType::U16,
            "saturation",
            "Saturation, bit n = band Bn",
        )
        .with_bitfields(per_band("saturated")),
        mask_asset(
            "PIX",
            pix,
            SampleType::U16,
            "quality",
            "Aberrant or defective pixels, bit n = band Bn",
        )
        .with_bitfields(per_band("aberrant or defective")),
    ]
}

/// A single-band mask asset.
pub fn mask_asset(key: &str, rel: &str, t: SampleType, role: &'static str, title: &str) -> Asset {
    Asset {
        key: key.into(),
        rel: rel.into(),
        title: title.into(),
        roles: vec![role],
        kind: AssetKind::Raster {
            data_type: t,
            nodata: None,
            scale: None,
            band: None,
        },
        bitfields: Vec::new(),
    }
}

/// The site name of `site`, refused (bad input naming `hdr`) when it cannot make a file name
/// inside the output folder.
pub(crate) fn checked_site_name(site: &SiteHeader, hdr: &Path) -> Result<String> {
    let name = site_name(&site.nick);
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(VipError::bad_input(
            hdr,
            format!("site name '{name}' cannot make a file name inside the output folder"),
        ));
    }
    Ok(name)
}

/// The files of one reflectance image (`<ID>_<code>_B<n>.tif`, int16, the native nodata and
/// quantification): their jobs, STAC assets (`<key_prefix>B<n>`) and MUSCATE file list.
pub(crate) fn reflectance_files(
    id: &str,
    code: &str,
    key_prefix: &str,
    title: &str,
    image: &Path,
    site: &SiteHeader,
) -> (Vec<Job>, Vec<Asset>, Vec<FileRef>) {
    let nodata = f64::from(site.nodata);
    let (mut jobs, mut assets, mut files) = (Vec::new(), Vec::new(), Vec::new());
    for (i, b) in band_ids().iter().enumerate() {
        let rel = format!("{id}_{code}_{b}.tif");
        files.push(FileRef::new(&rel).with("band_id", b));
        assets.push(Asset {
            key: format!("{key_prefix}{b}"),
            rel: rel.clone(),
            title: format!("{b} {title}"),
            roles: vec!["data", "reflectance"],
            kind: AssetKind::Raster {
                data_type: SampleType::I16,
                nodata: Some(nodata),
                scale: Some(site.quantification),
                band: Some(&venus::BANDS[i]),
            },
            bitfields: Vec::new(),
        });
        jobs.push(Job::Band {
            src: image.to_path_buf(),
            copy: BandCopy {
                band: i + 1,
                data_type: SampleType::I16,
                nodata: Some(nodata),
                scale: Some(site.quantification),
                description: b.clone(),
            },
            rel,
        });
    }
    (jobs, assets, files)
}

/// The quicklook (B7, B4, B3 of the reflectance `image`) and metadata files: jobs and assets.
pub(crate) fn quicklook_and_metadata(
    id: &str,
    image: &Path,
    site: &SiteHeader,
) -> (Job, Vec<Asset>) {
    let quicklook = quicklook_name(id);
    let assets = vec![
        Asset {
            key: "thumbnail".into(),
            rel: quicklook.clone(),
            title: format!("Quicklook ({})", QUICKLOOK_BANDS.0),
            roles: vec!["thumbnail"],
            kind: AssetKind::Quicklook,
            bitfields: Vec::new(),
        },
        Asset {
            key: "metadata".into(),
            rel: mtd_name(id),
            title: "MUSCATE metadata".into(),
            roles: vec!["metadata"],
            kind: AssetKind::Metadata,
            bitfields: Vec::new(),
        },
    ];
    let job = Job::Quicklook {
        src: image.to_path_buf(),
        rgb: QUICKLOOK_BANDS.1,
        stretch: (
            QUICKLOOK_STRETCH.0 / site.quantification,
            QUICKLOOK_STRETCH.1 / site.quantification,
        ),
        nodata: Some(f64::from(site.nodata)),
        rel: quicklook,
    };
    (job, assets)
}

/// `<ID>_QKL_ALL.jpg`.
pub fn quicklook_name(id: &str) -> String {
    format!("{id}_QKL_ALL.jpg")
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

/// What a level adds to the metadata the site header gives.
pub(crate) struct Level<'a> {
    /// `L1C`, `L2A`.
    pub level: &'a str,
    /// `Product_Quality_List level`: `Natif` (L1C), `N2` (L2A).
    pub quality_level: &'a str,
    /// Production step of the job (`L1`, `L2`).
    pub step: &'a str,
    /// The native product id (the job id).
    pub native_id: String,
    /// (id, acquisition, production) of the job's inputs.
    pub inputs: Vec<(String, NaiveDateTime, NaiveDateTime)>,
    /// The SOL and VIE annexes of the native product.
    pub sol: &'a Path,
    pub vie: &'a Path,
}

/// The production facts of a package's metadata that are not in the site header.
pub(crate) struct Production<'a> {
    /// `L1C`, `L2A`, `L3A`.
    pub level: &'a str,
    /// `Product_Quality_List level`: `Natif` (L1C), `N2` (L2A), `N3` (L3A).
    pub quality_level: &'a str,
    /// Production step of the job (`L1`, `L2`, `L3`).
    pub step: &'a str,
    /// The native product id (the job id).
    pub native_id: String,
    /// (id, acquisition, production) of the job's inputs.
    pub inputs: Vec<(String, NaiveDateTime, NaiveDateTime)>,
}

/// The `MTD_ALL.xml` of package `id` with the sections the site header gives, the angle grids
/// from the SOL and VIE annexes; images, masks, data and the L2 quantification values are the
/// level's to fill.
pub(crate) fn metadata(site: &SiteHeader, name: &str, id: &str, lv: Level) -> Result<MtdAll> {
    let step = site.angle_grid_step_m;
    let sun_grids = angle_grids(lv.sol, 1, step)?;
    let view_grids = l1c::VIE_BANDS
        .iter()
        .enumerate()
        .map(|(d, b)| {
            Ok(ViewingGrids {
                band_id: band_id(b),
                detector_id: (d + 1).to_string(),
                grids: angle_grids(lv.vie, 2 * d + 1, step)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut m = metadata_without_grids(
        site,
        name,
        id,
        Production {
            level: lv.level,
            quality_level: lv.quality_level,
            step: lv.step,
            native_id: lv.native_id,
            inputs: lv.inputs,
        },
    );
    m.sun_grids = Some(sun_grids);
    m.view_grids = view_grids;
    Ok(m)
}

/// The `MTD_ALL.xml` of package `id` with the sections the site header gives but the angle
/// grids (`Angles_Grids_List`, optional in Muscate_Metadata.xsd): for a product without SOL
/// and VIE annexes (the L3A).
pub(crate) fn metadata_without_grids(
    site: &SiteHeader,
    name: &str,
    id: &str,
    lv: Production,
) -> MtdAll {
    // Points: pixel centres of the corners (as the native footprint), then the image centre.
    let px = site.pixel_m;
    let (x0, x1) = (
        site.ulx + px / 2.0,
        site.ulx + (site.cols as f64 - 0.5) * px,
    );
    let (y0, y1) = (
        site.uly - px / 2.0,
        site.uly - (site.lines as f64 - 0.5) * px,
    );
    let (xc, yc) = (
        site.ulx + site.cols as f64 * px / 2.0,
        site.uly - site.lines as f64 * px / 2.0,
    );
    // Native order: UL, UR, LL, LR, centre; MUSCATE order: UL, UR, LR, LL, centre.
    let ll = &site.corners_lonlat;
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
            coefficients: site
                .aks
                .get(i)
                .map(|&ak| vec![("Ak".to_string(), ak)])
                .unwrap_or_default(),
            resolution_m: site.pixel_m,
            wavelength_nm: Some((
                b.centre_nm - b.width_nm / 2.0,
                b.centre_nm + b.width_nm / 2.0,
                b.centre_nm,
            )),
        })
        .collect();

    let mut quality_indexes = Vec::new();
    if let Some(c) = site.cloud_percentage {
        quality_indexes.push(("CloudPercent".to_string(), crate::ee::muscate::dec(c, 1)));
    }
    MtdAll {
        identifier: id
            .trim_end_matches(&format!("_V{}-{}", VERSION.0, VERSION.1))
            .to_string(),
        authority: "THEIA".into(),
        producer: "MUSCATE".into(),
        project: "VENUS".into(),
        site: name.to_string(),
        original_data_diffuser: format!("{}_{}", site.creator, site.creator_version),
        product_id: id.to_string(),
        acquisition: site.acquisition,
        production: site.creation,
        product_version: format!("{}.{}", VERSION.0, VERSION.1),
        level: lv.level.into(),
        platform: "VENUS".into(),
        spectral_content: GROUP.into(),
        // The native header's Acquisition_Orbit_Number; 0 says unknown (NIL=N/A).
        orbit_number: site.orbit.map_or(0, i64::from),
        date_precision_s: 0.001,
        bands: band_ids(),
        group_id: GROUP.into(),
        quicklook: format!("./{}", quicklook_name(id)),
        quicklook_bands: QUICKLOOK_BANDS.0.into(),
        images: Vec::new(),
        masks: Vec::new(),
        data: Vec::new(),
        epsg: site.epsg,
        crs_name: crs_name(site.epsg),
        points,
        ulx: site.ulx,
        uly: site.uly,
        xdim: px,
        ydim: -px,
        nrows: site.lines,
        ncols: site.cols,
        sun_mean: (site.sun.zenith[4], site.sun.azimuth[4]),
        view_mean: site
            .view
            .iter()
            .enumerate()
            .map(|(d, v)| (format!("{:02}", d + 1), v.zenith[4], v.azimuth[4]))
            .collect(),
        sun_grids: None,
        view_grids: Vec::new(),
        reflectance_quantification: (1.0 / site.quantification).round(),
        water_vapor_quantification: None,
        aot_quantification: None,
        special_values: vec![("nodata".into(), site.nodata.to_string())],
        band_infos,
        quality_level: lv.quality_level.into(),
        quality_indexes,
        jobs: vec![MtdJob {
            workplan_id: "VIP".into(),
            step_id: lv.step.into(),
            job_id: lv.native_id,
            producer: "MUSCATE".into(),
            start: site.creation,
            end: site.creation,
            inputs: lv.inputs,
            outputs: vec![(id.to_string(), site.acquisition, site.creation)],
        }],
    }
}
