//! vip-pack --stac and vip-pack index: the item and the catalog validate with stac-validator
//! against the official schemas, describe the package exactly (checksums, sizes, grid, WGS 84
//! footprint against gdalinfo, bands against the VENµS table), are served by a plain HTTP
//! server, follow the folder as packages come and go, and refuse bad folders.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use vip::mission::venus::BANDS;
use vip::pack::stac::{EXT_EO, EXT_PROJ, EXT_RASTER};
use vip::product::l1c::L1c;
use vip_testkit::{files, python_oracle, run, stac_validate, SimScene};

mod common;
use common::{pack, BIN};

fn scene(date: &str, seed: u64) -> (SimScene, PathBuf) {
    common::l1c_of(date, 48, 64, seed)
}

/// The numbers of a JSON array.
fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn item_of(pkg: &Path) -> (PathBuf, Value) {
    let id = pkg.file_name().unwrap().to_str().unwrap();
    let p = pkg.join(format!("{id}_STAC.json"));
    let v = read_json(&p);
    (p, v)
}

fn manifest(pkg: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(pkg.join("MANIFEST.sha256"))
        .unwrap()
        .lines()
        .map(|l| {
            let (h, p) = l.split_once("  ").unwrap();
            (p.to_string(), h.to_string())
        })
        .collect()
}

fn gdalinfo_json(p: &Path) -> Value {
    let out = std::process::Command::new("gdalinfo")
        .arg("-json")
        .arg(p)
        .output()
        .unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!((a - b).abs() <= tol, "{what}: {a} vs {b}");
}

