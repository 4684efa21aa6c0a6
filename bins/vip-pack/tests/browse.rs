//! vip-pack index writes DIR/index.html: the packages by site then date with their quicklooks,
//! levels and cloud and snow percentages, and links to their folders, zips and STAC items.
//! Checked on real packages (L1C and L2A of two sites) with Python's HTML parser and XML reader
//! as oracles, and in headless Chromium: every image loads, every link resolves inside DIR.

use std::path::{Path, PathBuf};

use serde_json::Value;
use vip::sim::clouds::{CloudSpec, Kind, Layer};
use vip_testkit::chromium::loaded_images;
use vip_testkit::{python_oracle, run, SimScene};

mod common;
use common::{pack, BIN};

/// Reads an HTML page with Python's html.parser (argv[1]) and `*_MTD_ALL.xml` files with
/// xml.etree (the other arguments); prints JSON: the page's tags, every href and src, its text,
/// its site sections with their product rows (cells by class, links, images, time), and per
/// metadata file the site, level and the CloudPercent and SnowPercent indexes.
const ORACLE: &str = r#"
import html.parser, json, sys, xml.etree.ElementTree as ET

class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.refs, self.text, self.sections = [], [], [], []
        self.h2 = self.row = self.cell = None
        self.in_style = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        self.refs += [a[k] for k in ("href", "src") if k in a]
        if tag == "style":
            self.in_style = True
        if tag == "h2":
            self.h2 = ""
        elif tag == "tr" and "product" in (a.get("class") or "").split():
            self.row = {"id": a["data-id"], "cells": {}, "links": [], "imgs": []}
            self.sections[-1]["rows"].append(self.row)
        elif self.row is not None and tag == "td":
            self.cell = a["class"].split()[0]
            self.row["cells"][self.cell] = ""
        elif self.row is not None and tag == "a":
            self.row["links"].append({"class": a.get("class"), "href": a["href"]})
        elif self.row is not None and tag == "img":
            self.row["imgs"].append(a)
        elif self.row is not None and tag == "time":
            self.row["time"] = a["datetime"]

    def handle_endtag(self, tag):
        if tag == "style":
            self.in_style = False
        if tag == "h2":
            self.sections.append({"site": self.h2, "rows": []})
            self.h2 = None
        elif tag == "td":
            self.cell = None
        elif tag == "tr":
            self.row = None

    def handle_data(self, d):
        if self.in_style:
            return
        self.text.append(d)
        if self.h2 is not None:
            self.h2 += d
        elif self.cell is not None:
            self.row["cells"][self.cell] += d

p = Page()
with open(sys.argv[1], encoding="utf-8") as f:
    p.feed(f.read())
p.close()

def mtd(path):
    root = ET.parse(path).getroot()
    q = {e.get("name"): e.text.strip() for e in root.iter("QUALITY_INDEX")}
    return {
        "site": root.find(".//GEOGRAPHICAL_ZONE").text.strip(),
        "level": root.find(".//PRODUCT_LEVEL").text.strip(),
        "cloud": q.get("CloudPercent"),
        "snow": q.get("SnowPercent"),
    }

print(json.dumps({
    "tags": p.tags,
    "refs": p.refs,
    "text": " ".join(" ".join(p.text).split()),
    "sections": p.sections,
    "mtd": {m: mtd(m) for m in sys.argv[2:]},
}))
"#;

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn id_of(pkg: &Path) -> String {
    pkg.file_name().unwrap().to_str().unwrap().to_string()
}

fn item_of(dist: &Path, id: &str) -> Value {
    read_json(&dist.join(id).join(format!("{id}_STAC.json")))
}

/// The file an asset of the item of package `id` names.
fn asset(dist: &Path, id: &str, key: &str) -> PathBuf {
    let item = item_of(dist, id);
    let href = item["assets"][key]["href"].as_str().unwrap();
    dist.join(id).join(href.strip_prefix("./").unwrap())
}

