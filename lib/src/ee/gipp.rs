//! GIPP folders: which parameter file applies to a site, a date and a band (ICD-DIGEST §1.4, §5).
//!
//! [`GippCatalogue::scan`] reads the headers of every `*.EEF` / `*.HDR` of one folder whose
//! File_Type starts with `GIP_`; [`GippCatalogue::find`] picks the applicable file and, when none
//! is, says which files came close and why they do not apply.

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use quick_xml::events::{BytesStart, Event};

use super::header::EeDoc;
use super::naming::{self, GippId, TdiSet, ALL_SITES};
use super::xml::{local, Node};
use crate::error::{Result, VipError};

/// To which sites a GIPP applies (Instance_Id `Applicability_NickName[_Type]` and
/// `List_of_Applicable_SiteDefinition_Ids`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applicability {
    /// `L_LIST` / `ALLSITES`, empty site list.
    AllSites,
    /// `S_SITE` / the site's nick name, with its site definition id
    /// (`VE_<class>_MPL_SITDEF_<t>_<nick>`).
    Site { nick: String, site_id: String },
    /// `L_LIST` / a list nick name (or `NOTNAMED`) and the site definition ids of its sites.
    /// A list whose sites are not given applies to every site, like `ALLSITES`.
    List { nick: String, site_ids: Vec<String> },
}

impl Applicability {
    /// One site: `site_type` as in [`naming::site_definition_id`] (`S` for a scientific site).
    pub fn site(class: &str, site_type: char, nick: &str) -> Result<Self> {
        Ok(Applicability::Site {
            nick: naming::nick_name(nick)?,
            site_id: naming::site_definition_id(class, site_type, nick)?,
        })
    }

    /// `S` or `L`, as in GIPP ids.
    pub fn nick_type(&self) -> char {
        match self {
            Applicability::Site { .. } => 'S',
            _ => 'L',
        }
    }

    /// `S_SITE` or `L_LIST`, as in Instance_Id.
    pub fn nick_type_name(&self) -> &'static str {
        match self {
            Applicability::Site { .. } => "S_SITE",
            _ => "L_LIST",
        }
    }

    /// The applicability nick name (`ALLSITES`, a site nick or a list nick).
    pub fn nick(&self) -> &str {
        match self {
            Applicability::AllSites => ALL_SITES,
            Applicability::Site { nick, .. } | Applicability::List { nick, .. } => nick,
        }
    }

    /// The site definition ids written in `List_of_Applicable_SiteDefinition_Ids`.
    pub fn site_ids(&self) -> Vec<String> {
        match self {
            Applicability::AllSites => vec![],
            Applicability::Site { site_id, .. } => vec![site_id.clone()],
            Applicability::List { site_ids, .. } => site_ids.clone(),
        }
    }

    /// Whether the file names its sites (and so is more specific than one for all sites).
    pub fn is_specific(&self) -> bool {
        match self {
            Applicability::AllSites => false,
            Applicability::Site { .. } => true,
            Applicability::List { site_ids, .. } => !site_ids.is_empty(),
        }
    }

    /// Whether the file applies to the site with nick name `nick`.
    pub fn applies_to(&self, nick: &str) -> bool {
        let listed = |ids: &[String]| {
            ids.iter()
                .any(|id| naming::site_definition_nick(id) == Some(nick))
        };
        match self {
            Applicability::AllSites => true,
            Applicability::Site { nick: n, site_id } => {
                n == nick || listed(std::slice::from_ref(site_id))
            }
            Applicability::List { site_ids, .. } => site_ids.is_empty() || listed(site_ids),
        }
    }

    /// The `Applicability_NickName_Type`, `Applicability_NickName` (for Instance_Id) and
    /// `List_of_Applicable_SiteDefinition_Ids` elements.
    pub fn to_nodes(&self) -> (Node, Node, Node) {
        let list = Node::list(
            "List_of_Applicable_SiteDefinition_Ids",
            self.site_ids()
                .into_iter()
                .enumerate()
                .map(|(i, id)| Node::text("Applicable_SiteDefinition_Id", id).attr("sn", i + 1))
                .collect(),
        );
        (
            Node::text("Applicability_NickName_Type", self.nick_type_name()),
            Node::text("Applicability_NickName", self.nick()),
            list,
        )
    }

    /// Reads the applicability of a Specific_Product_Header.
    pub fn from_specific(specific: &Node) -> Option<Self> {
        let kind = specific.find_text("Instance_Id/Applicability_NickName_Type")?;
        let nick = specific
            .find_text("Instance_Id/Applicability_NickName")?
            .to_string();
        let ids: Vec<String> = specific
            .find("List_of_Applicable_SiteDefinition_Ids")
            .map(|l| {
                l.all("Applicable_SiteDefinition_Id")
                    .map(|n| n.text.trim().to_string())
                    .collect()
            })
            .unwrap_or_default();
        Some(match kind {
            "S_SITE" => Applicability::Site {
                site_id: ids.into_iter().next().unwrap_or_default(),
                nick,
            },
            _ if nick == ALL_SITES => Applicability::AllSites,
            _ => Applicability::List {
                nick,
                site_ids: ids,
            },
        })
    }
}

