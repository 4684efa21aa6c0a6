//! Earth Explorer XML (VENµS ICD): element tree, headers, file names, GIPP lookup.

pub mod xml;

pub use xml::Node;
