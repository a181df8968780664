//! JSON: a hand-written scanner over one record's bytes, and JSONPaths.
//!
//! A record (a top-level object or array) is validated once by
//! [`Scanner::value`], which returns spans into the record instead of a
//! value tree; `'auto'` then maps first-level members to columns, and a
//! JSONPath walks the spans. Strings are decoded only when a column needs
//! their SQL text.

use crate::FormatError;
use crate::convert::JsonKind;

/// Deepest nesting accepted; deeper documents are malformed records (this
/// bounds the scanner's recursion).
const MAX_DEPTH: usize = 512;

/// One step of a JSONPath expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonPathStep {
    /// `.name` or `['name']`.
    Key(String),
    /// `[n]`, zero-based.
    Index(usize),
}

/// A parsed JSONPath expression: `$.a.b[0]` or `$['a']['b'][0]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    pub text: String,
    pub steps: Vec<JsonPathStep>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Notation {
    Dot,
    Bracket,
}

impl JsonPath {
    /// Parses one expression.
    pub fn parse(text: &str) -> Result<JsonPath, FormatError> {
        Self::parse_with(text).map(|(p, _)| p)
    }

    fn parse_with(text: &str) -> Result<(JsonPath, Option<Notation>), FormatError> {
        let bad =
            |why: &str| FormatError::JsonPaths(format!("Invalid JSONPath format: {why}: {text}"));
        let b = text.as_bytes();
        if b.first() != Some(&b'$') {
            return Err(bad("Path must start with '$'"));
        }
        let mut steps = Vec::new();
        let mut notation = None;
        let mut i = 1;
        while i < b.len() {
            match b[i] {
                b'.' => {
                    if notation == Some(Notation::Bracket) {
                        return Err(bad("Mixed dot and bracket notation"));
                    }
                    notation = Some(Notation::Dot);
                    let start = i + 1;
                    let mut j = start;
                    while j < b.len() && b[j] != b'.' && b[j] != b'[' {
                        j += 1;
                    }
                    let name = &text[start..j];
                    if name.is_empty() || name == "*" {
                        return Err(bad("Member name expected"));
                    }
                    steps.push(JsonPathStep::Key(name.to_string()));
                    i = j;
                }
                b'[' => {
                    let q = b.get(i + 1).copied();
                    if q == Some(b'\'') || q == Some(b'"') {
                        if notation == Some(Notation::Dot) {
                            return Err(bad("Mixed dot and bracket notation"));
                        }
                        notation = Some(Notation::Bracket);
                        let start = i + 2;
                        let Some(len) =
                            text[start.min(text.len())..].find(q.map_or('\'', char::from))
                        else {
                            return Err(bad("Unterminated member name"));
                        };
                        let name = &text[start..start + len];
                        let close = start + len + 1;
                        if b.get(close) != Some(&b']') || name.is_empty() {
                            return Err(bad("Invalid bracket notation"));
                        }
                        steps.push(JsonPathStep::Key(name.to_string()));
                        i = close + 1;
                    } else {
                        let start = i + 1;
                        let mut j = start;
                        while j < b.len() && b[j].is_ascii_digit() {
                            j += 1;
                        }
                        if j == start || b.get(j) != Some(&b']') {
                            return Err(bad("Array index must be a non-negative integer"));
                        }
                        let n: usize = text[start..j]
                            .parse()
                            .map_err(|_| bad("Array index out of range"))?;
                        steps.push(JsonPathStep::Index(n));
                        i = j + 1;
                    }
                }
                _ => return Err(bad("Unexpected character")),
            }
        }
        Ok((
            JsonPath {
                text: text.to_string(),
                steps,
            },
            notation,
        ))
    }
}

