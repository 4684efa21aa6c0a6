//! Property-based fuzz of every parser that takes outside input: Earth Explorer headers and
//! GIPPs, LUT GIPP sets, MUSCATE metadata, package manifests and zips, the `vip-maccs lut`
//! stdin cases and `vip-qc --rules` files.
//!
//! Inputs are mutations of valid files (the vendored examples, the LUT GIPPs of
//! `testdata/luts` written by `vip-maccs lut-build`, packages written by the library's own
//! writers: truncation, byte flips, inserted and deleted spans, duplicated lines (elements),
//! numbers replaced by huge values, NaN or markup, non-UTF-8) and random bytes. Property: the
//! entry point returns `Ok` or a bad-input error (exit 3) that names a file of the case, on one
//! line shorter than [`MAX_MESSAGE`] bytes, within [`MAX_CASE`], and never panics. Below them,
//! hand-built hostile files (billion laughs, a 1 GiB text node, 100 000 nested elements, ...)
//! and a regression test for each thing the fuzz found.
//!
//! Cases per target (`PROPTEST_CASES=N` runs N for each, for longer runs): `ee_headers` 1024,
//! `gipp_readers` 1024, `lut_sets` 256, `muscate_metadata` 512, `manifests` 1024, `zips` 1024,
//! `lut_stdin` 2048, `rules_files` 2048, `xml_text` 4096 (about 40 s on two cores).

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::{Config, TestCaseError};
use vip::atmosphere::LutSet;
use vip::ee::lut::LutKind;
use vip::ee::{gipps, schema, EeDoc, Node};
use vip::VipError;

/// Longest message a bad input may give, in bytes.
const MAX_MESSAGE: usize = 1000;

/// Longest time one case may take.
const MAX_CASE: Duration = Duration::from_secs(5);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn examples() -> PathBuf {
    root().join("testdata/venus/examples")
}

fn luts() -> PathBuf {
    root().join("testdata/luts")
}

/// `default` cases, or `PROPTEST_CASES`; a fixed seed, so that the suite is the same on every
/// machine, or `PROPTEST_RNG_SEED` (a number) to explore other cases.
fn config(default: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    let seed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5EED_F1E5);
    Config {
        cases,
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    }
}

/// One change to a valid file.
#[derive(Debug, Clone)]
enum Mutation {
    Truncate(Index),
    Flip(Index, u8),
    Insert(Index, Vec<u8>),
    Delete(Index, usize),
    /// The line at the index repeated (a duplicated element in an indented XML file).
    DuplicateLine(Index, usize),
    /// The next number from the index replaced by the token.
    Number(Index, &'static str),
}

/// What a number may become.
const TOKENS: &[&str] = &[
    "NaN",
    "-inf",
    "1e400",
    "-1",
    "0",
    "-0",
    "1e-400",
    "99999999999999999999999999",
    "18446744073709551616",
    "4294967296",
    "",
    " ",
    "<x>",
    "</x>",
    "&lol;",
    "&#0;",
    "]]>",
    "\u{0}",
    "é",
    "\n",
    "\u{FEFF}",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<Index>(), vec(any::<u8>(), 1..16)).prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<Index>(), 1usize..256).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (any::<Index>(), 1usize..4).prop_map(|(i, n)| Mutation::DuplicateLine(i, n)),
        (any::<Index>(), select(TOKENS)).prop_map(|(i, t)| Mutation::Number(i, t)),
        (any::<Index>(), select(TOKENS)).prop_map(|(i, t)| Mutation::Number(i, t)),
    ]
}

fn is_number_byte(b: u8) -> bool {
    b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E')
}

