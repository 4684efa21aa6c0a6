//! `vip-pack index DIR`: a static STAC catalog over a folder of packages, so that any plain
//! HTTP server serving DIR is a distribution server.
//!
//! ```text
//! DIR/catalog.json                 STAC Catalog: root, child -> ./collection.json
//! DIR/collection.json              STAC Collection: extents and summaries of the items, one
//!                                  `item` link per package -> ./<ID>/<ID>_STAC.json
//! DIR/<ID>/<ID>_STAC.json          the items, as vip-pack --stac wrote them (never rewritten)
//! DIR/index.html                   the browse page: products by site and date, with quicklooks
//!                                  and links ([`super::browse`])
//! ```
//! Every package folder of DIR is read again on each run (items are small), so a package added
//! later enters the extents and summaries, and a removed folder drops its link. Each index file
//! is built under a temporary name and renamed into place, and only when its content changes:
//! a reader never sees half a file, and an unchanged catalog keeps its date for HTTP caches.
//! Hidden entries (`.name`, e.g. a package being written) and plain files (zipped packages) are
//! not indexed. A package folder without a readable item, an asset outside its folder, or a
//! symbolic link anywhere in a package leading out of DIR is bad input (exit 3), and so are an
//! unreadable `MTD_ALL.xml` or quicklook named by an item: nothing is written.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::browse;
use super::is_safe_relative;
use super::stac::{item_name, to_text, EXT_EO, EXT_PROJ, STAC_VERSION};
use crate::error::{Result, VipError};
use crate::raster::Staged;

/// File names of the index in DIR.
pub const CATALOG: &str = "catalog.json";
pub const COLLECTION: &str = "collection.json";
/// Ids of the catalog and its collection.
pub const CATALOG_ID: &str = "vip";
pub const COLLECTION_ID: &str = "venus-vip";
const JSON: &str = "application/json";
const GEOJSON: &str = "application/geo+json";

/// How the collection is described.
#[derive(Debug, Clone)]
pub struct IndexOptions {
    /// SPDX id of the data licence, or `proprietary` / `various`.
    pub license: String,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            license: "proprietary".into(),
        }
    }
}

/// What the collection needs from one item.
#[derive(Debug, Clone)]
struct ItemInfo {
    id: String,
    bbox: [f64; 4],
    datetime: DateTime<Utc>,
    item: Value,
}

/// `path` made canonical, refused when it leads outside `root` (itself canonical).
fn inside(root: &Path, path: &Path, what: &Path) -> Result<PathBuf> {
    let real = std::fs::canonicalize(path).map_err(|e| VipError::input_io(path, &e))?;
    if real.starts_with(root) {
        Ok(real)
    } else {
        Err(VipError::bad_input(
            what,
            format!(
                "leads outside {} (to {}): refused",
                root.display(),
                real.display()
            ),
        ))
    }
}

/// Refuses every symbolic link in the tree of `dir` (at any depth, hidden entries included)
/// that resolves outside `root`: a server of the indexed folder would follow it. Linked
/// folders are not descended into (their link is checked).
fn links_inside(root: &Path, dir: &Path) -> Result<()> {
    for e in std::fs::read_dir(dir).map_err(|e| VipError::input_io(dir, &e))? {
        let e = e.map_err(|e| VipError::input_io(dir, &e))?;
        let path = e.path();
        let t = e.file_type().map_err(|e| VipError::input_io(&path, &e))?;
        if t.is_symlink() {
            inside(root, &path, &path)?;
        } else if t.is_dir() {
            links_inside(root, &path)?;
        }
    }
    Ok(())
}

/// Reads and checks the item of the package folder `pkg` (named `name`) of `root`.
fn read_item(root: &Path, pkg: &Path, name: &str) -> Result<ItemInfo> {
    let path = pkg.join(item_name(name));
    if std::fs::symlink_metadata(&path).is_err() {
        return Err(VipError::bad_input(
            pkg,
            format!(
                "not a package with a STAC item: no {} (package it with --stac)",
                item_name(name)
            ),
        ));
    }
    let real_pkg = inside(root, pkg, pkg)?;
    links_inside(root, &real_pkg)?;
    inside(&real_pkg, &path, &path)?;
    let bad = |m: String| VipError::bad_input(&path, m);
    let text = std::fs::read_to_string(&path).map_err(|e| VipError::input_io(&path, &e))?;
    let item: Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("not a JSON document: {e}")))?;
    if item["type"] != "Feature" {
        return Err(bad("not a STAC item (type is not Feature)".into()));
    }
    if item["id"] != name {
        return Err(bad(format!(
            "its id {} is not the name of its folder '{name}'",
            item["id"]
        )));
    }
    let bbox: Vec<f64> = item["bbox"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    let bbox: [f64; 4] = bbox
        .try_into()
        .map_err(|_| bad("bbox is not [west, south, east, north]".into()))?;
    let dt = item["properties"]["datetime"].as_str().unwrap_or_default();
    let datetime = DateTime::parse_from_rfc3339(dt)
        .map_err(|_| {
            bad(format!(
                "properties.datetime '{dt}' is not an RFC 3339 time"
            ))
        })?
        .with_timezone(&Utc);
    let assets = item["assets"]
        .as_object()
        .ok_or_else(|| bad("no assets".into()))?;
    for (key, a) in assets {
        let href = a["href"].as_str().unwrap_or_default();
        let rel = href.strip_prefix("./").unwrap_or(href);
        if !is_safe_relative(rel) {
            return Err(bad(format!(
                "asset '{key}': '{href}' is not a path inside the package"
            )));
        }
        let file = pkg.join(rel);
        if !file.is_file() {
            return Err(bad(format!("asset '{key}': {href} is missing")));
        }
        inside(&real_pkg, &file, &file)?;
    }
    Ok(ItemInfo {
        id: name.to_string(),
        bbox,
        datetime,
        item,
    })
}

