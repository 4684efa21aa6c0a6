//! XML Schema validation in-process (libxml2), against the VENµS interface schemas compiled into
//! the library: an installed tool needs no file beside it, and a schema that cannot be found or
//! compiled is an error, never a pass.
//!
//! The schemas (`lib/schemas/`, provenance in its README) are served to libxml2 from memory
//! under the `vip-schemas:` URL scheme by an external-entity loader, so their relative
//! `xs:include`/`xs:import` resolve as on disk and nothing is read from the file system or the
//! network. As the ICD's own `validate` script does, the schema is chosen from the file: the
//! root's `xsi:type` for Earth Explorer headers and GIPPs (several VENµS schemas define some
//! type names; the file passes if one of them accepts it), the root element for job orders,
//! parameter files and MUSCATE `*_MTD_ALL.xml`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{c_char, CStr, CString};
use std::path::Path;
use std::sync::OnceLock;

use include_dir::{include_dir, Dir};
use libxml::bindings;
use libxml::parser::{Parser, ParserOptions};
use libxml::schemas::{SchemaParserContext, SchemaValidationContext};

pub use crate::error::bounded;
use crate::error::{bounded_to, MAX_MESSAGE};

/// The vendored schema tree.
static SCHEMAS: Dir = include_dir!("$CARGO_MANIFEST_DIR/schemas");

/// The URL scheme under which [`SCHEMAS`] is served.
const SCHEME: &str = "vip-schemas:/";

/// The VENµS interface schemas (one folder: each instance names its type with `xsi:type`).
const ICD: &str = "venus/icd/Venus";

/// VIP's own schemas, served as if they stood in the ICD folder (they include its dictionary).
const VIP_OWN: [&str; 3] = [
    "VIP_GIP_L2GAST.xsd",
    "VIP_GIP_L2PHAS.xsd",
    "VIP_GIP_L2SITE.xsd",
];

/// Largest XML file validated (the biggest VENµS header or GIPP is a few hundred kB).
pub const MAX_XML_BYTES: u64 = 64 << 20;

/// Most messages kept from one failed validation (each bounded too).
const MAX_MESSAGES: usize = 5;

/// The outcome of validating one file.
pub type Validation = std::result::Result<String, String>;

/// Validates `path` against the schema its root names. `Ok` names the schema that accepted it;
/// `Err` says, in at most a few bounded lines that start with the file name, why it did not
/// (unreadable, not XML, no schema for its type, or what the schema rejected).
pub fn validate(path: &Path) -> Validation {
    let bytes =
        crate::input::read_file(path, MAX_XML_BYTES, "an XML header").map_err(|e| e.to_string())?;
    validate_bytes(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// [`validate`] for a document in memory; messages do not name a file.
pub fn validate_bytes(bytes: &[u8]) -> Validation {
    let doc = parse(bytes)?;
    let root = doc.get_root_element().ok_or("no root element")?;
    let name = root.get_name();
    let schemas = match name.as_str() {
        "Ipf_Job_Order" => vec![format!("{ICD}/VenusJobOrder.xsd")],
        "Parameter_File" => vec![format!("{ICD}/VenusJobOrder_ParameterFile.xsd")],
        "Muscate_Metadata_Document" => {
            vec!["venus/schemas-extra/PSC/Muscate_Metadata.xsd".to_string()]
        }
        _ => {
            let ty = root
                .get_property_ns("type", "http://www.w3.org/2001/XMLSchema-instance")
                .ok_or_else(|| {
                    format!("no xsi:type on the root <{name}>: cannot choose a schema")
                })?;
            let found = schemas_defining(&ty);
            if found.is_empty() {
                return Err(format!("no VENµS schema defines type {}", bounded(&ty)));
            }
            found
        }
    };
    let mut why = Vec::new();
    for schema in &schemas {
        match with_schema(schema, |ctx| ctx.validate_document(&doc)) {
            Ok(Ok(())) => return Ok(file_name(schema)),
            Ok(Err(errors)) => why.push(format!("{}: {}", file_name(schema), join(&errors))),
            Err(e) => return Err(e),
        }
    }
    // each schema gives a few bounded messages; several schemas may define the type
    Err(bounded_to(
        &format!("fails against {}", why.join("; ")),
        MAX_MESSAGE,
    ))
}

/// Validates `path` against one given schema of the library (`venus/icd/Venus/X.xsd`), whatever
/// its root says: to show that a file needs its own schema.
pub fn validate_with(path: &Path, schema: &str) -> Validation {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let doc = parse(&bytes)?;
    match with_schema(schema, |ctx| ctx.validate_document(&doc))? {
        Ok(()) => Ok(file_name(schema)),
        Err(errors) => Err(join(&errors)),
    }
}

/// Parses an instance document: no network, no external entity, no DTD loaded.
fn parse(bytes: &[u8]) -> std::result::Result<libxml::tree::Document, String> {
    install_loader();
    let options = ParserOptions {
        recover: false,
        no_net: true,
        ..Default::default()
    };
    match Parser::default().parse_string_with_diagnostics(bytes, options) {
        Ok((doc, _)) => Ok(doc),
        Err(libxml::parser::XmlParseFailure::ParseFailed(errors)) => {
            Err(format!("not well-formed XML: {}", join(&errors)))
        }
        Err(e) => Err(format!("not well-formed XML: {e}")),
    }
}

/// Validates each file; `Err` carries one line per file that failed. For tests and reports.
pub fn validate_all(paths: &[&Path]) -> std::result::Result<(), String> {
    let failed: Vec<String> = paths.iter().filter_map(|p| validate(p).err()).collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("\n"))
    }
}