impl fmt::Display for Applicability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Applicability::AllSites => f.write_str(ALL_SITES),
            Applicability::Site { nick, .. } => write!(f, "site {nick}"),
            Applicability::List { nick, site_ids } if site_ids.is_empty() => {
                write!(f, "list {nick} (sites not listed)")
            }
            Applicability::List { nick, site_ids } => {
                let nicks: Vec<&str> = site_ids
                    .iter()
                    .map(|id| naming::site_definition_nick(id).unwrap_or(id))
                    .collect();
                write!(f, "list {nick} ({})", nicks.join(", "))
            }
        }
    }
}

/// What the catalogue keeps of one GIPP file.
#[derive(Debug, Clone, PartialEq)]
pub struct GippEntry {
    pub path: PathBuf,
    /// Fixed_Header File_Name (the id).
    pub id: String,
    /// e.g. `GIP_DARKCU`.
    pub file_type: String,
    pub validity_start: NaiveDateTime,
    pub validity_stop: NaiveDateTime,
    pub applicability: Applicability,
    /// `Bnn` when the GIPP is per band.
    pub band: Option<String>,
    /// The TDI configurations when the GIPP is per TDI set.
    pub tdi: Option<TdiSet>,
    pub version: u16,
    /// 5-digit serial key, as written.
    pub serial_key: String,
}

impl GippEntry {
    /// The entry of a parsed header; `None` when the file is not a GIPP.
    pub fn from_doc(doc: &EeDoc, path: &Path) -> Option<GippEntry> {
        let fixed = &doc.fixed;
        if !fixed.file_type.starts_with("GIP_") {
            return None;
        }
        let id = GippId::parse(&fixed.file_name).ok();
        let inst = |p: &str| doc.specific.find_text(&format!("Instance_Id/{p}"));
        let applicability = Applicability::from_specific(&doc.specific)
            .or_else(|| {
                let id = id.as_ref()?;
                Some(match (id.nick_type, id.nick.as_str()) {
                    ('S', nick) => Applicability::Site {
                        nick: nick.to_string(),
                        site_id: String::new(),
                    },
                    (_, ALL_SITES) => Applicability::AllSites,
                    (_, nick) => Applicability::List {
                        nick: nick.to_string(),
                        site_ids: vec![],
                    },
                })
            })
            .unwrap_or(Applicability::AllSites);
        Some(GippEntry {
            path: path.to_path_buf(),
            id: fixed.file_name.clone(),
            file_type: fixed.file_type.clone(),
            validity_start: fixed.validity_start,
            validity_stop: fixed.validity_stop,
            applicability,
            band: inst("Band_Code")
                .map(str::to_string)
                .or_else(|| id.as_ref()?.band.clone()),
            tdi: inst("TDI_Configuration_Values")
                .and_then(TdiSet::parse_list)
                .or_else(|| id.as_ref()?.tdi),
            version: fixed.version,
            serial_key: inst("Serial_Key")
                .map(str::to_string)
                .or_else(|| id.as_ref().map(|i| format!("{:05}", i.serial_key)))
                .unwrap_or_default(),
        })
    }

    /// Whether the file is valid at `when` (bounds included).
    pub fn valid_at(&self, when: NaiveDateTime) -> bool {
        self.validity_start <= when && when <= self.validity_stop
    }

