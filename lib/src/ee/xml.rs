//! A small XML element tree over quick-xml: enough to build Earth Explorer files in schema order
//! and to read back the values we need from files written elsewhere.
//!
//! Reading is bounded: a file over [`MAX_XML_BYTES`] is refused before it is read, and a
//! document deeper than [`MAX_DEPTH`], with more than [`MAX_ELEMENTS`] elements or an element
//! with more than [`MAX_ATTRIBUTES`] attributes is refused as it is parsed. Entities other than
//! the five predefined ones and character references are not expanded (a DTD is skipped).

use std::path::Path;

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use crate::error::{bounded, Result, VipError};

pub use super::schema::MAX_XML_BYTES;

/// Deepest element nesting read (VENµS headers and MUSCATE metadata nest about ten deep).
pub const MAX_DEPTH: usize = 100;

/// Most elements read from one document (the biggest GIPP holds a few ten thousand).
pub const MAX_ELEMENTS: usize = 1 << 20;

/// Most attributes of one element.
pub const MAX_ATTRIBUTES: usize = 64;

/// One XML element: name (as written, prefixes kept), attributes, text and children.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Node {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    /// An empty element.
    pub fn new(name: impl Into<String>) -> Self {
        Node {
            name: name.into(),
            ..Default::default()
        }
    }

    /// An element holding `text`.
    pub fn text(name: impl Into<String>, text: impl std::fmt::Display) -> Self {
        Node {
            name: name.into(),
            text: text.to_string(),
            ..Default::default()
        }
    }

    /// Adds an attribute (builder style).
    pub fn attr(mut self, key: impl Into<String>, value: impl std::fmt::Display) -> Self {
        self.attrs.push((key.into(), value.to_string()));
        self
    }

    /// Adds a child (builder style).
    pub fn child(mut self, c: Node) -> Self {
        self.children.push(c);
        self
    }

    /// Adds children (builder style).
    pub fn children(mut self, cs: impl IntoIterator<Item = Node>) -> Self {
        self.children.extend(cs);
        self
    }

    /// A `List_of_X count="n"` element around `items`, keeping `count` true.
    pub fn list(name: impl Into<String>, items: Vec<Node>) -> Self {
        let n = items.len();
        Node::new(name).attr("count", n).children(items)
    }

    /// The value of attribute `key`.
    pub fn get_attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key || local(k) == key)
            .map(|(_, v)| v.as_str())
    }

    /// First child whose local name is `name`.
    pub fn get(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| local(&c.name) == name)
    }

    /// All children whose local name is `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| local(&c.name) == name)
    }

    /// Descends a `/`-separated path of local names, e.g. `Fixed_Header/File_Type`.
    pub fn find(&self, path: &str) -> Option<&Node> {
        path.split('/')
            .filter(|s| !s.is_empty())
            .try_fold(self, |n, part| n.get(part))
    }

    /// Text at `path` (trimmed), if the element exists.
    pub fn find_text(&self, path: &str) -> Option<&str> {
        self.find(path).map(|n| n.text.trim())
    }

    /// Serialises the tree as an XML document with a declaration, indented by two spaces.
    pub fn to_xml(&self) -> String {
        let mut w = quick_xml::Writer::new_with_indent(Vec::new(), b' ', 2);
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
            .expect("writing to memory");
        self.write(&mut w);
        let mut s = String::from_utf8(w.into_inner()).expect("tree holds UTF-8");
        s.push('\n');
        s
    }

    fn write(&self, w: &mut quick_xml::Writer<Vec<u8>>) {
        let mut start = BytesStart::new(self.name.as_str());
        for (k, v) in &self.attrs {
            start.push_attribute((k.as_str(), v.as_str()));
        }
        const MEM: &str = "writing XML to memory cannot fail";
        if self.children.is_empty() && self.text.is_empty() {
            w.write_event(Event::Empty(start)).expect(MEM);
            return;
        }
        w.write_event(Event::Start(start)).expect(MEM);
        if !self.text.is_empty() {
            w.write_event(Event::Text(BytesText::new(&self.text)))
                .expect(MEM);
        }
        for c in &self.children {
            c.write(w);
        }
        w.write_event(Event::End(BytesEnd::new(self.name.as_str())))
            .expect(MEM);
    }

    /// Parses an XML document; `origin` names the source in error messages.
    pub fn parse(xml: &str, origin: &Path) -> Result<Node> {
        Node::parse_until(xml, origin, None)
    }

    /// Parses an XML document, stopping before the first child of the root whose local name
    /// is `stop` (when given): reading a header without its bulky data block.
    pub fn parse_until(xml: &str, origin: &Path, stop: Option<&str>) -> Result<Node> {
        let bad = |msg: String| VipError::bad_input(origin, format!("not well-formed XML: {msg}"));
        let mut r = quick_xml::Reader::from_str(xml);
        let mut stack: Vec<Node> = Vec::new();
        let mut root: Option<Node> = None;
        let mut elements = 0usize;
        let mut count = |n: &Node, depth: usize| {
            elements += 1;
            if depth > MAX_DEPTH {
                Err(format!(
                    "<{}> is nested deeper than {MAX_DEPTH} elements",
                    bounded(&n.name)
                ))
            } else if elements > MAX_ELEMENTS {
                Err(format!("more than {MAX_ELEMENTS} elements"))
            } else {
                Ok(())
            }
        };
        loop {
            let ev = r
                .read_event()
                .map_err(|e| bad(format!("{e} at byte {}", r.buffer_position())))?;
            match ev {
                Event::Start(s) => {
                    let n = start_node(&s).map_err(&bad)?;
                    count(&n, stack.len() + 1).map_err(&bad)?;
                    if stack.len() == 1 && stop.is_some_and(|name| local(&n.name) == name) {
                        // Only the root is open: it holds everything before `stop`.
                        return Ok(stack.pop().expect("the root is open"));
                    }
                    stack.push(n);
                }
                Event::Empty(s) => {
                    let n = start_node(&s).map_err(&bad)?;
                    count(&n, stack.len() + 1).map_err(&bad)?;
                    attach(&mut stack, &mut root, n).map_err(&bad)?;
                }
                Event::End(_) => {
                    let n = stack
                        .pop()
                        .ok_or_else(|| bad("unbalanced end tag".into()))?;
                    attach(&mut stack, &mut root, n).map_err(&bad)?;
                }
                Event::Text(t) => {
                    if let Some(top) = stack.last_mut() {
                        let t = t.unescape().map_err(|e| bad(e.to_string()))?;
                        top.text.push_str(&t);
                    }
                }
                Event::CData(t) => {
                    if let Some(top) = stack.last_mut() {
                        top.text.push_str(&String::from_utf8_lossy(&t));
                    }
                }
                Event::Eof => break,
                _ => {}
            }
        }
        if !stack.is_empty() {
            return Err(bad(format!(
                "element <{}> is not closed",
                bounded(&stack[0].name)
            )));
        }
        root.ok_or_else(|| bad("no root element".into()))
    }

    /// Reads and parses an XML file.
    pub fn read(path: &Path) -> Result<Node> {
        Node::read_until(path, None)
    }

    /// Reads an XML file, stopping as [`Node::parse_until`] does; a file over
    /// [`MAX_XML_BYTES`] is refused unread.
    pub fn read_until(path: &Path, stop: Option<&str>) -> Result<Node> {
        let text = crate::input::read_text(path, MAX_XML_BYTES, "an XML header")?;
        Node::parse_until(&text, path, stop)
    }
}

