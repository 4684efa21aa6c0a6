//! Typed GIPPs of the L1 chain and the simulator (ICD-DIGEST §5.1, §5.2): DARKCU, RELSEN,
//! OUTORD, PHGAIN, VIEDIR, REFLEC and SENGEO, each written as an `.EEF` that validates against
//! its XSD and read back with every count checked.
//!
//! Numbers are written with Rust's shortest round-trip decimal form, which never uses an
//! exponent, so `xs:decimal` and `xs:double` both accept them and reading gives back the very
//! same `f64`. None of these schemas limits fraction digits. Non-finite values are refused.
//!
//! Writers check their data and fail with [`VipError::Internal`] (the caller built impossible
//! parameters); readers fail with [`VipError::BadInput`] naming the file.

use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDateTime};

use super::gipp::{read_gipp, Applicability};
use super::header::{creation_time, validity_period, EeDoc, FixedHeader, Layout};
use super::naming::{self, GippId, TdiSet};
use super::xml::Node;
use crate::error::{Result, VipError};
use crate::mission::venus::{self, DETECTORS};

/// What every GIPP header carries besides its data.
#[derive(Debug, Clone, PartialEq)]
pub struct GippCommon {
    /// File_Class, e.g. `TEST`.
    pub class: String,
    pub applicability: Applicability,
    /// 0 … 99999.
    pub serial_key: u32,
    pub validity_start: NaiveDateTime,
    pub validity_stop: NaiveDateTime,
    /// File_Version, 1 … 9999.
    pub version: u16,
    pub notes: String,
    pub creator: String,
    pub creator_version: String,
    pub creation_date: NaiveDateTime,
}

impl GippCommon {
    /// Version 1, serial key 1, written by `vip` of this version now (or at
    /// `SOURCE_DATE_EPOCH`); fields are public to change any of them.
    pub fn new(
        class: &str,
        applicability: Applicability,
        validity: (NaiveDateTime, NaiveDateTime),
    ) -> Result<Self> {
        Ok(GippCommon {
            class: naming::file_class(class)?,
            applicability,
            serial_key: 1,
            validity_start: validity.0,
            validity_stop: validity.1,
            version: 1,
            notes: String::new(),
            creator: "vip".into(),
            creator_version: env!("CARGO_PKG_VERSION").into(),
            creation_date: creation_time(),
        })
    }

    /// The GIPP id of a file of `gipp_type` with these parameters.
    pub fn id(&self, gipp_type: &str, band: Option<&str>, tdi: Option<TdiSet>) -> Result<GippId> {
        let id = GippId {
            class: self.class.clone(),
            gipp_type: gipp_type.to_string(),
            nick_type: self.applicability.nick_type(),
            nick: self.applicability.nick().to_string(),
            serial_key: self.serial_key,
            start: self.validity_start.date(),
            stop: self.validity_stop.date(),
            band: band.map(str::to_string),
            tdi,
        };
        id.check().map_err(|e| VipError::Internal(e.to_string()))?;
        Ok(id)
    }

    /// The common parameters of a GIPP read from disk.
    pub fn from_doc(doc: &EeDoc, path: &Path) -> Result<Self> {
        let f = &doc.fixed;
        Ok(GippCommon {
            class: f.file_class.clone(),
            applicability: Applicability::from_specific(&doc.specific).ok_or_else(|| {
                VipError::bad_input(path, "Instance_Id has no applicability nick name")
            })?,
            serial_key: inst(doc, path, "Serial_Key")?
                .parse()
                .map_err(|_| VipError::bad_input(path, "Serial_Key is not a number"))?,
            validity_start: f.validity_start,
            validity_stop: f.validity_stop,
            version: f.version,
            notes: f.notes.clone(),
            creator: f.creator.clone(),
            creator_version: f.creator_version.clone(),
            creation_date: f.creation_date,
        })
    }

    /// A whole GIPP document around `data_block`.
    pub(super) fn doc(
        &self,
        kind: &Kind,
        band: Option<&str>,
        tdi: Option<TdiSet>,
        data_block: Node,
    ) -> Result<EeDoc> {
        let id = self.id(kind.gipp_type, band, tdi)?;
        let internal = |m: String| VipError::Internal(format!("{id}: {m}"));
        for t in [self.validity_start, self.validity_stop] {
            if !(0..=9999).contains(&t.year()) {
                return Err(internal(format!(
                    "validity time {t} is outside years 0-9999"
                )));
            }
        }
        if self.version == 0 || self.version > 9999 {
            return Err(internal(format!(
                "File_Version {} is not in 1..9999",
                self.version
            )));
        }
        let (nick_type, nick, sites) = self.applicability.to_nodes();
        let mut instance = Node::new("Instance_Id")
            .child(nick_type)
            .child(nick)
            .child(Node::text("Serial_Key", format!("{:05}", self.serial_key)))
            .child(validity_period(self.validity_start, self.validity_stop));
        if let Some(b) = band {
            instance = instance.child(Node::text("Band_Code", b));
        }
        if let Some(t) = tdi {
            instance = instance.child(Node::text("TDI_Configuration_Values", t.list()));
        }
        Ok(EeDoc {
            layout: Layout::File,
            xsi_type: format!("{}_File_Type", kind.gipp_type),
            schema_version: kind.schema_version.to_string(),
            fixed: FixedHeader {
                file_name: id.to_string(),
                description: kind.description.to_string(),
                notes: self.notes.clone(),
                file_class: self.class.clone(),
                file_type: id.file_type(),
                validity_start: self.validity_start,
                validity_stop: self.validity_stop,
                version: self.version,
                creator: self.creator.clone(),
                creator_version: self.creator_version.clone(),
                creation_date: self.creation_date,
            },
            extensions: vec![],
            specific: Node::new("Specific_Product_Header")
                .child(instance)
                .child(sites),
            data_block: Some(data_block),
        })
    }
}

/// Schema facts of one GIPP type.
pub(super) struct Kind {
    pub(super) gipp_type: &'static str,
    pub(super) description: &'static str,
    /// At least the schema's minimum (ICD-DIGEST §8.2).
    pub(super) schema_version: &'static str,
}

const DARKCU: Kind = Kind {
    gipp_type: "DARKCU",
    description: "DarkCurrents",
    schema_version: "1.9",
};
const RELSEN: Kind = Kind {
    gipp_type: "RELSEN",
    description: "RelativeSensitivities",
    schema_version: "0.30",
};
const OUTORD: Kind = Kind {
    gipp_type: "OUTORD",
    description: "OutOfOrderDetectors",
    schema_version: "0.30",
};
const PHGAIN: Kind = Kind {
    gipp_type: "PHGAIN",
    description: "PhysicalGainData",
    schema_version: "0.30",
};
const VIEDIR: Kind = Kind {
    gipp_type: "VIEDIR",
    description: "ViewingDirections",
    schema_version: "0.30",
};
const REFLEC: Kind = Kind {
    gipp_type: "REFLEC",
    description: "ReflectProcess",
    schema_version: "0.30",
};
const SENGEO: Kind = Kind {
    gipp_type: "SENGEO",
    description: "SensorGeometricalModel",
    schema_version: "0.30",
};

