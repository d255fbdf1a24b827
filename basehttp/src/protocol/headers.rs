//! The request's header section: `HTTPMessage` (Python's
//! `http.client.HTTPMessage`, the default `MessageClass`) and the parsing of
//! header lines (B31, B36, B37) with the DEV-3 validation.

use std::fmt;

use crate::protocol::swar::{any16, at_least_7f, below, word, HI, LO};

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
#[derive(Clone, Default)]
pub struct HTTPMessage {
    /// Every name and value: one allocation for the whole section, reused
    /// from request to request on a connection. Parsed fields may keep the
    /// bytes between them (`: `, line endings); only the spans count.
    text: String,
    fields: Vec<Field>,
    /// Where the fields the runtime's own rules read are.
    index: Index,
}

/// Where a field's name and value are in `text`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Field {
    name: (u32, u32),
    value: (u32, u32),
}

/// The fields the runtime's own rules read: framing (DEV-6), `Connection`,
/// `Expect` and the strict profile's `Host` check. Found while fields are
/// added, so those rules never search the section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Known {
    Host,
    Expect,
    Connection,
    ContentLength,
    TransferEncoding,
}

impl Known {
    /// The lower-case name, the one lookup `classify` does per field.
    const NAMES: [(Known, &'static [u8]); 5] = [
        (Known::Host, b"host"),
        (Known::Expect, b"expect"),
        (Known::Connection, b"connection"),
        (Known::ContentLength, b"content-length"),
        (Known::TransferEncoding, b"transfer-encoding"),
    ];

    /// Which known field `name` is (ASCII case-insensitive), if any. Inline
    /// test of the length and first letter; the comparison is out of line.
    #[inline]
    fn classify(name: &[u8]) -> Option<Known> {
        let slot = match (name.len(), name.first().map(|b| b | 0x20)) {
            (4, Some(b'h')) => 0,
            (6, Some(b'e')) => 1,
            (10, Some(b'c')) => 2,
            (14, Some(b'c')) => 3,
            (17, Some(b't')) => 4,
            _ => return None,
        };
        Self::confirm(name, slot)
    }

    /// The rest of `classify`: the whole name against `NAMES[slot]`.
    fn confirm(name: &[u8], slot: usize) -> Option<Known> {
        let (known, lower) = Self::NAMES[slot];
        name.eq_ignore_ascii_case(lower).then_some(known)
    }
}

/// Per known field: the index of its first occurrence and its count.
#[derive(Clone, Copy, Debug, Default)]
struct Index {
    first: [u32; 5],
    count: [u32; 5],
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
        self.add_field((name_at, value_at), (value_at, self.text.len() as u32), name.as_ref().as_bytes());
    }

    /// Records a field whose text is (or is about to be) at these spans.
    #[inline]
    fn add_field(&mut self, name: (u32, u32), value: (u32, u32), name_bytes: &[u8]) {
        if let Some(known) = Known::classify(name_bytes) {
            let k = known as usize;
            if self.index.count[k] == 0 {
                self.index.first[k] = self.fields.len() as u32;
            }
            self.index.count[k] += 1;
        }
        self.fields.push(Field { name, value });
    }

    /// Adds the field of the line at `at` in `buf`, as [`scan_line`] found
    /// it. An ASCII line is not copied yet: it joins `pending`, the run of
    /// lines that [`flush`](Self::flush) copies in one piece, so `buf` must
    /// not change until then. Any other line is decoded at once.
    #[inline]
    pub(crate) fn add_scanned(&mut self, buf: &[u8], at: usize, field: &ScannedLine, pending: &mut Option<Pending>) {
        let ScannedLine { colon, value: (start, end), ascii, .. } = *field;
        let name = &buf[at..at + colon];
        if !ascii {
            self.flush(buf, pending);
            let name_at = self.text.len() as u32;
            push_latin1(&mut self.text, name);
            let value_at = self.text.len() as u32;
            push_latin1(&mut self.text, &buf[at + start..at + end]);
            self.add_field((name_at, value_at), (value_at, self.text.len() as u32), name);
            return;
        }
        let run = pending.get_or_insert(Pending { start: at, end: at });
        run.end = at + end;
        let base = (self.text.len() + at - run.start) as u32;
        self.add_field((base, base + colon as u32), (base + start as u32, base + end as u32), name);
    }

    /// Copies the pending run of ASCII lines into `text`.
    pub(crate) fn flush(&mut self, buf: &[u8], pending: &mut Option<Pending>) {
        if let Some(run) = pending.take() {
            let ascii = std::str::from_utf8(&buf[run.start..run.end]).expect("a pending run is ASCII");
            self.text.push_str(ascii);
        }
    }

    /// The first value of a known field.
    #[inline]
    pub(crate) fn known(&self, known: Known) -> Option<&str> {
        let k = known as usize;
        (self.index.count[k] > 0).then(|| self.span(self.fields[self.index.first[k] as usize].value))
    }