fn apply(base: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut b = base.to_vec();
    for m in mutations {
        let at = |i: &Index, len: usize| if len == 0 { 0 } else { i.index(len) };
        match m {
            Mutation::Truncate(i) => b.truncate(at(i, b.len())),
            Mutation::Flip(i, x) => {
                if !b.is_empty() {
                    let k = at(i, b.len());
                    b[k] ^= x | 1;
                }
            }
            Mutation::Insert(i, x) => {
                let k = at(i, b.len() + 1);
                b.splice(k..k, x.iter().copied());
            }
            Mutation::Delete(i, n) => {
                let k = at(i, b.len());
                let end = (k + n).min(b.len());
                b.drain(k..end);
            }
            Mutation::DuplicateLine(i, n) => {
                let k = at(i, b.len());
                let start = b[..k]
                    .iter()
                    .rposition(|&c| c == b'\n')
                    .map_or(0, |p| p + 1);
                let end = b[k..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(b.len(), |p| k + p + 1);
                let line = b[start..end].to_vec();
                for _ in 0..*n {
                    b.splice(end..end, line.iter().copied());
                }
            }
            Mutation::Number(i, t) => {
                let k = at(i, b.len());
                if let Some(s) = b[k..].iter().position(|c| c.is_ascii_digit()) {
                    let s = k + s;
                    let s = b[..s]
                        .iter()
                        .rposition(|&c| !is_number_byte(c))
                        .map_or(0, |p| p + 1);
                    let e = b[s..]
                        .iter()
                        .position(|&c| !is_number_byte(c))
                        .map_or(b.len(), |p| s + p);
                    b.splice(s..e, t.bytes());
                }
            }
        }
    }
    b
}

/// A mutated copy of `base` (mostly), or random bytes.
fn input_from(base: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => vec(mutation(), 1..5).prop_map(move |ms| apply(&base, &ms)),
        1 => vec(any::<u8>(), 0..600),
    ]
}

/// The property every entry point keeps on a case: in time, and `Ok` or a bounded one-line
/// bad-input message that names a file under `scope`.
fn judge<T>(scope: &str, started: Instant, r: vip::Result<T>) -> Result<(), TestCaseError> {
    let took = started.elapsed();
    prop_assert!(took < MAX_CASE, "{took:?}");
    if let Err(e) = r {
        let msg = e.to_string();
        let shown: String = msg.chars().take(300).collect();
        prop_assert!(matches!(e, VipError::BadInput { .. }), "{shown}");
        judge_message(scope, &msg)?;
    }
    Ok(())
}

fn judge_message(scope: &str, msg: &str) -> Result<(), TestCaseError> {
    let shown: String = msg.chars().take(300).collect();
    prop_assert!(
        msg.starts_with(scope),
        "does not name a file of the case: {shown}"
    );
    prop_assert!(msg.len() < MAX_MESSAGE, "{} bytes: {shown}", msg.len());
    prop_assert!(!msg.contains('\n'), "more than one line: {shown}");
    Ok(())
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn example_names() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(examples())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn read(p: impl AsRef<Path>) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

proptest! {
    #![proptest_config(config(1024))]
    #[test]
    fn ee_headers((name, bytes) in select(example_names())
        .prop_flat_map(|n| { let b = read(examples().join(&n)); (Just(n), input_from(b)) }))
    {
        let dir = tempfile::tempdir().unwrap();
        let scope = dir.path().display().to_string();
        let p = write(dir.path(), &name, &bytes);
        let t = Instant::now();
        judge(&scope, t, EeDoc::read(&p))?;
        let t = Instant::now();
        judge(&scope, t, vip::ee::gipp::read_header(&p))?;
        let t = Instant::now();
        if let Err(e) = schema::validate(&p) {
            prop_assert!(t.elapsed() < MAX_CASE);
            prop_assert!(e.starts_with(&scope) && e.len() < MAX_MESSAGE && !e.contains('\n'), "{e}");
        }
    }
}

/// The GIPP readers and the example each is fuzzed from.
type Reader = fn(&Path) -> vip::Result<()>;

fn reader_table() -> Vec<(&'static str, Reader)> {
    vec![
        (
            "VE_TEST_GIP_DARKCU_L_ALLSITES_00001_20170801_99991231_B01_111101.EEF",
            |p| gipps::read_darkcu(p).map(drop),
        ),
        (
            "VE_TEST_GIP_PHGAIN_L_ALLSITES_00001_20170801_99991231.EEF",
            |p| gipps::read_phgain(p).map(drop),
        ),
        (
            "VE_TEST_GIP_STRLGT_L_ALLSITES_00001_20170801_99991231_B05.HDR",
            |p| vip::ee::strlgt::read_strlgt(p).map(drop),
        ),
        (
            "VE_TEST_GIP_L2TOCR_L_CONTINEN_00001_00000000_99999999.HDR",
            |p| vip::ee::lut::read_lut_header(p, LutKind::Tocr).map(drop),
        ),
        (
            "VE_TEST_GIP_L2COMM_L_ALLSITES_00001_20170801_99991231.EEF",
            |p| {
                let doc = vip::ee::gipp::read_gipp(p, "GIP_L2COMM")?;
                let data = doc
                    .data_block
                    .as_ref()
                    .ok_or_else(|| VipError::bad_input(p, "no Data_Block"))?;
                let mut params = vip::level2::Params::default();
                vip::level2::l2comm::apply(data, p, &mut params).map(drop)
            },
        ),
    ]
}

proptest! {
    #![proptest_config(config(1024))]
    #[test]
    fn gipp_readers((k, bytes) in (0..reader_table().len())
        .prop_flat_map(|k| (Just(k), input_from(read(examples().join(reader_table()[k].0))))))
    {
        let (name, reader) = reader_table()[k];
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), name, &bytes);
        let t = Instant::now();
        judge(&dir.path().display().to_string(), t, reader(&p))?;
    }
}

