//! Deterministic zip of a package folder, and reading a zipped package back for `verify`.
//!
//! Same folder, same bytes: entries in sorted path order under `<ID>/`, every timestamp
//! 1980-01-01 00:00:00 (the zip epoch), fixed permissions (0644 files, 0755 folders), no
//! extra fields. Rasters and the quicklook are already compressed and are stored as they are
//! (GDAL reads them through `/vsizip/` without inflating); the text files are deflated.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

use super::manifest::{list_files, parse, sha256_reader, MAX_MANIFEST_BYTES};
use super::{is_safe_relative, MANIFEST};
use crate::error::{Result, VipError};

fn stored(rel: &str) -> bool {
    let l = rel.to_ascii_lowercase();
    l.ends_with(".tif") || l.ends_with(".tiff") || l.ends_with(".jpg") || l.ends_with(".jpeg")
}

/// Writes the folder `root` as a zip at `dest`, its entries under `<id>/`.
pub fn write_zip(root: &Path, id: &str, dest: &Path) -> Result<()> {
    let out_err = |e: &dyn std::fmt::Display| VipError::output(dest, format!("cannot write: {e}"));
    let files = list_files(root)?;
    let mut dirs: Vec<String> = vec![format!("{id}/")];
    for f in &files {
        let mut acc = format!("{id}/");
        let parts: Vec<&str> = f.split('/').collect();
        for d in &parts[..parts.len() - 1] {
            acc.push_str(d);
            acc.push('/');
            if !dirs.contains(&acc) {
                dirs.push(acc.clone());
            }
        }
    }
    let mut entries: Vec<(String, Option<&String>)> = dirs.into_iter().map(|d| (d, None)).collect();
    entries.extend(files.iter().map(|f| (format!("{id}/{f}"), Some(f))));
    entries.sort_by(|a, b| a.0.cmp(&b.0));

    let file = std::fs::File::create(dest).map_err(|e| VipError::output_io(dest, &e))?;
    let mut z = ZipWriter::new(std::io::BufWriter::with_capacity(1 << 20, file));
    let base = SimpleFileOptions::default().last_modified_time(DateTime::default());
    for (name, rel) in entries {
        match rel {
            None => z
                .add_directory(name.as_str(), base.unix_permissions(0o755))
                .map_err(|e| out_err(&e))?,
            Some(rel) => {
                let src = root.join(rel);
                let size = std::fs::metadata(&src)
                    .map_err(|e| VipError::input_io(&src, &e))?
                    .len();
                let method = if stored(rel) {
                    CompressionMethod::Stored
                } else {
                    CompressionMethod::Deflated
                };
                let opts = base
                    .unix_permissions(0o644)
                    .compression_method(method)
                    .large_file(size >= u32::MAX as u64);
                z.start_file(name.as_str(), opts).map_err(|e| out_err(&e))?;
                let mut f = std::fs::File::open(&src).map_err(|e| VipError::input_io(&src, &e))?;
                std::io::copy(&mut f, &mut z).map_err(|e| VipError::output_io(dest, &e))?;
            }
        }
    }
    let mut w = z.finish().map_err(|e| out_err(&e))?;
    w.flush().map_err(|e| VipError::output_io(dest, &e))?;
    w.into_inner()
        .map_err(|e| VipError::output_io(dest, e.error()))?
        .sync_all()
        .map_err(|e| VipError::output_io(dest, &e))
}

/// A zipped package opened for reading: its one top folder and its file entries (index, path
/// inside the top folder).
pub(crate) struct ZipListing {
    pub archive: ZipArchive<std::fs::File>,
    pub top: String,
    pub files: Vec<(usize, String)>,
}

/// Opens the zip at `path` and lists its files. An entry name that is absolute, holds `..` or
/// lies outside one top folder is refused as bad input (exit 3) before anything is read.
pub(crate) fn list_zip(path: &Path) -> Result<ZipListing> {
    let bad = |m: String| VipError::bad_input(path, m);
    let f = std::fs::File::open(path).map_err(|e| VipError::input_io(path, &e))?;
    let mut z = ZipArchive::new(f).map_err(|e| bad(format!("not a readable zip: {e}")))?;
    let mut top: Option<String> = None;
    let mut names = Vec::with_capacity(z.len());
    for i in 0..z.len() {
        let e = z
            .by_index_raw(i)
            .map_err(|e| bad(format!("entry {i}: {e}")))?;
        let raw = String::from_utf8_lossy(e.name_raw()).into_owned();
        let name = raw.trim_end_matches('/');
        if !is_safe_relative(name) {
            return Err(bad(format!(
                "entry '{raw}' would be extracted outside the package folder"
            )));
        }
        let first = name.split('/').next().unwrap_or_default().to_string();
        match &top {
            None => top = Some(first),
            Some(t) if *t != first => {
                return Err(bad(format!(
                    "entry '{raw}' is outside the package folder '{t}/'"
                )))
            }
            Some(_) => {}
        }
        names.push((i, raw.ends_with('/'), name.to_string()));
    }
    let top = top.ok_or_else(|| bad("empty zip".into()))?;
    let mut files = Vec::new();
    for (i, is_dir, name) in names {
        if is_dir {
            continue;
        }
        let Some(rel) = name.strip_prefix(&format!("{top}/")) else {
            return Err(bad(format!(
                "entry '{name}' is a file beside the package folder"
            )));
        };
        files.push((i, rel.to_string()));
    }
    Ok(ZipListing {
        archive: z,
        top,
        files,
    })
}

/// Reads a zipped package: its manifest (`<ID>/MANIFEST.sha256`) and the SHA-256 of every
/// other file entry, both keyed by path inside `<ID>/` (entries checked as `list_zip` does).
pub fn hash_zip(path: &Path) -> Result<(BTreeMap<String, String>, BTreeMap<String, String>)> {
    let bad = |m: String| VipError::bad_input(path, m);
    let ZipListing {
        archive: mut z,
        top,
        files,
    } = list_zip(path)?;
    let mut listed = None;
    let mut found = BTreeMap::new();
    for (i, rel) in files {
        let name = format!("{top}/{rel}");
        let mut e = z
            .by_index(i)
            .map_err(|e| bad(format!("entry '{name}': {e}")))?;
        if rel == MANIFEST {
            // read no more than a manifest may hold, whatever the entry says it inflates to
            let mut text = String::new();
            std::io::Read::read_to_string(&mut (&mut e).take(MAX_MANIFEST_BYTES + 1), &mut text)
                .map_err(|e| bad(format!("entry '{name}': {e}")))?;
            if text.len() as u64 > MAX_MANIFEST_BYTES {
                return Err(bad(format!(
                    "entry '{name}' holds more than the {MAX_MANIFEST_BYTES} bytes a manifest may"
                )));
            }
            listed = Some(parse(&text, &path.join(crate::error::bounded(&name)))?);
        } else {
            let h = sha256_reader(&mut e).map_err(|e| bad(format!("entry '{name}': {e}")))?;
            found.insert(rel, h);
        }
    }
    let listed = listed.ok_or_else(|| bad(format!("no {top}/{MANIFEST} in the zip")))?;
    Ok((listed, found))
}
