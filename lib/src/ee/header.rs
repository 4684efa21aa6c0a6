//! Earth Explorer files: the Fixed_Header every VENµS file starts with, the two physical layouts
//! (`.EEF` = header + Data_Block, `.HDR` = header beside a `.DBL.DIR`) and their reading back.
//! ICD-DIGEST §1.

use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime, Timelike};

use super::xml::Node;
use crate::error::{Result, VipError};
use crate::mission::venus;

/// Namespace of every VENµS EE file.
pub const EE_NAMESPACE: &str = "http://eop-cfi.esa.int/CFI";
const XSI_NAMESPACE: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// The 23-character EE time `UTC=YYYY-MM-DDThh:mm:ss`.
pub fn utc(t: NaiveDateTime) -> String {
    t.format("UTC=%Y-%m-%dT%H:%M:%S").to_string()
}

/// Parses `UTC=YYYY-MM-DDThh:mm:ss[.ffffff]`; the EE specials 0000-00-00 and 9999-99-99 map to
/// the smallest and largest representable times.
pub fn parse_utc(s: &str) -> Option<NaiveDateTime> {
    let body = s.trim().strip_prefix("UTC=")?;
    match body {
        "0000-00-00T00:00:00" => return Some(NaiveDateTime::MIN),
        "9999-99-99T99:99:99" => return Some(NaiveDateTime::MAX),
        _ => {}
    }
    NaiveDateTime::parse_from_str(body, "%Y-%m-%dT%H:%M:%S%.f").ok()
}

/// Creation time written into headers: `SOURCE_DATE_EPOCH` when set (reproducible builds
/// convention), else now, to the second.
pub fn creation_time() -> NaiveDateTime {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .unwrap_or_else(chrono::Utc::now)
        .naive_utc()
        .with_nanosecond(0)
        .expect("zero nanoseconds is valid")
}

/// The Fixed_Header of an EE file (ICD-DIGEST §1.3).
#[derive(Debug, Clone, PartialEq)]
pub struct FixedHeader {
    /// Logical id, without extension.
    pub file_name: String,
    /// The one word the interface's schema allows (`L1PublishedProduct`, `DarkCurrents`, ...).
    pub description: String,
    pub notes: String,
    /// `OPER`, `TEST`, ...
    pub file_class: String,
    /// 10-character `CCC_XXXXXX` code.
    pub file_type: String,
    pub validity_start: NaiveDateTime,
    pub validity_stop: NaiveDateTime,
    pub version: u16,
    /// Software that wrote the file, e.g. `vip-sim`.
    pub creator: String,
    pub creator_version: String,
    pub creation_date: NaiveDateTime,
}

impl FixedHeader {
    /// The Fixed_Header of a file VIP writes: version 1, no notes, created by this `vip`.
    pub fn by_vip(
        file_name: &str,
        description: &str,
        class: &str,
        file_type: &str,
        validity: (NaiveDateTime, NaiveDateTime),
        creation: NaiveDateTime,
    ) -> FixedHeader {
        FixedHeader {
            file_name: file_name.into(),
            description: description.into(),
            notes: String::new(),
            file_class: class.into(),
            file_type: file_type.into(),
            validity_start: validity.0,
            validity_stop: validity.1,
            version: 1,
            creator: "vip".into(),
            creator_version: env!("CARGO_PKG_VERSION").into(),
            creation_date: creation,
        }
    }

    fn to_node(&self) -> Node {
        Node::new("Fixed_Header")
            .child(Node::text("File_Name", &self.file_name))
            .child(Node::text("File_Description", &self.description))
            .child(Node::text("Notes", &self.notes))
            .child(Node::text("Mission", venus::MISSION))
            .child(Node::text("File_Class", &self.file_class))
            .child(Node::text("File_Type", &self.file_type))
            .child(validity_period(self.validity_start, self.validity_stop))
            .child(Node::text("File_Version", format!("{:04}", self.version)))
            .child(
                Node::new("Source")
                    .child(Node::text("System", "VIP"))
                    .child(Node::text("Creator", &self.creator))
                    .child(Node::text("Creator_Version", &self.creator_version))
                    .child(Node::text("Creation_Date", utc(self.creation_date))),
            )
    }

    fn from_node(n: &Node, path: &Path) -> Result<Self> {
        let text = |p: &str| -> Result<String> {
            n.find_text(p)
                .map(str::to_string)
                .ok_or_else(|| VipError::bad_input(path, format!("Fixed_Header has no {p}")))
        };
        let time = |p: &str| -> Result<NaiveDateTime> {
            let t = text(p)?;
            parse_utc(&t)
                .ok_or_else(|| VipError::bad_input(path, format!("{p} '{t}' is not a UTC= time")))
        };
        let mission = text("Mission")?;
        if mission != venus::MISSION {
            return Err(VipError::bad_input(
                path,
                format!("Mission is {mission}: not a {} file", venus::MISSION),
            ));
        }
        Ok(FixedHeader {
            file_name: text("File_Name")?,
            description: text("File_Description")?,
            notes: n.find_text("Notes").unwrap_or_default().to_string(),
            file_class: text("File_Class")?,
            file_type: text("File_Type")?,
            validity_start: time("Validity_Period/Validity_Start")?,
            validity_stop: time("Validity_Period/Validity_Stop")?,
            version: text("File_Version")?
                .parse()
                .map_err(|_| VipError::bad_input(path, "File_Version is not a number"))?,
            creator: n
                .find_text("Source/Creator")
                .unwrap_or_default()
                .to_string(),
            creator_version: n
                .find_text("Source/Creator_Version")
                .unwrap_or_default()
                .to_string(),
            creation_date: n
                .find_text("Source/Creation_Date")
                .and_then(parse_utc)
                .unwrap_or(NaiveDateTime::MIN),
        })
    }
}

