//! The VENµS file-name convention (ICD-DIGEST §1.5): site nick names, published and system
//! product ids with the ids and paths of their files, and GIPP ids, built and parsed back.
//!
//! Builders take values from the command line or the caller and fail with [`VipError::Usage`];
//! parsers take names found on disk and fail with an [`IdError`] that the caller turns into a
//! bad-input error naming the file ([`IdError::at`]).

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};

use crate::error::{Result, VipError};

/// Length of a site nick name.
pub const NICK_LEN: usize = 8;
/// Applicability nick name of a GIPP valid for every site.
pub const ALL_SITES: &str = "ALLSITES";

/// Why a name does not follow the convention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdError {
    /// The name that was parsed.
    pub id: String,
    /// What is wrong with it.
    pub msg: String,
}

impl IdError {
    fn new(id: &str, msg: impl Into<String>) -> Self {
        IdError {
            id: id.to_string(),
            msg: msg.into(),
        }
    }

    /// The bad-input error (exit 3) for a file whose name or id is this bad one.
    pub fn at(&self, path: impl AsRef<Path>) -> VipError {
        VipError::bad_input(path, self)
    }
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}' is not a VENµS id: {}", self.id, self.msg)
    }
}

impl std::error::Error for IdError {}

fn is_id_char(c: char) -> bool {
    c.is_ascii_digit() || c.is_ascii_uppercase() || c == '_'
}

/// The 8-character nick name of a site: upper-cased, padded with `_` when shorter
/// (`camargue` → `CAMARGUE`, `PE_R_U` → `PE_R_U__`). Empty names, names longer than 8 and
/// characters outside `[0-9A-Za-z_]` are usage errors.
pub fn nick_name(name: &str) -> Result<String> {
    let up = name.trim().to_ascii_uppercase();
    if up.is_empty() {
        return Err(VipError::Usage("site nick name is empty".into()));
    }
    if let Some(c) = up.chars().find(|c| !is_id_char(*c)) {
        return Err(VipError::Usage(format!(
            "site nick name '{name}' contains '{c}': only letters, digits and '_' are allowed"
        )));
    }
    if up.len() > NICK_LEN {
        return Err(VipError::Usage(format!(
            "site nick name '{name}' has {} characters: at most {NICK_LEN} are allowed",
            up.len()
        )));
    }
    Ok(format!("{up:_<NICK_LEN$}"))
}

/// Checks a nick name as it appears in an id: exactly 8 characters `[0-9A-Z_]`.
fn check_nick(id: &str, nick: &str) -> std::result::Result<(), IdError> {
    if nick.len() == NICK_LEN && nick.chars().all(is_id_char) {
        Ok(())
    } else {
        Err(IdError::new(
            id,
            format!("nick name '{nick}' is not exactly {NICK_LEN} characters [0-9A-Z_]"),
        ))
    }
}

/// Whether `class` is a File_Class of the ICD: `OPER`, `TEST`, `SVT?`, `TD??`, `GSOV`, `IOTE`,
/// `VM01`–`VM03`, `DROB`.
pub fn is_file_class(class: &str) -> bool {
    let b = class.as_bytes();
    let id = |c: &u8| is_id_char(*c as char);
    matches!(
        class,
        "OPER" | "TEST" | "GSOV" | "IOTE" | "DROB" | "VM01" | "VM02" | "VM03"
    ) || (b.len() == 4 && class.starts_with("SVT") && id(&b[3]))
        || (b.len() == 4 && class.starts_with("TD") && b[2..].iter().all(id))
}

/// A File_Class from the command line, upper-cased and checked.
pub fn file_class(class: &str) -> Result<String> {
    let up = class.trim().to_ascii_uppercase();
    if is_file_class(&up) {
        Ok(up)
    } else {
        Err(VipError::Usage(format!(
            "file class '{class}' is not one of OPER, TEST, SVTx, TDxx, GSOV, IOTE, VM01-VM03, DROB"
        )))
    }
}

fn check_class(id: &str, class: &str) -> std::result::Result<(), IdError> {
    if is_file_class(class) {
        Ok(())
    } else {
        Err(IdError::new(
            id,
            format!(
                "file class '{class}' is not one of OPER, TEST, SVTx, TDxx, GSOV, IOTE, VM0n, DROB"
            ),
        ))
    }
}

/// `yyyymmdd` of a date; the smallest and largest dates are written `00000000` and `99999999`
/// (the ICD's "no limit" specials).
pub fn id_date(d: NaiveDate) -> String {
    if d == NaiveDate::MIN {
        "00000000".into()
    } else if d == NaiveDate::MAX {
        "99999999".into()
    } else {
        format!("{:04}{:02}{:02}", d.year(), d.month(), d.day())
    }
}