/// Every file of the LUT set, relative to its folder.
fn lut_files() -> Vec<String> {
    let mut out = vec![];
    for e in std::fs::read_dir(luts()).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.is_dir() {
            for f in std::fs::read_dir(&p).unwrap() {
                out.push(format!(
                    "{name}/{}",
                    f.unwrap().file_name().to_string_lossy()
                ));
            }
        } else {
            out.push(name);
        }
    }
    out.sort();
    out
}

/// A copy of the LUT set (links to the committed files and folders) with `rel` replaced by
/// `bytes`.
fn lut_set_with(dir: &Path, rel: &str, bytes: &[u8]) {
    let (folder, _) = rel.split_once('/').unwrap_or(("", rel));
    for f in lut_files() {
        let (top, _) = f.split_once('/').unwrap_or(("", &f));
        let link = if top.is_empty() || top == folder {
            f.as_str()
        } else {
            top
        };
        let to = dir.join(link);
        if to.exists() {
            continue;
        }
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        if f == rel {
            std::fs::write(&to, bytes).unwrap();
        } else {
            std::os::unix::fs::symlink(luts().join(link), &to).unwrap();
        }
    }
}

proptest! {
    #![proptest_config(config(256))]
    #[test]
    fn lut_sets((rel, bytes) in select(lut_files())
        .prop_flat_map(|f| { let b = read(luts().join(&f)); (Just(f), input_from(b)) }))
    {
        let dir = tempfile::tempdir().unwrap();
        lut_set_with(dir.path(), &rel, &bytes);
        let t = Instant::now();
        judge(&dir.path().display().to_string(), t, LutSet::read(dir.path(), "CONTINEN"))?;
    }
}

const MTD: &str = "VENUS-XS_20180102-105148-000_L2A_CAMARGUE_C_V1-0_MTD_ALL.xml";

proptest! {
    #![proptest_config(config(512))]
    #[test]
    fn muscate_metadata(bytes in input_from(read(examples().join(MTD)))) {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), MTD, &bytes);
        let t = Instant::now();
        judge(&dir.path().display().to_string(), t, vip::ee::muscate::MtdAll::read(&p))?;
    }
}

/// A small package folder written by the library: three files and their manifest.
fn package(dir: &Path) -> PathBuf {
    let root = dir.join("PKG");
    std::fs::create_dir_all(root.join("MASKS")).unwrap();
    std::fs::write(root.join("PKG_MTD_ALL.xml"), read(examples().join(MTD))).unwrap();
    std::fs::write(root.join("MASKS/PKG_CLM.tif"), [7u8; 300]).unwrap();
    std::fs::write(root.join("PKG_QKL.jpg"), b"not really a jpeg").unwrap();
    let hashes = vip::pack::manifest::hash_files(&root).unwrap();
    vip::pack::manifest::write_entries(&root, &hashes).unwrap();
    root
}

fn valid_manifest() -> &'static [u8] {
    static M: OnceLock<Vec<u8>> = OnceLock::new();
    M.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        read(package(dir.path()).join(vip::pack::MANIFEST))
    })
}

fn valid_zip() -> &'static [u8] {
    static Z: OnceLock<Vec<u8>> = OnceLock::new();
    Z.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let zip = dir.path().join("PKG.zip");
        vip::pack::archive::write_zip(&package(dir.path()), "PKG", &zip).unwrap();
        read(zip)
    })
}