/// A `Validity_Period` element.
pub fn validity_period(start: NaiveDateTime, stop: NaiveDateTime) -> Node {
    Node::new("Validity_Period")
        .child(Node::text("Validity_Start", utc(start)))
        .child(Node::text("Validity_Stop", utc(stop)))
}

/// The `.HDR` files of `dir` whose name holds `marker` (`_EXO_EORDTA_`, ...), sorted by name.
pub fn headers_in(dir: &Path, marker: &str) -> Result<Vec<std::path::PathBuf>> {
    let mut found: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| VipError::bad_input(dir, format!("cannot list: {e}")))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            name.is_some_and(|n| n.contains(marker) && n.ends_with(".HDR"))
        })
        .collect();
    found.sort();
    Ok(found)
}

/// The validity used for open-ended parameter files: from `start` to 9999-12-31T23:59:59.
pub fn open_validity(start: NaiveDate) -> (NaiveDateTime, NaiveDateTime) {
    (
        start.and_hms_opt(0, 0, 0).expect("midnight exists"),
        NaiveDate::from_ymd_opt(9999, 12, 31)
            .and_then(|d| d.and_hms_opt(23, 59, 59))
            .expect("valid date"),
    )
}

/// Which of the two EE layouts a file uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `Earth_Explorer_File`: header and Data_Block in one `.EEF`.
    File,
    /// `Earth_Explorer_Header`: a `.HDR` beside its `.DBL.DIR`.
    Header,
}

/// A whole EE document: layout, concrete schema type, header and (for `.EEF`) the Data_Block.
#[derive(Debug, Clone)]
pub struct EeDoc {
    pub layout: Layout,
    /// The root's `xsi:type`, e.g. `DARKCU_File_Type`.
    pub xsi_type: String,
    /// The root's `schema_version`, written as given (e.g. `1.9`).
    pub schema_version: String,
    pub fixed: FixedHeader,
    /// `Main_Product_Header/List_of_Extensions` as keyword/value pairs.
    pub extensions: Vec<(String, String)>,
    /// The `Specific_Product_Header` element (name included).
    pub specific: Node,
    /// The `Data_Block` element (EEF only).
    pub data_block: Option<Node>,
}

impl EeDoc {
    /// The document as an XML tree in schema order.
    pub fn to_node(&self) -> Node {
        let extensions = self
            .extensions
            .iter()
            .enumerate()
            .map(|(i, (k, v))| {
                Node::new("Extension")
                    .attr("sn", i + 1)
                    .child(Node::text("Keyword", k))
                    .child(Node::text("Value", v))
            })
            .collect();
        let header = Node::new("Earth_Explorer_Header")
            .child(self.fixed.to_node())
            .child(
                Node::new("Variable_Header")
                    .child(
                        Node::new("Main_Product_Header")
                            .child(Node::list("List_of_Consumers", vec![]))
                            .child(Node::list("List_of_Extensions", extensions)),
                    )
                    .child(self.specific.clone()),
            );
        let root_name = match self.layout {
            Layout::File => "Earth_Explorer_File",
            Layout::Header => "Earth_Explorer_Header",
        };
        let mut root = Node::new(root_name)
            .attr("xmlns", EE_NAMESPACE)
            .attr("xmlns:xsi", XSI_NAMESPACE)
            .attr("xsi:type", &self.xsi_type)
            .attr("schema_version", &self.schema_version);
        match self.layout {
            Layout::File => {
                root = root.child(header);
                root = root.child(
                    self.data_block
                        .clone()
                        .unwrap_or_else(|| Node::new("Data_Block")),
                );
            }
            Layout::Header => root.children = header.children,
        }
        root
    }

    /// The document as XML text.
    pub fn to_xml(&self) -> String {
        self.to_node().to_xml()
    }

    /// Writes the document to `path` (inside a staged output, so no atomic rename here).
    pub fn write(&self, path: &Path) -> Result<()> {
        std::fs::write(path, self.to_xml()).map_err(|e| VipError::output_io(path, &e))
    }

    /// Reads an EE file of either layout; anything that is not EE is a bad input naming the file.
    pub fn read(path: &Path) -> Result<EeDoc> {
        let root = Node::read(path)?;
        EeDoc::from_node(&root, path)
    }