/// Parses a calendar-checked `yyyymmdd`; with `specials`, `00000000` and `99999999` map to the
/// smallest and largest dates.
fn parse_id_date(id: &str, s: &str, specials: bool) -> std::result::Result<NaiveDate, IdError> {
    if specials && s == "00000000" {
        return Ok(NaiveDate::MIN);
    }
    if specials && s == "99999999" {
        return Ok(NaiveDate::MAX);
    }
    let bad = || IdError::new(id, format!("'{s}' is not a calendar date yyyymmdd"));
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let (y, m, d) = (&s[..4], &s[4..6], &s[6..]);
    NaiveDate::from_ymd_opt(
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        d.parse().map_err(|_| bad())?,
    )
    .ok_or_else(bad)
}

fn check_band(id: &str, band: &str) -> std::result::Result<(), IdError> {
    let ok = band.len() == 3
        && band.starts_with('B')
        && matches!(band[1..].parse::<u8>(), Ok(1..=12))
        && band.as_bytes()[1].is_ascii_digit();
    if ok {
        Ok(())
    } else {
        Err(IdError::new(
            id,
            format!("'{band}' is not a band code B01..B12"),
        ))
    }
}

/// A band code from the caller (`B3`, `b03`, `B03` → `B03`).
pub fn band_code(band: &str) -> Result<String> {
    let up = band.trim().to_ascii_uppercase();
    match up.strip_prefix('B').map(str::parse::<u8>) {
        Some(Ok(n @ 1..=12)) => Ok(format!("B{n:02}")),
        _ => Err(VipError::Usage(format!(
            "band '{band}' is not a VENµS band code B01..B12"
        ))),
    }
}

/// Splits `VE_<class>_<rest>` and checks the prefix and class.
fn split_class(id: &str) -> std::result::Result<(&str, &str), IdError> {
    if !id.is_ascii() {
        return Err(IdError::new(id, "holds characters other than [0-9A-Z_]"));
    }
    let rest = id
        .strip_prefix("VE_")
        .ok_or_else(|| IdError::new(id, "does not start with VE_"))?;
    // Every file class has 4 characters, some of which may be '_' (`TD_1`).
    if rest.len() < 5 {
        return Err(IdError::new(id, "no file class"));
    }
    let (class, rest) = rest.split_at(4);
    check_class(id, class)?;
    let rest = rest
        .strip_prefix('_')
        .ok_or_else(|| IdError::new(id, format!("file class '{class}_' is not 4 characters")))?;
    Ok((class, rest))
}

// ------------------------------------------------------------------------------------------------
// TDI configurations
// ------------------------------------------------------------------------------------------------

/// A set of TDI configurations among 01, 04, 08, 16, 32. Its bits are the configuration values,
/// so the 6-character file-name code `xxxx0x` is the set written in binary (`111101` = all five).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TdiSet(u8);

impl TdiSet {
    /// The TDI configurations of the camera.
    pub const VALUES: [u8; 5] = [1, 4, 8, 16, 32];
    /// All five configurations (`111101`).
    pub const ALL: TdiSet = TdiSet(61);

    /// The set of the given configuration values; other values are usage errors.
    pub fn new(values: &[u8]) -> Result<Self> {
        let mut bits = 0;
        for v in values {
            if !Self::VALUES.contains(v) {
                return Err(VipError::Usage(format!(
                    "TDI configuration {v} is not one of 1, 4, 8, 16, 32"
                )));
            }
            bits |= v;
        }
        if bits == 0 {
            return Err(VipError::Usage("empty set of TDI configurations".into()));
        }
        Ok(TdiSet(bits))
    }

    /// Whether configuration `value` (1, 4, 8, 16 or 32) is in the set.
    pub fn contains(self, value: u8) -> bool {
        Self::VALUES.contains(&value) && self.0 & value != 0
    }

    /// The configuration values in increasing order.
    pub fn values(self) -> Vec<u8> {
        Self::VALUES
            .into_iter()
            .filter(|v| self.0 & v != 0)
            .collect()
    }

    /// The file-name code `xxxx0x`, e.g. `111101`.
    pub fn code(self) -> String {
        format!("{:06b}", self.0)
    }

    /// The XML list form, e.g. `01 04 08 16 32`.
    pub fn list(self) -> String {
        self.values()
            .iter()
            .map(|v| format!("{v:02}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Parses the file-name code `xxxx0x`.
    pub fn parse_code(code: &str) -> Option<Self> {
        let b = code.as_bytes();
        if b.len() != 6 || b[4] != b'0' || !b.iter().all(|c| *c == b'0' || *c == b'1') {
            return None;
        }
        let bits = u8::from_str_radix(code, 2).ok()?;
        (bits != 0).then_some(TdiSet(bits))
    }

    /// Parses the XML list form (`01 04 08`); an empty or invalid list gives `None`.
    pub fn parse_list(list: &str) -> Option<Self> {
        let mut bits = 0;
        for item in list.split_whitespace() {
            if item.len() != 2 {
                return None;
            }
            let v: u8 = item.parse().ok()?;
            if !Self::VALUES.contains(&v) {
                return None;
            }
            bits |= v;
        }
        (bits != 0).then_some(TdiSet(bits))
    }
}

impl fmt::Display for TdiSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code())
    }
}