/// The file name of a GIPP document: its id plus `.EEF` or `.HDR`.
pub fn file_name(doc: &EeDoc) -> String {
    let ext = match doc.layout {
        Layout::File => "EEF",
        Layout::Header => "HDR",
    };
    format!("{}.{ext}", doc.fixed.file_name)
}

/// Writes `doc` into `dir` under its ICD file name and returns the path.
pub fn write_gipp(doc: &EeDoc, dir: &Path) -> Result<PathBuf> {
    let path = dir.join(file_name(doc));
    doc.write(&path)?;
    Ok(path)
}

// ------------------------------------------------------------------------------------------------
// Number formatting and checks
// ------------------------------------------------------------------------------------------------

pub(super) use super::xml::num;

fn nums(xs: &[f64]) -> String {
    xs.iter().map(|x| num(*x)).collect::<Vec<_>>().join(" ")
}

pub(super) fn check_finite(what: &str, xs: impl IntoIterator<Item = f64>) -> Result<()> {
    match xs.into_iter().enumerate().find(|(_, x)| !x.is_finite()) {
        Some((i, x)) => Err(VipError::Internal(format!(
            "{what}: value {} is {x}, not a finite number",
            i + 1
        ))),
        None => Ok(()),
    }
}

fn check_len(what: &str, n: usize, expected: usize) -> Result<()> {
    if n == expected {
        Ok(())
    } else {
        Err(VipError::Internal(format!(
            "{what}: {n} values given, {expected} expected"
        )))
    }
}

pub(super) fn check_band(band: &str) -> Result<()> {
    match venus::band_by_code(band) {
        Some(b) if b.code == band => Ok(()),
        _ => Err(VipError::Internal(format!(
            "'{band}' is not a band code B01..B12"
        ))),
    }
}

/// `count`ed list of `item` elements with `sn` 1..n.
fn sn_list(list: &str, item: &str, texts: impl IntoIterator<Item = String>) -> Node {
    Node::list(
        list,
        texts
            .into_iter()
            .enumerate()
            .map(|(i, t)| Node::text(item, t).attr("sn", i + 1))
            .collect(),
    )
}

// ------------------------------------------------------------------------------------------------
// Reading helpers
// ------------------------------------------------------------------------------------------------

pub(super) fn inst<'a>(doc: &'a EeDoc, path: &Path, what: &str) -> Result<&'a str> {
    doc.specific
        .find_text(&format!("Instance_Id/{what}"))
        .ok_or_else(|| VipError::bad_input(path, format!("Instance_Id has no {what}")))
}

pub(super) fn inst_band(doc: &EeDoc, path: &Path) -> Result<String> {
    let b = inst(doc, path, "Band_Code")?;
    check_band(b)
        .map_err(|_| VipError::bad_input(path, format!("Band_Code '{b}' is not B01..B12")))?;
    Ok(b.to_string())
}

fn inst_tdi(doc: &EeDoc, path: &Path) -> Result<TdiSet> {
    let t = inst(doc, path, "TDI_Configuration_Values")?;
    TdiSet::parse_list(t).ok_or_else(|| {
        VipError::bad_input(
            path,
            format!("TDI_Configuration_Values '{t}' is not a list of 01 04 08 16 32"),
        )
    })
}

fn data_block<'a>(doc: &'a EeDoc, path: &Path) -> Result<&'a Node> {
    doc.data_block
        .as_ref()
        .ok_or_else(|| VipError::bad_input(path, "no Data_Block"))
}

pub(super) fn child<'a>(n: &'a Node, p: &str, path: &Path) -> Result<&'a Node> {
    n.find(p)
        .ok_or_else(|| VipError::bad_input(path, format!("no {p} in {}", n.name)))
}

/// The items of a `List_of_...` element: `count` must equal the number of items and, when
/// given, `expected`; items with `sn` must be numbered 1..n in order.
pub(super) fn items<'a>(
    parent: &'a Node,
    list: &str,
    item: &'a str,
    expected: Option<usize>,
    path: &Path,
) -> Result<Vec<&'a Node>> {
    let l = child(parent, list, path)?;
    let v: Vec<&Node> = l.all(item).collect();
    let count = l
        .get_attr("count")
        .and_then(|c| c.trim().parse::<usize>().ok());
    if count != Some(v.len()) {
        return Err(VipError::bad_input(
            path,
            format!(
                "{list} count=\"{}\" but it holds {} {item}",
                l.get_attr("count").unwrap_or(""),
                v.len()
            ),
        ));
    }
    if let Some(n) = expected {
        if v.len() != n {
            return Err(VipError::bad_input(
                path,
                format!("{list} holds {} {item}, {n} expected", v.len()),
            ));
        }
    }
    for (i, n) in v.iter().enumerate() {
        if let Some(sn) = n.get_attr("sn") {
            if sn.trim().parse::<usize>().ok() != Some(i + 1) {
                return Err(VipError::bad_input(
                    path,
                    format!("{item} number {} has sn=\"{sn}\"", i + 1),
                ));
            }
        }
    }
    Ok(v)
}

/// The files of a header GIPP's `DBL_Organization`: (`File_Definition`, path resolved beside
/// the header), refusing a relative path that leaves the GIPP folder.
pub(super) fn packaged_files(specific: &Node, path: &Path) -> Result<Vec<(String, PathBuf)>> {
    let base = path.parent().unwrap_or(Path::new("."));
    items(
        child(specific, "DBL_Organization", path)?,
        "List_of_Packaged_DBL_Files",
        "Packaged_DBL_File",
        None,
        path,
    )?
    .into_iter()
    .map(|f| {
        let rel = child(f, "Relative_File_Path", path)?
            .text
            .trim()
            .to_string();
        if rel.split('/').any(|p| p == "..") || rel.starts_with('/') {
            return Err(VipError::bad_input(
                path,
                format!("file path '{rel}' leaves the GIPP folder"),
            ));
        }
        let def = child(f, "File_Definition", path)?.text.trim().to_string();
        Ok((def, base.join(rel)))
    })
    .collect()
}

pub(super) fn parse_num(text: &str, what: &str, path: &Path) -> Result<f64> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .ok_or_else(|| {
            VipError::bad_input(path, format!("{what} '{}' is not a number", text.trim()))
        })
}

fn parse_nums<const N: usize>(text: &str, what: &str, path: &Path) -> Result<[f64; N]> {
    let v: Vec<&str> = text.split_whitespace().collect();
    if v.len() != N {
        return Err(VipError::bad_input(
            path,
            format!(
                "{what} '{}' holds {} numbers, {N} expected",
                text.trim(),
                v.len()
            ),
        ));
    }
    let mut out = [0.0; N];
    for (o, s) in out.iter_mut().zip(v) {
        *o = parse_num(s, what, path)?;
    }
    Ok(out)
}

pub(super) fn text_num(n: &Node, p: &str, path: &Path) -> Result<f64> {
    parse_num(&child(n, p, path)?.text, p, path)
}

pub(super) fn text_int<T: std::str::FromStr>(n: &Node, p: &str, path: &Path) -> Result<T> {
    let t = child(n, p, path)?.text.trim();
    t.parse()
        .map_err(|_| VipError::bad_input(path, format!("{p} '{t}' is not an integer")))
}

