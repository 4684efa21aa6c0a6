//! Error kinds of every VIP tool and the exit code each maps to (DESIGN.md §4).
//!
//! A message names the file it is about and what is wrong with it, once; the binary edge prints
//! it as one log line and exits with [`VipError::exit_code`].

use std::path::{Path, PathBuf};

/// Result alias used across the library.
pub type Result<T, E = VipError> = std::result::Result<T, E>;

/// What went wrong, by who must act on it.
#[derive(Debug, thiserror::Error)]
pub enum VipError {
    /// The tool ran and its verdict is negative (QC failed, product not issued): exit 1.
    #[error("{0}")]
    Verdict(String),
    /// The command line is wrong, or asks for something this version does not do: exit 2.
    #[error("{0}")]
    Usage(String),
    /// An input (product, GIPP, DEM, fixture) is missing, corrupt or invalid: exit 3. The path
    /// is shown on one line of at most [`MAX_PATH`] bytes (it may come from a file's content).
    #[error("{}: {msg}", shown(path))]
    BadInput { path: PathBuf, msg: String },
    /// The processing itself failed on valid inputs: exit 4.
    #[error("{0}")]
    Processing(String),
    /// An output cannot be written (exists, not writable, disk full): exit 5.
    #[error("{}: {msg}", path.display())]
    Output { path: PathBuf, msg: String },
    /// A bug: an invariant of the code does not hold: exit 70.
    #[error("internal error: {0}")]
    Internal(String),
}

impl VipError {
    /// Exit status of the process for this error (DESIGN.md §4).
    pub fn exit_code(&self) -> i32 {
        match self {
            VipError::Verdict(_) => 1,
            VipError::Usage(_) => 2,
            VipError::BadInput { .. } => 3,
            VipError::Processing(_) => 4,
            VipError::Output { .. } => 5,
            VipError::Internal(_) => 70,
        }
    }

    /// A bad-input error about `path`; the message is kept to one line of at most
    /// [`MAX_MESSAGE`] bytes, whatever input text it quotes.
    pub fn bad_input(path: impl AsRef<Path>, msg: impl std::fmt::Display) -> Self {
        VipError::BadInput {
            path: path.as_ref().to_path_buf(),
            msg: bounded_to(&msg.to_string(), MAX_MESSAGE),
        }
    }

    /// A cannot-write error about `path`.
    pub fn output(path: impl AsRef<Path>, msg: impl std::fmt::Display) -> Self {
        VipError::Output {
            path: path.as_ref().to_path_buf(),
            msg: msg.to_string(),
        }
    }

    /// An I/O error met while writing `path`, worded for an operator ("disk full", ...).
    pub fn output_io(path: impl AsRef<Path>, err: &std::io::Error) -> Self {
        let msg = match err.raw_os_error() {
            Some(libc::ENOSPC) => "no space left on device".to_string(),
            Some(libc::EACCES) | Some(libc::EPERM) => "permission denied".to_string(),
            Some(libc::EROFS) => "read-only file system".to_string(),
            _ => err.to_string(),
        };
        VipError::output(path, msg)
    }

    /// An I/O error met while reading `path`.
    pub fn input_io(path: impl AsRef<Path>, err: &std::io::Error) -> Self {
        let msg = match err.kind() {
            std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            _ => err.to_string(),
        };
        VipError::bad_input(path, msg)
    }

    /// The error of a tool asked to process what a later version will do.
    pub fn not_yet(tool: &str, what: &str) -> Self {
        VipError::Usage(format!(
            "{tool}: {what} is not implemented in this version; nothing was processed"
        ))
    }
}

/// Longest quote of outside text in a message, in bytes.
pub const MAX_QUOTE: usize = 200;

/// Longest bad-input message, in bytes.
pub const MAX_MESSAGE: usize = 500;

/// Longest path shown in a bad-input error, in bytes.
pub const MAX_PATH: usize = 400;

fn shown(path: &Path) -> String {
    bounded_to(&path.display().to_string(), MAX_PATH)
}

/// `text` (a piece of an input quoted in a message) on one line, cut to [`MAX_QUOTE`] bytes.
pub fn bounded(text: &str) -> String {
    bounded_to(text, MAX_QUOTE)
}

/// `text` on one line (control characters made spaces), cut to at most `max` bytes (`…`
/// marks a cut).
pub fn bounded_to(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut line: String = text[..end]
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if end < text.len() {
        line.push('…');
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_design() {
        assert_eq!(VipError::Verdict("x".into()).exit_code(), 1);
        assert_eq!(VipError::Usage("x".into()).exit_code(), 2);
        assert_eq!(VipError::bad_input("a.tif", "truncated").exit_code(), 3);
        assert_eq!(VipError::Processing("x".into()).exit_code(), 4);
        assert_eq!(VipError::output("out", "exists").exit_code(), 5);
        assert_eq!(VipError::Internal("x".into()).exit_code(), 70);
    }

    #[test]
    fn messages_name_the_file() {
        let e = VipError::bad_input("/d/a.tif", "not a TIFF");
        assert_eq!(e.to_string(), "/d/a.tif: not a TIFF");
        let e = VipError::output_io("/o", &std::io::Error::from_raw_os_error(libc::ENOSPC));
        assert_eq!(e.to_string(), "/o: no space left on device");
    }

    #[test]
    fn bad_input_messages_are_one_bounded_line() {
        let e = VipError::bad_input("h.HDR", format!("text '{}'\nnext", "x".repeat(50 << 20)));
        let m = e.to_string();
        assert!(m.starts_with("h.HDR: text 'xxx"), "{}", &m[..40]);
        assert!(
            m.chars().count() <= "h.HDR: ".len() + MAX_MESSAGE + 1,
            "{}",
            m.len()
        );
        assert!(!m.contains('\n'));
        assert_eq!(bounded("a\tb"), "a b");
        assert_eq!(
            bounded(&"é".repeat(300)),
            format!("{}…", "é".repeat(MAX_QUOTE / 2))
        );
        assert_eq!(bounded("€€"), "€€");
        assert_eq!(bounded_to("€€", 4), "€…");
    }
}