// ------------------------------------------------------------------------------------------------
// Product ids
// ------------------------------------------------------------------------------------------------

/// The id of a system (`L0`, `0E`, `1A`) or published (`L1`, `L2`, `L3`) product,
/// `VE_<class>_VSC_<semantic>_<nick>_<yyyymmdd>` (e.g. `VE_TEST_VSC_L1VALD_CAMARGUE_20180101`;
/// for L3 the date is the central date), and the ids and paths of the files of the product,
/// which all derive from these four parts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProductId {
    pub class: String,
    /// File semantic `<level><validity>`: level `L0`, `0E`, `1A` with validity `VALD` or
    /// `SYNT` (system products), `L1`, `L2`, `L3` with `VALD`, `NOTV`, `VVIQ`, `NVIQ`.
    pub semantic: String,
    /// 8-character site nick name.
    pub nick: String,
    pub date: NaiveDate,
}

fn check_semantic(id: &str, sem: &str) -> std::result::Result<(), IdError> {
    if sem.len() != 6 || !sem.is_ascii() {
        return Err(IdError::new(
            id,
            format!("'{sem}' is not <level><validity> such as L1VALD"),
        ));
    }
    let (level, validity) = sem.split_at(2);
    let ok = match level {
        "L0" | "0E" | "1A" => matches!(validity, "VALD" | "SYNT"),
        "L1" => matches!(validity, "VALD" | "NOTV" | "VVIQ" | "NVIQ"),
        "L2" | "L3" => matches!(validity, "VALD" | "NOTV"),
        _ => {
            return Err(IdError::new(
                id,
                format!("level '{level}' is not one of L0, 0E, 1A, L1, L2, L3"),
            ))
        }
    };
    if ok {
        Ok(())
    } else {
        Err(IdError::new(
            id,
            format!("validity '{validity}' does not exist for level {level}"),
        ))
    }
}

impl ProductId {
    /// The id of the product of file semantic `semantic` (e.g. `L1VALD`); unchecked, see
    /// [`ProductId::check`].
    pub fn of(class: &str, semantic: &str, nick: &str, date: NaiveDate) -> Self {
        ProductId {
            class: class.to_string(),
            semantic: semantic.to_string(),
            nick: nick.to_string(),
            date,
        }
    }

    /// Checks the parts against the id grammar, so that a header is never written with an id
    /// the schemas reject (a usage error: the parts come from the command line or a caller).
    pub fn check(&self) -> Result<()> {
        let id = self.to_string();
        check_nick(&id, &self.nick)
            .and_then(|_| check_class(&id, &self.class))
            .and_then(|_| check_semantic(&id, &self.semantic))
            .map_err(|e| VipError::Usage(e.msg))
    }

    /// The File_Type, e.g. `VSC_L1VALD`.
    pub fn file_type(&self) -> String {
        format!("VSC_{}", self.semantic)
    }

    /// The instance part `<nick>_<yyyymmdd>`.
    pub fn instance(&self) -> String {
        format!("{}_{}", self.nick, id_date(self.date))
    }

    fn sub_file(&self, kind: &str, suffix: Option<&str>) -> String {
        let base = format!(
            "VE_{}_VSC_{kind}_{}_{}",
            self.class,
            self.semantic,
            self.instance()
        );
        match suffix {
            Some(s) => format!("{base}_{s}"),
            None => base,
        }
    }

    /// An image file, `VE_<class>_VSC_PDTIMG_<semantic>_<nick>_<date>[_<suffix>]` (suffix e.g.
    /// `B03`, `SRE`).
    pub fn image(&self, suffix: Option<&str>) -> String {
        self.sub_file("PDTIMG", suffix)
    }

    /// An annex file, `VE_<class>_VSC_PDTANX_<semantic>_<nick>_<date>_<code>` (e.g. `SOL`).
    pub fn annex(&self, code: &str) -> String {
        self.sub_file("PDTANX", Some(code))
    }

    /// The quicklook, `VE_<class>_VSC_PDTQLK_<semantic>_<nick>_<date>`.
    pub fn quicklook(&self) -> String {
        self.sub_file("PDTQLK", None)
    }

    /// The private technical file, `VE_<class>_TEC_<semantic>_<nick>_<date>`.
    pub fn technical(&self) -> String {
        format!(
            "VE_{}_TEC_{}_{}",
            self.class,
            self.semantic,
            self.instance()
        )
    }