    /// One line for messages: type, validity, applicability, band and TDI.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{} valid {}..{} for {}",
            self.file_type,
            day(self.validity_start),
            day(self.validity_stop),
            self.applicability
        );
        if let Some(b) = &self.band {
            s += &format!(", band {b}");
        }
        if let Some(t) = &self.tdi {
            s += &format!(", TDI {}", t.list());
        }
        if self.version != 1 {
            s += &format!(", version {:04}", self.version);
        }
        s
    }
}

fn day(t: NaiveDateTime) -> String {
    if t == NaiveDateTime::MIN {
        "0000-00-00".into()
    } else if t == NaiveDateTime::MAX {
        "9999-99-99".into()
    } else {
        t.format("%Y-%m-%d").to_string()
    }
}

/// What a caller looks for in a catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct GippQuery<'a> {
    /// e.g. `GIP_DARKCU`.
    pub file_type: &'a str,
    /// 8-character site nick name.
    pub site: &'a str,
    pub when: NaiveDateTime,
    /// When given, only files of this band (`Bnn`).
    pub band: Option<&'a str>,
    /// When given, only files whose TDI set holds this configuration (1, 4, 8, 16, 32).
    pub tdi: Option<u8>,
}

impl GippQuery<'_> {
    fn matches(&self, e: &GippEntry) -> bool {
        e.file_type == self.file_type
            && e.applicability.applies_to(self.site)
            && e.valid_at(self.when)
            && match self.band {
                None => true,
                Some(b) => e.band.as_deref() == Some(b),
            }
            && match self.tdi {
                None => true,
                Some(t) => e.tdi.is_some_and(|set| set.contains(t)),
            }
    }
}

impl fmt::Display for GippQuery<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file_type)?;
        if let Some(b) = self.band {
            write!(f, " for band {b}")?;
        }
        if let Some(t) = self.tdi {
            write!(f, " with TDI {t:02}")?;
        }
        write!(
            f,
            " applicable to site {} on {}",
            self.site,
            self.when.format("%Y-%m-%dT%H:%M:%S")
        )
    }
}

/// The GIPP files of one folder.
#[derive(Debug, Clone)]
pub struct GippCatalogue {
    dir: PathBuf,
    entries: Vec<GippEntry>,
}

/// At most this many near misses are listed in an error message.
const MAX_NEAR_MISSES: usize = 8;

impl GippCatalogue {
    /// Reads the headers of the `*.EEF` and `*.HDR` files of `dir` (not recursive). Files that
    /// are not GIPPs are ignored; files that cannot be read as EE are skipped with a warning. A
    /// missing or unreadable folder is a bad input.
    pub fn scan(dir: &Path) -> Result<Self> {
        let rd = std::fs::read_dir(dir).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => VipError::bad_input(dir, "GIPP folder does not exist"),
            _ => VipError::bad_input(dir, format!("GIPP folder cannot be read: {e}")),
        })?;
        let mut paths: Vec<PathBuf> = Vec::new();
        for ent in rd {
            let ent =
                ent.map_err(|e| VipError::bad_input(dir, format!("cannot list folder: {e}")))?;
            let p = ent.path();
            let ext = p
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_uppercase);
            if matches!(ext.as_deref(), Some("EEF" | "HDR")) && p.is_file() {
                paths.push(p);
            }
        }
        paths.sort();
        let mut entries = Vec::new();
        for p in paths {
            match read_header(&p).and_then(|n| EeDoc::from_node(&n, &p)) {
                Ok(doc) => match GippEntry::from_doc(&doc, &p) {
                    Some(e) => entries.push(e),
                    None => log::debug!(
                        "{}: File_Type {} is not a GIPP, ignored",
                        p.display(),
                        doc.fixed.file_type
                    ),
                },
                Err(e) => log::warn!("{e}; skipped"),
            }
        }
        log::debug!("{}: {} GIPP files", dir.display(), entries.len());
        Ok(GippCatalogue {
            dir: dir.to_path_buf(),
            entries,
        })
    }

    /// The folder scanned.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every GIPP found, in file-name order.
    pub fn entries(&self) -> &[GippEntry] {
        &self.entries
    }

    /// The file of `file_type` applicable to `site_nick` at `when` (and to `band` when given).
    pub fn find(
        &self,
        file_type: &str,
        site_nick: &str,
        when: NaiveDateTime,
        band: Option<&str>,
    ) -> Result<&GippEntry> {
        self.select(&GippQuery {
            file_type,
            site: site_nick,
            when,
            band,
            tdi: None,
        })
    }

    /// The applicable file for a full query. Among several, the most specific wins (a file
    /// naming the site over one for all sites), then the highest File_Version, then the latest
    /// validity start. None is a bad input naming the folder, with the files that came close.
    pub fn select(&self, q: &GippQuery) -> Result<&GippEntry> {
        let best = self.entries.iter().filter(|e| q.matches(e)).max_by(|a, b| {
            (a.applicability.is_specific(), a.version, a.validity_start)
                .cmp(&(b.applicability.is_specific(), b.version, b.validity_start))
                // deterministic last resort: the later file name
                .then_with(|| a.path.cmp(&b.path))
        });
        if let Some(e) = best {
            log::debug!("GIPP {q}: {}", e.path.display());
            return Ok(e);
        }
        let same: Vec<&GippEntry> = self
            .entries
            .iter()
            .filter(|e| e.file_type == q.file_type)
            .collect();
        let found = if same.is_empty() {
            format!("no {} file in the folder", q.file_type)
        } else {
            let mut list: Vec<String> = same
                .iter()
                .take(MAX_NEAR_MISSES)
                .map(|e| format!("found {}", e.describe()))
                .collect();
            if same.len() > MAX_NEAR_MISSES {
                list.push(format!("and {} more", same.len() - MAX_NEAR_MISSES));
            }
            list.join("; ")
        };
        Err(VipError::bad_input(
            &self.dir,
            format!("GIPP: no {q} ({found})"),
        ))
    }
}

