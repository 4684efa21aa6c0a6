//! `vip`: the library behind the VENµS image processing tools (`vip-l1`, `vip-straylight`,
//! `vip-maccs`, `vip-pack`, `vip-qc`, `vip-sim`). All the logic lives here; the binaries only
//! parse flags. See DESIGN.md for the plan each module follows.

pub mod atmosphere;
pub mod cli;
pub mod cloud;
pub mod composite;
pub mod context;
pub mod ee;
pub mod error;
pub mod geometry;
pub mod input;
pub mod level1;
pub mod level2;
pub mod mission;
pub mod pack;
pub mod product;
pub mod qc;
pub mod radiometry;
pub mod raster;
pub mod sim;
pub mod straylight;

pub use error::{Result, VipError};

/// A committed test fixture: `testdata/REL` at the project root (see `testdata/README.md`).
#[cfg(test)]
pub(crate) fn testdata(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata")
        .join(rel)
}