    /// The geometric model, `VE_<class>_TEC_GEOMDL_<semantic>_<nick>_<date>`.
    pub fn geometric_model(&self) -> String {
        format!(
            "VE_{}_TEC_GEOMDL_{}_{}",
            self.class,
            self.semantic,
            self.instance()
        )
    }

    /// The definition of the product's (scientific) site, `VE_<class>_MPL_SITDEF_S_<nick>`.
    pub fn site_definition(&self) -> String {
        format!("VE_{}_MPL_SITDEF_S_{}", self.class, self.nick)
    }

    /// The product folder beside the global header, `<id>.DBL.DIR`.
    pub fn dbl_dir(&self) -> String {
        format!("{self}.DBL.DIR")
    }

    /// The global header in `dir`, `<dir>/<id>.HDR`.
    pub fn header_path(&self, dir: &Path) -> std::path::PathBuf {
        dir.join(format!("{self}.HDR"))
    }

    /// File `name` of the product folder in `dir`, `<dir>/<id>.DBL.DIR/<name>`.
    pub fn in_dbl(&self, dir: &Path, name: &str) -> std::path::PathBuf {
        dir.join(self.dbl_dir()).join(name)
    }

    /// The header of image `suffix` in the product folder in `dir`.
    pub fn image_header(&self, dir: &Path, suffix: Option<&str>) -> std::path::PathBuf {
        self.in_dbl(dir, &format!("{}.HDR", self.image(suffix)))
    }

    /// The header of annex `code` in the product folder in `dir`.
    pub fn annex_header(&self, dir: &Path, code: &str) -> std::path::PathBuf {
        self.in_dbl(dir, &format!("{}.HDR", self.annex(code)))
    }

    /// The quicklook header in the product folder in `dir`.
    pub fn quicklook_header(&self, dir: &Path) -> std::path::PathBuf {
        self.in_dbl(dir, &format!("{}.HDR", self.quicklook()))
    }

    /// Parses a product id (an extension such as `.HDR` is not allowed: strip it first).
    pub fn parse(id: &str) -> std::result::Result<Self, IdError> {
        let (class, rest) = split_class(id)?;
        let rest = rest
            .strip_prefix("VSC_")
            .ok_or_else(|| IdError::new(id, "category is not VSC"))?;
        let parts: Vec<&str> = rest.split('_').collect();
        let (sem, nick, date) = match parts.as_slice() {
            [sem, nick @ .., date] if !nick.is_empty() => (*sem, nick.join("_"), *date),
            _ => {
                return Err(IdError::new(
                    id,
                    "expected <level><validity>_<nick>_<yyyymmdd>",
                ))
            }
        };
        check_semantic(id, sem)?;
        check_nick(id, &nick)?;
        Ok(ProductId {
            class: class.to_string(),
            semantic: sem.to_string(),
            nick,
            date: parse_id_date(id, date, false)?,
        })
    }
}

impl fmt::Display for ProductId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "VE_{}_{}_{}",
            self.class,
            self.file_type(),
            self.instance()
        )
    }
}

impl FromStr for ProductId {
    type Err = IdError;
    fn from_str(s: &str) -> std::result::Result<Self, IdError> {
        ProductId::parse(s)
    }
}

// ------------------------------------------------------------------------------------------------
// GIPP ids
// ------------------------------------------------------------------------------------------------

/// Which id suffixes a GIPP type carries: (band, TDI code). Unknown types: neither required.
pub fn gipp_suffixes(gipp_type: &str) -> (bool, bool) {
    match gipp_type {
        "DARKCU" | "RELSEN" | "VIEDIR" => (true, true),
        "OUTORD" | "STRLGT" | "POLART" => (true, false),
        _ => (false, false),
    }
}

/// A GIPP id: `VE_<class>_GIP_<TYPE6>_<S|L>_<nick8|ALLSITES|NOTNAMED>_<key5>_<start>_<stop>
/// [_Bnn][_xxxx0x]`, e.g. `VE_TEST_GIP_DARKCU_L_ALLSITES_00001_20170801_99991231_B01_111101`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GippId {
    pub class: String,
    /// 6-character type, e.g. `DARKCU`.
    pub gipp_type: String,
    /// `S` (one site) or `L` (a list of sites, `ALLSITES` included).
    pub nick_type: char,
    /// Site nick, list nick, `ALLSITES` or `NOTNAMED`.
    pub nick: String,
    /// 0 … 99999.
    pub serial_key: u32,
    /// Validity dates; `00000000` / `99999999` are the smallest / largest dates.
    pub start: NaiveDate,
    pub stop: NaiveDate,
    pub band: Option<String>,
    pub tdi: Option<TdiSet>,
}