#[test]
fn stac_item_validates_and_describes_the_package() {
    let (s, hdr) = scene("2024-03-15", 7);
    let native = L1c::open(&hdr).unwrap();
    let pkg = pack(&hdr, &s.scratch("DIST"), &["--stac", "--cog"]);
    let id = pkg.file_name().unwrap().to_str().unwrap().to_string();
    let (item_path, item) = item_of(&pkg);

    // stac-validator, offline, against the official core, eo, projection and raster schemas.
    let (ok, report) = stac_validate(&item, &common::UNCHECKED);
    assert!(ok, "{report:#}");
    // The masks' bits, by the classification extension's rules.
    assert_eq!(common::check_bitfields(&item), ["CLM", "EDG", "PIX", "SAT"]);
    let checked: Vec<&str> = report[0]["schema"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    // (Reported as the local copies of the official schemas they were mapped to.)
    for ext in [
        EXT_EO,
        EXT_PROJ,
        EXT_RASTER,
        "v1.0.0/item-spec/json-schema/item.json",
    ] {
        let local = ext.trim_start_matches("https://");
        assert!(
            checked.iter().any(|c| c.ends_with(local)),
            "{ext} not checked: {checked:?}"
        );
    }
    // The same validation rejects what the schemas forbid (it is not a no-op).
    type Breakage = (&'static str, fn(&mut Value));
    let breakages: [Breakage; 4] = [
        ("eo band centre as text", |v| {
            v["assets"]["B3"]["eo:bands"][0]["center_wavelength"] = json!("0.49")
        }),
        ("unknown raster data type", |v| {
            v["assets"]["SAT"]["raster:bands"][0]["data_type"] = json!("int17")
        }),
        ("EPSG code as text", |v| {
            v["properties"]["proj:epsg"] = json!("32631")
        }),
        ("no datetime", |v| {
            v["properties"].as_object_mut().unwrap().remove("datetime");
        }),
    ];
    for (what, f) in breakages {
        let mut bad = item.clone();
        f(&mut bad);
        assert!(!stac_validate(&bad, &common::UNCHECKED).0, "{what} passed");
    }

    // Every file of the package but the manifest and the item is an asset, with the manifest's
    // checksum as a SHA2-256 multihash and its size; the manifest lists the item.
    let m = manifest(&pkg);
    assert!(m.contains_key(&format!("{id}_STAC.json")));
    run(BIN, &["verify", pkg.to_str().unwrap()]).code(0);
    let assets = item["assets"].as_object().unwrap();
    let mut hrefs: Vec<String> = Vec::new();
    for (key, a) in assets {
        let rel = a["href"].as_str().unwrap().strip_prefix("./").unwrap();
        let sha = &m[rel];
        assert_eq!(a["file:checksum"], format!("1220{sha}"), "{key}");
        let size = std::fs::metadata(pkg.join(rel)).unwrap().len();
        assert_eq!(a["file:size"], size, "{key}");
        hrefs.push(rel.to_string());
    }
    hrefs.sort();
    let mut want: Vec<String> = files(&pkg)
        .iter()
        .map(|p| p.strip_prefix(&pkg).unwrap().to_str().unwrap().to_string())
        .filter(|p| p != "MANIFEST.sha256" && *p != format!("{id}_STAC.json"))
        .collect();
    want.sort();
    assert_eq!(hrefs, want);
    assert_eq!(assets.len(), 12 + 4 + 1 + 2); // bands, masks, cloud altitude, quicklook and metadata

    // Bands: the VENµS table in micrometres, the native scale and nodata, COG media type.
    for (i, b) in BANDS.iter().enumerate() {
        let a = &assets[&format!("B{}", i + 1)];
        let eo = &a["eo:bands"][0];
        close(
            eo["center_wavelength"].as_f64().unwrap(),
            b.centre_nm / 1e3,
            1e-9,
            b.code,
        );
        close(
            eo["full_width_half_max"].as_f64().unwrap(),
            b.width_nm / 1e3,
            1e-9,
            b.code,
        );
        assert!(eo["common_name"].is_string(), "{}", b.code);
        let rb = &a["raster:bands"][0];
        assert_eq!(rb["data_type"], "int16");
        assert_eq!(rb["nodata"], f64::from(native.site.nodata));
        close(
            rb["scale"].as_f64().unwrap(),
            native.site.quantification,
            1e-12,
            "scale",
        );
        assert!(a["type"].as_str().unwrap().contains("cloud-optimized"));
        assert!(a["roles"].as_array().unwrap().contains(&json!("data")));
    }
    assert_eq!(assets["CLM"]["raster:bands"][0]["data_type"], "uint8");
    assert_eq!(assets["thumbnail"]["type"], "image/jpeg");
    assert_eq!(assets["metadata"]["type"], "application/xml");

    // Grid and footprint against gdalinfo (its own PROJ transformation of the corners).
    let props = &item["properties"];
    assert_eq!(props["datetime"], "2024-03-15T10:30:00.000Z");
    assert_eq!(props["proj:epsg"], native.site.epsg);
    assert_eq!(
        props["proj:shape"],
        json!([native.site.lines, native.site.cols])
    );
    let info = gdalinfo_json(&pkg.join(format!("{id}_SRE_B1.tif")));
    let gt = numbers(&info["geoTransform"]);
    let tr = numbers(&props["proj:transform"]);
    assert_eq!(tr, vec![gt[1], gt[2], gt[0], gt[4], gt[5], gt[3]]);
    assert_eq!(
        props["proj:shape"],
        json!([info["size"][1], info["size"][0]])
    );
    let ring = item["geometry"]["coordinates"][0].as_array().unwrap();
    let gdal_ring = info["wgs84Extent"]["coordinates"][0].as_array().unwrap();
    assert_eq!(ring.len(), 5);
    for (p, q) in ring.iter().zip(gdal_ring) {
        close(p[0].as_f64().unwrap(), q[0].as_f64().unwrap(), 1e-7, "lon");
        close(p[1].as_f64().unwrap(), q[1].as_f64().unwrap(), 1e-7, "lat");
    }
    let bbox = numbers(&item["bbox"]);
    for p in ring {
        let (lon, lat) = (p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
        assert!(lon >= bbox[0] && lon <= bbox[2] && lat >= bbox[1] && lat <= bbox[3]);
    }
    assert!(item_path.is_file());
}

/// Crawls the catalog served by Python's http.server on the loopback, from catalog.json to
/// every item and every asset (following relative hrefs), checking each asset's bytes against
/// its file:checksum; prints one line per item id.
const CRAWL: &str = r#"
import functools, hashlib, http.server, json, sys, threading, urllib.parse, urllib.request
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
handler.log_message = lambda *a: None
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
threading.Thread(target=srv.serve_forever, daemon=True).start()
get = lambda u: urllib.request.urlopen(u, timeout=10).read()
root = f"http://127.0.0.1:{srv.server_address[1]}/catalog.json"
cat = json.loads(get(root))
child = [l for l in cat["links"] if l["rel"] == "child"][0]
curl = urllib.parse.urljoin(root, child["href"])
col = json.loads(get(curl))
for l in col["links"]:
    if l["rel"] != "item":
        continue
    iurl = urllib.parse.urljoin(curl, l["href"])
    item = json.loads(get(iurl))
    for k, a in item["assets"].items():
        data = get(urllib.parse.urljoin(iurl, a["href"]))
        assert "1220" + hashlib.sha256(data).hexdigest() == a["file:checksum"], k
        assert len(data) == a["file:size"], k
    print(item["id"])
srv.shutdown()
"#;

fn item_links(dist: &Path) -> Vec<String> {
    read_json(&dist.join("collection.json"))["links"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["rel"] == "item")
        .map(|l| l["href"].as_str().unwrap().to_string())
        .collect()
}

fn index(dist: &Path) {
    run(BIN, &["index", dist.to_str().unwrap()])
        .code(0)
        .stdout_has("catalog.json");
}

#[test]
fn index_follows_the_folder_and_serves_over_http() {
    let scenes: Vec<_> = [("2024-03-15", 1), ("2024-04-02", 2), ("2024-05-20", 3)]
        .iter()
        .map(|(d, seed)| scene(d, *seed))
        .collect();
    let dist = scenes[0].0.scratch("DIST");
    let p1 = pack(&scenes[0].1, &dist, &["--stac"]);
    let p2 = pack(&scenes[1].1, &dist, &["--stac", "--cog"]);
    index(&dist);
    let id = |p: &Path| p.file_name().unwrap().to_str().unwrap().to_string();
    let href = |p: &Path| format!("./{}/{}_STAC.json", id(p), id(p));
    assert_eq!(item_links(&dist), vec![href(&p1), href(&p2)]);

    let catalog = read_json(&dist.join("catalog.json"));
    let collection = read_json(&dist.join("collection.json"));
    for doc in [&catalog, &collection] {
        let (ok, report) = stac_validate(doc, &[]);
        assert!(ok, "{report:#}");
    }
    let interval = &collection["extent"]["temporal"]["interval"][0];
    assert_eq!(
        interval,
        &json!(["2024-03-15T10:30:00.000Z", "2024-04-02T10:30:00.000Z"])
    );
    let union = |items: &[&Path]| {
        let mut b = [f64::INFINITY, f64::INFINITY, -f64::INFINITY, -f64::INFINITY];
        for p in items {
            let bb = &item_of(p).1["bbox"];
            for k in 0..4 {
                let v = bb[k].as_f64().unwrap();
                b[k] = if k < 2 { b[k].min(v) } else { b[k].max(v) };
            }
        }
        json!([b])
    };
    assert_eq!(collection["extent"]["spatial"]["bbox"], union(&[&p1, &p2]));
    assert_eq!(collection["summaries"]["platform"], json!(["venus"]));
    assert_eq!(
        collection["summaries"]["eo:bands"]
            .as_array()
            .unwrap()
            .len(),
        12
    );

    // A third package: the collection follows, the items and the catalog are not rewritten.
    let stamp = |p: &Path| {
        let m = std::fs::metadata(p).unwrap();
        (
            std::fs::read(p).unwrap(),
            m.modified().unwrap(),
            m.ino_like(),
        )
    };
    let before: Vec<_> = [item_of(&p1).0, item_of(&p2).0, dist.join("catalog.json")]
        .iter()
        .map(|p| stamp(p))
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let p3 = pack(&scenes[2].1, &dist, &["--stac"]);
    index(&dist);
    assert_eq!(item_links(&dist), vec![href(&p1), href(&p2), href(&p3)]);
    let after: Vec<_> = [item_of(&p1).0, item_of(&p2).0, dist.join("catalog.json")]
        .iter()
        .map(|p| stamp(p))
        .collect();
    assert_eq!(before, after);
    let collection = read_json(&dist.join("collection.json"));
    assert_eq!(
        collection["extent"]["temporal"]["interval"][0][1],
        "2024-05-20T10:30:00.000Z"
    );
    assert_eq!(
        collection["extent"]["spatial"]["bbox"],
        union(&[&p1, &p2, &p3])
    );
    assert!(stac_validate(&collection, &[]).0);

    // Served by a plain HTTP server, every link and asset resolves and matches its checksum.
    let crawled = python_oracle(CRAWL, &[dist.to_str().unwrap()]);
    assert_eq!(
        crawled.lines().collect::<Vec<_>>(),
        vec![id(&p1), id(&p2), id(&p3)]
    );

    // Removing a package folder drops its link and shrinks the extent.
    std::fs::remove_dir_all(&p2).unwrap();
    index(&dist);
    assert_eq!(item_links(&dist), vec![href(&p1), href(&p3)]);
    let collection = read_json(&dist.join("collection.json"));
    assert_eq!(
        collection["extent"]["temporal"]["interval"][0],
        json!(["2024-03-15T10:30:00.000Z", "2024-05-20T10:30:00.000Z"])
    );
    // Nothing staged is left behind.
    let names: Vec<String> = std::fs::read_dir(&dist)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
}

trait InoLike {
    fn ino_like(&self) -> u64;
}

impl InoLike for std::fs::Metadata {
    fn ino_like(&self) -> u64 {
        std::os::unix::fs::MetadataExt::ino(self)
    }
}

#[test]
fn index_refuses_broken_packages_and_links_out_of_the_folder() {
    let (s, hdr) = scene("2024-03-15", 5);
    let dist = s.scratch("DIST");
    let pkg = pack(&hdr, &dist, &["--stac"]);
    index(&dist);
    let kept: Vec<Vec<u8>> = ["catalog.json", "collection.json"]
        .iter()
        .map(|f| std::fs::read(dist.join(f)).unwrap())
        .collect();
    let unchanged = || {
        for (f, k) in ["catalog.json", "collection.json"].iter().zip(&kept) {
            assert_eq!(&std::fs::read(dist.join(f)).unwrap(), k, "{f} changed");
        }
    };
    let d = dist.to_str().unwrap();
    let (item_path, item) = item_of(&pkg);
    let text = std::fs::read_to_string(&item_path).unwrap();

    // A truncated item.
    std::fs::write(&item_path, &text[..text.len() / 2]).unwrap();
    run(BIN, &["index", d])
        .code(3)
        .one_error_line(&format!("{}: not a JSON document", item_path.display()));
    unchanged();
    // An asset href leading out of the package.
    let mut evil = item.clone();
    evil["assets"]["B1"]["href"] = json!("../../outside.tif");
    std::fs::write(&item_path, evil.to_string()).unwrap();
    run(BIN, &["index", d])
        .code(3)
        .one_error_line("is not a path inside the package");
    unchanged();
    // An asset that is a symbolic link to a file outside the folder.
    std::fs::write(&item_path, &text).unwrap();
    let outside = s.scratch("OUTSIDE");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.tif"), b"secret").unwrap();
    let b1 = pkg.join(item["assets"]["B1"]["href"].as_str().unwrap());
    let b1_bytes = std::fs::read(&b1).unwrap();
    std::fs::remove_file(&b1).unwrap();
    std::os::unix::fs::symlink(outside.join("secret.tif"), &b1).unwrap();
    run(BIN, &["index", d])
        .code(3)
        .one_error_line("leads outside");
    unchanged();
    std::fs::remove_file(&b1).unwrap();
    std::fs::write(&b1, b1_bytes).unwrap();
    // A package folder that is a symbolic link out of DIST.
    std::os::unix::fs::symlink(&outside, dist.join("ELSEWHERE")).unwrap();
    run(BIN, &["index", d])
        .code(3)
        .one_error_line("leads outside");
    unchanged();
    std::fs::remove_file(dist.join("ELSEWHERE")).unwrap();
    // A link nested in a package, named by no asset, that a server of DIST would follow out.
    let nested = pkg.join("MASKS").join(".cache").join("more");
    std::fs::create_dir_all(nested.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&outside, &nested).unwrap();
    let target = std::fs::canonicalize(&outside).unwrap();
    run(BIN, &["index", d])
        .code(3)
        .one_error_line(&format!("{}: leads outside", nested.display()))
        .one_error_line(&format!("(to {})", target.display()));
    unchanged();
    std::fs::remove_dir_all(nested.parent().unwrap()).unwrap();
    // A nested link that stays inside DIST is fine.
    std::os::unix::fs::symlink(&b1, pkg.join("MASKS").join("B1.tif")).unwrap();
    index(&dist);
    unchanged();
    std::fs::remove_file(pkg.join("MASKS").join("B1.tif")).unwrap();
    // A package folder without an item (packaged without --stac).
    let plain = s.scratch("PLAIN");
    let p = pack(&hdr, &plain, &[]);
    std::fs::rename(&p, dist.join("NOSTAC")).unwrap();
    run(BIN, &["index", d])
        .code(3)
        .one_error_line("NOSTAC: not a package with a STAC item");
    unchanged();
    std::fs::remove_dir_all(dist.join("NOSTAC")).unwrap();
    // A folder that is not there, and a file instead of a folder.
    run(BIN, &["index", s.scratch("NOPE").to_str().unwrap()]).code(3);
    run(BIN, &["index", item_path.to_str().unwrap()]).code(3);
    // Nothing was written outside DIST, and once repaired the folder indexes again.
    assert_eq!(files(&outside), vec![outside.join("secret.tif")]);
    index(&dist);
    unchanged();
}
