//! The STAC 1.0.0 item of a package (`<ID>_STAC.json`, beside `<ID>_MTD_ALL.xml`).
//!
//! One asset per file of the package but the manifest and the item itself: every band and
//! mask (raster and, for reflectances, eo extension fields), the quicklook (`thumbnail`) and
//! the MUSCATE metadata (`metadata`); each with `file:checksum` (SHA2-256 multihash, hex) and
//! `file:size`. Hrefs are relative to the item (`./<file>`), so a package served by any static
//! HTTP server, or unzipped anywhere, stays valid. Extensions: eo 1.1.0, projection 1.1.0,
//! raster 1.1.0, file 2.1.0, and classification 2.0.0 where a mask asset describes its bits
//! (`classification:bitfields`, one Bit Field Object per bit, named as docs/formats.md lists
//! them). The footprint and bbox are the outer edges of the site grid taken to WGS 84 by PROJ.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::Plan;
use crate::ee::muscate::{iso_ms, MtdAll};
use crate::error::Result;
use crate::geometry::lonlat::MapToLonLat;
use crate::mission::venus::Band;
use crate::raster::SampleType;

/// STAC version written.
pub const STAC_VERSION: &str = "1.0.0";
/// Extension schema identifiers.
pub const EXT_EO: &str = "https://stac-extensions.github.io/eo/v1.1.0/schema.json";
pub const EXT_PROJ: &str = "https://stac-extensions.github.io/projection/v1.1.0/schema.json";
pub const EXT_RASTER: &str = "https://stac-extensions.github.io/raster/v1.1.0/schema.json";
pub const EXT_FILE: &str = "https://stac-extensions.github.io/file/v2.1.0/schema.json";
pub const EXT_CLASSIFICATION: &str =
    "https://stac-extensions.github.io/classification/v2.0.0/schema.json";
/// Multihash prefix of a SHA2-256 digest (function code 0x12, length 0x20).
pub const MULTIHASH_SHA2_256: &str = "1220";
/// Media types of the assets.
pub const GEOTIFF: &str = "image/tiff; application=geotiff";
pub const COG: &str = "image/tiff; application=geotiff; profile=cloud-optimized";
pub const JPEG: &str = "image/jpeg";
pub const XML: &str = "application/xml";

/// File name of the item of package `id`.
pub fn item_name(id: &str) -> String {
    format!("{id}_STAC.json")
}

/// The STAC eo `common_name` of a band centred at `centre_nm`, from the ranges of the eo
/// extension's table (the narrower name first where ranges overlap); `None` outside them.
pub fn common_name(centre_nm: f64) -> Option<&'static str> {
    const RANGES: [(&str, f64, f64); 8] = [
        ("coastal", 400.0, 450.0),
        ("blue", 450.0, 500.0),
        ("green", 500.0, 600.0),
        ("red", 600.0, 700.0),
        ("rededge", 700.0, 790.0),
        ("nir08", 750.0, 900.0),
        ("nir09", 850.0, 1050.0),
        ("nir", 750.0, 1000.0),
    ];
    RANGES
        .iter()
        .find(|(_, lo, hi)| (*lo..*hi).contains(&centre_nm))
        .map(|(n, _, _)| *n)
}

/// What kind of file an asset is.
#[derive(Debug, Clone)]
pub enum AssetKind {
    /// A single-band raster; `band` is the spectral band it holds, if any.
    Raster {
        data_type: SampleType,
        nodata: Option<f64>,
        scale: Option<f64>,
        band: Option<&'static Band>,
    },
    Quicklook,
    Metadata,
}

/// One asset of the item: its key, file (package-relative), title, roles, kind and, for a
/// bit mask, the meaning of its bits.
#[derive(Debug, Clone)]
pub struct Asset {
    pub key: String,
    pub rel: String,
    pub title: String,
    pub roles: Vec<&'static str>,
    pub kind: AssetKind,
    pub bitfields: Vec<BitField>,
}

impl Asset {
    /// The asset with its bits described by `bitfields`.
    pub fn with_bitfields(mut self, bitfields: Vec<BitField>) -> Asset {
        self.bitfields = bitfields;
        self
    }
}

/// One field of a bit mask (a Bit Field Object of the STAC classification extension):
/// `length` bits from bit `offset` (0 = least significant), and the classes of its values
/// (value, name, description).
#[derive(Debug, Clone, PartialEq)]
pub struct BitField {
    pub name: String,
    pub description: String,
    pub offset: u32,
    pub length: u32,
    pub classes: Vec<(u32, String, String)>,
}

impl BitField {
    /// A one-bit flag at `offset`: class 1 `name` (`description`), class 0 `not_<name>`.
    pub fn flag(offset: u32, name: &str, description: &str) -> BitField {
        BitField {
            name: name.to_string(),
            description: description.to_string(),
            offset,
            length: 1,
            classes: vec![
                (
                    0,
                    format!("not_{name}"),
                    format!("not flagged: {description}"),
                ),
                (1, name.to_string(), description.to_string()),
            ],
        }
    }