impl GippId {
    /// The File_Type, e.g. `GIP_DARKCU`.
    pub fn file_type(&self) -> String {
        format!("GIP_{}", self.gipp_type)
    }

    /// Checks every part, and the band/TDI suffixes the known types require.
    pub fn check(&self) -> std::result::Result<(), IdError> {
        let id = self.to_string();
        check_class(&id, &self.class)?;
        if self.gipp_type.len() != 6 || !self.gipp_type.chars().all(is_id_char) {
            return Err(IdError::new(
                &id,
                format!(
                    "GIPP type '{}' is not 6 characters [0-9A-Z_]",
                    self.gipp_type
                ),
            ));
        }
        if !matches!(self.nick_type, 'S' | 'L') {
            return Err(IdError::new(&id, "nick name type is not S or L"));
        }
        check_nick(&id, &self.nick)?;
        if self.serial_key > 99_999 {
            return Err(IdError::new(&id, "serial key has more than 5 digits"));
        }
        if self.stop < self.start {
            return Err(IdError::new(&id, "validity stop is before its start"));
        }
        if let Some(b) = &self.band {
            check_band(&id, b)?;
        }
        let (band, tdi) = gipp_suffixes(&self.gipp_type);
        if band && self.band.is_none() {
            return Err(IdError::new(
                &id,
                format!("a {} GIPP id ends with a band code", self.gipp_type),
            ));
        }
        if tdi && self.tdi.is_none() {
            return Err(IdError::new(
                &id,
                format!("a {} GIPP id ends with a TDI code xxxx0x", self.gipp_type),
            ));
        }
        Ok(())
    }

    /// Parses a GIPP id, or a file name whose stem is one (`….EEF`, `….HDR`, `….DBL`).
    pub fn parse(name: &str) -> std::result::Result<Self, IdError> {
        let id = strip_extension(name);
        let (class, rest) = split_class(id)?;
        let rest = rest
            .strip_prefix("GIP_")
            .ok_or_else(|| IdError::new(id, "category is not GIP"))?;
        if rest.len() < 6 + 1 + 1 + 1 + NICK_LEN {
            return Err(IdError::new(id, "too short for a GIPP id"));
        }
        let (gipp_type, rest) = rest.split_at(6);
        let rest = rest
            .strip_prefix('_')
            .ok_or_else(|| IdError::new(id, "GIPP type is not 6 characters"))?;
        let (nick_type, rest) = rest.split_at(1);
        let nick_type = nick_type.chars().next().unwrap_or(' ');
        let rest = rest
            .strip_prefix('_')
            .ok_or_else(|| IdError::new(id, "no nick name type S or L"))?;
        if rest.len() < NICK_LEN {
            return Err(IdError::new(id, "no applicability nick name"));
        }
        let (nick, rest) = rest.split_at(NICK_LEN);
        let fields: Vec<&str> = rest.split('_').collect();
        // fields[0] is empty (the separator after the nick name).
        let bad = || {
            IdError::new(
                id,
                "expected _<key5>_<start>_<stop>[_Bnn][_xxxx0x] after the nick name",
            )
        };
        if fields.len() < 4 || !fields[0].is_empty() {
            return Err(bad());
        }
        let key = fields[1];
        if key.len() != 5 || !key.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdError::new(
                id,
                format!("serial key '{key}' is not 5 digits"),
            ));
        }
        let mut g = GippId {
            class: class.to_string(),
            gipp_type: gipp_type.to_string(),
            nick_type,
            nick: nick.to_string(),
            serial_key: key.parse().map_err(|_| bad())?,
            start: parse_id_date(id, fields[2], true)?,
            stop: parse_id_date(id, fields[3], true)?,
            band: None,
            tdi: None,
        };
        let mut extra = fields[4..].iter();
        let mut next = extra.next();
        if let Some(b) = next.filter(|b| b.starts_with('B')) {
            check_band(id, b)?;
            g.band = Some(b.to_string());
            next = extra.next();
        }
        if let Some(t) = next {
            g.tdi = Some(
                TdiSet::parse_code(t)
                    .ok_or_else(|| IdError::new(id, format!("'{t}' is not a TDI code xxxx0x")))?,
            );
            next = extra.next();
        }
        if let Some(x) = next {
            return Err(IdError::new(id, format!("unexpected '{x}' at the end")));
        }
        if g.to_string() != id {
            return Err(bad());
        }
        g.check()?;
        Ok(g)
    }
}

impl fmt::Display for GippId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "VE_{}_GIP_{}_{}_{}_{:05}_{}_{}",
            self.class,
            self.gipp_type,
            self.nick_type,
            self.nick,
            self.serial_key,
            id_date(self.start),
            id_date(self.stop)
        )?;
        if let Some(b) = &self.band {
            write!(f, "_{b}")?;
        }
        if let Some(t) = &self.tdi {
            write!(f, "_{}", t.code())?;
        }
        Ok(())
    }
}