// ------------------------------------------------------------------------------------------------
// DARKCU
// ------------------------------------------------------------------------------------------------

/// Radiometric spike model of one detector (DARKCU `Spike_Coefficients`).
#[derive(Debug, Clone, PartialEq)]
pub struct Spike {
    /// Detector column, 0 … 5200.
    pub position: u16,
    /// ≥ 0.
    pub threshold: f64,
    pub polynomial: [f64; 4],
    pub linear: [f64; 2],
}

/// GIP_DARKCU: the dark current C_j of each of the 5200 detectors of one band, for a set of
/// TDI configurations.
#[derive(Debug, Clone, PartialEq)]
pub struct DarkCurrents {
    pub band: String,
    pub tdi: TdiSet,
    /// 5200 values ≥ 0, detector 1 first.
    pub values: Vec<f64>,
    pub spikes: Vec<Spike>,
}

/// The DARKCU document of `dc`.
pub fn darkcu(common: &GippCommon, dc: &DarkCurrents) -> Result<EeDoc> {
    check_band(&dc.band)?;
    let what = format!("GIP_DARKCU {}", dc.band);
    check_len(&what, dc.values.len(), DETECTORS)?;
    check_finite(&what, dc.values.iter().copied())?;
    if let Some(i) = dc.values.iter().position(|v| *v < 0.0) {
        return Err(VipError::Internal(format!(
            "{what}: dark current of detector {} is negative",
            i + 1
        )));
    }
    if dc.spikes.len() > DETECTORS {
        return Err(VipError::Internal(format!("{what}: more than 5200 spikes")));
    }
    for s in &dc.spikes {
        check_finite(
            &what,
            [s.threshold]
                .into_iter()
                .chain(s.polynomial)
                .chain(s.linear),
        )?;
        if s.position as usize > DETECTORS || s.threshold < 0.0 {
            return Err(VipError::Internal(format!(
                "{what}: spike at {} has a position beyond 5200 or a negative threshold",
                s.position
            )));
        }
    }
    let spikes = dc
        .spikes
        .iter()
        .enumerate()
        .map(|(i, s)| {
            Node::new("Spike_Coefficients")
                .attr("sn", i + 1)
                .child(Node::text("Pixel_Position", s.position))
                .child(Node::text("Pixel_Threshold", num(s.threshold)))
                .child(Node::text("Polynomial_Coefficients", nums(&s.polynomial)))
                .child(Node::text("Linear_Coefficients", nums(&s.linear)))
        })
        .collect();
    let data = Node::new("Data_Block")
        .child(sn_list(
            "List_of_Dark_Currents",
            "Dark_Current",
            dc.values.iter().map(|v| num(*v)),
        ))
        .child(Node::list("List_of_Spike_Characterization", spikes));
    common.doc(&DARKCU, Some(&dc.band), Some(dc.tdi), data)
}

/// Reads a GIP_DARKCU file.
pub fn read_darkcu(path: &Path) -> Result<DarkCurrents> {
    let doc = read_gipp(path, "GIP_DARKCU")?;
    let data = data_block(&doc, path)?;
    let values = items(
        data,
        "List_of_Dark_Currents",
        "Dark_Current",
        Some(DETECTORS),
        path,
    )?
    .into_iter()
    .map(|n| {
        let v = parse_num(&n.text, "Dark_Current", path)?;
        if v < 0.0 {
            return Err(VipError::bad_input(
                path,
                format!("Dark_Current {v} is negative"),
            ));
        }
        Ok(v)
    })
    .collect::<Result<Vec<_>>>()?;
    let spikes = match data.get("List_of_Spike_Characterization") {
        None => vec![],
        Some(_) => items(
            data,
            "List_of_Spike_Characterization",
            "Spike_Coefficients",
            None,
            path,
        )?
        .into_iter()
        .map(|n| {
            Ok(Spike {
                position: text_int(n, "Pixel_Position", path)?,
                threshold: text_num(n, "Pixel_Threshold", path)?,
                polynomial: parse_nums(
                    &child(n, "Polynomial_Coefficients", path)?.text,
                    "Polynomial_Coefficients",
                    path,
                )?,
                linear: parse_nums(
                    &child(n, "Linear_Coefficients", path)?.text,
                    "Linear_Coefficients",
                    path,
                )?,
            })
        })
        .collect::<Result<Vec<_>>>()?,
    };
    Ok(DarkCurrents {
        band: inst_band(&doc, path)?,
        tdi: inst_tdi(&doc, path)?,
        values,
        spikes,
    })
}

// ------------------------------------------------------------------------------------------------
// RELSEN and VIEDIR: one N-tuple per detector of a band
// ------------------------------------------------------------------------------------------------

/// A table of `N` numbers per detector of one band, for a set of TDI configurations: GIP_RELSEN
/// (triplets `a1 a2 Zs` of the equalisation model) and GIP_VIEDIR (pairs `tan ψX tan ψY`).
#[derive(Debug, Clone, PartialEq)]
pub struct DetectorTable<const N: usize> {
    pub band: String,
    pub tdi: TdiSet,
    /// 5200 tuples, detector 1 first.
    pub values: Vec<[f64; N]>,
}

/// GIP_RELSEN: `[a1, a2, Zs]` per detector.
pub type RelativeSensitivities = DetectorTable<3>;
/// GIP_VIEDIR: `[tan ψX, tan ψY]` per detector.
pub type ViewingDirections = DetectorTable<2>;

/// Where a [`DetectorTable`] kind keeps its values.
struct TableLayout {
    kind: &'static Kind,
    list: &'static str,
    item: &'static str,
}

const RELSEN_TABLE: TableLayout = TableLayout {
    kind: &RELSEN,
    list: "List_of_Relative_Sensitivities",
    item: "Relative_Sensitivity",
};
const VIEDIR_TABLE: TableLayout = TableLayout {
    kind: &VIEDIR,
    list: "List_of_View_Dirs",
    item: "View_Dir",
};

impl<const N: usize> DetectorTable<N> {
    fn doc(&self, common: &GippCommon, layout: &TableLayout) -> Result<EeDoc> {
        check_band(&self.band)?;
        let what = format!("GIP_{} {}", layout.kind.gipp_type, self.band);
        check_len(&what, self.values.len(), DETECTORS)?;
        check_finite(&what, self.values.iter().flatten().copied())?;
        let data = Node::new("Data_Block").child(sn_list(
            layout.list,
            layout.item,
            self.values.iter().map(|c| nums(c)),
        ));
        common.doc(layout.kind, Some(&self.band), Some(self.tdi), data)
    }

    fn read(path: &Path, layout: &TableLayout) -> Result<Self> {
        let doc = read_gipp(path, &format!("GIP_{}", layout.kind.gipp_type))?;
        let data = data_block(&doc, path)?;
        let values = items(data, layout.list, layout.item, Some(DETECTORS), path)?
            .into_iter()
            .map(|n| parse_nums::<N>(&n.text, layout.item, path))
            .collect::<Result<Vec<_>>>()?;
        Ok(DetectorTable {
            band: inst_band(&doc, path)?,
            tdi: inst_tdi(&doc, path)?,
            values,
        })
    }
}

