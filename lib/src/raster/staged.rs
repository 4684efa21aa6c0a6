//! Atomic output: build under a temporary name beside the destination, rename when complete,
//! leave nothing behind on failure (DESIGN.md §4).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Result, VipError};

/// Message of the error given when an output exists and `--overwrite` was not asked for.
pub const EXISTS_MSG: &str = "exists; use --overwrite to replace it";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
}

/// An output being built under a temporary name (`.<name>.tmp-<pid>`) in the destination's
/// folder.
///
/// Write into [`Staged::path`], then [`Staged::commit`] renames it into place. Dropped without
/// commit, it removes the temporary file or folder tree.
#[derive(Debug)]
pub struct Staged {
    dest: PathBuf,
    tmp: PathBuf,
    kind: Kind,
    overwrite: bool,
    done: bool,
}

impl Staged {
    /// Stages the file `dest`. Fails with an output error (exit 5) when `dest` exists and
    /// `overwrite` is false, or when its folder is missing or not writable (the error names the
    /// folder). The temporary file is not created: the writer creates it.
    pub fn file(dest: &Path, overwrite: bool) -> Result<Staged> {
        let staged = Staged::new(dest, overwrite, Kind::File)?;
        // Probe that the folder takes new files, so the error names the folder, not GDAL.
        fs::File::create(&staged.tmp).map_err(|e| folder_error(&staged.dest, &e))?;
        fs::remove_file(&staged.tmp).map_err(|e| folder_error(&staged.dest, &e))?;
        Ok(staged)
    }

    /// Stages the folder `dest` and creates its (empty) temporary folder. Fails like
    /// [`Staged::file`].
    pub fn dir(dest: &Path, overwrite: bool) -> Result<Staged> {
        let staged = Staged::new(dest, overwrite, Kind::Dir)?;
        if staged.tmp.exists() {
            // A leftover of an earlier run with the same process id.
            fs::remove_dir_all(&staged.tmp).map_err(|e| VipError::output_io(&staged.tmp, &e))?;
        }
        fs::create_dir(&staged.tmp).map_err(|e| folder_error(&staged.dest, &e))?;
        Ok(staged)
    }

    fn new(dest: &Path, overwrite: bool, kind: Kind) -> Result<Staged> {
        let name = dest
            .file_name()
            .ok_or_else(|| VipError::output(dest, "not a file or folder name"))?;
        let parent = parent_of(dest);
        match fs::metadata(parent) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(VipError::output(parent, "not a directory")),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(VipError::output(parent, "no such directory"))
            }
            Err(e) => return Err(VipError::output_io(parent, &e)),
        }
        if !overwrite && exists(dest) {
            return Err(VipError::output(dest, EXISTS_MSG));
        }
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".tmp-{}", std::process::id()));
        Ok(Staged {
            dest: dest.to_path_buf(),
            tmp: parent.join(tmp_name),
            kind,
            overwrite,
            done: false,
        })
    }

    /// The temporary path to write to.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// The final path.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Renames the finished output into place and returns its final path. An existing folder
    /// (or a file in the way of a folder) is moved aside first and deleted once the new output
    /// is in place. Close every GDAL dataset written under [`Staged::path`] before.
    pub fn commit(mut self) -> Result<PathBuf> {
        let dest = self.dest.clone();
        let in_the_way = exists(&dest);
        if in_the_way && !self.overwrite {
            return Err(VipError::output(&dest, EXISTS_MSG));
        }
        let dest_is_dir = fs::symlink_metadata(&dest).is_ok_and(|m| m.is_dir());
        if in_the_way && (self.kind == Kind::Dir || dest_is_dir) {
            let mut old_name = std::ffi::OsString::from(".");
            old_name.push(dest.file_name().unwrap_or_default());
            old_name.push(format!(".old-{}", std::process::id()));
            let old = parent_of(&dest).join(old_name);
            fs::rename(&dest, &old).map_err(|e| VipError::output_io(&dest, &e))?;
            if let Err(e) = fs::rename(&self.tmp, &dest) {
                let _ = fs::rename(&old, &dest);
                return Err(VipError::output_io(&dest, &e));
            }
            self.done = true;
            remove_any(&old).map_err(|e| VipError::output_io(&old, &e))?;
        } else {
            fs::rename(&self.tmp, &dest).map_err(|e| VipError::output_io(&dest, &e))?;
            self.done = true;
        }
        Ok(dest)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.done {
            let _ = remove_any(&self.tmp);
        }
    }
}