    fn to_json(&self) -> Value {
        let classes: Vec<Value> = self
            .classes
            .iter()
            .map(|(v, n, d)| json!({ "value": v, "name": n, "description": d }))
            .collect();
        json!({
            "name": self.name,
            "description": self.description,
            "offset": self.offset,
            "length": self.length,
            "classes": classes,
        })
    }
}

/// SHA-256 (lowercase hex) and size in bytes of a file of the package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    pub sha256: String,
    pub size: u64,
}

fn data_type_name(t: SampleType) -> &'static str {
    match t {
        SampleType::I16 => "int16",
        SampleType::U16 => "uint16",
        SampleType::U8 => "uint8",
        SampleType::F32 => "float32",
    }
}

/// `v` rounded to `digits` decimals (keeps the JSON free of float noise).
fn round(v: f64, digits: i32) -> f64 {
    let k = 10f64.powi(digits);
    (v * k).round() / k
}

/// WGS 84 footprint (closed ring, counter-clockwise) and bbox of the grid of `mtd`; the bbox
/// covers its edges sampled every 1/16 of their length.
pub fn footprint(mtd: &MtdAll) -> Result<(Vec<[f64; 2]>, [f64; 4])> {
    let t = MapToLonLat::new(mtd.epsg)?;
    let (x0, y0) = (mtd.ulx, mtd.uly);
    let (x1, y1) = (
        mtd.ulx + mtd.ncols as f64 * mtd.xdim,
        mtd.uly + mtd.nrows as f64 * mtd.ydim,
    );
    let ll = |x: f64, y: f64| -> Result<[f64; 2]> {
        let (lon, lat) = t.lonlat(x, y)?;
        Ok([round(lon, 9), round(lat, 9)])
    };
    // UL, LL, LR, UR: counter-clockwise for a north-up grid.
    let corners = [(x0, y0), (x0, y1), (x1, y1), (x1, y0)];
    let mut ring = corners
        .iter()
        .map(|&(x, y)| ll(x, y))
        .collect::<Result<Vec<_>>>()?;
    ring.push(ring[0]);
    let mut bbox = [f64::INFINITY, f64::INFINITY, -f64::INFINITY, -f64::INFINITY];
    const STEPS: usize = 16;
    for k in 0..4 {
        let (a, b) = (corners[k], corners[(k + 1) % 4]);
        for s in 0..STEPS {
            let f = s as f64 / STEPS as f64;
            let p = ll(a.0 + f * (b.0 - a.0), a.1 + f * (b.1 - a.1))?;
            bbox = [
                bbox[0].min(p[0]),
                bbox[1].min(p[1]),
                bbox[2].max(p[0]),
                bbox[3].max(p[1]),
            ];
        }
    }
    Ok((ring, bbox))
}

fn asset_json(a: &Asset, file: Option<&FileInfo>, cog: bool, gsd: f64) -> Value {
    let mut o = Map::new();
    o.insert("href".into(), json!(format!("./{}", a.rel)));
    o.insert("title".into(), json!(a.title));
    o.insert("roles".into(), json!(a.roles));
    match &a.kind {
        AssetKind::Raster {
            data_type,
            nodata,
            scale,
            band,
        } => {
            o.insert("type".into(), json!(if cog { COG } else { GEOTIFF }));
            let mut rb = Map::new();
            rb.insert("data_type".into(), json!(data_type_name(*data_type)));
            rb.insert("spatial_resolution".into(), json!(gsd));
            if let Some(n) = nodata {
                rb.insert("nodata".into(), json!(n));
            }
            if let Some(s) = scale {
                rb.insert("scale".into(), json!(s));
                rb.insert("offset".into(), json!(0.0));
            }
            o.insert("raster:bands".into(), json!([rb]));
            if let Some(b) = band {
                let mut eo = Map::new();
                eo.insert("name".into(), json!(a.key));
                if let Some(c) = common_name(b.centre_nm) {
                    eo.insert("common_name".into(), json!(c));
                }
                eo.insert(
                    "center_wavelength".into(),
                    json!(round(b.centre_nm / 1000.0, 6)),
                );
                eo.insert(
                    "full_width_half_max".into(),
                    json!(round(b.width_nm / 1000.0, 6)),
                );
                o.insert("eo:bands".into(), json!([eo]));
            }
        }
        AssetKind::Quicklook => {
            o.insert("type".into(), json!(JPEG));
        }
        AssetKind::Metadata => {
            o.insert("type".into(), json!(XML));
        }
    }
    if !a.bitfields.is_empty() {
        let fields: Vec<Value> = a.bitfields.iter().map(BitField::to_json).collect();
        o.insert("classification:bitfields".into(), json!(fields));
    }
    if let Some(f) = file {
        o.insert(
            "file:checksum".into(),
            json!(format!("{MULTIHASH_SHA2_256}{}", f.sha256)),
        );
        o.insert("file:size".into(), json!(f.size));
    }
    Value::Object(o)
}