/// A package check: done (`Ok`), a negative verdict (its files differ from the manifest, one
/// bounded line too) or bad input.
fn judge_verify(scope: &str, t: Instant, r: vip::Result<PathBuf>) -> Result<(), TestCaseError> {
    match r {
        Err(VipError::Verdict(m)) => {
            prop_assert!(t.elapsed() < MAX_CASE);
            judge_message(scope, &m)
        }
        r => judge(scope, t, r),
    }
}

proptest! {
    #![proptest_config(config(1024))]
    #[test]
    fn manifests(bytes in input_from(valid_manifest().to_vec())) {
        let dir = tempfile::tempdir().unwrap();
        let scope = dir.path().display().to_string();
        let root = package(dir.path());
        let m = write(&root, vip::pack::MANIFEST, &bytes);
        let t = Instant::now();
        let text = String::from_utf8_lossy(&bytes);
        judge(&scope, t, vip::pack::manifest::parse(&text, &m))?;
        let t = Instant::now();
        judge_verify(&scope, t, vip::pack::manifest::verify(&root))?;
    }
}

proptest! {
    #![proptest_config(config(1024))]
    #[test]
    fn zips(bytes in input_from(valid_zip().to_vec())) {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "PKG.zip", &bytes);
        let t = Instant::now();
        judge_verify(&dir.path().display().to_string(), t, vip::pack::manifest::verify(&p))?;
    }
}

fn lut_set() -> &'static LutSet {
    static L: OnceLock<LutSet> = OnceLock::new();
    L.get_or_init(|| LutSet::read(&luts(), "CONTINEN").unwrap())
}

const CASES: &str = "band sza vza raa aot wv alt_km rho\n\
# a comment\n\
B04 40 10 60 0.2 2.0 0.3 0.25\n\
3 0 0 180 0 0 0 0\n\
B12 89.9 29.5 -720 1.5 5 4 1\n";

proptest! {
    #![proptest_config(config(2048))]
    #[test]
    fn lut_stdin(bytes in input_from(CASES.as_bytes().to_vec()), toa in any::<bool>()) {
        let luts = lut_set();
        let t = Instant::now();
        let r = vip::atmosphere::probe::probe(luts, Cursor::new(bytes), toa, "stdin");
        judge("stdin: ", t, r)?;
    }
}

proptest! {
    #![proptest_config(config(2048))]
    #[test]
    fn rules_files(bytes in input_from(vip::qc::check::DEFAULT_RULES.as_bytes().to_vec())) {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "rules.json", &bytes);
        let t = Instant::now();
        judge(&dir.path().display().to_string(), t, vip::qc::check::Rules::read(&p))?;
    }
}

/// XML-like text: tags, attributes, entities, declarations and text in random order.
fn xml_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("<a>".to_string()),
        Just("</a>".to_string()),
        Just("<b x=\"1\" y='2'/>".to_string()),
        Just("<p:c xmlns:p=\"u\">".to_string()),
        Just("</p:c>".to_string()),
        Just("<!DOCTYPE a [<!ENTITY e \"&e;&e;\">]>".to_string()),
        Just("&e;".to_string()),
        Just("&amp;&#x41;&#9999999999;".to_string()),
        Just("<![CDATA[ x ]]>".to_string()),
        Just("<?xml version=\"1.0\"?>".to_string()),
        Just("<!-- c -->".to_string()),
        Just("<a a=\"1\" a=\"2\">".to_string()),
        "[ -~]{0,8}",
        any::<String>(),
    ];
    vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(config(4096))]
    #[test]
    fn xml_text(text in xml_like()) {
        let t = Instant::now();
        judge("mem.HDR: ", t, Node::parse(&text, Path::new("mem.HDR")))?;
    }
}

// Hand-built adversarial inputs, each named after what it once did.

const DARKCU: &str = "VE_TEST_GIP_DARKCU_L_ALLSITES_00001_20170801_99991231_B01_111101.EEF";

/// The bad-input message of `r`, checked as the fuzz checks it.
fn refused<T>(scope: &Path, started: Instant, r: vip::Result<T>) -> String {
    let Err(e) = r else { panic!("accepted") };
    let msg = e.to_string();
    judge(&scope.display().to_string(), started, Err::<(), _>(e)).unwrap_or_else(|e| panic!("{e}"));
    msg
}

