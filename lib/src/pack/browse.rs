//! `DIR/index.html`, the browse page `vip-pack index DIR` writes beside the STAC catalog: one
//! static page that a person opens in a browser (served, or straight from the disk) to see
//! which products the folder holds.
//!
//! The products are grouped by site (sections in site order) and listed by acquisition time
//! within a site (then level, then id). Each row shows the package's quicklook (`<img>` with its
//! size and alt text), the site, the acquisition date and time (UTC), the level, the cloud and
//! snow percentages, and links to the package folder, to `<ID>.zip` when such a file lies
//! beside the folder, and to the STAC item. Site, level and the percentages are what the
//! package's `MTD_ALL.xml` records (`GEOGRAPHICAL_ZONE`, `PRODUCT_LEVEL`, the `CloudPercent` and
//! `SnowPercent` quality indexes, shown as written); the cloud percentage falls back on the
//! item's `eo:cloud_cover`; a value recorded nowhere is shown `n/a`. A folder without packages
//! gives a page that says so.
//!
//! The page has no script and fetches nothing from the network: the style is inline and every
//! href is relative to DIR, each path segment percent-encoded; every text taken from the
//! packages is HTML-escaped. It holds no time but the products', so the same folder gives the
//! same bytes.

use std::io::Read;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::stac::item_name;
use crate::ee::muscate::MtdAll;
use crate::error::{Result, VipError};

/// File name of the page in DIR.
pub const PAGE: &str = "index.html";
/// Largest side of a quicklook on the page, CSS pixels.
pub const THUMB_PX: u32 = 256;
/// Bytes of a quicklook read to find its frame header.
const JPEG_HEAD_BYTES: u64 = 1 << 20;
/// What a value recorded nowhere is shown as.
pub const NOT_AVAILABLE: &str = "n/a";

/// The quicklook of a package: its path in the package folder and its size in pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quicklook {
    pub rel: String,
    pub width: u32,
    pub height: u32,
}

/// One package as the page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Package id (the folder name).
    pub id: String,
    pub site: Option<String>,
    pub level: Option<String>,
    pub datetime: DateTime<Utc>,
    /// Percentages as recorded (text).
    pub cloud: Option<String>,
    pub snow: Option<String>,
    pub quicklook: Option<Quicklook>,
    /// `<ID>.zip` lies beside the folder.
    pub zip: bool,
}

/// The package-relative path of the asset of `item` with key or role `name`.
fn asset_rel(item: &Value, name: &str) -> Option<String> {
    let assets = item["assets"].as_object()?;
    let a = assets.get(name).or_else(|| {
        assets.values().find(|a| {
            a["roles"]
                .as_array()
                .is_some_and(|r| r.iter().any(|x| x == name))
        })
    })?;
    let href = a["href"].as_str()?;
    Some(href.strip_prefix("./").unwrap_or(href).to_string())
}

/// A percentage as recorded, when it is a finite number.
fn number_text(text: &str) -> Option<String> {
    let t = text.trim();
    t.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(|_| t.to_string())
}

/// Width and height of a JPEG, from its first frame header (SOFn); `None` when the bytes are
/// not a JPEG or hold no frame header.
pub fn jpeg_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut i = 2;
    loop {
        if *bytes.get(i)? != 0xFF {
            return None;
        }
        while *bytes.get(i)? == 0xFF {
            i += 1;
        }
        let marker = *bytes.get(i)?;
        i += 1;
        match marker {
            // Markers without a segment.
            0x01 | 0xD0..=0xD8 => continue,
            // End of image or start of scan before any frame header.
            0xD9 | 0xDA => return None,
            _ => {}
        }
        let len = usize::from(u16::from_be_bytes([*bytes.get(i)?, *bytes.get(i + 1)?]));
        if len < 2 {
            return None;
        }
        // SOF0..SOF15 but DHT (C4), JPG (C8) and DAC (CC): precision, height, width.
        if (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            let seg = bytes.get(i + 2..i + len)?;
            if seg.len() < 5 {
                return None;
            }
            let h = u32::from(u16::from_be_bytes([seg[1], seg[2]]));
            let w = u32::from(u16::from_be_bytes([seg[3], seg[4]]));
            return (w > 0 && h > 0).then_some((w, h));
        }
        i += len;
    }
}