/// The item of the package `plan` whose metadata is `mtd`; `files` gives the checksum and
/// size of each file (by package-relative path); `cog` says the rasters are COGs.
pub fn item(
    plan: &Plan,
    mtd: &MtdAll,
    files: &BTreeMap<String, FileInfo>,
    cog: bool,
) -> Result<Value> {
    let (ring, bbox) = footprint(mtd)?;
    let gsd = mtd.xdim.abs();
    let mut props = Map::new();
    props.insert("datetime".into(), json!(iso_ms(mtd.acquisition)));
    props.insert("created".into(), json!(iso_ms(mtd.production)));
    props.insert("platform".into(), json!(mtd.platform.to_ascii_lowercase()));
    props.insert("instruments".into(), json!(["vssc"]));
    props.insert("gsd".into(), json!(gsd));
    if let Some(c) = mtd
        .quality_indexes
        .iter()
        .find(|(k, _)| k == "CloudPercent")
        .and_then(|(_, v)| v.parse::<f64>().ok())
    {
        props.insert("eo:cloud_cover".into(), json!(c));
    }
    props.insert("proj:epsg".into(), json!(mtd.epsg));
    props.insert("proj:shape".into(), json!([mtd.nrows, mtd.ncols]));
    props.insert(
        "proj:transform".into(),
        json!([mtd.xdim, 0.0, mtd.ulx, 0.0, mtd.ydim, mtd.uly]),
    );
    let (x1, y1) = (
        mtd.ulx + mtd.ncols as f64 * mtd.xdim,
        mtd.uly + mtd.nrows as f64 * mtd.ydim,
    );
    props.insert(
        "proj:bbox".into(),
        json!([
            mtd.ulx.min(x1),
            mtd.uly.min(y1),
            mtd.ulx.max(x1),
            mtd.uly.max(y1)
        ]),
    );
    let assets: Map<String, Value> = plan
        .assets
        .iter()
        .map(|a| (a.key.clone(), asset_json(a, files.get(&a.rel), cog, gsd)))
        .collect();
    let mut extensions = vec![EXT_EO, EXT_PROJ, EXT_RASTER, EXT_FILE];
    if plan.assets.iter().any(|a| !a.bitfields.is_empty()) {
        extensions.push(EXT_CLASSIFICATION);
    }
    Ok(json!({
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "stac_extensions": extensions,
        "id": plan.id,
        "geometry": { "type": "Polygon", "coordinates": [ring] },
        "bbox": bbox,
        "properties": props,
        "links": [],
        "assets": assets,
    }))
}

/// `v` as pretty JSON text ending with a newline (keys sorted: same item, same bytes).
pub fn to_text(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mission::venus::BANDS;

    #[test]
    fn venus_common_names_follow_the_eo_table() {
        let names: Vec<_> = BANDS.iter().map(|b| common_name(b.centre_nm)).collect();
        let want = [
            "coastal", "coastal", "blue", "green", "red", "red", "red", "rededge", "rededge",
            "rededge", "nir08", "nir09",
        ];
        assert_eq!(names, want.map(Some).to_vec());
        assert_eq!(common_name(1600.0), None);
    }

    #[test]
    fn raster_asset_fields() {
        let a = Asset {
            key: "B3".into(),
            rel: "P_SRE_B3.tif".into(),
            title: "B3".into(),
            roles: vec!["data", "reflectance"],
            kind: AssetKind::Raster {
                data_type: SampleType::I16,
                nodata: Some(-10000.0),
                scale: Some(0.001),
                band: Some(&BANDS[2]),
            },
            bitfields: Vec::new(),
        };
        let f = FileInfo {
            sha256: "ab".repeat(32),
            size: 42,
        };
        let v = asset_json(&a, Some(&f), true, 5.0);
        assert_eq!(v["href"], "./P_SRE_B3.tif");
        assert_eq!(v["type"], COG);
        assert_eq!(v["file:checksum"], format!("1220{}", "ab".repeat(32)));
        assert_eq!(v["file:size"], 42);
        assert_eq!(v["raster:bands"][0]["nodata"], -10000.0);
        assert_eq!(v["raster:bands"][0]["data_type"], "int16");
        assert_eq!(v["eo:bands"][0]["center_wavelength"], 0.49);
        assert_eq!(v["eo:bands"][0]["full_width_half_max"], 0.04);
        assert_eq!(v["eo:bands"][0]["common_name"], "blue");
        assert!(v.get("classification:bitfields").is_none());
    }

    #[test]
    fn a_flag_is_a_one_bit_field_with_two_classes() {
        let f = BitField::flag(3, "cloud_shadow", "cloud shadow").to_json();
        assert_eq!(f["offset"], 3);
        assert_eq!(f["length"], 1);
        assert_eq!(f["name"], "cloud_shadow");
        assert_eq!(f["classes"][0]["value"], 0);
        assert_eq!(f["classes"][0]["name"], "not_cloud_shadow");
        assert_eq!(f["classes"][1]["value"], 1);
        assert_eq!(f["classes"][1]["name"], "cloud_shadow");
    }
}