/// The schema files that define the type `ty` (`name="ty"`), VIP's own included.
fn schemas_defining(ty: &str) -> Vec<String> {
    let needle = format!("name=\"{ty}\"");
    let mut out: Vec<String> = SCHEMAS
        .get_dir(ICD)
        .map(|d| {
            d.files()
                .filter(|f| f.contents_utf8().is_some_and(|t| t.contains(&needle)))
                .map(|f| f.path().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    for own in VIP_OWN {
        if source(&format!("{ICD}/{own}")).is_some_and(|t| contains(t, needle.as_bytes())) {
            out.push(format!("{ICD}/{own}"));
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The bytes of the schema at `path` in the served tree.
fn source(path: &str) -> Option<&'static [u8]> {
    if let Some(own) = path.strip_prefix(ICD).and_then(|p| p.strip_prefix('/')) {
        if VIP_OWN.contains(&own) {
            return SCHEMAS.get_file(own).map(|f| f.contents());
        }
    }
    SCHEMAS.get_file(path).map(|f| f.contents())
}

thread_local! {
    /// Compiled schemas of this thread (libxml2 contexts are not shared between threads).
    static COMPILED: RefCell<HashMap<String, SchemaValidationContext>> = RefCell::default();
}

/// Runs `f` with the validation context of `schema` (compiled once per thread).
fn with_schema<T>(
    schema: &str,
    f: impl FnOnce(&mut SchemaValidationContext) -> T,
) -> std::result::Result<T, String> {
    COMPILED.with(|cache| {
        let mut cache = cache.borrow_mut();
        if !cache.contains_key(schema) {
            if source(schema).is_none() {
                return Err(format!("schema {schema} is not in the library"));
            }
            let mut parser = SchemaParserContext::from_file(&format!("{SCHEME}{schema}"));
            let ctx = SchemaValidationContext::from_parser(&mut parser)
                .map_err(|e| format!("schema {schema} does not compile: {}", join(&e)))?;
            cache.insert(schema.to_string(), ctx);
        }
        Ok(f(cache.get_mut(schema).expect("compiled above")))
    })
}

fn file_name(schema: &str) -> String {
    schema.rsplit('/').next().unwrap_or(schema).to_string()
}

/// The first messages of `errors`, each on one bounded line.
fn join(errors: &[libxml::error::StructuredError]) -> String {
    let mut parts: Vec<String> = errors
        .iter()
        .take(MAX_MESSAGES)
        .map(|e| {
            let line = e.line.map(|l| format!("line {l}: ")).unwrap_or_default();
            format!(
                "{line}{}",
                bounded(e.message.as_deref().unwrap_or("").trim())
            )
        })
        .collect();
    if errors.len() > MAX_MESSAGES {
        parts.push(format!("and {} more", errors.len() - MAX_MESSAGES));
    }
    if parts.is_empty() {
        "rejected without a message".into()
    } else {
        parts.join("; ")
    }
}

/// The loader libxml2 had before ours: every URL outside our scheme goes to it.
static DEFAULT_LOADER: OnceLock<bindings::xmlExternalEntityLoader> = OnceLock::new();

fn install_loader() {
    DEFAULT_LOADER.get_or_init(|| {
        libxml::init_parser();
        // SAFETY: libxml2 is initialised; the loader is set once, before any schema is parsed.
        unsafe {
            let previous = bindings::xmlGetExternalEntityLoader();
            bindings::xmlSetExternalEntityLoader(Some(load));
            previous
        }
    });
}

/// Serves `vip-schemas:/PATH` from [`SCHEMAS`]; an unknown path there is a load failure.
unsafe extern "C" fn load(
    url: *const c_char,
    id: *const c_char,
    ctxt: bindings::xmlParserCtxtPtr,
) -> bindings::xmlParserInputPtr {
    let text = if url.is_null() {
        None
    } else {
        CStr::from_ptr(url).to_str().ok()
    };
    let Some(path) = text.and_then(|u| u.strip_prefix(SCHEME)) else {
        return match DEFAULT_LOADER.get().copied().flatten() {
            Some(default) => default(url, id, ctxt),
            None => std::ptr::null_mut(),
        };
    };
    let Some(bytes) = source(&normalise(path)) else {
        return std::ptr::null_mut();
    };
    let Ok(len) = i32::try_from(bytes.len()) else {
        return std::ptr::null_mut();
    };
    let buffer = bindings::xmlParserInputBufferCreateMem(
        bytes.as_ptr().cast(),
        len,
        bindings::xmlCharEncoding_XML_CHAR_ENCODING_NONE,
    );
    if buffer.is_null() {
        return std::ptr::null_mut();
    }
    let input = bindings::xmlNewIOInputStream(
        ctxt,
        buffer,
        bindings::xmlCharEncoding_XML_CHAR_ENCODING_NONE,
    );
    if input.is_null() {
        bindings::xmlFreeParserInputBuffer(buffer);
        return std::ptr::null_mut();
    }
    // The input's name is the base against which its own includes resolve.
    let name = CString::new(format!("{SCHEME}{}", normalise(path))).expect("no NUL in a path");
    (*input).filename = bindings::xmlStrdup(name.as_ptr().cast()).cast();
    input
}

/// `a/b/../c` → `a/c` (libxml2 may hand over unresolved dot segments).
fn normalise(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            _ => parts.push(p),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../testdata/venus/examples")
            .join(name)
    }

    #[test]
    fn every_vendored_example_validates() {
        let dir = example("");
        let mut n = 0;
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let v = validate(&p);
            assert!(v.is_ok(), "{v:?}");
            n += 1;
        }
        assert!(n >= 15, "{n} examples");
    }

    #[test]
    fn the_schema_is_chosen_by_the_type_and_named() {
        let p = example("VE_TEST_VSC_L1VALD_CAMARGUE_20180101.HDR");
        assert_eq!(
            validate(&p).unwrap(),
            "VE_VSC_PDT_L1_L1PublishedProduct.xsd"
        );
        let p = example("VENUS-XS_20180102-105148-000_L2A_CAMARGUE_C_V1-0_MTD_ALL.xml");
        assert_eq!(validate(&p).unwrap(), "Muscate_Metadata.xsd");
    }

    #[test]
    fn an_invalid_header_fails_with_the_schema_s_reason() {
        let p = example("VE_TEST_VSC_L1VALD_CAMARGUE_20180101.HDR");
        let text = std::fs::read_to_string(p).unwrap();
        let bad = text.replacen("<File_Version>", "<File_Versio>", 1);
        assert_ne!(bad, text);
        let e = validate_bytes(bad.as_bytes()).unwrap_err();
        assert!(e.contains("File_Versio"), "{e}");
        let e = validate_bytes(
            text.replace("VSC_PDT_L1_Header_Type", "No_Such_Type")
                .as_bytes(),
        )
        .unwrap_err();
        assert!(
            e.contains("no VENµS schema defines type No_Such_Type"),
            "{e}"
        );
        let e = validate_bytes(b"<a><b></a>").unwrap_err();
        assert!(e.starts_with("not well-formed XML"), "{e}");
        let e = validate_bytes(b"<a/>").unwrap_err();
        assert!(e.contains("no xsi:type"), "{e}");
    }

    /// The same verdicts as the `xmllint` program on the schema files on disk: the in-memory
    /// serving and the choice of schema change nothing.
    #[test]
    fn xmllint_agrees() {
        let dir = tempfile::tempdir().unwrap();
        let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
        for name in [
            "VE_TEST_VSC_L1VALD_CAMARGUE_20180101.HDR",
            "VE_TEST_GIP_STRLGT_L_ALLSITES_00001_20170801_99991231_B05.HDR",
            "VE_TEST_VSC_PDTANX_L2VALD_CAMARGUE_20180102_ATB.HDR",
        ] {
            let good = example(name);
            let schema = validate(&good).unwrap();
            let text = std::fs::read_to_string(&good).unwrap();
            let bad = dir.path().join(name);
            std::fs::write(&bad, text.replacen("<File_Name>", "<File_Nam>", 1)).unwrap();
            assert!(validate(&bad).is_err(), "{name}");
            for (file, valid) in [(&good, true), (&bad, false)] {
                let out = std::process::Command::new("xmllint")
                    .args(["--noout", "--schema"])
                    .arg(schemas.join(ICD).join(&schema))
                    .arg(file)
                    .output()
                    .expect("xmllint (Debian: libxml2-utils)");
                assert_eq!(out.status.success(), valid, "{}", file.display());
            }
        }
    }

    #[test]
    fn messages_are_bounded() {
        let huge = format!(
            "<a xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"{}\"/>",
            "T".repeat(1 << 20)
        );
        let e = validate_bytes(huge.as_bytes()).unwrap_err();
        assert!(e.len() < 400, "{} bytes", e.len());
    }

    #[test]
    fn no_file_outside_the_library_is_read() {
        // An include of a file that exists on disk, but not in the served tree, does not load.
        assert!(source(&normalise("venus/icd/Venus/../../../../Cargo.toml")).is_none());
        assert!(source(&normalise("venus/icd/Venus/../../../lib/Cargo.toml")).is_none());
        assert_eq!(
            normalise("venus/icd/Venus/../EarthExplorer/x.XSD"),
            "venus/icd/EarthExplorer/x.XSD"
        );
    }
}