/// The packages of `dir` (canonical `root`), sorted by name.
fn read_packages(dir: &Path, root: &Path) -> Result<Vec<ItemInfo>> {
    let mut names = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| VipError::input_io(dir, &e))? {
        let e = e.map_err(|e| VipError::input_io(dir, &e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = e.path();
        let t = e.file_type().map_err(|e| VipError::input_io(&path, &e))?;
        if t.is_symlink() {
            inside(root, &path, &path)?;
        }
        if path.is_dir() {
            names.push(name);
        } else if name != CATALOG && name != COLLECTION && name != browse::PAGE {
            log::info!("{}: not a package folder, not indexed", path.display());
        }
    }
    names.sort();
    names
        .iter()
        .map(|n| read_item(root, &dir.join(n), n))
        .collect()
}

fn strings(items: &[ItemInfo], f: impl Fn(&Value) -> Vec<Value>) -> Vec<Value> {
    let set: BTreeSet<String> = items
        .iter()
        .flat_map(|i| f(&i.item))
        .map(|v| v.to_string())
        .collect();
    set.iter()
        .filter_map(|s| serde_json::from_str(s).ok())
        .collect()
}

/// The collection over `items`.
fn collection(items: &[ItemInfo], opts: &IndexOptions) -> Value {
    let bbox = items
        .iter()
        .map(|i| i.bbox)
        .reduce(|a, b| {
            [
                a[0].min(b[0]),
                a[1].min(b[1]),
                a[2].max(b[2]),
                a[3].max(b[3]),
            ]
        })
        .unwrap_or([-180.0, -90.0, 180.0, 90.0]);
    let iso = |t: DateTime<Utc>| json!(t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
    let interval = match (
        items.iter().map(|i| i.datetime).min(),
        items.iter().map(|i| i.datetime).max(),
    ) {
        (Some(a), Some(b)) => json!([iso(a), iso(b)]),
        _ => json!([null, null]),
    };
    let prop = |k: &'static str| move |v: &Value| vec![v["properties"][k].clone()];
    let mut summaries = Map::new();
    for (key, values) in [
        ("platform", strings(items, prop("platform"))),
        (
            "instruments",
            strings(items, |v| {
                v["properties"]["instruments"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            }),
        ),
        ("gsd", strings(items, prop("gsd"))),
        ("proj:epsg", strings(items, prop("proj:epsg"))),
    ] {
        let values: Vec<Value> = values.into_iter().filter(|v| !v.is_null()).collect();
        if !values.is_empty() {
            summaries.insert(key.into(), json!(values));
        }
    }
    let clouds: Vec<f64> = items
        .iter()
        .filter_map(|i| i.item["properties"]["eo:cloud_cover"].as_f64())
        .collect();
    if !clouds.is_empty() {
        summaries.insert(
            "eo:cloud_cover".into(),
            json!({
                "minimum": clouds.iter().cloned().fold(f64::INFINITY, f64::min),
                "maximum": clouds.iter().cloned().fold(-f64::INFINITY, f64::max),
            }),
        );
    }
    // Spectral bands in the order of the first item that has each.
    let mut bands: Vec<Value> = Vec::new();
    for i in items {
        for a in i.item["assets"]
            .as_object()
            .into_iter()
            .flat_map(|m| m.values())
        {
            for b in a["eo:bands"].as_array().into_iter().flatten() {
                if !bands.iter().any(|x| x["name"] == b["name"]) {
                    bands.push(b.clone());
                }
            }
        }
    }
    if !bands.is_empty() {
        summaries.insert("eo:bands".into(), json!(bands));
    }
    let mut links = vec![
        json!({"rel": "root", "href": format!("./{CATALOG}"), "type": JSON}),
        json!({"rel": "parent", "href": format!("./{CATALOG}"), "type": JSON}),
    ];
    links.extend(items.iter().map(|i| {
        json!({
            "rel": "item",
            "href": format!("./{}/{}", i.id, item_name(&i.id)),
            "type": GEOJSON,
            "title": i.id,
        })
    }));
    json!({
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "stac_extensions": [EXT_EO, EXT_PROJ],
        "id": COLLECTION_ID,
        "title": "VENµS products",
        "description": "VENµS distribution packages (Theia/MUSCATE layout) made by VIP; one item per package.",
        "license": opts.license,
        "extent": {
            "spatial": { "bbox": [bbox] },
            "temporal": { "interval": [interval] },
        },
        "summaries": summaries,
        "links": links,
    })
}

/// The root catalog.
fn catalog() -> Value {
    json!({
        "type": "Catalog",
        "stac_version": STAC_VERSION,
        "id": CATALOG_ID,
        "title": "VIP distribution",
        "description": "VENµS products packaged by VIP.",
        "links": [
            {"rel": "root", "href": format!("./{CATALOG}"), "type": JSON},
            {"rel": "child", "href": format!("./{COLLECTION}"), "type": JSON, "title": "VENµS products"},
        ],
    })
}

/// Writes `text` to `dest` through a temporary file and a rename, unless `dest` already holds
/// exactly `text`; returns whether it wrote.
fn replace_if_changed(dest: &Path, text: &str) -> Result<bool> {
    if std::fs::read(dest).is_ok_and(|b| b == text.as_bytes()) {
        return Ok(false);
    }
    let staged = Staged::file(dest, true)?;
    std::fs::write(staged.path(), text).map_err(|e| VipError::output_io(dest, &e))?;
    staged.commit()?;
    Ok(true)
}

/// Indexes the package folders of `dir` (see the module documentation); returns the path of
/// the catalog.
pub fn index(dir: &Path, opts: &IndexOptions) -> Result<PathBuf> {
    crate::cli::require_exists(dir)?;
    if !dir.is_dir() {
        return Err(VipError::bad_input(dir, "not a folder of packages"));
    }
    let root = std::fs::canonicalize(dir).map_err(|e| VipError::input_io(dir, &e))?;
    let items = read_packages(dir, &root)?;
    // Everything read before anything is written: bad input leaves the index as it was.
    let entries = items
        .iter()
        .map(|i| browse::entry(dir, &i.id, &i.item, i.datetime))
        .collect::<Result<Vec<_>>>()?;
    // The collection first: the catalog never links to a collection not yet there; the page
    // (which links to the catalog and the items) last.
    let wrote_collection =
        replace_if_changed(&dir.join(COLLECTION), &to_text(&collection(&items, opts)))?;
    let wrote_catalog = replace_if_changed(&dir.join(CATALOG), &to_text(&catalog()))?;
    let wrote_page = replace_if_changed(&dir.join(browse::PAGE), &browse::page(&entries))?;
    log::info!(
        "{}: {} package(s); {} {} {}",
        dir.display(),
        items.len(),
        if wrote_collection {
            "collection updated"
        } else {
            "collection unchanged"
        },
        if wrote_catalog {
            "catalog written"
        } else {
            "catalog unchanged"
        },
        if wrote_page {
            "page written"
        } else {
            "page unchanged"
        }
    );
    Ok(dir.join(CATALOG))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: &str, bbox: [f64; 4], t: &str, cloud: f64) -> ItemInfo {
        ItemInfo {
            id: id.into(),
            bbox,
            datetime: DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc),
            item: json!({
                "properties": {"platform": "venus", "instruments": ["vssc"], "gsd": 5.0,
                               "proj:epsg": 32631, "eo:cloud_cover": cloud},
                "assets": {"B1": {"eo:bands": [{"name": "B1"}]}, "B2": {"eo:bands": [{"name": "B2"}]}},
            }),
        }
    }

    #[test]
    fn extents_and_summaries_cover_every_item() {
        let items = [
            info("A", [1.0, 43.0, 1.1, 43.1], "2024-03-15T10:30:00Z", 12.5),
            info(
                "B",
                [0.9, 43.05, 1.05, 43.2],
                "2024-01-02T10:30:00.250Z",
                3.0,
            ),
        ];
        let c = collection(&items, &IndexOptions::default());
        assert_eq!(
            c["extent"]["spatial"]["bbox"][0],
            json!([0.9, 43.0, 1.1, 43.2])
        );
        assert_eq!(
            c["extent"]["temporal"]["interval"][0],
            json!(["2024-01-02T10:30:00.250Z", "2024-03-15T10:30:00.000Z"])
        );
        assert_eq!(c["summaries"]["platform"], json!(["venus"]));
        assert_eq!(c["summaries"]["proj:epsg"], json!([32631]));
        assert_eq!(c["summaries"]["eo:cloud_cover"]["maximum"], 12.5);
        assert_eq!(c["summaries"]["eo:bands"].as_array().unwrap().len(), 2);
        let links: Vec<_> = c["links"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["rel"] == "item")
            .map(|l| l["href"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(links, ["./A/A_STAC.json", "./B/B_STAC.json"]);
    }
}