/// The RELSEN document of `rs`.
pub fn relsen(common: &GippCommon, rs: &RelativeSensitivities) -> Result<EeDoc> {
    rs.doc(common, &RELSEN_TABLE)
}

/// Reads a GIP_RELSEN file.
pub fn read_relsen(path: &Path) -> Result<RelativeSensitivities> {
    DetectorTable::read(path, &RELSEN_TABLE)
}

/// The VIEDIR document of `vd`.
pub fn viedir(common: &GippCommon, vd: &ViewingDirections) -> Result<EeDoc> {
    vd.doc(common, &VIEDIR_TABLE)
}

/// Reads a GIP_VIEDIR file.
pub fn read_viedir(path: &Path) -> Result<ViewingDirections> {
    DetectorTable::read(path, &VIEDIR_TABLE)
}

// ------------------------------------------------------------------------------------------------
// OUTORD
// ------------------------------------------------------------------------------------------------

/// Kinds of out-of-order detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DefectKind {
    Blind,
    Noisy,
    FilterHole,
}

impl DefectKind {
    /// The ICD word: `BLIND`, `NOISY`, `FILTER_HOLE`.
    pub fn as_str(self) -> &'static str {
        match self {
            DefectKind::Blind => "BLIND",
            DefectKind::Noisy => "NOISY",
            DefectKind::FilterHole => "FILTER_HOLE",
        }
    }

    /// Parses the ICD word.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "BLIND" => Some(DefectKind::Blind),
            "NOISY" => Some(DefectKind::Noisy),
            "FILTER_HOLE" => Some(DefectKind::FilterHole),
            _ => None,
        }
    }
}

/// A range of defective columns, 1-based and inclusive (`first..=last` in 1 … 5200).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Defect {
    pub first: u16,
    pub last: u16,
    pub kind: DefectKind,
}

/// The defects of a band in one TDI configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TdiDefects {
    /// 1, 4, 8, 16 or 32.
    pub tdi: u8,
    pub defects: Vec<Defect>,
}

/// GIP_OUTORD: out-of-order detectors of one band, per TDI configuration (at most 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutOfOrderDetectors {
    pub band: String,
    pub configurations: Vec<TdiDefects>,
}

impl OutOfOrderDetectors {
    /// The defects listed for TDI configuration `tdi` (none when it is not listed).
    pub fn defects(&self, tdi: u8) -> &[Defect] {
        self.configurations
            .iter()
            .find(|c| c.tdi == tdi)
            .map_or(&[], |c| &c.defects)
    }
}

/// The OUTORD document of `od`.
pub fn outord(common: &GippCommon, od: &OutOfOrderDetectors) -> Result<EeDoc> {
    check_band(&od.band)?;
    let what = format!("GIP_OUTORD {}", od.band);
    if od.configurations.len() > TdiSet::VALUES.len() {
        return Err(VipError::Internal(format!(
            "{what}: more than 5 TDI configurations"
        )));
    }
    let mut seen = Vec::new();
    for c in &od.configurations {
        if !TdiSet::VALUES.contains(&c.tdi) || seen.contains(&c.tdi) {
            return Err(VipError::Internal(format!(
                "{what}: TDI configuration {} is not one of 1, 4, 8, 16, 32 or is repeated",
                c.tdi
            )));
        }
        seen.push(c.tdi);
        for d in &c.defects {
            if d.first < 1 || d.first > d.last || d.last as usize > DETECTORS {
                return Err(VipError::Internal(format!(
                    "{what}: column range {}..{} is not within 1..5200",
                    d.first, d.last
                )));
            }
        }
    }
    let configs = od
        .configurations
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let defects = c
                .defects
                .iter()
                .enumerate()
                .map(|(j, d)| {
                    Node::new("Defect")
                        .attr("sn", j + 1)
                        .child(
                            Node::new("Col_Range")
                                .child(Node::text("First", d.first))
                                .child(Node::text("Last", d.last)),
                        )
                        .child(Node::text("Defect_Type", d.kind.as_str()))
                })
                .collect();
            Node::new("TDI_Configuration_Defect")
                .attr("sn", i + 1)
                .child(Node::text(
                    "TDI_Configuration_Code",
                    format!("{:02}", c.tdi),
                ))
                .child(Node::list("List_of_Defects", defects))
        })
        .collect();
    let data =
        Node::new("Data_Block").child(Node::list("List_of_TDI_Configuration_Defects", configs));
    common.doc(&OUTORD, Some(&od.band), None, data)
}

