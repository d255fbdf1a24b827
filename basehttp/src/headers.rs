//! The request's header section: `HTTPMessage` (Python's
//! `http.client.HTTPMessage`, the default `MessageClass`) and the parsing of
//! header lines (B31, B36, B37) with the DEV-3 validation.

use std::fmt;

/// The parsed header fields of a request: an ordered, case-insensitive
/// multimap, like Python's `http.client.HTTPMessage`.
///
/// Names and values are the request bytes decoded as ISO-8859-1 (one char
/// per byte), values with leading SP/HT removed and trailing whitespace kept
/// (B31, B37). Duplicates are kept in arrival order (B36).
///
/// ```
/// let mut h = basehttp::HTTPMessage::new();
/// h.push("Accept", "text/html");
/// h.push("accept", "text/plain");
/// assert_eq!(h.get("ACCEPT"), Some("text/html"));
/// assert_eq!(h.get_all("Accept").collect::<Vec<_>>(), ["text/html", "text/plain"]);
/// assert!(h.contains("accept") && !h.contains("Host"));
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct HTTPMessage {
    /// Every name and value, back to back: one allocation for the whole
    /// section, reused from request to request on a connection.
    text: String,
    fields: Vec<Field>,
}

/// Where a field's name and value are in `text`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Field {
    name: (u32, u32),
    value: (u32, u32),
}

/// Python's `MessageClass` class variable: the type that holds a request's
/// headers. It is fixed to [`HTTPMessage`] in this crate.
pub type MessageClass = HTTPMessage;

impl HTTPMessage {
    /// An empty header section.
    pub fn new() -> Self {
        Self::default()
    }

    fn span(&self, (start, end): (u32, u32)) -> &str {
        &self.text[start as usize..end as usize]
    }

    fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|f| (self.span(f.name), self.span(f.value)))
    }

    /// The first value of the field `name` (ASCII case-insensitive), like
    /// Python's `headers.get(name)`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }

    /// Every value of the field `name`, in order, like `headers.get_all(name)`.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }

    /// Whether a field `name` is present (`name in headers`).
    pub fn contains(&self, name: &str) -> bool {
        self.pairs().any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// Every `(name, value)` pair in arrival order, duplicates included
    /// (`headers.items()`).
    pub fn items(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs()
    }

    /// Every field name in arrival order (`headers.keys()`).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.pairs().map(|(n, _)| n)
    }

    /// The number of fields, duplicates included (`len(headers)`).
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether the request had no header fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Appends a field (used by the parser; handy in tests).
    pub fn push(&mut self, name: impl AsRef<str>, value: impl AsRef<str>) {
        let name_at = self.text.len() as u32;
        self.text.push_str(name.as_ref());
        let value_at = self.text.len() as u32;
        self.text.push_str(value.as_ref());
        self.fields.push(Field { name: (name_at, value_at), value: (value_at, self.text.len() as u32) });
    }

    /// Appends a field from raw bytes, decoded as ISO-8859-1.
    fn push_latin1(&mut self, name: &[u8], value: &[u8]) {
        let name_at = self.text.len() as u32;
        push_latin1(&mut self.text, name);
        let value_at = self.text.len() as u32;
        push_latin1(&mut self.text, value);
        self.fields.push(Field { name: (name_at, value_at), value: (value_at, self.text.len() as u32) });
    }

    pub(crate) fn clear(&mut self) {
        self.text.clear();
        self.fields.clear();
    }
}

impl fmt::Debug for HTTPMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.items()).finish()
    }
}

/// Why a header line was refused (DEV-3).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct InvalidHeaderLine;

/// Validates one header line (its `\r\n` or `\n` already removed) as DEV-3
/// requires and, when valid, appends its field to `headers` as B31 parses it.
///
/// DEV-3: no CR, LF or NUL anywhere; no SP/HT at the start (obs-fold); a `:`
/// at index 1 or later; only 0x21-0x7E before the first `:` (RFC 9112 §5.1
/// forbids whitespace between name and colon).
pub(crate) fn parse_header_line(line: &[u8], headers: &mut HTTPMessage) -> Result<(), InvalidHeaderLine> {
    // One pass over the name: visible ASCII up to the first colon.
    let colon = line.iter().position(|&b| !(0x21..=0x7e).contains(&b) || b == b':').ok_or(InvalidHeaderLine)?;
    if colon == 0 || line[colon] != b':' {
        return Err(InvalidHeaderLine);
    }
    let rest = &line[colon + 1..];
    if rest.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(InvalidHeaderLine);
    }
    let start = rest.iter().position(|&b| b != b' ' && b != b'\t').unwrap_or(rest.len());
    headers.push_latin1(&line[..colon], &rest[start..]);
    Ok(())
}

/// Decodes bytes as ISO-8859-1: each byte becomes the char of the same value.
pub(crate) fn latin1(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    push_latin1(&mut s, bytes);
    s
}

/// Appends bytes decoded as ISO-8859-1 to `out`.
pub(crate) fn push_latin1(out: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(s) if bytes.is_ascii() => out.push_str(s),
        _ => out.extend(bytes.iter().map(|&b| b as char)),
    }
}

/// Appends `text` to `out` encoded as ISO-8859-1, failing (like Python's
/// strict `latin-1` codec) on a char above U+00FF.
pub(crate) fn encode_latin1(text: &str, out: &mut Vec<u8>) -> std::io::Result<()> {
    if text.is_ascii() {
        out.extend_from_slice(text.as_bytes());
        return Ok(());
    }
    for c in text.chars() {
        let u = c as u32;
        if u > 0xff {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("'latin-1' codec can't encode character {c:?} (U+{u:04X})"),
            ));
        }
        out.push(u as u8);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &[u8]) -> Result<(String, String), InvalidHeaderLine> {
        let mut h = HTTPMessage::new();
        parse_header_line(line, &mut h)?;
        let (n, v) = h.items().next().unwrap();
        Ok((n.to_owned(), v.to_owned()))
    }

    #[test]
    fn values_keep_trailing_whitespace_and_lose_leading() {
        assert_eq!(parse(b"X-A: \t v \t").unwrap(), ("X-A".into(), "v \t".into()));
        assert_eq!(parse(b"X-A:").unwrap(), ("X-A".into(), "".into()));
        assert_eq!(parse(b"X-A:b:c").unwrap(), ("X-A".into(), "b:c".into()));
    }

    #[test]
    fn latin1_bytes_become_chars() {
        assert_eq!(parse(b"X-S: \xc4rger").unwrap().1, "Ärger");
        let mut out = Vec::new();
        encode_latin1("Dängerous", &mut out).unwrap();
        assert_eq!(out, b"D\xe4ngerous");
        assert!(encode_latin1("€", &mut out).is_err());
    }

    #[test]
    fn dev3_rejections() {
        for bad in [
            &b" folded"[..],
            b"\tfolded: x",
            b"no colon",
            b": empty name",
            b"Name : x",
            b"Na\x80me: x",
            b"X-A: 1\rX-B: 2",
            b"X-A: a\x00b",
            b"From nobody: x",
        ] {
            assert_eq!(parse(bad), Err(InvalidHeaderLine), "{:?}", String::from_utf8_lossy(bad));
        }
        assert!(parse(b"!#$%&'*+-.^_`|~: x").is_ok());
    }
}
