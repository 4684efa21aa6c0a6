//! The SHA-256 manifest of a package (`MANIFEST.sha256`, the `sha256sum` text format: one
//! `<hex>  <path>` line per file, sorted by path, paths relative to the package folder) and
//! the check of a package folder or zip against it.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::{archive, is_safe_relative, MANIFEST};
use crate::error::{bounded, Result, VipError};

/// Largest manifest read (one line of about 100 bytes per file of the package).
pub const MAX_MANIFEST_BYTES: u64 = 16 << 20;

/// Lowercase hex SHA-256 of everything `r` yields.
pub fn sha256_reader(mut r: impl Read) -> std::io::Result<String> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// SHA-256 of the file at `path`.
pub fn sha256_file(path: &Path) -> Result<String> {
    let f = std::fs::File::open(path).map_err(|e| VipError::input_io(path, &e))?;
    sha256_reader(f).map_err(|e| VipError::input_io(path, &e))
}

/// Every file below `root` as `/`-separated relative paths, sorted; symbolic links and
/// anything but plain files and folders are reported as they are met.
pub fn list_files(root: &Path) -> Result<Vec<String>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
        for e in std::fs::read_dir(dir).map_err(|e| VipError::input_io(dir, &e))? {
            let e = e.map_err(|e| VipError::input_io(dir, &e))?;
            let p = e.path();
            let t = e.file_type().map_err(|e| VipError::input_io(&p, &e))?;
            if t.is_dir() {
                walk(root, &p, out)?;
            } else {
                let rel = p.strip_prefix(root).unwrap_or(&p);
                let parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(parts.join("/"));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(root, root, &mut out)?;
    out.sort();
    Ok(out)
}

/// The manifest text for `(path, hex)` pairs.
pub fn format(entries: &BTreeMap<String, String>) -> String {
    entries.iter().map(|(p, h)| format!("{h}  {p}\n")).collect()
}

/// Parses a manifest; `origin` names it in errors. Paths must stay inside the package.
pub fn parse(text: &str, origin: &Path) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |m: &str| VipError::bad_input(origin, format!("line {}: {m}", n + 1));
        let (hex, path) = line
            .split_once("  ")
            .ok_or_else(|| bad("not '<sha256>  <path>'"))?;
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("not a SHA-256 hex digest"));
        }
        if !is_safe_relative(path) {
            return Err(bad(&format!(
                "'{}' is not a path inside the package",
                bounded(path)
            )));
        }
        if out
            .insert(path.to_string(), hex.to_ascii_lowercase())
            .is_some()
        {
            return Err(bad(&format!("'{}' is listed twice", bounded(path))));
        }
    }
    Ok(out)
}

/// The SHA-256 of every file of the package folder `root` but the manifest, by path, hashed in
/// parallel.
pub fn hash_files(root: &Path) -> Result<BTreeMap<String, String>> {
    let files: Vec<String> = list_files(root)?
        .into_iter()
        .filter(|p| p != MANIFEST)
        .collect();
    let hashes = files
        .par_iter()
        .map(|p| sha256_file(&root.join(p)))
        .collect::<Result<Vec<_>>>()?;
    Ok(files.into_iter().zip(hashes).collect())
}

/// Writes the manifest of the package folder `root` listing `entries`.
pub fn write_entries(root: &Path, entries: &BTreeMap<String, String>) -> Result<()> {
    let path = root.join(MANIFEST);
    std::fs::write(&path, format(entries)).map_err(|e| VipError::output_io(&path, &e))
}

/// Differences between a manifest and what a package holds, one line each.
pub fn compare(listed: &BTreeMap<String, String>, found: &BTreeMap<String, String>) -> Vec<String> {
    let mut problems = Vec::new();
    for (p, h) in listed {
        match found.get(p) {
            None => problems.push(format!("{p}: missing")),
            Some(f) if f != h => problems.push(format!("{p}: checksum mismatch")),
            Some(_) => {}
        }
    }
    for p in found.keys() {
        if !listed.contains_key(p) {
            problems.push(format!("{p}: extra file, not in {MANIFEST}"));
        }
    }
    problems
}

/// Checks a package (folder or `.zip`) against its manifest. A package whose files differ
/// from the manifest is a negative verdict (exit 1) naming each difference; an unreadable
/// package, or a zip entry that would land outside the folder, is bad input (exit 3).
pub fn verify(package: &Path) -> Result<PathBuf> {
    crate::cli::require_exists(package)?;
    let (listed, found) = if package.is_dir() {
        let mpath = package.join(MANIFEST);
        let text = crate::input::read_text(&mpath, MAX_MANIFEST_BYTES, "a manifest")?;
        (parse(&text, &mpath)?, hash_files(package)?)
    } else {
        archive::hash_zip(package)?
    };
    let problems = compare(&listed, &found);
    if problems.is_empty() {
        log::info!(
            "{}: {} files match {MANIFEST}",
            package.display(),
            listed.len()
        );
        Ok(package.to_path_buf())
    } else {
        // one bounded line, however many files differ and whatever their names hold
        Err(VipError::Verdict(format!(
            "{}: {} problem(s): {}",
            package.display(),
            problems.len(),
            crate::error::bounded_to(&problems.join("; "), crate::error::MAX_MESSAGE)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest() {
        assert_eq!(
            sha256_reader(&b"abc"[..]).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn manifest_round_trip_and_bad_lines() {
        let mut m = BTreeMap::new();
        m.insert("b/x.tif".to_string(), "a".repeat(64));
        m.insert("a.xml".to_string(), "0".repeat(64));
        let text = format(&m);
        assert!(text.starts_with(&"0".repeat(64)));
        assert_eq!(parse(&text, Path::new("M")).unwrap(), m);
        for bad in [
            format!("{}  ../x", "a".repeat(64)),
            format!("{}  /etc/x", "a".repeat(64)),
            "zz  a".to_string(),
        ] {
            let e = parse(&bad, Path::new("M")).unwrap_err();
            assert_eq!(e.exit_code(), 3, "{bad}");
        }
    }

    #[test]
    fn differences_are_named() {
        let l: BTreeMap<_, _> = [("a", "1"), ("b", "2")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let f: BTreeMap<_, _> = [("a", "9"), ("c", "3")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let p = compare(&l, &f);
        assert_eq!(
            p,
            vec![
                "a: checksum mismatch".to_string(),
                "b: missing".to_string(),
                format!("c: extra file, not in {MANIFEST}")
            ]
        );
    }
}