/// Reads a GIP_OUTORD file.
pub fn read_outord(path: &Path) -> Result<OutOfOrderDetectors> {
    let doc = read_gipp(path, "GIP_OUTORD")?;
    let data = data_block(&doc, path)?;
    let configurations = items(
        data,
        "List_of_TDI_Configuration_Defects",
        "TDI_Configuration_Defect",
        None,
        path,
    )?
    .into_iter()
    .map(|c| {
        let code = child(c, "TDI_Configuration_Code", path)?.text.trim();
        let tdi = TdiSet::parse_list(code)
            .filter(|s| s.values().len() == 1)
            .map(|s| s.values()[0])
            .ok_or_else(|| {
                VipError::bad_input(
                    path,
                    format!("TDI_Configuration_Code '{code}' is not a TDI"),
                )
            })?;
        let defects = items(c, "List_of_Defects", "Defect", None, path)?
            .into_iter()
            .map(|d| {
                let first: u16 = text_int(d, "Col_Range/First", path)?;
                let last: u16 = text_int(d, "Col_Range/Last", path)?;
                if first < 1 || first > last || last as usize > DETECTORS {
                    return Err(VipError::bad_input(
                        path,
                        format!("Col_Range {first}..{last} is not within 1..5200"),
                    ));
                }
                let k = child(d, "Defect_Type", path)?.text.trim();
                let kind = DefectKind::parse(k).ok_or_else(|| {
                    VipError::bad_input(
                        path,
                        format!("Defect_Type '{k}' is not BLIND, NOISY or FILTER_HOLE"),
                    )
                })?;
                Ok(Defect { first, last, kind })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(TdiDefects { tdi, defects })
    })
    .collect::<Result<Vec<_>>>()?;
    Ok(OutOfOrderDetectors {
        band: inst_band(&doc, path)?,
        configurations,
    })
}

// ------------------------------------------------------------------------------------------------
// PHGAIN
// ------------------------------------------------------------------------------------------------

/// The physical gain A_k of one band for a set of TDI configurations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TdiGain {
    pub tdi: TdiSet,
    /// ≥ 0.
    pub gain: f64,
}

/// The gains of one band (1 to 5 TDI sets).
#[derive(Debug, Clone, PartialEq)]
pub struct BandGains {
    pub band: String,
    pub gains: Vec<TdiGain>,
}

/// GIP_PHGAIN: the physical gain A_k of the 12 bands.
#[derive(Debug, Clone, PartialEq)]
pub struct PhysicalGains {
    pub bands: Vec<BandGains>,
}

impl PhysicalGains {
    /// One gain per band, valid for every TDI configuration; `gains[0]` is B01.
    pub fn per_band(gains: &[f64; 12]) -> Self {
        PhysicalGains {
            bands: venus::BANDS
                .iter()
                .zip(gains)
                .map(|(b, g)| BandGains {
                    band: b.code.to_string(),
                    gains: vec![TdiGain {
                        tdi: TdiSet::ALL,
                        gain: *g,
                    }],
                })
                .collect(),
        }
    }

    /// The gain of `band` in TDI configuration `tdi`.
    pub fn gain(&self, band: &str, tdi: u8) -> Option<f64> {
        self.bands
            .iter()
            .find(|b| b.band == band)?
            .gains
            .iter()
            .find(|g| g.tdi.contains(tdi))
            .map(|g| g.gain)
    }
}

/// The PHGAIN document of `pg`: exactly the 12 bands, each once.
pub fn phgain(common: &GippCommon, pg: &PhysicalGains) -> Result<EeDoc> {
    let what = "GIP_PHGAIN";
    check_len(&format!("{what} bands"), pg.bands.len(), venus::BANDS.len())?;
    for b in &venus::BANDS {
        if pg.bands.iter().filter(|x| x.band == b.code).count() != 1 {
            return Err(VipError::Internal(format!(
                "{what}: band {} must appear exactly once",
                b.code
            )));
        }
    }
    for b in &pg.bands {
        if b.gains.is_empty() || b.gains.len() > 5 {
            return Err(VipError::Internal(format!(
                "{what}: band {} has {} gains, 1 to 5 expected",
                b.band,
                b.gains.len()
            )));
        }
        check_finite(what, b.gains.iter().map(|g| g.gain))?;
        if b.gains.iter().any(|g| g.gain < 0.0) {
            return Err(VipError::Internal(format!(
                "{what}: band {} has a negative gain",
                b.band
            )));
        }
    }
    let bands = pg
        .bands
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let gains = b
                .gains
                .iter()
                .enumerate()
                .map(|(j, g)| {
                    Node::new("TDI_Physical_Gain")
                        .attr("sn", j + 1)
                        .child(Node::text("TDI_Configuration_Values", g.tdi.list()))
                        .child(Node::text("Physical_Gain", num(g.gain)))
                })
                .collect();
            Node::new("Band_Physical_Gain")
                .attr("sn", i + 1)
                .child(Node::text("Band_Code", &b.band))
                .child(Node::list("List_of_TDI_Physical_Gains", gains))
        })
        .collect();
    let data = Node::new("Data_Block").child(Node::list("List_of_Band_Physical_Gains", bands));
    common.doc(&PHGAIN, None, None, data)
}

/// Reads a GIP_PHGAIN file.
pub fn read_phgain(path: &Path) -> Result<PhysicalGains> {
    let doc = read_gipp(path, "GIP_PHGAIN")?;
    let data = data_block(&doc, path)?;
    let bands = items(
        data,
        "List_of_Band_Physical_Gains",
        "Band_Physical_Gain",
        Some(venus::BANDS.len()),
        path,
    )?
    .into_iter()
    .map(|b| {
        let band = child(b, "Band_Code", path)?.text.trim().to_string();
        check_band(&band).map_err(|_| {
            VipError::bad_input(path, format!("Band_Code '{band}' is not B01..B12"))
        })?;
        let gains = items(
            b,
            "List_of_TDI_Physical_Gains",
            "TDI_Physical_Gain",
            None,
            path,
        )?
        .into_iter()
        .map(|g| {
            let t = child(g, "TDI_Configuration_Values", path)?.text.trim();
            let tdi = TdiSet::parse_list(t).ok_or_else(|| {
                VipError::bad_input(path, format!("TDI_Configuration_Values '{t}' is invalid"))
            })?;
            let gain = text_num(g, "Physical_Gain", path)?;
            Ok(TdiGain { tdi, gain })
        })
        .collect::<Result<Vec<_>>>()?;
        Ok(BandGains { band, gains })
    })
    .collect::<Result<Vec<_>>>()?;
    for b in &venus::BANDS {
        if !bands.iter().any(|x| x.band == b.code) {
            return Err(VipError::bad_input(
                path,
                format!("no physical gain for band {}", b.code),
            ));
        }
    }
    Ok(PhysicalGains { bands })
}

// ------------------------------------------------------------------------------------------------
// REFLEC
// ------------------------------------------------------------------------------------------------

/// GIP_REFLEC: the Earth–Sun distance model and the reflectance of the top code.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReflectanceParameters {
    /// n, rad/day.
    pub mean_rotation_speed: f64,
    /// e.
    pub eccentricity: f64,
    /// t0, julian day.
    pub t0_day: f64,
    /// Reflectance of the largest code (e.g. 1.2).
    pub max_reflectance: f64,
}

/// The REFLEC document of `p`.
pub fn reflec(common: &GippCommon, p: &ReflectanceParameters) -> Result<EeDoc> {
    check_finite(
        "GIP_REFLEC",
        [
            p.mean_rotation_speed,
            p.eccentricity,
            p.t0_day,
            p.max_reflectance,
        ],
    )?;
    let data = Node::new("Data_Block")
        .child(
            Node::new("Earth_Sun_Distance_Parameters")
                .child(
                    Node::text("Mean_Rotation_Speed", num(p.mean_rotation_speed))
                        .attr("unit", "rad/day"),
                )
                .child(Node::text("Revolution_Eccentricity", num(p.eccentricity)))
                .child(Node::text("T0_Day", num(p.t0_day))),
        )
        .child(Node::text(
            "Maximum_Reflectance_Value",
            num(p.max_reflectance),
        ));
    common.doc(&REFLEC, None, None, data)
}

/// Reads a GIP_REFLEC file.
pub fn read_reflec(path: &Path) -> Result<ReflectanceParameters> {
    let doc = read_gipp(path, "GIP_REFLEC")?;
    let data = data_block(&doc, path)?;
    let es = child(data, "Earth_Sun_Distance_Parameters", path)?;
    Ok(ReflectanceParameters {
        mean_rotation_speed: text_num(es, "Mean_Rotation_Speed", path)?,
        eccentricity: text_num(es, "Revolution_Eccentricity", path)?,
        t0_day: text_num(es, "T0_Day", path)?,
        max_reflectance: text_num(data, "Maximum_Reflectance_Value", path)?,
    })
}

// ------------------------------------------------------------------------------------------------
// SENGEO
// ------------------------------------------------------------------------------------------------

/// A rotation by three angles (radians) applied in `order` (`XYZ`, `XZY`, `YXZ`, `YZX`, `ZXY`,
/// `ZYX`).
#[derive(Debug, Clone, PartialEq)]
pub struct Rotation {
    pub order: String,
    pub x: f64,
    pub y: f64,
    pub z: f64,
}

const ROTATION_ORDERS: [&str; 6] = ["XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX"];

impl Rotation {
    fn to_node(&self) -> Node {
        Node::new("Rotation")
            .child(Node::text("Rotation_Order", &self.order))
            .child(Node::text("X_Rotation", num(self.x)).attr("unit", "rad"))
            .child(Node::text("Y_Rotation", num(self.y)).attr("unit", "rad"))
            .child(Node::text("Z_Rotation", num(self.z)).attr("unit", "rad"))
    }

