//! Earth Explorer XML (VENµS ICD): element tree, headers, file names, GIPP lookup.

pub mod xml;

pub use xml::Node;
pub mod header;
pub mod strlgt;

pub use header::{EeDoc, FixedHeader, Layout};
pub mod gipp;
pub mod gipps;
pub mod lut;
pub mod muscate;
pub mod naming;

pub use gipp::{Applicability, GippCatalogue, GippEntry, GippQuery};
pub use naming::{GippId, ProductId, SubFileId, TdiSet};

/// Validates files against the VENµS XSDs with the shared `validate` script (xmllint), for
/// tests: `Err` carries what the validator printed.
pub fn validate_against_icd(paths: &[&std::path::Path]) -> std::result::Result<(), String> {
    let script = crate::shared_reference().join("reference/venus/validate");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .args(paths)
        .output()
        .map_err(|e| format!("{}: {e}", script.display()))?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        Ok(())
    } else {
        Err(text)
    }
}
