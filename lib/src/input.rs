//! Reading outside input within bounds: a file bigger than its kind may be is refused before it
//! is read, so a huge or endless file (a sparse 1 GB header, `/dev/zero`) costs no memory.

use std::io::Read;
use std::path::Path;

use crate::error::{Result, VipError};

/// The bytes of `path`, refused as bad input when over `max` (`what` names the kind of file).
pub fn read_file(path: &Path, max: u64, what: &str) -> Result<Vec<u8>> {
    let io = |e: std::io::Error| VipError::input_io(path, &e);
    let too_big = |size: u64| {
        VipError::bad_input(
            path,
            format!("{size} bytes or more, more than the {max} {what} may hold"),
        )
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    if size > max {
        return Err(too_big(size));
    }
    // the size said may not hold for a special file or one that grows
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(max + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > max {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

/// [`read_file`] for UTF-8 text.
pub fn read_text(path: &Path, max: u64, what: &str) -> Result<String> {
    String::from_utf8(read_file(path, max, what)?)
        .map_err(|_| VipError::bad_input(path, format!("not UTF-8 text, so not {what}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_and_endless_files_are_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        std::fs::write(&p, "{}").unwrap();
        assert_eq!(read_text(&p, 2, "a rules file").unwrap(), "{}");
        let e = read_text(&p, 1, "a rules file").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}: 2 bytes or more, more than the 1 a rules file may hold",
                p.display()
            )
        );
        assert_eq!(e.exit_code(), 3);
        // a special file whose size says 0
        let e = read_file(Path::new("/dev/zero"), 1000, "a manifest").unwrap_err();
        assert!(e.to_string().contains("1001 bytes or more"), "{e}");
        std::fs::write(&p, [0xff, 0xfe]).unwrap();
        let e = read_text(&p, 10, "a rules file").unwrap_err();
        assert!(
            e.to_string()
                .ends_with("not UTF-8 text, so not a rules file"),
            "{e}"
        );
    }
}