    /// How many fields `known` has.
    #[inline]
    pub(crate) fn known_count(&self, known: Known) -> usize {
        self.index.count[known as usize] as usize
    }

    /// Every value of a known field, in order.
    pub(crate) fn known_all(&self, known: Known) -> impl Iterator<Item = &str> {
        let k = known as usize;
        let from = if self.index.count[k] > 0 { self.index.first[k] as usize } else { self.fields.len() };
        let lower = Known::NAMES[k].1;
        self.fields[from..]
            .iter()
            .filter(move |f| self.span(f.name).as_bytes().eq_ignore_ascii_case(lower))
            .map(|f| self.span(f.value))
    }

    pub(crate) fn clear(&mut self) {
        self.text.clear();
        self.fields.clear();
        self.index = Index::default();
    }
}

/// Two messages are equal when they hold the same fields in the same order.
impl PartialEq for HTTPMessage {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.pairs().eq(other.pairs())
    }
}

impl Eq for HTTPMessage {}

impl fmt::Debug for HTTPMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.items()).finish()
    }
}

/// Lines of one buffer whose fields are recorded but not yet copied:
/// `buf[start..end]` (see [`HTTPMessage::add_scanned`]).
pub(crate) struct Pending {
    start: usize,
    end: usize,
}

/// What kind of header line [`scan_line`] found (B30, B31, DEV-3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LineKind {
    /// The empty line that ends the section.
    Blank,
    /// A field line that DEV-3 accepts.
    Field,
    /// A line that DEV-3 refuses.
    Invalid,
}

/// A header line as [`scan_line`] found it. Plain fields, so that it
/// travels in registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ScannedLine {
    pub(crate) kind: LineKind,
    /// Whether the line ends with an LF; if not, `len` is all the bytes
    /// scanned and the kind is that of a line cut short by EOF.
    pub(crate) terminated: bool,
    /// Field: no byte of the value is 0x80 or above (the name never has one).
    pub(crate) ascii: bool,
    /// The line's length, LF included.
    pub(crate) len: usize,
    /// Field: the name is `..colon`.
    pub(crate) colon: usize,
    /// Field: the value is `value.0..value.1` (leading SP/HT skipped,
    /// trailing whitespace kept, B37).
    pub(crate) value: (usize, usize),
}

impl ScannedLine {
    fn other(kind: LineKind, bytes: &[u8], len: Option<usize>) -> Self {
        let (terminated, len) = len.map_or((false, bytes.len()), |len| (true, len));
        ScannedLine { kind, terminated, ascii: true, len, colon: 0, value: (0, 0) }
    }
}

/// Classifies the line at the start of `bytes` in one pass and finds its
/// end (see [`ScannedLine`]).
///
/// DEV-3: no CR, LF or NUL in the line (its `\r\n` or `\n` aside); no SP/HT
/// at the start (obs-fold); a `:` at index 1 or later; only 0x21-0x7E before
/// the first `:` (RFC 9112 §5.1 forbids whitespace between name and colon).
#[inline(always)]
pub(crate) fn scan_line(bytes: &[u8]) -> ScannedLine {
    let colon = name_end(bytes);
    match bytes.get(colon) {
        Some(b':') if colon > 0 => scan_value(bytes, colon),
        None if colon == 0 => ScannedLine::other(LineKind::Blank, bytes, None),
        Some(b'\n') if colon == 0 => ScannedLine::other(LineKind::Blank, bytes, Some(1)),
        Some(b'\r') if colon == 0 && bytes.get(1) == Some(&b'\n') => {
            ScannedLine::other(LineKind::Blank, bytes, Some(2))
        }
        _ => ScannedLine::other(LineKind::Invalid, bytes, line_len(bytes, colon)),
    }
}

/// The value after the colon at `colon`, up to the line ending.
#[inline(always)]
fn scan_value(bytes: &[u8], colon: usize) -> ScannedLine {
    let mut start = colon + 1;
    while matches!(bytes.get(start), Some(b' ' | b'\t')) {
        start += 1;
    }
    let mut ascii = true;
    let mut at = start;
    let (end, len) = loop {
        let Some(k) = find_control_or_high(bytes, at) else { break (bytes.len(), None) };
        match bytes[k] {
            b'\n' => break (k, Some(k + 1)),
            b'\r' if bytes.get(k + 1) == Some(&b'\n') => break (k, Some(k + 2)),
            b'\r' | 0 => return ScannedLine::other(LineKind::Invalid, bytes, line_len(bytes, k + 1)),
            b => ascii &= b < 0x80,
        }
        at = k + 1;
    };
    let (terminated, len) = len.map_or((false, bytes.len()), |len| (true, len));
    ScannedLine { kind: LineKind::Field, terminated, ascii, len, colon, value: (start, end) }
}