    /// Interprets a parsed tree as an EE document.
    pub fn from_node(root: &Node, path: &Path) -> Result<EeDoc> {
        let not_ee =
            |what: &str| VipError::bad_input(path, format!("not an Earth Explorer file: {what}"));
        let ns = root.get_attr("xmlns").unwrap_or_default();
        let (layout, header) = match super::xml::local(&root.name) {
            "Earth_Explorer_File" => (
                Layout::File,
                root.get("Earth_Explorer_Header")
                    .ok_or_else(|| not_ee("no Earth_Explorer_Header"))?,
            ),
            "Earth_Explorer_Header" => (Layout::Header, root),
            other => return Err(not_ee(&format!("root element is <{other}>"))),
        };
        if ns != EE_NAMESPACE && !root.attrs.iter().any(|(_, v)| v == EE_NAMESPACE) {
            return Err(not_ee("not in the http://eop-cfi.esa.int/CFI namespace"));
        }
        let fixed = header
            .get("Fixed_Header")
            .ok_or_else(|| not_ee("no Fixed_Header"))?;
        let variable = header
            .get("Variable_Header")
            .ok_or_else(|| not_ee("no Variable_Header"))?;
        let extensions = variable
            .find("Main_Product_Header/List_of_Extensions")
            .map(|l| {
                l.all("Extension")
                    .map(|e| {
                        (
                            e.find_text("Keyword").unwrap_or_default().to_string(),
                            e.find_text("Value").unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(EeDoc {
            layout,
            xsi_type: root
                .get_attr("type")
                .map(|t| super::xml::local(t).to_string())
                .unwrap_or_default(),
            schema_version: root
                .get_attr("schema_version")
                .unwrap_or_default()
                .to_string(),
            fixed: FixedHeader::from_node(fixed, path)?,
            extensions,
            specific: variable
                .get("Specific_Product_Header")
                .cloned()
                .unwrap_or_else(|| Node::new("Specific_Product_Header")),
            data_block: root.get("Data_Block").cloned(),
        })
    }

    /// Fails with a bad-input error unless the file is of `file_type` (e.g. `GIP_DARKCU`).
    pub fn expect_type(&self, file_type: &str, path: &Path) -> Result<()> {
        if self.fixed.file_type == file_type {
            Ok(())
        } else {
            Err(VipError::bad_input(
                path,
                format!(
                    "File_Type is {}, expected {file_type}",
                    self.fixed.file_type
                ),
            ))
        }
    }

    /// The value of extension `keyword`, if present.
    pub fn extension(&self, keyword: &str) -> Option<&str> {
        self.extensions
            .iter()
            .find(|(k, _)| k == keyword)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap()
    }

    #[test]
    fn utc_is_23_characters_and_round_trips() {
        let x = t("2018-01-02T10:51:48");
        assert_eq!(utc(x), "UTC=2018-01-02T10:51:48");
        assert_eq!(utc(x).len(), 23);
        assert_eq!(parse_utc(&utc(x)), Some(x));
        assert_eq!(
            parse_utc("UTC=9999-99-99T99:99:99"),
            Some(NaiveDateTime::MAX)
        );
        assert_eq!(parse_utc("2018-01-02T10:51:48"), None);
    }

    #[test]
    fn reads_the_shared_examples() {
        let ex = crate::testdata("venus/examples");
        let p = ex.join("VE_TEST_GIP_PHGAIN_L_ALLSITES_00001_20170801_99991231.EEF");
        let d = EeDoc::read(&p).unwrap();
        assert_eq!(d.layout, Layout::File);
        assert_eq!(d.xsi_type, "PHGAIN_File_Type");
        assert_eq!(d.fixed.file_type, "GIP_PHGAIN");
        assert_eq!(d.fixed.validity_start, t("2017-08-01T00:00:00"));
        assert!(d.data_block.is_some());
        let p = ex.join("VE_TEST_VSC_L1VALD_CAMARGUE_20180101.HDR");
        let d = EeDoc::read(&p).unwrap();
        assert_eq!(d.layout, Layout::Header);
        assert_eq!(d.fixed.file_type, "VSC_L1VALD");
        assert!(d.expect_type("GIP_DARKCU", &p).is_err());
    }

    #[test]
    fn non_ee_xml_is_bad_input() {
        let n = Node::parse("<kml><a/></kml>", Path::new("x.HDR")).unwrap();
        let e = EeDoc::from_node(&n, Path::new("x.HDR")).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert!(e.to_string().contains("not an Earth Explorer file"), "{e}");
    }
}

#[cfg(test)]
mod schema_tests {
    use super::*;

    #[test]
    fn rewritten_examples_still_validate() {
        let ex = crate::testdata("venus/examples");
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "VE_TEST_GIP_PHGAIN_L_ALLSITES_00001_20170801_99991231.EEF",
            "VE_TEST_VSC_L1VALD_CAMARGUE_20180101.HDR",
            "VE_TEST_GIP_DARKCU_L_ALLSITES_00001_20170801_99991231_B01_111101.EEF",
        ] {
            let doc = EeDoc::read(&ex.join(name)).unwrap();
            let out = dir.path().join(name);
            doc.write(&out).unwrap();
            crate::ee::schema::validate_all(&[&out]).unwrap();
        }
    }
}
