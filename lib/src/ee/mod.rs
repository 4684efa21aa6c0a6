//! Earth Explorer XML (VENµS ICD): element tree, headers, file names, GIPP lookup.

pub mod xml;

pub use xml::Node;
pub mod auxdata;
pub mod cloudd;
pub mod eordta;
pub mod header;
pub mod l2site;
pub mod l3comm;
pub mod refimg;
pub mod strlgt;

pub use header::{EeDoc, FixedHeader, Layout};
pub mod gipp;
pub mod gipps;
pub mod lut;
pub mod muscate;
pub mod naming;
pub mod schema;

pub use gipp::{Applicability, GippCatalogue, GippEntry, GippQuery};
pub use naming::{GippId, ProductId, TdiSet};