/// An EE product being built: its header `<id>.HDR` and folder `<id>.DBL.DIR` are written
/// under a temporary folder in the output directory, then moved into place folder first and
/// header last, so a product whose header exists is whole. Dropped without commit, nothing
/// stays.
#[derive(Debug)]
pub struct StagedProduct {
    stage: Staged,
    out: PathBuf,
    id: String,
    overwrite: bool,
}

impl StagedProduct {
    /// Stages product `id` in `out` (created when missing). Fails (exit 5) when the product
    /// exists and `overwrite` is false.
    pub fn new(out: &Path, id: &str, overwrite: bool) -> Result<StagedProduct> {
        ensure_dir(out)?;
        for part in Self::parts(id) {
            let dest = out.join(&part);
            if !overwrite && exists(&dest) {
                return Err(VipError::output(&dest, EXISTS_MSG));
            }
        }
        Ok(StagedProduct {
            stage: Staged::dir(&out.join(id), true)?,
            out: out.to_path_buf(),
            id: id.to_string(),
            overwrite,
        })
    }

    fn parts(id: &str) -> [String; 2] {
        [format!("{id}.DBL.DIR"), format!("{id}.HDR")]
    }

    /// The folder to write the product into, as if it were the output directory.
    pub fn path(&self) -> &Path {
        self.stage.path()
    }

    /// Moves the folder, then the header, into the output directory; returns the header path.
    pub fn commit(self) -> Result<PathBuf> {
        let mut last = PathBuf::new();
        for part in Self::parts(&self.id) {
            let dest = self.out.join(&part);
            if exists(&dest) {
                if !self.overwrite {
                    return Err(VipError::output(&dest, EXISTS_MSG));
                }
                remove_any(&dest).map_err(|e| VipError::output_io(&dest, &e))?;
            }
            let src = self.stage.path().join(&part);
            fs::rename(&src, &dest).map_err(|e| VipError::output_io(&dest, &e))?;
            last = dest;
        }
        Ok(last)
    }
}

/// Creates the folder `dir` and its parents when missing. Errors are output errors (exit 5)
/// naming the folder.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => return Ok(()),
        Ok(_) => return Err(VipError::output(dir, "not a directory")),
        Err(_) => {}
    }
    fs::create_dir_all(dir).map_err(|e| match e.raw_os_error() {
        Some(libc::ENOTDIR) | Some(libc::EEXIST) => {
            VipError::output(dir, "a parent is not a directory")
        }
        _ => VipError::output_io(dir, &e),
    })
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// The error of a folder that does not take new entries, naming the folder.
fn folder_error(dest: &Path, err: &io::Error) -> VipError {
    VipError::output_io(parent_of(dest), err)
}