/// The quicklook `rel` of package folder `pkg`, with its size.
fn quicklook(pkg: &Path, rel: &str) -> Result<Quicklook> {
    let path = pkg.join(rel);
    let io = |e: std::io::Error| VipError::input_io(&path, &e);
    let mut head = Vec::new();
    std::fs::File::open(&path)
        .map_err(io)?
        .take(JPEG_HEAD_BYTES)
        .read_to_end(&mut head)
        .map_err(io)?;
    let (width, height) = jpeg_size(&head).ok_or_else(|| {
        VipError::bad_input(
            &path,
            "the quicklook is not a JPEG (no frame header in its first MiB)",
        )
    })?;
    Ok(Quicklook {
        rel: rel.to_string(),
        width,
        height,
    })
}

/// What the page shows of the package `id` of `dir`, whose item `item` (acquired at
/// `datetime`) the index has checked: assets inside the package folder and present.
pub fn entry(dir: &Path, id: &str, item: &Value, datetime: DateTime<Utc>) -> Result<Entry> {
    let pkg = dir.join(id);
    let mtd = asset_rel(item, "metadata")
        .map(|rel| MtdAll::read(&pkg.join(rel)))
        .transpose()?;
    let index = |name: &str| {
        mtd.as_ref()?
            .quality_indexes
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| number_text(v))
    };
    let text = |s: Option<&String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let cloud = index("CloudPercent").or_else(|| {
        item["properties"]["eo:cloud_cover"]
            .as_f64()
            .filter(|v| v.is_finite())
            .map(|v| v.to_string())
    });
    Ok(Entry {
        id: id.to_string(),
        site: text(mtd.as_ref().map(|m| &m.site)),
        level: text(mtd.as_ref().map(|m| &m.level)),
        datetime,
        cloud,
        snow: index("SnowPercent"),
        quicklook: asset_rel(item, "thumbnail")
            .map(|rel| quicklook(&pkg, &rel))
            .transpose()?,
        zip: dir.join(format!("{id}.zip")).is_file(),
    })
}