/// Parses a JSONPaths file. `Ok(None)` when its top-level key is not
/// `jsonpaths` (then `'auto'` applies, as in Redshift).
pub fn parse_json_paths(text: &str) -> Result<Option<Vec<JsonPath>>, FormatError> {
    let err = |m: String| FormatError::JsonPaths(m);
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| err(format!("Invalid JSONPaths file: {e}")))?;
    let serde_json::Value::Object(map) = value else {
        return Err(err(
            "Invalid JSONPaths file: the file must hold one JSON object".into(),
        ));
    };
    let Some(paths) = map.get("jsonpaths") else {
        return Ok(None);
    };
    let serde_json::Value::Array(items) = paths else {
        return Err(err(
            "Invalid JSONPaths file: 'jsonpaths' must be an array".into()
        ));
    };
    let mut out = Vec::with_capacity(items.len());
    let mut notation = None;
    for item in items {
        let serde_json::Value::String(s) = item else {
            return Err(err(
                "Invalid JSONPaths file: every jsonpaths element must be a string".into(),
            ));
        };
        if s.is_empty() {
            return Err(err("Invalid JSONPaths file: empty jsonpaths element".into()));
        }
        let (p, n) = JsonPath::parse_with(s)?;
        if let Some(n) = n {
            if notation.is_some_and(|m| m != n) {
                return Err(err(format!(
                    "Invalid JSONPath format: Mixed dot and bracket notation: {s}"
                )));
            }
            notation = Some(n);
        }
        out.push(p);
    }
    Ok(Some(out))
}

/// The kind of a scanned value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Null,
    Bool,
    Number,
    /// A string; `escaped` when it holds backslashes.
    String {
        escaped: bool,
    },
    Object,
    Array,
}

impl Kind {
    pub(crate) fn json_kind(self) -> Option<JsonKind> {
        match self {
            Kind::Null => None,
            Kind::Bool => Some(JsonKind::Bool),
            Kind::Number => Some(JsonKind::Number),
            Kind::String { .. } => Some(JsonKind::String),
            Kind::Object | Kind::Array => Some(JsonKind::Composite),
        }
    }
}

/// A value's span in the record: `start..end` is its JSON text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

/// Why a record is malformed, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonErr {
    pub at: usize,
    pub what: &'static str,
}

/// A validating scanner over one record.
pub(crate) struct Scanner<'a> {
    pub s: &'a [u8],
    pub i: usize,
}