fn remove_any(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-") || n.contains(".old-"))
            .collect()
    }

    #[test]
    fn file_is_renamed_into_place() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("a.tif");
        let s = Staged::file(&dest, false).unwrap();
        assert_eq!(s.path().parent(), Some(d.path()));
        let name = s.path().file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(name, format!(".a.tif.tmp-{}", std::process::id()));
        assert!(!s.path().exists(), "the writer creates the file");
        fs::write(s.path(), b"new").unwrap();
        assert_eq!(s.commit().unwrap(), dest);
        assert_eq!(fs::read(&dest).unwrap(), b"new");
        assert!(leftovers(d.path()).is_empty());
    }

    #[test]
    fn existing_output_is_refused_without_overwrite() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("a.tif");
        fs::write(&file, b"old").unwrap();
        let e = Staged::file(&file, false).unwrap_err();
        assert_eq!(e.exit_code(), 5);
        assert_eq!(e.to_string(), format!("{}: {EXISTS_MSG}", file.display()));
        let dir = d.path().join("P");
        fs::create_dir(&dir).unwrap();
        let e = Staged::dir(&dir, false).unwrap_err();
        assert_eq!(e.exit_code(), 5);
        assert!(e.to_string().contains("use --overwrite"));
        assert_eq!(fs::read(&file).unwrap(), b"old");
        assert!(leftovers(d.path()).is_empty());
    }

    #[test]
    fn output_appearing_meanwhile_is_not_replaced() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("a.tif");
        let s = Staged::file(&dest, false).unwrap();
        fs::write(s.path(), b"new").unwrap();
        fs::write(&dest, b"other").unwrap();
        assert_eq!(s.commit().unwrap_err().exit_code(), 5);
        assert_eq!(fs::read(&dest).unwrap(), b"other");
        assert!(leftovers(d.path()).is_empty());
    }

    #[test]
    fn overwrite_replaces_file_and_dir() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("a.tif");
        fs::write(&file, b"old").unwrap();
        let s = Staged::file(&file, true).unwrap();
        fs::write(s.path(), b"new").unwrap();
        s.commit().unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"new");

        let dir = d.path().join("P.DBL.DIR");
        fs::create_dir_all(dir.join("sub")).unwrap();
        fs::write(dir.join("sub/old.tif"), b"old").unwrap();
        let s = Staged::dir(&dir, true).unwrap();
        assert!(s.path().is_dir());
        fs::write(s.path().join("new.tif"), b"new").unwrap();
        assert_eq!(s.commit().unwrap(), dir);
        assert!(dir.join("new.tif").is_file());
        assert!(!dir.join("sub").exists());
        assert!(leftovers(d.path()).is_empty());
    }

    #[test]
    fn overwrite_replaces_a_file_in_the_way_of_a_dir_and_back() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x");
        fs::write(&p, b"file").unwrap();
        let s = Staged::dir(&p, true).unwrap();
        fs::write(s.path().join("f"), b"1").unwrap();
        s.commit().unwrap();
        assert!(p.join("f").is_file());
        let s = Staged::file(&p, true).unwrap();
        fs::write(s.path(), b"file again").unwrap();
        s.commit().unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"file again");
        assert!(leftovers(d.path()).is_empty());
    }

    #[test]
    fn drop_without_commit_leaves_nothing() {
        let d = tempfile::tempdir().unwrap();
        let s = Staged::dir(&d.path().join("P"), false).unwrap();
        fs::create_dir(s.path().join("MASKS")).unwrap();
        fs::write(s.path().join("MASKS/m.tif"), b"partial").unwrap();
        drop(s);
        let s = Staged::file(&d.path().join("a.tif"), false).unwrap();
        fs::write(s.path(), b"partial").unwrap();
        drop(s);
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 0);
    }

    #[test]
    fn unwritable_folder_is_an_output_error_naming_it() {
        let d = tempfile::tempdir().unwrap();
        let not_dir = d.path().join("file.txt");
        fs::write(&not_dir, b"x").unwrap();
        for e in [
            Staged::file(&not_dir.join("out.tif"), false).unwrap_err(),
            Staged::dir(&not_dir.join("OUT"), true).unwrap_err(),
            ensure_dir(&not_dir.join("out")).unwrap_err(),
            ensure_dir(&not_dir).unwrap_err(),
        ] {
            assert_eq!(e.exit_code(), 5, "{e}");
            assert!(e.to_string().contains("file.txt"), "{e}");
        }
        let missing = d.path().join("missing");
        let e = Staged::file(&missing.join("a.tif"), false).unwrap_err();
        assert_eq!(e.exit_code(), 5);
        assert!(e.to_string().contains("missing: no such directory"), "{e}");
        // A folder that exists but takes no new entries (true even for root).
        let e = Staged::file(Path::new("/proc/vip-out.tif"), false).unwrap_err();
        assert_eq!(e.exit_code(), 5);
        assert!(e.to_string().starts_with("/proc:"), "{e}");
        let e = Staged::dir(Path::new("/proc/vip-out"), false).unwrap_err();
        assert_eq!(e.exit_code(), 5);
        assert!(e.to_string().starts_with("/proc:"), "{e}");
    }

    #[test]
    fn ensure_dir_creates_parents() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a/b/c");
        ensure_dir(&p).unwrap();
        assert!(p.is_dir());
        ensure_dir(&p).unwrap();
    }
}