/// The page parsed by the oracle, with the metadata of the packages `ids`.
fn parse(dist: &Path, ids: &[String]) -> Value {
    let page = dist.join("index.html");
    let mut args = vec![page.display().to_string()];
    args.extend(
        ids.iter()
            .map(|id| asset(dist, id, "metadata").display().to_string()),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    serde_json::from_str(&python_oracle(ORACLE, &args)).unwrap()
}

/// `s` with its `%XX` escapes decoded.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// The file or folder of DIST a relative href of its page names; it must exist and lie
/// inside DIST.
fn resolve(dist: &Path, href: &str) -> PathBuf {
    assert!(href.starts_with("./"), "{href} is not relative to the page");
    assert!(
        !href.contains("..") && !href.contains("//") && !href.contains(':'),
        "{href}"
    );
    let path = dist.join(percent_decode(&href[2..]));
    let real = std::fs::canonicalize(&path)
        .unwrap_or_else(|e| panic!("{href} -> {}: {e}", path.display()));
    assert!(
        real.starts_with(std::fs::canonicalize(dist).unwrap()),
        "{href} leads out of the folder"
    );
    if href.ends_with('/') {
        assert!(real.is_dir(), "{href} is not a folder");
    } else {
        assert!(real.is_file(), "{href} is not a file");
    }
    real
}

/// Width and height of an image, by gdalinfo.
fn image_size(p: &Path) -> (u64, u64) {
    let out = std::process::Command::new("gdalinfo")
        .arg("-json")
        .arg(p)
        .output()
        .unwrap();
    assert!(out.status.success(), "gdalinfo {}", p.display());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        v["size"][0].as_u64().unwrap(),
        v["size"][1].as_u64().unwrap(),
    )
}

fn index(dist: &Path) {
    run(BIN, &["index", dist.to_str().unwrap()])
        .code(0)
        .stdout_has("catalog.json");
}

/// Every image of the page loads in Chromium, at the size of its file; returns the srcs.
fn assert_images_load(dist: &Path) -> Vec<String> {
    loaded_images(&dist.join("index.html"))
        .into_iter()
        .map(|i| {
            let file = resolve(dist, &i.src);
            assert!(i.width > 0 && i.height > 0, "{} did not load", i.src);
            let (w, h) = image_size(&file);
            assert_eq!(
                (u64::from(i.width), u64::from(i.height)),
                (w, h),
                "{}",
                i.src
            );
            i.src
        })
        .collect()
}

/// A percentage cell equals the metadata's index, or says n/a where the metadata has none.
fn same_percentage(cell: &Value, mtd: &Value, what: &str) {
    let cell = cell.as_str().unwrap();
    match mtd.as_str() {
        Some(m) => assert_eq!(
            cell.parse::<f64>().unwrap(),
            m.parse::<f64>().unwrap(),
            "{what}"
        ),
        None => assert_eq!(cell, "n/a", "{what}"),
    }
}

/// Cumulus over a snowy mountain site in January (vip-sim), and its L1C.
fn cloudy_snowy_l1c() -> (SimScene, PathBuf) {
    let mut spec =
        vip::sim::SceneSpec::new("SIMULSIT", "2024-01-20", "10:30:00", 96, 96, 7, 1500.0).unwrap();
    spec.clouds = Some(CloudSpec {
        seed: 18,
        layers: vec![Layer {
            kind: Kind::Cumulus,
            height_m: 1200.0,
            cover: 0.3,
            tau: (4.0, 30.0),
        }],
    });
    let s = SimScene::of(spec);
    let l1c = s.l1c();
    (s, l1c)
}