/// `s` with the characters HTML gives a meaning escaped (text and quoted attribute values).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The relative href `./a/b` of the path made of `segments` (each percent-encoded but its
/// unreserved characters), with a trailing `/` for a folder; HTML-escaped.
pub fn href(segments: &[&str], folder: bool) -> String {
    let mut out = String::from(".");
    for s in segments {
        out.push('/');
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    if folder {
        out.push('/');
    }
    escape(&out)
}

/// The size of a `width` × `height` image shown within [`THUMB_PX`].
fn thumb_size(width: u32, height: u32) -> (u32, u32) {
    let side = width.max(height).max(1);
    if side <= THUMB_PX {
        return (width, height);
    }
    let fit = |v: u32| {
        ((u64::from(v) * u64::from(THUMB_PX) + u64::from(side) / 2) / u64::from(side)).max(1) as u32
    };
    (fit(width), fit(height))
}

fn value_cell(class: &str, v: Option<&str>) -> String {
    match v {
        Some(v) => format!("<td class=\"{class}\">{}</td>", escape(v)),
        None => format!("<td class=\"{class} na\">{NOT_AVAILABLE}</td>"),
    }
}

fn row(e: &Entry) -> String {
    let id = escape(&e.id);
    let folder = href(&[&e.id], true);
    let quicklook = match &e.quicklook {
        Some(q) => {
            let mut segs = vec![e.id.as_str()];
            segs.extend(q.rel.split('/'));
            let (w, h) = thumb_size(q.width, q.height);
            format!(
                "<a href=\"{folder}\"><img src=\"{}\" width=\"{w}\" height=\"{h}\" alt=\"Quicklook of {id}\"></a>",
                href(&segs, false)
            )
        }
        None => "<span class=\"na\">no quicklook</span>".to_string(),
    };
    let mut links = vec![format!("<a class=\"folder\" href=\"{folder}\">{id}/</a>")];
    if e.zip {
        links.push(format!(
            "<a class=\"zip\" href=\"{}\">{id}.zip</a>",
            href(&[&format!("{}.zip", e.id)], false)
        ));
    }
    links.push(format!(
        "<a class=\"stac\" href=\"{}\">STAC item</a>",
        href(&[&e.id, &item_name(&e.id)], false)
    ));
    let iso = e.datetime.format("%Y-%m-%dT%H:%M:%S%.3fZ");
    let shown = if e.datetime.timestamp_subsec_millis() == 0 {
        e.datetime.format("%Y-%m-%d %H:%M:%S")
    } else {
        e.datetime.format("%Y-%m-%d %H:%M:%S%.3f")
    };
    [
        format!("<tr class=\"product\" data-id=\"{id}\">"),
        format!("<td class=\"quicklook\">{quicklook}</td>"),
        value_cell("site", e.site.as_deref()),
        format!("<td class=\"datetime\"><time datetime=\"{iso}\">{shown}</time></td>"),
        value_cell("level", e.level.as_deref()),
        value_cell("cloud", e.cloud.as_deref()),
        value_cell("snow", e.snow.as_deref()),
        format!("<td class=\"links\">{}</td>", links.join("<br>")),
        "</tr>".to_string(),
    ]
    .join("\n")
}

const STYLE: &str = "\
body { font-family: sans-serif; margin: 1.5em; color: #222; background: #fff; }
h1 { font-size: 1.5em; }
h2 { font-size: 1.2em; margin-top: 1.5em; border-bottom: 1px solid #bbb; }
table { border-collapse: collapse; width: 100%; }
th, td.datetime { white-space: nowrap; }
th, td { padding: 0.3em 0.6em; text-align: left; vertical-align: top; border-bottom: 1px solid #e4e4e4; }
td.cloud, td.snow { text-align: right; }
img { display: block; background: #eee; }
.na { color: #888; }";

/// The page over `entries` (any order).
pub fn page(entries: &[Entry]) -> String {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| {
        (a.site.is_none(), &a.site, a.datetime, &a.level, &a.id).cmp(&(
            b.site.is_none(),
            &b.site,
            b.datetime,
            &b.level,
            &b.id,
        ))
    });
    let mut sites: Vec<Option<&String>> = sorted.iter().map(|e| e.site.as_ref()).collect();
    sites.dedup();
    let mut out = vec![
        "<!DOCTYPE html>".to_string(),
        "<html lang=\"en\">".into(),
        "<head>".into(),
        "<meta charset=\"utf-8\">".into(),
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">".into(),
        "<title>VENµS products</title>".into(),
        format!("<style>\n{STYLE}\n</style>"),
        "</head>".into(),
        "<body>".into(),
        "<h1>VENµS products</h1>".into(),
    ];
    let catalog = format!(
        "STAC catalog: <a class=\"catalog\" href=\"{}\">{}</a>.",
        href(&[super::index::CATALOG], false),
        super::index::CATALOG
    );
    if sorted.is_empty() {
        out.push(format!(
            "<p class=\"empty\">No packages in this folder. {catalog}</p>"
        ));
    } else {
        out.push(format!(
            "<p class=\"summary\">{} package{} of {} site{}, by site then acquisition time (UTC); percentages as the packages' metadata records them. {catalog}</p>",
            sorted.len(),
            if sorted.len() == 1 { "" } else { "s" },
            sites.len(),
            if sites.len() == 1 { "" } else { "s" },
        ));
    }
    let mut i = 0;
    for site in sites {
        let name = site.map_or("Site not recorded".to_string(), |s| escape(s));
        out.push("<section class=\"site\">".into());
        out.push(format!("<h2>{name}</h2>"));
        out.push("<table>".into());
        out.push(
            "<thead><tr><th>Quicklook</th><th>Site</th><th>Acquired (UTC)</th><th>Level</th>\
             <th>Cloud %</th><th>Snow %</th><th>Files</th></tr></thead>"
                .into(),
        );
        out.push("<tbody>".into());
        while i < sorted.len() && sorted[i].site.as_ref() == site {
            out.push(row(sorted[i]));
            i += 1;
        }
        out.push("</tbody>".into());
        out.push("</table>".into());
        out.push("</section>".into());
    }
    out.push("</body>".into());
    out.push("</html>".into());
    let mut text = out.join("\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, site: Option<&str>, t: &str, level: &str) -> Entry {
        Entry {
            id: id.into(),
            site: site.map(String::from),
            level: Some(level.into()),
            datetime: DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc),
            cloud: Some("12.5".into()),
            snow: None,
            quicklook: Some(Quicklook {
                rel: format!("{id}_QKL_ALL.jpg"),
                width: 1000,
                height: 750,
            }),
            zip: false,
        }
    }

    #[test]
    fn rows_go_by_site_then_time_then_level() {
        let entries = [
            entry("C", Some("SITE_B"), "2024-01-01T10:00:00Z", "L1C"),
            entry("B", Some("SITE_A"), "2024-05-01T10:00:00Z", "L1C"),
            entry("E", None, "2023-01-01T10:00:00.250Z", "L1C"),
            entry("D", Some("SITE_A"), "2024-03-01T10:00:00Z", "L2A"),
            entry("A", Some("SITE_A"), "2024-03-01T10:00:00Z", "L1C"),
        ];
        let p = page(&entries);
        let order: Vec<&str> = p
            .split("data-id=\"")
            .skip(1)
            .map(|s| &s[..s.find('"').unwrap()])
            .collect();
        assert_eq!(order, ["A", "D", "B", "C", "E"]);
        let heads: Vec<&str> = p
            .split("<h2>")
            .skip(1)
            .map(|s| &s[..s.find("</h2>").unwrap()])
            .collect();
        assert_eq!(heads, ["SITE_A", "SITE_B", "Site not recorded"]);
        assert!(p.contains("<td class=\"snow na\">n/a</td>"));
        assert!(p.contains("<td class=\"cloud\">12.5</td>"));
        assert!(p.contains("width=\"256\" height=\"192\""));
        assert!(p.contains("5 packages of 3 sites"));
        assert!(
            p.contains("<time datetime=\"2024-03-01T10:00:00.000Z\">2024-03-01 10:00:00</time>")
        );
        assert!(p.contains(
            "<time datetime=\"2023-01-01T10:00:00.250Z\">2023-01-01 10:00:00.250</time>"
        ));
        assert_eq!(p, page(&entries), "same entries, same bytes");
    }

    #[test]
    fn text_and_hrefs_are_escaped() {
        let mut e = entry(
            "X <b>&\"'#%41 y",
            Some("<i>A&B</i>"),
            "2024-01-01T10:00:00Z",
            "L1C",
        );
        e.zip = true;
        let p = page(&[e]);
        assert!(!p.contains("<b>") && !p.contains("<i>"), "{p}");
        assert!(p.contains("<h2>&lt;i&gt;A&amp;B&lt;/i&gt;</h2>"));
        assert!(p.contains("data-id=\"X &lt;b&gt;&amp;&quot;&#39;#%41 y\""));
        assert!(p.contains("href=\"./X%20%3Cb%3E%26%22%27%23%2541%20y/\""));
        assert!(p.contains("href=\"./X%20%3Cb%3E%26%22%27%23%2541%20y.zip\""));
        assert!(p.contains(
            "src=\"./X%20%3Cb%3E%26%22%27%23%2541%20y/X%20%3Cb%3E%26%22%27%23%2541%20y_QKL_ALL.jpg\""
        ));
    }

    #[test]
    fn an_empty_folder_says_so() {
        let p = page(&[]);
        assert!(p.contains("No packages in this folder."));
        assert!(!p.contains("<table>"));
        assert!(!p.contains("<script") && !p.contains("http"));
    }

    #[test]
    fn jpeg_frame_headers() {
        // SOI, APP0 (length 4), DQT-less SOF0 for 300 × 200, EOI.
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00,
            0xC8, 0x01, 0x2C, 0x01, 0x01, 0x11, 0x00, 0xFF, 0xD9,
        ];
        assert_eq!(jpeg_size(&jpeg), Some((300, 200)));
        // DHT (C4) is not a frame header.
        let mut dht = jpeg;
        dht[9] = 0xC4;
        assert_eq!(jpeg_size(&dht), None);
        // Progressive (C2) is.
        let mut prog = jpeg;
        prog[9] = 0xC2;
        assert_eq!(jpeg_size(&prog), Some((300, 200)));
        for cut in 0..jpeg.len() - 2 {
            assert_eq!(jpeg_size(&jpeg[..cut]), None, "cut at {cut}");
        }
        assert_eq!(jpeg_size(b"\x89PNG\r\n"), None);
        assert_eq!(jpeg_size(&[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x01]), None);
    }

    #[test]
    fn thumbnails_fit_the_box() {
        assert_eq!(thumb_size(1000, 750), (256, 192));
        assert_eq!(thumb_size(64, 48), (64, 48));
        assert_eq!(thumb_size(1000, 1), (256, 1));
        assert_eq!(thumb_size(300, 1000), (77, 256));
    }
}