fn err<T>(at: usize, what: &'static str) -> Result<T, JsonErr> {
    Err(JsonErr { at, what })
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(s: &'a [u8]) -> Self {
        Scanner { s, i: 0 }
    }

    pub(crate) fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    /// Scans (and validates) the value at the cursor.
    pub(crate) fn value(&mut self, depth: usize) -> Result<Span, JsonErr> {
        self.ws();
        let start = self.i;
        let Some(&c) = self.s.get(self.i) else {
            return err(self.i, "Unexpected end of input");
        };
        let kind = match c {
            b'{' => {
                if depth >= MAX_DEPTH {
                    return err(self.i, "Nesting too deep");
                }
                self.i += 1;
                self.ws();
                if self.s.get(self.i) == Some(&b'}') {
                    self.i += 1;
                } else {
                    loop {
                        self.ws();
                        if self.s.get(self.i) != Some(&b'"') {
                            return err(self.i, "Object member name expected");
                        }
                        self.string()?;
                        self.ws();
                        if self.s.get(self.i) != Some(&b':') {
                            return err(self.i, "':' expected");
                        }
                        self.i += 1;
                        self.value(depth + 1)?;
                        self.ws();
                        match self.s.get(self.i) {
                            Some(b',') => self.i += 1,
                            Some(b'}') => {
                                self.i += 1;
                                break;
                            }
                            _ => return err(self.i, "',' or '}' expected"),
                        }
                    }
                }
                Kind::Object
            }
            b'[' => {
                if depth >= MAX_DEPTH {
                    return err(self.i, "Nesting too deep");
                }
                self.i += 1;
                self.ws();
                if self.s.get(self.i) == Some(&b']') {
                    self.i += 1;
                } else {
                    loop {
                        self.value(depth + 1)?;
                        self.ws();
                        match self.s.get(self.i) {
                            Some(b',') => self.i += 1,
                            Some(b']') => {
                                self.i += 1;
                                break;
                            }
                            _ => return err(self.i, "',' or ']' expected"),
                        }
                    }
                }
                Kind::Array
            }
            b'"' => Kind::String {
                escaped: self.string()?,
            },
            b't' => self.literal(b"true", Kind::Bool)?,
            b'f' => self.literal(b"false", Kind::Bool)?,
            b'n' => self.literal(b"null", Kind::Null)?,
            b'-' | b'0'..=b'9' => {
                self.number()?;
                Kind::Number
            }
            _ => return err(self.i, "Invalid value"),
        };
        Ok(Span {
            kind,
            start,
            end: self.i,
        })
    }

    fn literal(&mut self, word: &[u8], kind: Kind) -> Result<Kind, JsonErr> {
        let rest = &self.s[self.i..];
        if rest.len() < word.len() && word.starts_with(rest) {
            return err(self.s.len(), "Unexpected end of input");
        }
        if rest.starts_with(word) {
            self.i += word.len();
            Ok(kind)
        } else {
            err(self.i, "Invalid literal")
        }
    }

    fn number(&mut self) -> Result<(), JsonErr> {
        let s = self.s;
        let digits = |i: &mut usize| {
            let st = *i;
            while *i < s.len() && s[*i].is_ascii_digit() {
                *i += 1;
            }
            *i > st
        };
        let mut i = self.i;
        if s.get(i) == Some(&b'-') {
            i += 1;
        }
        if s.get(i) == Some(&b'0') {
            i += 1;
        } else if !digits(&mut i) {
            return err(i, "Invalid number");
        }
        if s.get(i) == Some(&b'.') {
            i += 1;
            if !digits(&mut i) {
                return err(i, "Invalid number");
            }
        }
        if matches!(s.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(s.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if !digits(&mut i) {
                return err(i, "Invalid number");
            }
        }
        self.i = i;
        Ok(())
    }

    /// Scans a string at the cursor (on its opening quote); returns whether
    /// it has escapes.
    pub(crate) fn string(&mut self) -> Result<bool, JsonErr> {
        let s = self.s;
        let mut i = self.i + 1;
        let mut escaped = false;
        loop {
            let Some(off) = memchr::memchr2(b'"', b'\\', &s[i.min(s.len())..]) else {
                return err(s.len(), "Unterminated string");
            };
            i += off;
            if s[i] == b'"' {
                self.i = i + 1;
                return Ok(escaped);
            }
            escaped = true;
            match s.get(i + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                Some(b'u') => {
                    if i + 6 > s.len() {
                        return err(s.len(), "Unterminated string");
                    }
                    let hex = s.get(i + 2..i + 6);
                    if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                        return err(i, "Invalid \\u escape");
                    }
                    i += 6;
                }
                None => return err(s.len(), "Unterminated string"),
                _ => return err(i, "Invalid escape"),
            }
        }
    }
}

/// Validates a whole document (SUPER from a text field).
pub(crate) fn validate_document(s: &[u8]) -> Result<(), JsonErr> {
    let mut sc = Scanner::new(s);
    sc.value(0)?;
    sc.ws();
    if sc.i != s.len() {
        return err(sc.i, "Unexpected text after the JSON value");
    }
    Ok(())
}

fn hex4(h: &[u8]) -> u32 {
    h.iter().fold(0, |acc, &c| {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => 0,
        };
        acc * 16 + u32::from(d)
    })
}

/// Decodes the contents of a validated string token (with its quotes) into
/// `out`. Lone surrogates become U+FFFD.
pub(crate) fn decode_string(tok: &[u8], out: &mut Vec<u8>) {
    let body = tok.get(1..tok.len().saturating_sub(1)).unwrap_or(&[]);
    let mut i = 0;
    while i < body.len() {
        let Some(off) = memchr::memchr(b'\\', &body[i..]) else {
            out.extend_from_slice(&body[i..]);
            return;
        };
        out.extend_from_slice(&body[i..i + off]);
        i += off;
        let Some(&e) = body.get(i + 1) else {
            return;
        };
        i += 2;
        let c = match e {
            b'n' => b'\n',
            b't' => b'\t',
            b'r' => b'\r',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'u' => {
                let Some(h) = body.get(i..i + 4) else {
                    return;
                };
                let mut cp = hex4(h);
                i += 4;
                if (0xD800..0xDC00).contains(&cp) {
                    let low = body
                        .get(i..i + 6)
                        .filter(|l| l[0] == b'\\' && l[1] == b'u')
                        .map(|l| hex4(&l[2..]));
                    match low {
                        Some(lo) if (0xDC00..0xE000).contains(&lo) => {
                            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                            i += 6;
                        }
                        _ => cp = 0xFFFD,
                    }
                } else if (0xDC00..0xE000).contains(&cp) {
                    cp = 0xFFFD;
                }
                let ch = char::from_u32(cp).unwrap_or('\u{FFFD}');
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                continue;
            }
            other => other,
        };
        out.push(c);
    }
}

