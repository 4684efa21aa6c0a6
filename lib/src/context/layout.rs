//! Names in a context folder: the pointer file, the version folders, the files of a version.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use chrono::NaiveDate;

use crate::error::{Result, VipError};
use crate::raster::SampleType;

/// The pointer file naming the live version folder.
pub const CURRENT: &str = "CURRENT";
/// The lock file a writer holds (`flock`) while it updates the context.
pub const LOCK: &str = "LOCK";
/// The header of a version.
pub const HEADER: &str = "context.json";

/// A raster of a version: file name, sample type and whether its band count is the stack's.
pub(crate) struct Layer {
    pub name: &'static str,
    pub data_type: SampleType,
    pub nodata: Option<f64>,
}

pub(crate) const RCR: Layer = Layer {
    name: "RCR.tif",
    data_type: SampleType::I16,
    nodata: Some(-10000.0),
};
pub(crate) const PXD: Layer = Layer {
    name: "PXD.tif",
    data_type: SampleType::I16,
    nodata: Some(-32768.0),
};
pub(crate) const STO: Layer = Layer {
    name: "STO.tif",
    data_type: SampleType::I16,
    nodata: Some(-10000.0),
};
pub(crate) const CLD: Layer = Layer {
    name: "CLD.tif",
    data_type: SampleType::U8,
    nodata: None,
};
pub(crate) const CLA: Layer = Layer {
    name: "CLA.tif",
    data_type: SampleType::U16,
    nodata: None,
};
pub(crate) const WAM: Layer = Layer {
    name: "WAM.tif",
    data_type: SampleType::U8,
    nodata: None,
};

/// The date and sequence number of a version folder name `YYYYMMDD-N`.
pub(crate) fn parse_version(name: &str) -> Option<(NaiveDate, u64)> {
    let (date, seq) = name.split_once('-')?;
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if seq.is_empty() || seq.len() > 19 || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((
        NaiveDate::parse_from_str(date, "%Y%m%d").ok()?,
        seq.parse().ok()?,
    ))
}

/// The name of the version after `previous` (or the first one) for `date`.
pub(crate) fn next_version(previous: Option<&str>, date: NaiveDate) -> String {
    let seq = previous.and_then(parse_version).map_or(1, |(_, n)| n + 1);
    format!("{}-{seq}", date.format("%Y%m%d"))
}

/// The version folder `dir/CURRENT` names; `None` when there is no CURRENT file.
pub(crate) fn read_current(dir: &Path) -> Result<Option<String>> {
    let path = dir.join(CURRENT);
    let text = match fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(VipError::input_io(&path, &e)),
    };
    let name = std::str::from_utf8(&text)
        .ok()
        .and_then(|t| t.strip_suffix('\n'))
        .filter(|n| parse_version(n).is_some())
        .ok_or_else(|| {
            VipError::bad_input(&path, "does not name a context version (YYYYMMDD-N)")
        })?;
    Ok(Some(name.to_string()))
}

/// Whether `name` is something a context folder holds besides CURRENT: a version folder, a
/// temporary entry (dot name) or the lock.
pub(crate) fn is_ours(name: &str) -> bool {
    name == LOCK || name.starts_with('.') || parse_version(name).is_some()
}

/// Flushes a file or folder to the disk.
pub(crate) fn sync(path: &Path) -> io::Result<()> {
    fs::File::open(path)?.sync_all()
}

/// Writes `text` to `path` and flushes it to the disk.
pub(crate) fn write_synced(path: &Path, text: &str) -> io::Result<()> {
    let mut f = fs::File::create(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_names() {
        let d = NaiveDate::from_ymd_opt(2024, 1, 5).unwrap();
        assert_eq!(parse_version("20240105-3"), Some((d, 3)));
        for bad in [
            "20240105",
            "2024015-3",
            "20240105-",
            "20241305-1",
            "../x-1",
            "20240105-1a",
        ] {
            assert_eq!(parse_version(bad), None, "{bad}");
        }
        assert_eq!(next_version(None, d), "20240105-1");
        assert_eq!(next_version(Some("20231230-41"), d), "20240105-42");
        assert!(is_ours("LOCK") && is_ours(".20240105-2.tmp-77") && is_ours("20240105-2"));
        assert!(!is_ours("SRE.tif"));
    }
}