    fn from_node(n: &Node, path: &Path) -> Result<Self> {
        let order = child(n, "Rotation_Order", path)?.text.trim().to_string();
        if !ROTATION_ORDERS.contains(&order.as_str()) {
            return Err(VipError::bad_input(
                path,
                format!(
                    "Rotation_Order '{order}' is not one of {}",
                    ROTATION_ORDERS.join(", ")
                ),
            ));
        }
        Ok(Rotation {
            order,
            x: text_num(n, "X_Rotation", path)?,
            y: text_num(n, "Y_Rotation", path)?,
            z: text_num(n, "Z_Rotation", path)?,
        })
    }

    fn check(&self, what: &str) -> Result<()> {
        if !ROTATION_ORDERS.contains(&self.order.as_str()) {
            return Err(VipError::Internal(format!(
                "{what}: rotation order '{}' is not one of {}",
                self.order,
                ROTATION_ORDERS.join(", ")
            )));
        }
        check_finite(what, [self.x, self.y, self.z])
    }
}

/// A rotation followed by a homothety along Z.
#[derive(Debug, Clone, PartialEq)]
pub struct Transform {
    pub rotation: Rotation,
    pub z_homothety: f64,
}

/// The rotation from a tri-detector frame to the array of one band.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayRotation {
    /// 1 … 4.
    pub tridetector: u8,
    pub band: String,
    pub rotation: Rotation,
}