/// The length of the line that goes on at `from`, LF included.
fn line_len(bytes: &[u8], from: usize) -> Option<usize> {
    crate::protocol::swar::find_byte(&bytes[from..], b'\n').map(|i| from + i + 1)
}

/// The first byte that cannot be in a field name: outside 0x21-0x7E, or `:`.
#[inline]
fn name_end(bytes: &[u8]) -> usize {
    let mut at = 0;
    while any16(bytes, at, |b| (b.wrapping_sub(0x21) >= 0x5e) | (b == b':')) == Some(false) {
        at += 16;
    }
    while let Some(x) = word(bytes, at) {
        let colon = below(x ^ (LO * u64::from(b':')), 1);
        let mask = below(x, 0x21) | at_least_7f(x) | colon;
        if mask != 0 {
            return at + mask.trailing_zeros() as usize / 8;
        }
        at += 8;
    }
    let rest = bytes[at..].iter().position(|&b| !(0x21..=0x7e).contains(&b) || b == b':');
    at + rest.unwrap_or(bytes.len() - at)
}

/// The first byte at or after `at` below 0x20 or above 0x7F.
#[inline]
fn find_control_or_high(bytes: &[u8], mut at: usize) -> Option<usize> {
    while any16(bytes, at, |b| (b as i8) < 0x20) == Some(false) {
        at += 16;
    }
    while let Some(x) = word(bytes, at) {
        let mask = below(x, 0x20) | (x & HI);
        if mask != 0 {
            return Some(at + mask.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    bytes[at..].iter().position(|&b| !(0x20..0x80).contains(&b)).map(|i| at + i)
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

    /// Why a header line was refused (DEV-3).
    #[derive(Debug, PartialEq, Eq)]
    struct InvalidHeaderLine;

    /// One header line without its line ending, as the parser adds it.
    fn parse(line: &[u8]) -> Result<(String, String), InvalidHeaderLine> {
        let field = scan_line(line);
        if field.kind != LineKind::Field || field.terminated {
            return Err(InvalidHeaderLine);
        }
        let mut h = HTTPMessage::new();
        let mut pending = None;
        h.add_scanned(line, 0, &field, &mut pending);
        h.flush(line, &mut pending);
        let (n, v) = h.items().next().unwrap();
        Ok((n.to_owned(), v.to_owned()))
    }

    /// A field's name and value.
    type NameValue<'a> = Option<(&'a [u8], &'a [u8])>;

    /// The rules of `scan_line` one byte at a time: the line is up to the
    /// first LF; blank lines; DEV-3 on the line without its `\r\n`/`\n`.
    fn reference(bytes: &[u8]) -> (LineKind, Option<usize>, NameValue<'_>) {
        let len = bytes.iter().position(|&b| b == b'\n').map(|i| i + 1);
        let line = &bytes[..len.unwrap_or(bytes.len())];
        if matches!(line, b"\r\n" | b"\n" | b"") {
            return (LineKind::Blank, len, None);
        }
        let content = line.strip_suffix(b"\n").map_or(line, |l| l.strip_suffix(b"\r").unwrap_or(l));
        let colon = content.iter().position(|&b| !(0x21..=0x7e).contains(&b) || b == b':');
        let Some(colon) = colon.filter(|&c| c > 0 && content[c] == b':') else {
            return (LineKind::Invalid, len, None);
        };
        let rest = &content[colon + 1..];
        if rest.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0) {
            return (LineKind::Invalid, len, None);
        }
        let start = rest.iter().position(|&b| b != b' ' && b != b'\t').unwrap_or(rest.len());
        (LineKind::Field, len, Some((&content[..colon], &rest[start..])))
    }

    #[test]
    fn scan_line_agrees_with_a_bytewise_reading() {
        let alphabet = b"aZ-:: \t\r\n\x00\x01\x1f\x7f\x80\xe9\xff~!";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 40) as usize;
            let mut r = state;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    r = r.rotate_left(5).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                    if r % 3 == 0 {
                        b'x'
                    } else {
                        alphabet[(r >> 8) as usize % alphabet.len()]
                    }
                })
                .collect();
            let scanned = scan_line(&bytes);
            let (kind, len, field) = reference(&bytes);
            let line = String::from_utf8_lossy(&bytes);
            assert_eq!((scanned.kind, scanned.terminated), (kind, len.is_some()), "{line:?}");
            assert_eq!(scanned.len, len.unwrap_or(bytes.len()), "{line:?}");
            if let Some((name, value)) = field {
                let (start, end) = scanned.value;
                assert_eq!((&bytes[..scanned.colon], &bytes[start..end]), (name, value), "{line:?}");
                assert_eq!(scanned.ascii, value.is_ascii(), "{line:?}");
            }
        }
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