/// An example header with `extra` inserted right after the root's start tag.
fn header_with(extra: &str) -> String {
    let text = String::from_utf8(read(examples().join(DARKCU))).unwrap();
    let at = text.find("<Earth_Explorer_File").unwrap();
    let at = at + text[at..].find('>').unwrap() + 1;
    format!("{}{extra}{}", &text[..at], &text[at..])
}

#[test]
fn billion_laughs_is_refused_quickly() {
    let mut dtd = String::from("<!DOCTYPE Earth_Explorer_File [\n<!ENTITY lol0 \"lol\">\n");
    for i in 1..10 {
        let prev = format!("&lol{};", i - 1);
        dtd.push_str(&format!("<!ENTITY lol{i} \"{}\">\n", prev.repeat(10)));
    }
    dtd.push_str("]>\n");
    let text = header_with("<Notes>&lol9;</Notes>").replacen("\n", &format!("\n{dtd}"), 1);
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), DARKCU, text.as_bytes());
    let msg = refused(dir.path(), Instant::now(), gipps::read_darkcu(&p));
    assert!(msg.contains("lol9"), "{msg}");
    let t = Instant::now();
    let e = schema::validate(&p).unwrap_err();
    assert!(t.elapsed() < MAX_CASE && e.len() < MAX_MESSAGE, "{e}");
}

#[test]
fn a_1_gib_text_node_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(DARKCU);
    let text = header_with("<Notes>");
    std::fs::write(&p, text.as_bytes()).unwrap();
    // sparse: the file says 1 GiB, the disk holds a few kB
    std::fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let msg = refused(dir.path(), Instant::now(), EeDoc::read(&p));
    assert!(msg.contains("1073741824 bytes"), "{msg}");
    refused(
        dir.path(),
        Instant::now(),
        vip::ee::muscate::MtdAll::read(&p),
    );
    let e = schema::validate(&p).unwrap_err();
    assert!(e.contains("1073741824 bytes"), "{e}");
}

#[test]
fn a_50_mb_text_node_is_not_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let text = String::from_utf8(read(examples().join(DARKCU))).unwrap();
    let huge = "X".repeat(50 << 20);
    let text = text.replacen("GIP_DARKCU</File_Type>", &format!("{huge}</File_Type>"), 1);
    let p = write(dir.path(), DARKCU, text.as_bytes());
    let msg = refused(dir.path(), Instant::now(), gipps::read_darkcu(&p));
    assert!(msg.contains("XXXX"), "{msg}");
}

#[test]
fn deep_nesting_is_refused_without_a_stack_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let depth = 100_000;
    let text = header_with(&format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth)));
    let p = write(dir.path(), DARKCU, text.as_bytes());
    let msg = refused(dir.path(), Instant::now(), EeDoc::read(&p));
    assert!(msg.contains("nested deeper than"), "{msg}");
    // as deep as allowed is read, and dropped, fine
    let depth = vip::ee::xml::MAX_DEPTH - 1;
    let text = header_with(&format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth)));
    Node::parse(&text, &p).unwrap();
}

#[test]
fn many_attributes_are_refused_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let attrs: String = (0..200_000).map(|i| format!(" a{i}=\"{i}\"")).collect();
    let text = header_with(&format!("<Notes{attrs}/>"));
    let p = write(dir.path(), DARKCU, text.as_bytes());
    let msg = refused(dir.path(), Instant::now(), EeDoc::read(&p));
    assert!(msg.contains("more than 64 attributes"), "{msg}");
}

#[test]
fn many_elements_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = header_with(&"<a/>".repeat(vip::ee::xml::MAX_ELEMENTS + 1));
    let p = write(dir.path(), DARKCU, text.as_bytes());
    let msg = refused(dir.path(), Instant::now(), EeDoc::read(&p));
    assert!(msg.contains("more than 1048576 elements"), "{msg}");
}

#[test]
fn a_header_failing_several_schemas_gives_a_bounded_message() {
    // found by ee_headers: an annex header whose type four schemas define listed five
    // messages from each (over 3 kB)
    let name = "VE_TEST_VSC_PDTANX_L1VALD_CAMARGUE_20180101_SOL.HDR";
    let text = String::from_utf8(read(examples().join(name))).unwrap();
    let text = text.replace("UTC=2018-01-01T10:51:44", "UTC=NaNT10:51:44");
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), name, text.as_bytes());
    let e = schema::validate(&p).unwrap_err();
    assert!(e.contains("VE_VSC_PDTANX_AnnexProduct.xsd"), "{e}");
    assert!(e.len() < MAX_MESSAGE, "{} bytes: {e}", e.len());
}

