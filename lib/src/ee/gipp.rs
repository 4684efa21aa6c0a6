//! GIPP folders: which parameter file applies to a site, a date and a band (ICD-DIGEST §1.4, §5).
//!
//! [`GippCatalogue::scan`] reads the headers of every `*.EEF` / `*.HDR` of one folder whose
//! File_Type starts with `GIP_`; [`GippCatalogue::find`] picks the applicable file and, when none
//! is, says which files came close and why they do not apply.

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;

use super::header::EeDoc;
use super::naming::{self, GippId, TdiSet, ALL_SITES};
use super::xml::Node;
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
    Node::read_until(path, Some("Data_Block"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ee::gipps::tests::{common, dark};
    use crate::ee::gipps::{darkcu, phgain, write_gipp, DarkCurrents, PhysicalGains};

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap()
    }

    fn camargue() -> Applicability {
        Applicability::site("TEST", 'S', "CAMARGUE").unwrap()
    }

    /// Writes a DARKCU and returns its file name.
    fn put_dark(
        dir: &Path,
        app: Applicability,
        band: &str,
        start: &str,
        version: u16,
        key: u32,
        tdi: TdiSet,
    ) -> String {
        let mut c = common(app);
        c.validity_start = t(start);
        c.version = version;
        c.serial_key = key;
        let dc = DarkCurrents { tdi, ..dark(band) };
        let p = write_gipp(&darkcu(&c, &dc).unwrap(), dir).unwrap();
        p.file_name().unwrap().to_string_lossy().into_owned()
    }

    fn name(e: &GippEntry) -> String {
        e.path.file_name().unwrap().to_string_lossy().into_owned()
    }

    #[test]
    fn picks_the_most_specific_then_latest_version_then_latest_start() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let all = TdiSet::ALL;
        let late = put_dark(
            d,
            Applicability::AllSites,
            "B03",
            "2019-01-01T00:00:00",
            1,
            1,
            all,
        );
        let site = put_dark(d, camargue(), "B03", "2017-08-01T00:00:00", 1, 1, all);
        let v2 = put_dark(
            d,
            Applicability::AllSites,
            "B03",
            "2017-08-01T00:00:00",
            2,
            2,
            all,
        );
        let v1 = put_dark(
            d,
            Applicability::AllSites,
            "B03",
            "2017-08-01T00:00:00",
            1,
            3,
            all,
        );
        let b01 = put_dark(
            d,
            Applicability::AllSites,
            "B01",
            "2017-08-01T00:00:00",
            1,
            1,
            all,
        );
        let tdi8 = TdiSet::new(&[8]).unwrap();
        let b04 = put_dark(
            d,
            Applicability::AllSites,
            "B04",
            "2017-08-01T00:00:00",
            1,
            1,
            tdi8,
        );
        let listed = Applicability::List {
            nick: "NOTNAMED".into(),
            site_ids: vec![
                "VE_TEST_MPL_SITDEF_S_SIMULSIT".into(),
                "VE_TEST_MPL_SITDEF_C_LACROSSE".into(),
            ],
        };
        let b05 = put_dark(d, listed, "B05", "2017-08-01T00:00:00", 1, 1, all);
        let b05_all = put_dark(
            d,
            Applicability::AllSites,
            "B05",
            "2017-08-01T00:00:00",
            3,
            1,
            all,
        );
        for (start, key) in [("2017-08-01T00:00:00", 1), ("2018-01-01T00:00:00", 2)] {
            let mut c = common(Applicability::AllSites);
            c.validity_start = t(start);
            c.serial_key = key;
            write_gipp(
                &phgain(&c, &PhysicalGains::per_band(&[1.0; 12])).unwrap(),
                d,
            )
            .unwrap();
        }
        // files the catalogue must not trip on
        let ex = crate::testdata("venus/examples");
        for f in [
            "VE_TEST_VSC_L1VALD_CAMARGUE_20180101.HDR",
            "VE_TEST_GIP_L2TOCR_L_CONTINEN_00001_00000000_99999999.HDR",
        ] {
            std::fs::copy(ex.join(f), d.join(f)).unwrap();
        }
        std::fs::write(d.join("junk.EEF"), "<kml><a/></kml>").unwrap();
        std::fs::write(d.join("broken.HDR"), "<Earth_Explorer_Header>").unwrap();
        std::fs::write(d.join("notes.txt"), "not a GIPP").unwrap();
        std::fs::create_dir(d.join("sub.EEF")).unwrap();

        let cat = GippCatalogue::scan(d).unwrap();
        assert_eq!(cat.entries().len(), 11);
        assert_eq!(cat.dir(), d);
        let when = t("2018-03-01T10:00:00");
        let find = |ty: &str, site: &str, when, band| name(cat.find(ty, site, when, band).unwrap());
        assert_eq!(find("GIP_DARKCU", "CAMARGUE", when, Some("B03")), site);
        assert_eq!(find("GIP_DARKCU", "SIMULSIT", when, Some("B03")), v2);
        assert_eq!(
            find(
                "GIP_DARKCU",
                "SIMULSIT",
                t("2019-06-01T00:00:00"),
                Some("B03")
            ),
            v2
        );
        assert_ne!(v1, v2);
        assert_ne!(late, v2);
        assert_eq!(find("GIP_DARKCU", "CAMARGUE", when, Some("B01")), b01);
        // a list naming the site wins over ALLSITES, even of a higher version
        assert_eq!(find("GIP_DARKCU", "SIMULSIT", when, Some("B05")), b05);
        assert_eq!(find("GIP_DARKCU", "CAMARGUE", when, Some("B05")), b05_all);
        // latest validity start among equals
        assert!(
            find("GIP_PHGAIN", "CAMARGUE", t("2017-12-31T23:59:59"), None)
                .contains("_00001_20170801_")
        );
        assert!(
            find("GIP_PHGAIN", "CAMARGUE", t("2018-01-01T00:00:00"), None)
                .contains("_00002_20180101_")
        );
        // a list that does not name its sites applies everywhere
        assert!(find("GIP_L2TOCR", "CAMARGUE", when, None).contains("CONTINEN"));
        // TDI
        let q = |tdi| GippQuery {
            file_type: "GIP_DARKCU",
            site: "CAMARGUE",
            when,
            band: Some("B04"),
            tdi: Some(tdi),
        };
        assert_eq!(name(cat.select(&q(8)).unwrap()), b04);
        let e = cat.select(&q(16)).unwrap_err().to_string();
        assert!(e.contains("no GIP_DARKCU for band B04 with TDI 16"), "{e}");
        assert!(
            e.contains(
                "found GIP_DARKCU valid 2017-08-01..9999-12-31 for ALLSITES, band B04, TDI 08"
            ),
            "{e}"
        );

        let entry = cat
            .find("GIP_DARKCU", "CAMARGUE", when, Some("B03"))
            .unwrap();
        assert_eq!(entry.applicability, camargue());
        assert_eq!(entry.band.as_deref(), Some("B03"));
        assert_eq!(entry.tdi, Some(TdiSet::ALL));
        assert_eq!(entry.serial_key, "00001");
        assert_eq!(entry.version, 1);
        assert_eq!(entry.validity_start, t("2017-08-01T00:00:00"));
        assert_eq!(entry.validity_stop, t("9999-12-31T23:59:59"));
    }

    #[test]
    fn says_what_is_missing_and_what_came_close() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        put_dark(
            d,
            Applicability::AllSites,
            "B03",
            "2019-01-01T00:00:00",
            1,
            1,
            TdiSet::ALL,
        );
        let cat = GippCatalogue::scan(d).unwrap();
        let e = cat
            .find(
                "GIP_DARKCU",
                "CAMARGUE",
                t("2018-01-01T10:00:00"),
                Some("B03"),
            )
            .unwrap_err();
        assert_eq!(e.exit_code(), 3);
        let msg = e.to_string();
        assert_eq!(
            msg,
            format!(
                "{}: GIPP: no GIP_DARKCU for band B03 applicable to site CAMARGUE on \
                 2018-01-01T10:00:00 (found GIP_DARKCU valid 2019-01-01..9999-12-31 for \
                 ALLSITES, band B03, TDI 01 04 08 16 32)",
                d.display()
            )
        );
        let e = cat
            .find(
                "GIP_RELSEN",
                "CAMARGUE",
                t("2020-01-01T00:00:00"),
                Some("B03"),
            )
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no GIP_RELSEN for band B03")
                && e.contains("(no GIP_RELSEN file in the folder)"),
            "{e}"
        );

        // near misses for another site are listed with that site
        let dir2 = tempfile::tempdir().unwrap();
        put_dark(
            dir2.path(),
            camargue(),
            "B03",
            "2017-08-01T00:00:00",
            1,
            1,
            TdiSet::ALL,
        );
        let cat = GippCatalogue::scan(dir2.path()).unwrap();
        let e = cat
            .find(
                "GIP_DARKCU",
                "SIMULSIT",
                t("2018-01-01T00:00:00"),
                Some("B03"),
            )
            .unwrap_err()
            .to_string();
        assert!(e.contains("for site CAMARGUE, band B03"), "{e}");
    }

    #[test]
    fn a_missing_folder_is_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("GIPP");
        let e = GippCatalogue::scan(&missing).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert!(e.to_string().contains("GIPP folder does not exist"), "{e}");
        let file = dir.path().join("f");
        std::fs::write(&file, "x").unwrap();
        assert_eq!(GippCatalogue::scan(&file).unwrap_err().exit_code(), 3);
    }

    #[test]
    fn read_gipp_checks_the_file_type() {
        let ex = crate::testdata("venus/examples");
        let p = ex.join("VE_TEST_VSC_L1VALD_CAMARGUE_20180101.HDR");
        let e = read_gipp(&p, "GIP_PHGAIN").unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert!(
            e.to_string()
                .contains("VE_TEST_VSC_L1VALD_CAMARGUE_20180101.HDR"),
            "{e}"
        );
        assert!(e.to_string().contains("expected GIP_PHGAIN"), "{e}");
        let p = ex.join("VE_TEST_GIP_PHGAIN_L_ALLSITES_00001_20170801_99991231.EEF");
        assert_eq!(read_gipp(&p, "GIP_PHGAIN").unwrap().fixed.version, 1);
    }

    #[test]
    fn header_reading_stops_before_the_data_block() {
        let ex = crate::testdata("venus/examples");
        let p = ex.join("VE_TEST_GIP_DARKCU_L_ALLSITES_00001_20170801_99991231_B01_111101.EEF");
        let n = read_header(&p).unwrap();
        assert!(n.get("Data_Block").is_none());
        let doc = EeDoc::from_node(&n, &p).unwrap();
        let e = GippEntry::from_doc(&doc, &p).unwrap();
        assert_eq!(e.file_type, "GIP_DARKCU");
        assert_eq!(e.band.as_deref(), Some("B01"));
        assert_eq!(e.applicability, Applicability::AllSites);
    }

    #[test]
    fn applicability_matching() {
        let l = Applicability::List {
            nick: "EUROPE__".into(),
            site_ids: vec!["VE_TEST_MPL_SITDEF_S_CAMARGUE".into()],
        };
        assert!(l.applies_to("CAMARGUE") && !l.applies_to("SIMULSIT"));
        assert!(l.is_specific());
        assert_eq!(l.to_string(), "list EUROPE__ (CAMARGUE)");
        assert!(Applicability::AllSites.applies_to("ANYSITE_"));
        assert!(!Applicability::AllSites.is_specific());
        assert!(camargue().applies_to("CAMARGUE") && !camargue().applies_to("CAMARGU_"));
    }
}