impl FromStr for GippId {
    type Err = IdError;
    fn from_str(s: &str) -> std::result::Result<Self, IdError> {
        GippId::parse(s)
    }
}

/// The id part of a file name: the name without directories and without `.EEF`, `.HDR`,
/// `.DBL` or `.DBL.DIR`.
pub fn strip_extension(name: &str) -> &str {
    let base = name.rsplit('/').next().unwrap_or(name);
    for ext in [".DBL.DIR", ".EEF", ".HDR", ".DBL"] {
        if let Some(s) = base.strip_suffix(ext) {
            return s;
        }
    }
    base
}

/// A site definition id `VE_<class>_MPL_SITDEF_<type>_<nick8>`; `site_type` is one of
/// `A C M O P S T` (maintenance, calibration, moon, composite, specific, scientific, test).
pub fn site_definition_id(class: &str, site_type: char, nick: &str) -> Result<String> {
    if !"ACMOPST".contains(site_type) {
        return Err(VipError::Usage(format!(
            "site type '{site_type}' is not one of A, C, M, O, P, S, T"
        )));
    }
    Ok(format!(
        "VE_{}_MPL_SITDEF_{site_type}_{}",
        file_class(class)?,
        nick_name(nick)?
    ))
}

/// The nick name at the end of a site definition id, if it is one.
pub fn site_definition_nick(id: &str) -> Option<&str> {
    let (_, rest) = split_class(id).ok()?;
    let rest = rest.strip_prefix("MPL_SITDEF_")?;
    let (t, nick) = rest.split_once('_')?;
    (t.len() == 1 && check_nick(id, nick).is_ok()).then_some(nick)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn nick_names_are_eight_upper_case_characters() {
        assert_eq!(nick_name("CAMARGUE").unwrap(), "CAMARGUE");
        assert_eq!(nick_name("camargue").unwrap(), "CAMARGUE");
        assert_eq!(nick_name("PE_R_U").unwrap(), "PE_R_U__");
        assert_eq!(nick_name("simul").unwrap(), "SIMUL___");
        for bad in ["", "CAMARGUES", "CAMAR-GU", "été"] {
            let e = nick_name(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}: {e}");
        }
        let e = nick_name("CAMARGUE1").unwrap_err().to_string();
        assert!(e.contains("9 characters") && e.contains("at most 8"), "{e}");
        let e = nick_name("A-B").unwrap_err().to_string();
        assert!(e.contains("'-'"), "{e}");
    }

    #[test]
    fn classes() {
        for ok in ["OPER", "TEST", "SVT1", "TD_A", "VM02", "DROB"] {
            assert!(is_file_class(ok), "{ok}");
        }
        for bad in ["test", "VM04", "TD1", "OPERX", ""] {
            assert!(!is_file_class(bad), "{bad}");
        }
        assert_eq!(file_class("test").unwrap(), "TEST");
        assert_eq!(file_class("prod").unwrap_err().exit_code(), 2);
    }

    #[test]
    fn product_ids_build_and_parse() {
        let p = ProductId::of("TEST", "1AVALD", "SIMULSIT", d(2024, 3, 15));
        p.check().unwrap();
        assert_eq!(p.to_string(), "VE_TEST_VSC_1AVALD_SIMULSIT_20240315");
        assert_eq!(p.file_type(), "VSC_1AVALD");
        assert_eq!(ProductId::parse(&p.to_string()).unwrap(), p);
        let l1 = ProductId::parse("VE_TEST_VSC_L1VALD_CAMARGUE_20180101").unwrap();
        assert_eq!(l1.semantic, "L1VALD");
        assert_eq!(l1.nick, "CAMARGUE");
        assert_eq!(l1.date, d(2018, 1, 1));
        let pe = ProductId::parse("VE_OPER_VSC_L2NOTV__PE_R_U__20180102").unwrap();
        assert_eq!(pe.nick, "_PE_R_U_");
        for (class, sem, nick) in [
            ("TEST", "L2VVIQ", "CAMARGUE"),
            ("TEST", "L1VALD", "CAMARGU"),
            ("TEST", "L1VALD", "camargue"),
            ("PROD", "L1VALD", "CAMARGUE"),
        ] {
            let e = ProductId::of(class, sem, nick, d(2018, 1, 1)).check();
            assert_eq!(e.unwrap_err().exit_code(), 2, "{class} {sem} {nick}");
        }
        ProductId::of("TD01", "L1VALD", "_PE_R_U_", d(2018, 1, 1))
            .check()
            .unwrap();
    }

    #[test]
    fn bad_product_ids_are_rejected() {
        for (bad, why) in [
            ("VE_TEST_VSC_L1VALD_CAMARGUE_20180230", "calendar date"),
            ("VE_TEST_VSC_L1VALD_CAMARGU_20180101", "exactly 8"),
            ("VE_test_VSC_L1VALD_CAMARGUE_20180101", "file class"),
            ("VE_TEST_VSC_L4VALD_CAMARGUE_20180101", "level"),
            ("VE_TEST_VSC_L2VVIQ_CAMARGUE_20180101", "validity"),
            ("VE_TEST_GIP_L1VALD_CAMARGUE_20180101", "VSC"),
            ("XX_TEST_VSC_L1VALD_CAMARGUE_20180101", "VE_"),
        ] {
            let e = ProductId::parse(bad).unwrap_err();
            assert!(e.to_string().contains(why), "{bad}: {e}");
            let v = e.at("dir/x.HDR");
            assert_eq!(v.exit_code(), 3);
            assert!(v.to_string().starts_with("dir/x.HDR: "), "{v}");
        }
        assert!(ProductId::parse("VE_TEST_VSC_L1VALD_CAMARGUE_20160229").is_ok());
        assert!(ProductId::parse("VE_TEST_VSC_L1VALD_CAMARGUE_20170229").is_err());
    }

    #[test]
    fn file_ids_and_paths_of_a_product() {
        let p = ProductId::parse("VE_TEST_VSC_L1VALD_CAMARGUE_20180101").unwrap();
        assert_eq!(p.image(None), "VE_TEST_VSC_PDTIMG_L1VALD_CAMARGUE_20180101");
        assert_eq!(
            p.image(Some("B03")),
            "VE_TEST_VSC_PDTIMG_L1VALD_CAMARGUE_20180101_B03"
        );
        assert_eq!(
            p.annex("SOL"),
            "VE_TEST_VSC_PDTANX_L1VALD_CAMARGUE_20180101_SOL"
        );
        assert_eq!(p.quicklook(), "VE_TEST_VSC_PDTQLK_L1VALD_CAMARGUE_20180101");
        assert_eq!(p.technical(), "VE_TEST_TEC_L1VALD_CAMARGUE_20180101");
        assert_eq!(
            p.geometric_model(),
            "VE_TEST_TEC_GEOMDL_L1VALD_CAMARGUE_20180101"
        );
        assert_eq!(p.site_definition(), "VE_TEST_MPL_SITDEF_S_CAMARGUE");
        let dir = Path::new("out");
        assert_eq!(
            p.header_path(dir),
            Path::new("out/VE_TEST_VSC_L1VALD_CAMARGUE_20180101.HDR")
        );
        assert_eq!(
            p.in_dbl(dir, "x.TIF"),
            Path::new("out/VE_TEST_VSC_L1VALD_CAMARGUE_20180101.DBL.DIR/x.TIF")
        );
    }

    #[test]
    fn tdi_sets() {
        assert_eq!(TdiSet::ALL.code(), "111101");
        assert_eq!(TdiSet::ALL.list(), "01 04 08 16 32");
        let s = TdiSet::new(&[4, 16]).unwrap();
        assert_eq!(s.code(), "010100");
        assert_eq!(TdiSet::parse_code("010100"), Some(s));
        assert_eq!(TdiSet::parse_list("04 16"), Some(s));
        assert!(s.contains(16) && !s.contains(8));
        assert_eq!(TdiSet::parse_code("111111"), None);
        assert_eq!(TdiSet::parse_code("000000"), None);
        assert_eq!(TdiSet::parse_list("02"), None);
        assert!(TdiSet::new(&[2]).is_err());
    }

    #[test]
    fn gipp_ids_build_and_parse() {
        let name = "VE_TEST_GIP_DARKCU_L_ALLSITES_00001_20170801_99991231_B01_111101.EEF";
        let g = GippId::parse(name).unwrap();
        assert_eq!(g.gipp_type, "DARKCU");
        assert_eq!(g.nick_type, 'L');
        assert_eq!(g.nick, ALL_SITES);
        assert_eq!(g.serial_key, 1);
        assert_eq!(g.start, d(2017, 8, 1));
        assert_eq!(g.stop, d(9999, 12, 31));
        assert_eq!(g.band.as_deref(), Some("B01"));
        assert_eq!(g.tdi, Some(TdiSet::ALL));
        assert_eq!(g.file_type(), "GIP_DARKCU");
        assert_eq!(format!("{g}.EEF"), name);

        let g = GippId::parse("VE_TEST_GIP_L2TOCR_L_CONTINEN_00001_00000000_99999999.HDR").unwrap();
        assert_eq!(g.start, NaiveDate::MIN);
        assert_eq!(g.stop, NaiveDate::MAX);
        assert_eq!(
            g.to_string(),
            "VE_TEST_GIP_L2TOCR_L_CONTINEN_00001_00000000_99999999"
        );

        let g = GippId::parse("VE_TEST_GIP_OUTORD_S__PE_R_U__00042_20180101_20181231_B12").unwrap();
        assert_eq!(g.nick, "_PE_R_U_");
        assert_eq!(g.serial_key, 42);
        assert_eq!(g.tdi, None);
    }

    #[test]
    fn bad_gipp_ids_are_rejected() {
        for (bad, why) in [
            (
                "VE_TEST_GIP_DARKCU_L_ALLSITES_00001_20170230_99991231_B01_111101",
                "calendar",
            ),
            (
                "VE_TEST_GIP_DARKCU_L_ALLSITES_00001_20170801_99991231_B01",
                "TDI code",
            ),
            (
                "VE_TEST_GIP_DARKCU_L_ALLSITES_00001_20170801_99991231_B13_111101",
                "band code",
            ),
            (
                "VE_TEST_GIP_OUTORD_L_ALLSITES_00001_20170801_99991231",
                "band code",
            ),
            (
                "VE_TEST_GIP_PHGAIN_X_ALLSITES_00001_20170801_99991231",
                "S or L",
            ),
            (
                "VE_TEST_GIP_PHGAIN_S_CAMARGU_00001_20170801_99991231",
                "after the nick",
            ),
            (
                "VE_TEST_GIP_PHGAIN_L_ALLSITES_0001_20170801_99991231",
                "5 digits",
            ),
            (
                "VE_Test_GIP_PHGAIN_L_ALLSITES_00001_20170801_99991231",
                "file class",
            ),
            (
                "VE_TEST_GIP_PHGAIN_L_ALLSITES_00001_20180801_20170801",
                "before",
            ),
            (
                "VE_TEST_GIP_PHGAIN_L_ALLSITES_00001_20170801_99991231_X",
                "TDI code",
            ),
        ] {
            let e = GippId::parse(bad).unwrap_err();
            assert!(e.to_string().contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn site_definitions() {
        let id = site_definition_id("TEST", 'S', "camargue").unwrap();
        assert_eq!(id, "VE_TEST_MPL_SITDEF_S_CAMARGUE");
        assert_eq!(site_definition_nick(&id), Some("CAMARGUE"));
        assert_eq!(site_definition_nick("VE_TEST_MPL_SITDEF_S_CAMARG"), None);
        assert!(site_definition_id("TEST", 'X', "CAMARGUE").is_err());
    }

    #[test]
    fn parsers_round_trip_and_never_panic_on_mangled_names() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let alphabet: Vec<char> = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcé."
            .chars()
            .collect();
        for _ in 0..2000 {
            let nick: String = (0..NICK_LEN)
                .map(|_| alphabet[rng.gen_range(0..37)])
                .collect();
            let start =
                NaiveDate::from_num_days_from_ce_opt(rng.gen_range(730_000..740_000)).unwrap();
            let band = rng
                .gen_bool(0.5)
                .then(|| format!("B{:02}", rng.gen_range(1..=12)));
            let g = GippId {
                class: ["OPER", "TEST", "VM02", "TD_1"][rng.gen_range(0..4)].into(),
                gipp_type: ["DARKCU", "PHGAIN", "OUTORD", "XYZ_42"][rng.gen_range(0..4)].into(),
                nick_type: if rng.gen_bool(0.5) { 'S' } else { 'L' },
                nick,
                serial_key: rng.gen_range(0..100_000),
                start,
                stop: start + chrono::Days::new(rng.gen_range(0..5000)),
                band: band.clone(),
                tdi: band.and_then(|_| {
                    TdiSet::parse_code(&format!("{:06b}", rng.gen_range(1u8..64) & 0b111101))
                }),
            };
            let text = g.to_string();
            match GippId::parse(&text) {
                Ok(back) => assert_eq!(back, g, "{text}"),
                Err(e) => assert!(g.check().is_err(), "{text}: {e}"),
            }
            // mangle one character, insert or delete one: parse must not panic, and what it
            // accepts must print back as given
            let mut chars: Vec<char> = text.chars().collect();
            let i = rng.gen_range(0..chars.len());
            match rng.gen_range(0..3) {
                0 => chars[i] = alphabet[rng.gen_range(0..alphabet.len())],
                1 => chars.insert(i, alphabet[rng.gen_range(0..alphabet.len())]),
                _ => {
                    chars.remove(i);
                }
            }
            let m: String = chars.into_iter().collect();
            if let Ok(back) = GippId::parse(&m) {
                assert_eq!(back.to_string(), m);
            }
            if let Ok(back) = ProductId::parse(&m) {
                assert_eq!(back.to_string(), m);
            }
            let p = format!("VE_TEST_VSC_L2VALD_{}_20180102", &g.nick);
            let _ = ProductId::parse(&p[..rng.gen_range(0..p.len())]);
        }
    }
}