#[test]
fn browse_page_lists_packages_by_site_then_date_with_their_metadata_and_links() {
    // SIMULSIT: an L1C and an L2A of a cloudy, snowy mountain on 2024-01-20, a clear L1C on
    // 2023-12-05 (also zipped); OTHERSIT: an L1C on 2024-05-20, and a copy of its package under
    // a name that needs escaping. By name, SIMULSIT's packages come first; by site, OTHERSIT's.
    let (snowy, snowy_l1c) = cloudy_snowy_l1c();
    let snowy_l2a = common::l2a_of(&snowy, &snowy_l1c);
    let (december, december_l1c) = common::l1c_of("2023-12-05", 48, 64, 2);
    let other = SimScene::new("OTHERSIT", "2024-05-20", 48, 64, 3, 600.0);
    let other_l1c = other.l1c();
    let dist = snowy.scratch("DIST");
    let p_l1c = pack(&snowy_l1c, &dist, &["--stac"]);
    let p_l2a = pack(&snowy_l2a, &dist, &["--stac", "--cog"]);
    let p_dec = pack(&december_l1c, &dist, &["--stac"]);
    let zipped = pack(
        &december_l1c,
        &december.scratch("ZIP"),
        &["--stac", "--zip"],
    );
    std::fs::rename(&zipped, dist.join(format!("{}.zip", id_of(&p_dec)))).unwrap();
    let p_other = pack(&other_l1c, &dist, &["--stac"]);
    let odd = "odd <&> \"name\" #1 %41";
    let copy = std::process::Command::new("cp")
        .arg("-r")
        .arg(&p_other)
        .arg(dist.join(odd))
        .status()
        .unwrap();
    assert!(copy.success());
    let mut item = item_of(&dist, &id_of(&p_other));
    item["id"] = odd.into();
    std::fs::remove_file(
        dist.join(odd)
            .join(format!("{}_STAC.json", id_of(&p_other))),
    )
    .unwrap();
    std::fs::write(
        dist.join(odd).join(format!("{odd}_STAC.json")),
        item.to_string(),
    )
    .unwrap();

    index(&dist);
    let page = dist.join("index.html");
    let bytes = std::fs::read(&page).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    // Static: no script, no outside style sheet, font or frame, nothing fetched from a network.
    for banned in [
        "<script", "<link", "<iframe", "<object", "@import", "url(", "http:", "https:",
    ] {
        assert!(!text.contains(banned), "the page holds {banned}");
    }

    let ids = [&p_l1c, &p_l2a, &p_dec, &p_other]
        .map(|p| id_of(p))
        .into_iter()
        .chain([odd.to_string()])
        .collect::<Vec<_>>();
    let parsed = parse(&dist, &ids);

    // By site, then date (then level, then id).
    let sites: Vec<&str> = parsed["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["site"].as_str().unwrap())
        .collect();
    assert_eq!(sites, ["OTHERSIT", "SIMULSIT"]);
    let rows: Vec<&Value> = parsed["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["rows"].as_array().unwrap())
        .collect();
    let order: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        order,
        [
            id_of(&p_other).as_str(),
            odd,
            &id_of(&p_dec),
            &id_of(&p_l1c),
            &id_of(&p_l2a)
        ]
    );
    let keys: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| {
            let c = |k: &str| r["cells"][k].as_str().unwrap().to_string();
            (
                c("site"),
                r["time"].as_str().unwrap().to_string(),
                c("level"),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);

    // Each row says what the package's metadata and item record.
    let mut snow_shown = 0;
    for (section, r) in parsed["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["rows"].as_array().unwrap().iter().map(move |r| (s, r)))
    {
        let id = r["id"].as_str().unwrap();
        let mtd = &parsed["mtd"][asset(&dist, id, "metadata").display().to_string()];
        let item = item_of(&dist, id);
        let cells = &r["cells"];
        assert_eq!(cells["site"], mtd["site"], "{id}");
        assert_eq!(section["site"], mtd["site"], "{id}");
        assert_eq!(cells["level"], mtd["level"], "{id}");
        assert_eq!(r["time"], item["properties"]["datetime"], "{id}");
        assert!(
            cells["datetime"]
                .as_str()
                .unwrap()
                .starts_with(&item["properties"]["datetime"].as_str().unwrap()[..10]),
            "{id}"
        );
        same_percentage(&cells["cloud"], &mtd["cloud"], id);
        same_percentage(&cells["snow"], &mtd["snow"], id);
        if mtd["level"] == "L2A" {
            // Both measured, and told apart (the L2 flags the snowy slopes as cloud).
            let pct = |v: &Value| v.as_str().unwrap().parse::<f64>().unwrap();
            let (cloud, snow) = (pct(&mtd["cloud"]), pct(&mtd["snow"]));
            assert!(cloud > 0.0 && cloud != snow, "cloud {cloud} snow {snow}");
            snow_shown += 1;
        } else {
            assert!(mtd["snow"].is_null(), "an L1C records no snow");
            assert_eq!(cells["snow"], "n/a", "{id}");
        }
        assert!(mtd["cloud"].is_string(), "{id}: cloud recorded");
        assert_eq!(
            cells["cloud"].as_str().unwrap().parse::<f64>().unwrap(),
            item["properties"]["eo:cloud_cover"].as_f64().unwrap(),
            "{id}: item and metadata agree"
        );

        // The quicklook, at its size, with alt text naming the package.
        let imgs = r["imgs"].as_array().unwrap();
        assert_eq!(imgs.len(), 1, "{id}");
        let img = &imgs[0];
        let ql = resolve(&dist, img["src"].as_str().unwrap());
        assert_eq!(
            ql,
            std::fs::canonicalize(asset(&dist, id, "thumbnail")).unwrap()
        );
        let (w, h) = image_size(&ql);
        assert_eq!(
            (
                img["width"].as_str().unwrap(),
                img["height"].as_str().unwrap()
            ),
            (w.to_string().as_str(), h.to_string().as_str()),
            "{id}: a quicklook under 256 px is shown at its size"
        );
        assert!(img["alt"].as_str().unwrap().contains(id), "{id}");

        // Links: the folder, the zip when there is one, the item.
        let link = |class: &str| -> Option<PathBuf> {
            r["links"]
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["class"] == class)
                .map(|l| resolve(&dist, l["href"].as_str().unwrap()))
        };
        let real = |p: PathBuf| std::fs::canonicalize(p).unwrap();
        assert_eq!(link("folder"), Some(real(dist.join(id))), "{id}");
        assert_eq!(
            link("stac"),
            Some(real(dist.join(id).join(format!("{id}_STAC.json")))),
            "{id}"
        );
        if id == id_of(&p_dec) {
            assert_eq!(link("zip"), Some(real(dist.join(format!("{id}.zip")))));
        } else {
            assert_eq!(link("zip"), None, "{id}");
        }
    }
    assert_eq!(snow_shown, 1);
    // Every href and src of the page, these and the rest, resolves inside DIST.
    let refs = parsed["refs"].as_array().unwrap();
    assert!(refs.len() > 5 * 4);
    for r in refs {
        resolve(&dist, r.as_str().unwrap());
    }
    assert!(parsed["text"]
        .as_str()
        .unwrap()
        .contains("5 packages of 2 sites"));

    // In Chromium every quicklook loads, the oddly named one included.
    let srcs = assert_images_load(&dist);
    let want: Vec<&str> = rows
        .iter()
        .map(|r| r["imgs"][0]["src"].as_str().unwrap())
        .collect();
    assert_eq!(srcs, want);
    // (The probe sees an image that does not load.)
    let broken = dist.join(".broken.html");
    std::fs::write(&broken, text.replacen(want[0], "./missing.jpg", 1)).unwrap();
    let imgs = loaded_images(&broken);
    std::fs::remove_file(&broken).unwrap();
    assert_eq!((imgs[0].width, imgs[0].height), (0, 0));
    assert!(imgs[1..].iter().all(|i| i.width > 0));

    // Same folder, same bytes: run again (not rewritten), and written afresh.
    let modified = std::fs::metadata(&page).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    index(&dist);
    assert_eq!(std::fs::read(&page).unwrap(), bytes);
    assert_eq!(
        std::fs::metadata(&page).unwrap().modified().unwrap(),
        modified
    );
    std::fs::remove_file(&page).unwrap();
    index(&dist);
    assert_eq!(std::fs::read(&page).unwrap(), bytes);

    // A removed package leaves the page; nothing staged is left behind.
    std::fs::remove_dir_all(dist.join(odd)).unwrap();
    index(&dist);
    let parsed = parse(&dist, &[]);
    let n: usize = parsed["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["rows"].as_array().unwrap().len())
        .sum();
    assert_eq!(n, 4);
    assert!(!std::fs::read_to_string(&page).unwrap().contains("odd"));
    let hidden: Vec<String> = std::fs::read_dir(&dist)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");
}

#[test]
fn an_empty_folder_gets_a_page_that_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let dist = tmp.path().join("DIST");
    std::fs::create_dir(&dist).unwrap();
    index(&dist);
    let parsed = parse(&dist, &[]);
    assert!(parsed["sections"].as_array().unwrap().is_empty());
    assert!(
        parsed["text"]
            .as_str()
            .unwrap()
            .contains("No packages in this folder."),
        "{}",
        parsed["text"]
    );
    for r in parsed["refs"].as_array().unwrap() {
        resolve(&dist, r.as_str().unwrap());
    }
    assert!(assert_images_load(&dist).is_empty());
}

#[test]
fn refused_folders_leave_the_page_and_unrecorded_values_are_na() {
    let (s, hdr) = common::l1c_of("2024-03-15", 48, 64, 5);
    let dist = s.scratch("DIST");
    let pkg = pack(&hdr, &dist, &["--stac"]);
    let id = id_of(&pkg);
    index(&dist);
    let page = dist.join("index.html");
    let kept = std::fs::read(&page).unwrap();
    let d = dist.to_str().unwrap();
    for key in ["thumbnail", "metadata"] {
        let file = asset(&dist, &id, key);
        let good = std::fs::read(&file).unwrap();
        std::fs::write(&file, b"not what it should be").unwrap();
        run(BIN, &["index", d])
            .code(3)
            .one_error_line(&file.display().to_string());
        assert_eq!(std::fs::read(&page).unwrap(), kept, "{key}");
        std::fs::write(&file, good).unwrap();
    }
    // As before the page, a symbolic link out of the folder is refused; the page is kept.
    let outside = s.scratch("OUTSIDE");
    std::fs::create_dir_all(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, dist.join("ELSEWHERE")).unwrap();
    run(BIN, &["index", d])
        .code(3)
        .one_error_line("leads outside");
    assert_eq!(std::fs::read(&page).unwrap(), kept);
    std::fs::remove_file(dist.join("ELSEWHERE")).unwrap();
    index(&dist);
    assert_eq!(std::fs::read(&page).unwrap(), kept);

    // A cloud cover the metadata does not record is the item's; recorded nowhere, it is n/a.
    let cloud = || {
        let parsed = parse(&dist, &[]);
        parsed["sections"][0]["rows"][0]["cells"]["cloud"].clone()
    };
    let mtd = asset(&dist, &id, "metadata");
    let xml = std::fs::read_to_string(&mtd).unwrap();
    let line = xml
        .lines()
        .find(|l| l.contains("name=\"CloudPercent\""))
        .unwrap();
    std::fs::write(&mtd, xml.replacen(line, "", 1)).unwrap();
    let item_path = dist.join(&id).join(format!("{id}_STAC.json"));
    let mut item = item_of(&dist, &id);
    item["properties"]["eo:cloud_cover"] = 12.5.into();
    std::fs::write(&item_path, item.to_string()).unwrap();
    index(&dist);
    assert_eq!(cloud(), "12.5");
    item["properties"]
        .as_object_mut()
        .unwrap()
        .remove("eo:cloud_cover");
    std::fs::write(&item_path, item.to_string()).unwrap();
    index(&dist);
    assert_eq!(cloud(), "n/a");
}