#[test]
fn an_endless_stdin_line_is_refused() {
    let endless = std::io::BufReader::new(std::io::repeat(b'7'));
    let t = Instant::now();
    let r = vip::atmosphere::probe::probe(lut_set(), endless, false, "stdin");
    let msg = refused(Path::new("stdin"), t, r);
    assert!(msg.contains("line 1: longer than 4096 bytes"), "{msg}");
}

#[test]
fn a_lut_table_too_big_to_count_is_refused() {
    // once a multiplication overflow (a panic) on the node count
    let dir = tempfile::tempdir().unwrap();
    let axes: Vec<_> = (0..4)
        .map(|k| {
            vip::atmosphere::table::Axis::new(&format!("a{k}"), (0..65536).map(f64::from).collect())
        })
        .collect();
    let p = write(
        dir.path(),
        "t.mha",
        b"NDims = 4\nDimSize = 65536 65536 65536 65536\nElementType = MET_FLOAT\nElementDataFile = LOCAL\n",
    );
    let r = vip::atmosphere::table::Table::read_mha(&p, axes);
    let msg = refused(dir.path(), Instant::now(), r);
    assert!(msg.contains("is too big"), "{msg}");
}

#[test]
fn a_1_gib_manifest_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let root = package(dir.path());
    let m = root.join(vip::pack::MANIFEST);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&m)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let t = Instant::now();
    let msg = refused(dir.path(), t, vip::pack::manifest::verify(&root));
    assert!(msg.contains("1073741824 bytes or more"), "{msg}");
}

#[test]
fn a_zipped_manifest_is_read_only_up_to_its_limit() {
    // a manifest entry that inflates past the limit (a small zip can inflate a thousandfold)
    let dir = tempfile::tempdir().unwrap();
    let root = package(dir.path());
    let limit = vip::pack::manifest::MAX_MANIFEST_BYTES as usize;
    std::fs::write(root.join(vip::pack::MANIFEST), "0".repeat(limit + 1)).unwrap();
    let zip = dir.path().join("PKG.zip");
    vip::pack::archive::write_zip(&root, "PKG", &zip).unwrap();
    assert!(std::fs::metadata(&zip).unwrap().len() < 100_000);
    let msg = refused(
        dir.path(),
        Instant::now(),
        vip::pack::manifest::verify(&zip),
    );
    assert!(
        msg.contains("holds more than the 16777216 bytes a manifest may"),
        "{msg}"
    );
}

#[test]
fn a_file_path_read_from_a_header_is_shown_on_one_line() {
    // found by gipp_readers: a packaged file path holding a line break made a two-line message
    let name = "VE_TEST_GIP_STRLGT_L_ALLSITES_00001_20170801_99991231_B05.HDR";
    let text = String::from_utf8(read(examples().join(name))).unwrap();
    let at = text.find("<Relative_File_Path>").unwrap() + "<Relative_File_Path>".len() + 5;
    let text = format!("{}\n{}{}", &text[..at], "y".repeat(5000), &text[at..]);
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), name, text.as_bytes());
    refused(dir.path(), Instant::now(), vip::ee::strlgt::read_strlgt(&p));
}

#[test]
fn a_1_gib_rules_file_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "rules.json",
        b"{\"reflectance_max\": 1.5, \"x\": \"",
    );
    std::fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let msg = refused(dir.path(), Instant::now(), vip::qc::check::Rules::read(&p));
    assert!(msg.contains("1073741824 bytes or more"), "{msg}");
}

/// Found by the `manifests` target: a manifest listing many files the package lacks gave a
/// verdict of every problem in full (over 1000 bytes); the list is now cut to a bounded line.
#[test]
fn a_verdict_on_many_missing_files_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let root = package(dir.path());
    let lines: String = (0..40)
        .map(|i| format!("{}  MASKS/P{i:0>60}\n", "d6".repeat(32)))
        .collect();
    write(&root, vip::pack::MANIFEST, lines.as_bytes());
    match vip::pack::manifest::verify(&root) {
        Err(VipError::Verdict(m)) => {
            let scope = dir.path().display().to_string();
            judge_message(&scope, &m).unwrap();
            assert!(m.contains("problem(s)"), "{m}");
        }
        other => panic!("{other:?}"),
    }
}