impl Rotation {
    /// The matrix of the rotation, VIP's reading of the ICD (which names the terms, not how
    /// they apply): the three elementary rotations, counter-clockwise about the axes of the
    /// parent frame, applied in `order` (XYZ: about X first), so that the matrix turns
    /// components in the child frame into components in the parent frame.
    pub fn matrix(&self) -> crate::geometry::earth::Mat3 {
        use crate::geometry::earth::{mul3, rx, ry, rz};
        // earth's rx/ry/rz rotate the frame (clockwise for vectors): their inverses here
        let about = |axis: char| match axis {
            'X' => rx(-self.x),
            'Y' => ry(-self.y),
            _ => rz(-self.z),
        };
        self.order.chars().fold(
            [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
            |m, a| mul3(about(a), m),
        )
    }
}

impl Transform {
    /// The rotation, then the homothety: the Z component scaled by `z_homothety` (a focal
    /// length correction: the tangents of the viewing angles divided by it).
    pub fn matrix(&self) -> crate::geometry::earth::Mat3 {
        let mut m = self.rotation.matrix();
        for row in m.iter_mut() {
            row[2] *= self.z_homothety;
        }
        m
    }
}

/// GIP_SENGEO: the sensor geometric model.
#[derive(Debug, Clone, PartialEq)]
pub struct SensorGeometry {
    pub spacecraft_to_instrument: Transform,
    /// Tri-detectors 1 to 4, in this order.
    pub instrument_to_tridetector: Vec<Transform>,
    /// The 12 arrays.
    pub tridetector_to_array: Vec<ArrayRotation>,
}

/// The SENGEO document of `g`.
pub fn sengeo(common: &GippCommon, g: &SensorGeometry) -> Result<EeDoc> {
    let what = "GIP_SENGEO";
    check_len(
        &format!("{what} tri-detectors"),
        g.instrument_to_tridetector.len(),
        4,
    )?;
    check_len(
        &format!("{what} arrays"),
        g.tridetector_to_array.len(),
        venus::BANDS.len(),
    )?;
    g.spacecraft_to_instrument.rotation.check(what)?;
    check_finite(what, [g.spacecraft_to_instrument.z_homothety])?;
    for t in &g.instrument_to_tridetector {
        t.rotation.check(what)?;
        check_finite(what, [t.z_homothety])?;
    }
    for a in &g.tridetector_to_array {
        check_band(&a.band)?;
        a.rotation.check(what)?;
        if !(1..=4).contains(&a.tridetector) {
            return Err(VipError::Internal(format!(
                "{what}: tri-detector {} is not 1..4",
                a.tridetector
            )));
        }
    }
    let s2i = &g.spacecraft_to_instrument;
    let tris = g
        .instrument_to_tridetector
        .iter()
        .enumerate()
        .map(|(i, t)| {
            Node::new("Instrument_To_Tridetector_Transformation")
                .attr("sn", i + 1)
                .child(Node::text("Tridetector_Code", i + 1))
                .child(t.rotation.to_node())
                .child(Node::text("Z_Homothety", num(t.z_homothety)))
        })
        .collect();
    let arrays = g
        .tridetector_to_array
        .iter()
        .enumerate()
        .map(|(i, a)| {
            Node::new("Tridetector_To_Array_Transformation")
                .attr("sn", i + 1)
                .child(Node::text("Tridetector_Code", a.tridetector))
                .child(Node::text("Band_Code", &a.band))
                .child(a.rotation.to_node())
        })
        .collect();
    let data = Node::new("Data_Block")
        .child(
            Node::new("Spacecraft_To_Instrument_Transformation")
                .child(s2i.rotation.to_node())
                .child(Node::text("Z_Homothety", num(s2i.z_homothety))),
        )
        .child(Node::list(
            "List_of_Instrument_To_Tridetector_Transformations",
            tris,
        ))
        .child(Node::list(
            "List_of_Tridetector_To_Array_Transformations",
            arrays,
        ));
    common.doc(&SENGEO, None, None, data)
}

impl SensorGeometry {
    /// The rotation of band `band`'s array frame to the spacecraft (body) frame: each
    /// transformation named `A_To_B` turns B's components into A's ([`Rotation::matrix`]),
    /// so array → tri-detector → instrument → spacecraft. `None` for a band the model does
    /// not list. The array frame is VIEDIR's once its axes are taken as (forward, right, down).
    pub fn array_to_body(&self, band: &str) -> Option<crate::geometry::earth::Mat3> {
        use crate::geometry::earth::mul3;
        let a = self.tridetector_to_array.iter().find(|a| a.band == band)?;
        let t = self
            .instrument_to_tridetector
            .get(usize::from(a.tridetector).checked_sub(1)?)?;
        Some(mul3(
            self.spacecraft_to_instrument.matrix(),
            mul3(t.matrix(), a.rotation.matrix()),
        ))
    }
}

/// Reads a GIP_SENGEO file.
pub fn read_sengeo(path: &Path) -> Result<SensorGeometry> {
    let doc = read_gipp(path, "GIP_SENGEO")?;
    let data = data_block(&doc, path)?;
    let transform = |n: &Node| -> Result<Transform> {
        Ok(Transform {
            rotation: Rotation::from_node(child(n, "Rotation", path)?, path)?,
            z_homothety: text_num(n, "Z_Homothety", path)?,
        })
    };
    let s2i = transform(child(
        data,
        "Spacecraft_To_Instrument_Transformation",
        path,
    )?)?;
    let mut tris: Vec<(u8, Transform)> = items(
        data,
        "List_of_Instrument_To_Tridetector_Transformations",
        "Instrument_To_Tridetector_Transformation",
        Some(4),
        path,
    )?
    .into_iter()
    .map(|n| Ok((text_int::<u8>(n, "Tridetector_Code", path)?, transform(n)?)))
    .collect::<Result<Vec<_>>>()?;
    tris.sort_by_key(|(c, _)| *c);
    if tris.iter().map(|(c, _)| *c).ne(1..=4) {
        return Err(VipError::bad_input(
            path,
            "instrument-to-tri-detector transformations do not cover tri-detectors 1 to 4 once each",
        ));
    }
    let arrays = items(
        data,
        "List_of_Tridetector_To_Array_Transformations",
        "Tridetector_To_Array_Transformation",
        Some(venus::BANDS.len()),
        path,
    )?
    .into_iter()
    .map(|n| {
        Ok(ArrayRotation {
            tridetector: text_int(n, "Tridetector_Code", path)?,
            band: child(n, "Band_Code", path)?.text.trim().to_string(),
            rotation: Rotation::from_node(child(n, "Rotation", path)?, path)?,
        })
    })
    .collect::<Result<Vec<_>>>()?;
    Ok(SensorGeometry {
        spacecraft_to_instrument: s2i,
        instrument_to_tridetector: tris.into_iter().map(|(_, t)| t).collect(),
        tridetector_to_array: arrays,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::NaiveDate;

    pub(crate) fn common(applicability: Applicability) -> GippCommon {
        let start = NaiveDate::from_ymd_opt(2017, 8, 1).unwrap();
        let mut c = GippCommon::new(
            "TEST",
            applicability,
            crate::ee::header::open_validity(start),
        )
        .unwrap();
        c.creation_date = start.and_hms_opt(12, 0, 0).unwrap();
        c
    }

    pub(crate) fn dark(band: &str) -> DarkCurrents {
        DarkCurrents {
            band: band.into(),
            tdi: TdiSet::ALL,
            values: (0..DETECTORS)
                .map(|i| 20.0 + (i % 7) as f64 * 0.001 + i as f64 * 1e-9)
                .collect(),
            spikes: vec![],
        }
    }

    #[test]
    fn the_sensor_model_turns_and_scales_the_lines_of_sight() {
        let mut g = sample_geometry();
        let zero = |order: &str| Rotation {
            order: order.into(),
            x: 0.0,
            y: 0.0,
            z: 0.0,
        };
        g.spacecraft_to_instrument = Transform {
            rotation: zero("XYZ"),
            z_homothety: 1.0,
        };
        for t in g.instrument_to_tridetector.iter_mut() {
            *t = Transform {
                rotation: zero("ZYX"),
                z_homothety: 1.0,
            };
        }
        for a in g.tridetector_to_array.iter_mut() {
            a.rotation = zero("XYZ");
        }
        let band = g.tridetector_to_array[0].band.clone();
        let m = g.array_to_body(&band).unwrap();
        assert_eq!(m, [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]);
        // a quarter turn about Z takes the forward axis to the right one (z down)
        g.tridetector_to_array[0].rotation.z = std::f64::consts::FRAC_PI_2;
        let m = g.array_to_body(&band).unwrap();
        let v = crate::geometry::earth::mul(&m, [1.0, 0.0, 0.0]);
        assert!((v[1] - 1.0).abs() < 1e-12 && v[0].abs() < 1e-12, "{v:?}");
        // X then Y differs from Y then X
        let r = |order: &str| {
            Rotation {
                order: order.into(),
                x: 0.3,
                y: 0.2,
                z: 0.0,
            }
            .matrix()
        };
        assert!((r("XYZ")[0][1] - r("YXZ")[0][1]).abs() > 1e-3);
        // a homothety of 1.01 on the instrument divides the tangents by 1.01
        g.tridetector_to_array[0].rotation.z = 0.0;
        g.spacecraft_to_instrument.z_homothety = 1.01;
        let d = crate::geometry::earth::mul(&g.array_to_body(&band).unwrap(), [0.0, 0.02, 1.0]);
        assert!((d[1] / d[2] - 0.02 / 1.01).abs() < 1e-15);
        assert!(g.array_to_body("B99").is_none());
    }

    fn sample_geometry() -> SensorGeometry {
        let rot = |x: f64| Rotation {
            order: "XYZ".into(),
            x,
            y: -x / 3.0,
            z: 1e-7,
        };
        SensorGeometry {
            spacecraft_to_instrument: Transform {
                rotation: rot(0.001),
                z_homothety: 1.0,
            },
            instrument_to_tridetector: (0..4)
                .map(|i| Transform {
                    rotation: rot(0.01 * i as f64),
                    z_homothety: 1.0 + i as f64 * 1e-6,
                })
                .collect(),
            tridetector_to_array: venus::BANDS
                .iter()
                .map(|b| ArrayRotation {
                    tridetector: b.detector,
                    band: b.code.into(),
                    rotation: rot(b.centre_nm * 1e-6),
                })
                .collect(),
        }
    }

    #[test]
    fn every_writer_validates_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let all = common(Applicability::AllSites);
        let site = common(Applicability::site("TEST", 'S', "camargue").unwrap());

        let mut dc = dark("B03");
        dc.spikes.push(Spike {
            position: 1234,
            threshold: 100.5,
            polynomial: [0.0, 1.0, -2.5e-3, 1e-12],
            linear: [1.0, -0.25],
        });
        let p_dc = write_gipp(&darkcu(&site, &dc).unwrap(), dir.path()).unwrap();
        assert_eq!(
            p_dc.file_name().unwrap(),
            "VE_TEST_GIP_DARKCU_S_CAMARGUE_00001_20170801_99991231_B03_111101.EEF"
        );
        let p_dc0 = write_gipp(&darkcu(&all, &dark("B01")).unwrap(), dir.path()).unwrap();

        let rs = RelativeSensitivities {
            band: "B12".into(),
            tdi: TdiSet::new(&[4, 8]).unwrap(),
            values: (0..DETECTORS)
                .map(|i| [1.0 + i as f64 / 1e5, -3.3e-4, 1023.0 / 3.0])
                .collect(),
        };
        let p_rs = write_gipp(&relsen(&all, &rs).unwrap(), dir.path()).unwrap();

        let vd = ViewingDirections {
            band: "B07".into(),
            tdi: TdiSet::ALL,
            values: (0..DETECTORS)
                .map(|i| [(i as f64 - 2600.0) * 5.3 / 720e3, 0.0123])
                .collect(),
        };
        let p_vd = write_gipp(&viedir(&all, &vd).unwrap(), dir.path()).unwrap();

        let od = OutOfOrderDetectors {
            band: "B05".into(),
            configurations: vec![
                TdiDefects {
                    tdi: 8,
                    defects: vec![
                        Defect {
                            first: 1,
                            last: 3,
                            kind: DefectKind::Blind,
                        },
                        Defect {
                            first: 5200,
                            last: 5200,
                            kind: DefectKind::FilterHole,
                        },
                    ],
                },
                TdiDefects {
                    tdi: 32,
                    defects: vec![],
                },
            ],
        };
        let p_od = write_gipp(&outord(&all, &od).unwrap(), dir.path()).unwrap();
        assert_eq!(
            p_od.file_name().unwrap(),
            "VE_TEST_GIP_OUTORD_L_ALLSITES_00001_20170801_99991231_B05.EEF"
        );

        let mut pg = PhysicalGains::per_band(&[
            0.51, 0.52, 0.53, 0.54, 0.55, 0.56, 0.57, 0.58, 0.59, 0.6, 0.61, 0.62,
        ]);
        pg.bands[2].gains = vec![
            TdiGain {
                tdi: TdiSet::new(&[1, 4]).unwrap(),
                gain: 0.1,
            },
            TdiGain {
                tdi: TdiSet::new(&[8, 16, 32]).unwrap(),
                gain: 0.123456789,
            },
        ];
        let p_pg = write_gipp(&phgain(&all, &pg).unwrap(), dir.path()).unwrap();

        let rp = ReflectanceParameters {
            mean_rotation_speed: 0.0172021,
            eccentricity: 0.0167,
            t0_day: 2.0,
            max_reflectance: 1.2,
        };
        let p_rp = write_gipp(&reflec(&all, &rp).unwrap(), dir.path()).unwrap();

        let g = sample_geometry();
        let p_g = write_gipp(&sengeo(&all, &g).unwrap(), dir.path()).unwrap();

        let paths = [&p_dc, &p_dc0, &p_rs, &p_vd, &p_od, &p_pg, &p_rp, &p_g];
        let refs: Vec<&Path> = paths.iter().map(|p| p.as_path()).collect();
        crate::ee::schema::validate_all(&refs).unwrap();
        // the validator is live: below the schema's minimum version it refuses the file
        let mut old = darkcu(&all, &dark("B01")).unwrap();
        old.schema_version = "0.30".into();
        let p_old = dir.path().join("old.EEF");
        old.write(&p_old).unwrap();
        assert!(crate::ee::schema::validate_all(&[&p_old]).is_err());

        assert_eq!(read_darkcu(&p_dc).unwrap(), dc);
        assert_eq!(read_darkcu(&p_dc0).unwrap(), dark("B01"));
        assert_eq!(read_relsen(&p_rs).unwrap(), rs);
        assert_eq!(read_viedir(&p_vd).unwrap(), vd);
        assert_eq!(read_outord(&p_od).unwrap(), od);
        assert_eq!(read_outord(&p_od).unwrap().defects(8).len(), 2);
        let back = read_phgain(&p_pg).unwrap();
        assert_eq!(back, pg);
        assert_eq!(back.gain("B03", 16), Some(0.123456789));
        assert_eq!(back.gain("B11", 1), Some(0.61));
        assert_eq!(read_reflec(&p_rp).unwrap(), rp);
        assert_eq!(read_sengeo(&p_g).unwrap(), g);

        let doc = EeDoc::read(&p_dc).unwrap();
        let c = GippCommon::from_doc(&doc, &p_dc).unwrap();
        assert_eq!(c, site);
    }

    #[test]
    fn numbers_never_use_exponents() {
        assert_eq!(num(1e-7), "0.0000001");
        assert_eq!(num(1e21), "1000000000000000000000");
        assert_eq!(num(-0.0), "0");
        assert_eq!(num(0.1 + 0.2).parse::<f64>().unwrap(), 0.1 + 0.2);
    }

    #[test]
    fn writers_refuse_impossible_data() {
        let all = common(Applicability::AllSites);
        let mut dc = dark("B01");
        dc.values.pop();
        let e = darkcu(&all, &dc).unwrap_err();
        assert!(
            e.to_string().contains("5199 values given, 5200 expected"),
            "{e}"
        );
        let mut dc = dark("B01");
        dc.values[9] = -1.0;
        assert!(darkcu(&all, &dc)
            .unwrap_err()
            .to_string()
            .contains("detector 10"));
        let mut dc = dark("B01");
        dc.values[0] = f64::NAN;
        assert!(darkcu(&all, &dc).is_err());
        assert!(darkcu(&all, &dark("B13")).is_err());
        let od = OutOfOrderDetectors {
            band: "B01".into(),
            configurations: vec![TdiDefects {
                tdi: 8,
                defects: vec![Defect {
                    first: 10,
                    last: 9,
                    kind: DefectKind::Noisy,
                }],
            }],
        };
        assert!(outord(&all, &od).is_err());
        let mut pg = PhysicalGains::per_band(&[1.0; 12]);
        pg.bands[11].band = "B01".into();
        assert!(phgain(&all, &pg).is_err());
        let mut g = sample_geometry();
        g.instrument_to_tridetector.pop();
        assert!(sengeo(&all, &g).is_err());
    }

    #[test]
    fn readers_name_the_file_and_say_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let all = common(Applicability::AllSites);
        let p = write_gipp(&darkcu(&all, &dark("B02")).unwrap(), dir.path()).unwrap();

        // an EE of another File_Type
        let e = read_relsen(&p).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert!(e.to_string().starts_with(&p.display().to_string()), "{e}");
        assert!(
            e.to_string()
                .contains("File_Type is GIP_DARKCU, expected GIP_RELSEN"),
            "{e}"
        );

        // XML that is not EE
        let kml = dir.path().join("x.EEF");
        std::fs::write(&kml, "<kml><Document/></kml>").unwrap();
        let e = read_darkcu(&kml).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert!(
            e.to_string().contains("x.EEF: not an Earth Explorer file"),
            "{e}"
        );

        // one value missing
        let text = std::fs::read_to_string(&p).unwrap();
        let cut = text.replace("<Dark_Current sn=\"5200\">", "<Ignored sn=\"5200\">");
        let cut = cut.replace("</Dark_Current>\n    </List", "</Ignored>\n    </List");
        let short = dir.path().join("short.EEF");
        std::fs::write(&short, cut).unwrap();
        let e = read_darkcu(&short).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert!(
            e.to_string().contains("count=\"5200\" but it holds 5199"),
            "{e}"
        );

        // a value that is not a number
        let bad = text.replace(">20.001000001<", ">twenty<");
        assert_ne!(bad, text);
        let badp = dir.path().join("bad.EEF");
        std::fs::write(&badp, bad).unwrap();
        let e = read_darkcu(&badp).unwrap_err();
        assert!(
            e.to_string()
                .contains("Dark_Current 'twenty' is not a number"),
            "{e}"
        );

        // a missing file
        let e = read_darkcu(&dir.path().join("none.EEF")).unwrap_err();
        assert_eq!(e.exit_code(), 3);
    }

    #[test]
    fn reads_the_shared_examples() {
        let ex = crate::testdata("venus/examples");
        let dc = read_darkcu(
            &ex.join("VE_TEST_GIP_DARKCU_L_ALLSITES_00001_20170801_99991231_B01_111101.EEF"),
        )
        .unwrap();
        assert_eq!(dc.values.len(), DETECTORS);
        assert_eq!(dc.values[0], 20.001);
        assert_eq!(dc.spikes.len(), 1);
        let pg = read_phgain(&ex.join("VE_TEST_GIP_PHGAIN_L_ALLSITES_00001_20170801_99991231.EEF"))
            .unwrap();
        assert_eq!(pg.gain("B12", 32), Some(0.62));
    }
}