/// Reads an EE file as a GIPP of `file_type`: anything else (not EE, another File_Type) is a bad
/// input naming the file.
pub fn read_gipp(path: &Path, file_type: &str) -> Result<EeDoc> {
    let doc = EeDoc::read(path)?;
    doc.expect_type(file_type, path)?;
    Ok(doc)
}

/// Parses an EE file up to (not including) its Data_Block: enough for the headers, and fast
/// on files that carry thousands of values.
pub fn read_header(path: &Path) -> Result<Node> {
    let bytes = std::fs::read(path).map_err(|e| VipError::input_io(path, &e))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| VipError::bad_input(path, "not UTF-8 text, so not an XML header"))?;
    let bad = |msg: String| VipError::bad_input(path, format!("not well-formed XML: {msg}"));
    let mut r = quick_xml::Reader::from_str(&text);
    let mut stack: Vec<Node> = Vec::new();
    loop {
        let ev = r
            .read_event()
            .map_err(|e| bad(format!("{e} at byte {}", r.buffer_position())))?;
        match ev {
            Event::Start(s) if stack.len() == 1 && local(&name_of(&s)) == "Data_Block" => break,
            Event::Start(s) => stack.push(start_node(&s).map_err(&bad)?),
            Event::Empty(s) => {
                let n = start_node(&s).map_err(&bad)?;
                match stack.last_mut() {
                    Some(top) => top.children.push(n),
                    None => return Ok(n),
                }
            }
            Event::End(_) => {
                let n = stack
                    .pop()
                    .ok_or_else(|| bad("unbalanced end tag".into()))?;
                match stack.last_mut() {
                    Some(top) => top.children.push(n),
                    None => return Ok(n),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text
                        .push_str(&t.unescape().map_err(|e| bad(e.to_string()))?);
                }
            }
            Event::Eof => {
                return Err(bad(match stack.first() {
                    Some(n) => format!("element <{}> is not closed", n.name),
                    None => "no root element".into(),
                }))
            }
            _ => {}
        }
    }
    // Stopped at the Data_Block: close what is open.
    let mut root = stack.remove(0);
    for n in stack {
        root.children.push(n);
    }
    Ok(root)
}

fn name_of(s: &BytesStart) -> String {
    String::from_utf8_lossy(s.name().as_ref()).into_owned()
}

fn start_node(s: &BytesStart) -> std::result::Result<Node, String> {
    let mut n = Node::new(name_of(s));
    for a in s.attributes() {
        let a = a.map_err(|e| e.to_string())?;
        let v = a.unescape_value().map_err(|e| e.to_string())?;
        n.attrs.push((
            String::from_utf8_lossy(a.key.as_ref()).into_owned(),
            v.into_owned(),
        ));
    }
    Ok(n)
}