/// Scans (and validates) the object starting at `s[start]` (a `{`), calling
/// `f(key_token, key_escaped, value_span)` for each member; returns the
/// object's end (exclusive). An error at `s.len()` means `s` ended first.
pub(crate) fn members(
    s: &[u8],
    start: usize,
    mut f: impl FnMut(&[u8], bool, Span),
) -> Result<usize, JsonErr> {
    let mut sc = Scanner { s, i: start + 1 };
    sc.ws();
    if sc.s.get(sc.i) == Some(&b'}') {
        return Ok(sc.i + 1);
    }
    loop {
        sc.ws();
        let kstart = sc.i;
        if sc.s.get(sc.i) != Some(&b'"') {
            return err(sc.i, "Object member name expected");
        }
        let escaped = sc.string()?;
        let key = &s[kstart..sc.i];
        sc.ws();
        if sc.s.get(sc.i) != Some(&b':') {
            return err(sc.i, "':' expected");
        }
        sc.i += 1;
        let v = sc.value(1)?;
        f(key, escaped, v);
        sc.ws();
        match sc.s.get(sc.i) {
            Some(b',') => sc.i += 1,
            Some(b'}') => return Ok(sc.i + 1),
            _ => return err(sc.i, "',' or '}' expected"),
        }
    }
}

/// The `n`-th element of the validated array at `span`.
fn element(s: &[u8], span: Span, n: usize) -> Result<Option<Span>, JsonErr> {
    let mut sc = Scanner {
        s: &s[..span.end],
        i: span.start + 1,
    };
    sc.ws();
    if sc.s.get(sc.i) == Some(&b']') {
        return Ok(None);
    }
    let mut k = 0;
    loop {
        let v = sc.value(0)?;
        if k == n {
            return Ok(Some(v));
        }
        k += 1;
        sc.ws();
        match sc.s.get(sc.i) {
            Some(b',') => sc.i += 1,
            _ => return Ok(None),
        }
    }
}

/// Compares a key token (with quotes) to a name.
pub(crate) fn key_matches(
    tok: &[u8],
    escaped: bool,
    name: &str,
    ignore_case: bool,
    buf: &mut Vec<u8>,
) -> bool {
    let key: &[u8] = if escaped {
        buf.clear();
        decode_string(tok, buf);
        buf
    } else {
        &tok[1..tok.len() - 1]
    };
    if ignore_case {
        if key.is_ascii() {
            key.eq_ignore_ascii_case(name.as_bytes())
        } else {
            String::from_utf8_lossy(key).to_lowercase() == name.to_lowercase()
        }
    } else {
        key == name.as_bytes()
    }
}

/// Why a JSONPath could not be followed (a rejected row).
pub(crate) const NOT_AN_ARRAY: &str =
    "Invalid JSONPath format: Not an array or index out of range.";
pub(crate) const NOT_AN_OBJECT: &str = "Invalid JSONPath format: Member is not an object.";