fn start_node(s: &BytesStart) -> std::result::Result<Node, String> {
    let mut n = Node::new(String::from_utf8_lossy(s.name().as_ref()).into_owned());
    for (i, a) in s.attributes().enumerate() {
        if i == MAX_ATTRIBUTES {
            // before the duplicate check of quick-xml, quadratic in the count, gets slow
            return Err(format!(
                "<{}> has more than {MAX_ATTRIBUTES} attributes",
                bounded(&n.name)
            ));
        }
        let a = a.map_err(|e| e.to_string())?;
        let v = a.unescape_value().map_err(|e| e.to_string())?;
        n.attrs.push((
            String::from_utf8_lossy(a.key.as_ref()).into_owned(),
            v.into_owned(),
        ));
    }
    Ok(n)
}

fn attach(stack: &mut [Node], root: &mut Option<Node>, n: Node) -> std::result::Result<(), String> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(n),
        None if root.is_none() => *root = Some(n),
        None => return Err("more than one root element".into()),
    }
    Ok(())
}

/// Shortest decimal text that reads back as the same `f64` (Rust's `Display` never uses
/// exponent notation, so it suits `xs:decimal` and `xs:float`); `0` for ±0, `NaN` for NaN.
pub fn num(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else {
        format!("{v}")
    }
}

/// Decimal text with at most `digits` fraction digits, trailing zeros dropped, never in
/// exponent notation: for elements with a `fractionDigits` facet.
pub fn dec(v: f64, digits: usize) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    let s = format!("{v:.digits$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

/// The local part of a possibly prefixed name.
pub fn local(name: &str) -> &str {
    name.rsplit_once(':').map_or(name, |(_, l)| l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_structure_and_escapes() {
        let n = Node::new("ee:Root")
            .attr("xmlns:ee", "http://eop-cfi.esa.int/CFI")
            .child(Node::text("A", "x < y & z"))
            .child(Node::list(
                "List_of_B",
                vec![Node::text("B", 1), Node::text("B", 2)],
            ));
        let xml = n.to_xml();
        let back = Node::parse(&xml, Path::new("mem")).unwrap();
        assert_eq!(back.find_text("A"), Some("x < y & z"));
        assert_eq!(back.find("List_of_B").unwrap().get_attr("count"), Some("2"));
        assert_eq!(back.find("List_of_B").unwrap().all("B").count(), 2);
    }

    #[test]
    fn parse_until_stops_before_the_data_block() {
        let xml = "<R><H><A>1</A></H><Data_Block><V>2</V><unclosed></Data_Block></R>";
        let n = Node::parse_until(xml, Path::new("g.EEF"), Some("Data_Block")).unwrap();
        assert_eq!(n.find_text("H/A"), Some("1"));
        assert!(n.get("Data_Block").is_none());
        assert!(Node::parse(xml, Path::new("g.EEF")).is_err());
    }

    #[test]
    fn broken_xml_names_the_file() {
        let e = Node::parse("<a><b></a>", Path::new("bad.HDR")).unwrap_err();
        assert!(
            e.to_string().starts_with("bad.HDR: not well-formed XML"),
            "{e}"
        );
        assert_eq!(e.exit_code(), 3);
        let e = Node::parse("<a>", Path::new("cut.HDR")).unwrap_err();
        assert!(e.to_string().contains("not closed"), "{e}");
    }
}