/// Follows `path` from the record's root. `Ok(None)`: a member is missing
/// (NULL).
pub(crate) fn follow(
    s: &[u8],
    root: Span,
    path: &JsonPath,
    buf: &mut Vec<u8>,
) -> Result<Result<Option<Span>, &'static str>, JsonErr> {
    let mut cur = root;
    for step in &path.steps {
        match step {
            JsonPathStep::Key(k) => {
                if cur.kind != Kind::Object {
                    return Ok(Err(NOT_AN_OBJECT));
                }
                let mut found = None;
                members(&s[..cur.end], cur.start, |key, esc, v| {
                    if key_matches(key, esc, k, false, buf) {
                        found = Some(v);
                    }
                })?;
                match found {
                    Some(v) => cur = v,
                    None => return Ok(Ok(None)),
                }
            }
            JsonPathStep::Index(n) => {
                if cur.kind != Kind::Array {
                    return Ok(Err(NOT_AN_ARRAY));
                }
                match element(s, cur, *n)? {
                    Some(v) => cur = v,
                    None => return Ok(Err(NOT_AN_ARRAY)),
                }
            }
        }
    }
    Ok(Ok(Some(cur)))
}

/// Finds the end (exclusive) of the object or array starting at `s[0]`
/// by bracket counting outside strings, without validating; `None` when `s`
/// ends first. Used to resynchronise after a malformed record.
pub(crate) fn record_end(s: &[u8]) -> Option<usize> {
    let mut depth: usize = 0;
    let mut in_str = false;
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if in_str {
            if c == b'\\' {
                i += 2;
                continue;
            }
            if c == b'"' {
                in_str = false;
            }
        } else {
            match c {
                b'"' => in_str = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn jsonpaths_files() {
        let p = parse_json_paths(r#"{"jsonpaths": ["$.a", "$.b.c", "$.d[0]"]}"#)
            .unwrap()
            .unwrap();
        assert_eq!(
            p[1].steps,
            vec![JsonPathStep::Key("b".into()), JsonPathStep::Key("c".into())]
        );
        assert_eq!(
            p[2].steps,
            vec![JsonPathStep::Key("d".into()), JsonPathStep::Index(0)]
        );
        let p = parse_json_paths(r#"{"jsonpaths": ["$['a']", "$['b'][\"c\"]", "$['d'][0]"]}"#)
            .unwrap()
            .unwrap();
        assert_eq!(
            p[1].steps,
            vec![JsonPathStep::Key("b".into()), JsonPathStep::Key("c".into())]
        );
        assert_eq!(parse_json_paths(r#"{"other": ["$.a"]}"#).unwrap(), None);
        assert!(parse_json_paths(r#"{"jsonpaths": ["$.a", "$['b']"]}"#).is_err());
        assert!(parse_json_paths(r#"{"jsonpaths": ["$.a"]} x"#).is_err());
        assert!(parse_json_paths(r#"{"jsonpaths": ["$.a"]} {"jsonpaths": []}"#).is_err());
        assert!(parse_json_paths(r#"{"jsonpaths": [""]}"#).is_err());
        assert!(parse_json_paths(r#"{"jsonpaths": [1]}"#).is_err());
        assert!(parse_json_paths(r#"{"jsonpaths": ["$.a[*]"]}"#).is_err());
        assert!(parse_json_paths(r#"{"jsonpaths": ["a.b"]}"#).is_err());
    }

    #[test]
    fn scanning_and_decoding() {
        let s = br#"{"a": [1, {"b": "x\"y"}], "c": -1.5e3, "d": null}"#;
        assert_eq!(record_end(s), Some(s.len()));
        assert_eq!(record_end(&s[..10]), None);
        let mut sc = Scanner::new(s);
        let v = sc.value(0).unwrap();
        assert_eq!(v.kind, Kind::Object);
        let mut keys = Vec::new();
        members(s, v.start, |k, _, v| {
            keys.push((String::from_utf8_lossy(k).into_owned(), v.kind))
        })
        .unwrap();
        assert_eq!(keys.len(), 3);
        assert_eq!(keys[1], ("\"c\"".into(), Kind::Number));
        let mut out = Vec::new();
        decode_string(br#""a\n\t\\\u00e9\ud83d\ude00""#, &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "a\n\t\\é😀");
        assert!(validate_document(b"{\"a\":tru}").is_err());
        assert!(validate_document(b"[1,2,]").is_err());
        assert!(validate_document(b" {\"a\":[true,false,null]} ").is_ok());
        assert!(validate_document(&[b'['; 2000]).is_err());
    }
}
