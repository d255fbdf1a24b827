//! [`Request`]: the state Python keeps on a `BaseHTTPRequestHandler`
//! instance (what was parsed, the connection's files, the server), and
//! `parse_request` with CPython 3.11's request-line and header rules.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::body::{BodyKind, RFile, WFile};
use crate::framing;
use crate::handler::HandlerClass;
use crate::headers::{latin1, push_latin1, scan_line, HTTPMessage, Known, LineKind, Pending, ScannedLine};
use crate::io::{Io, Line};
use crate::profile::Profile;
use crate::pyrepr::repr;
use crate::server::{ServerInfo, Shared};
use crate::swar;

/// Longest request line or header line, terminator included (B9, B28).
pub const MAX_LINE: usize = 65536;
/// Most lines in a header section, its terminating line included (B29).
pub const MAX_HEADERS: usize = 100;

/// One request on a connection, and the connection itself: what Python's
/// handler instance holds (`command`, `path`, `headers`, `rfile`, `wfile`,
/// …) and the methods it offers (`send_response`, `send_error`, …).
///
/// The runtime makes one per connection and reuses it for every request on
/// that connection. Parsed values are fields; the files and the server are
/// methods ([`rfile`](Self::rfile), [`wfile`](Self::wfile),
/// [`server`](Self::server)) because they borrow the connection.
///
/// Text fields hold the request bytes decoded as ISO-8859-1, one char per
/// byte, exactly as CPython decodes them (B12, B26, B31).
pub struct Request {
    /// `client_address`: the peer's address (Python's `(host, port)`).
    pub client_address: SocketAddr,
    /// `command`: the method, e.g. `GET`: case-sensitive, not validated
    /// (B26). Empty before a request line was parsed.
    pub command: String,
    /// `path`: the request target as sent, leading `//` collapsed to `/`
    /// (B26, B27); no percent-decoding.
    pub path: String,
    /// `request_version`: the version word as sent (`HTTP/1.1`), or
    /// `default_request_version` for an HTTP/0.9 request (B21).
    pub request_version: String,
    /// `requestline`: the request line without its line ending (B12).
    pub requestline: String,
    /// The request-target exactly as sent (before the `//` collapse; in the
    /// strict profile, before an absolute-form target is reduced to its
    /// path). Not in CPython.
    pub target: String,
    /// `raw_requestline`: the request line's bytes as read, line ending included.
    pub raw_requestline: Vec<u8>,
    /// `headers`: the header fields, in order (B31-B37).
    pub headers: HTTPMessage,
    /// `close_connection`: whether the connection closes after this
    /// response (B4, B19, B39-B43). Writable.
    pub close_connection: bool,
    pub(crate) shared: Arc<Shared>,
    pub(crate) io: Io,
    /// Python's `_headers_buffer`: the head being built, sent by `end_headers`.
    pub(crate) head: Vec<u8>,
    /// DEV-4: the request's framing was ambiguous (see `framing`).
    pub(crate) ambiguous_framing: bool,
    /// Whether this response is a `send_error` page (the close then drains
    /// what the client may still be sending).
    pub(crate) errored: bool,
    /// Requests started on this connection.
    pub(crate) requests: u64,
    /// When the first byte of a request head that is still incomplete
    /// arrived (its deadline runs from there).
    pub(crate) head_started: Option<Instant>,
    /// The connection's entry in the server's registry (shutdown).
    pub(crate) slot: crate::shutdown::SlotGuard,
    /// `protocol_version >= "HTTP/1.1"` (the class is fixed per server).
    http11: bool,
}

impl Request {
    pub(crate) fn new(
        io: Io,
        client_address: SocketAddr,
        shared: Arc<Shared>,
        slot: crate::shutdown::SlotGuard,
    ) -> Self {
        let default_version = shared.class.default_request_version.clone();
        let http11 = shared.class.protocol_version.as_str() >= "HTTP/1.1";
        Request {
            client_address,
            command: String::new(),
            path: String::new(),
            target: String::new(),
            request_version: default_version,
            requestline: String::new(),
            raw_requestline: Vec::new(),
            headers: HTTPMessage::new(),
            close_connection: true,
            shared,
            io,
            head: Vec::with_capacity(256),
            ambiguous_framing: false,
            errored: false,
            requests: 0,
            head_started: None,
            slot,
            http11,
        }
    }

    /// [`path`](Self::path) as the bytes the client sent (its chars are
    /// ISO-8859-1), e.g. to percent-decode a file name.
    ///
    /// ```
    /// let mut parser = basehttp::HeadParser::new();
    /// assert!(parser.parse(b"GET /caf\xe9 HTTP/1.1\r\nHost: h\r\n\r\n"));
    /// assert_eq!(parser.request().path, "/café");
    /// assert_eq!(parser.request().path_bytes(), b"/caf\xe9");
    /// ```
    pub fn path_bytes(&self) -> Vec<u8> {
        self.path.chars().map(|c| c as u32 as u8).collect()
    }

    /// `server`: the server this connection belongs to (name, port, shared
    /// state, shutdown).
    pub fn server(&self) -> &ServerInfo {
        &self.shared.info
    }

    /// `rfile`: the request body (see [`RFile`]).
    pub fn rfile(&mut self) -> RFile<'_> {
        RFile { io: &mut self.io }
    }

    /// `wfile`: the response stream (see [`WFile`]).
    pub fn wfile(&mut self) -> WFile<'_> {
        WFile { io: &mut self.io }
    }

    /// The class variables and hooks in force (`self.protocol_version`, …).
    pub fn class(&self) -> &HandlerClass {
        &self.shared.class
    }

    /// `protocol_version` in force for this server.
    pub fn protocol_version(&self) -> &str {
        &self.shared.class.protocol_version
    }

    /// Whether responses are written in HTTP/0.9 mode: body only, no status
    /// line or headers (B25).
    pub fn is_http09(&self) -> bool {
        self.request_version == "HTTP/0.9"
    }

    /// Gives this response `HEAD` semantics: from now on, bytes written to
    /// [`wfile`](Self::wfile) are dropped (the head still goes out), so a
    /// `do_GET` can answer a `HEAD` request with the same headers and no
    /// body (RFC 9110 §9.3.2). Reset for every request. `#[http_handler(auto_head)]`
    /// uses it.
    pub fn discard_body(&mut self, discard: bool) {
        self.io.discard_body = discard;
    }

    /// Clears the per-request state before the next request line (B11).
    pub(crate) fn begin(&mut self) {
        self.command.clear();
        self.path.clear();
        self.target.clear();
        self.requestline.clear();
        self.raw_requestline.clear();
        self.headers.clear();
        set_text(&mut self.request_version, &self.shared.class.default_request_version);
        self.head.clear();
        self.io.body = Default::default();
        self.io.sent = false;
        self.io.discard_body = false;
        self.io.strict = self.strict();
        self.io.timed_out = false;
        self.ambiguous_framing = false;
        self.errored = false;
        self.requests += 1;
        self.head_started = None;
    }

    /// `parse_request()`: parses `raw_requestline`, reads and parses the
    /// header section, applies the `Connection`, framing (DEV-6) and
    /// `Expect` rules. Returns `Ok(false)` when the request must not be
    /// dispatched: an error was sent (or the line was blank, B14).
    pub fn parse_request(&mut self) -> std::io::Result<bool> {
        // B11
        self.command.clear();
        set_text(&mut self.request_version, &self.shared.class.default_request_version);
        if self.strict() && self.is_http09() {
            // Strict: never answer in HTTP/0.9 mode (no status line).
            self.request_version.clear();
        }
        self.close_connection = true;
        // B12: every trailing CR and LF goes.
        let raw = std::mem::take(&mut self.raw_requestline);
        let words = Words::split(&raw);
        let trimmed = words.len;
        self.requestline.clear();
        match std::str::from_utf8(&raw[..trimmed]) {
            Ok(line) if words.ascii => self.requestline.push_str(line),
            _ => push_latin1(&mut self.requestline, &raw[..trimmed]),
        }
        let result = self.parse_words(&raw, &words);
        self.raw_requestline = raw;
        match result? {
            Some(nwords) => self.parse_head(nwords),
            None => Ok(false),
        }
    }

    /// The request-line rules (B14-B27) on the words of `raw`. `Ok(Some(word
    /// count))` to go on.
    fn parse_words(&mut self, raw: &[u8], words: &Words) -> std::io::Result<Option<usize>> {
        if words.count == 0 {
            return Ok(None); // B14: silent close
        }
        let strict = self.strict();
        if strict && words.count != 3 {
            // RFC 9112 §3: method SP request-target SP HTTP-version; no HTTP/0.9.
            let message = format!("Bad request syntax ({})", repr(&self.requestline));
            self.send_error_explain(400, Some(&message), None)?;
            return Ok(None);
        }
        let word = |(start, end): (usize, usize)| &raw[start..end];
        if words.count >= 3 {
            let version = word(words.last);
            let parsed = if strict { parse_version_strict(version) } else { parse_version(version) };
            let Some((major, minor)) = parsed else {
                let message = format!("Bad request version ({})", repr(&latin1(version)));
                self.send_error_explain(400, Some(&message), None)?;
                return Ok(None);
            };
            if (major, minor) >= (1, 1) && self.http11 {
                self.close_connection = false;
            }
            // Strict: an explicit `HTTP/0.x` would answer in HTTP/0.9 mode
            // (no status line): refuse the major version instead.
            if major >= 2 || (strict && major == 0) {
                let base = latin1(&version[b"HTTP/".len()..]);
                self.send_error_explain(505, Some(&format!("Invalid HTTP version ({base})")), None)?;
                return Ok(None);
            }
            self.request_version.clear();
            push_word(&mut self.request_version, &self.requestline, raw, words.last, words.ascii);
        }
        if !(2..=3).contains(&words.count) {
            let message = format!("Bad request syntax ({})", repr(&self.requestline));
            self.send_error_explain(400, Some(&message), None)?;
            return Ok(None);
        }
        if words.count == 2 {
            self.close_connection = true;
            if word(words.first) != b"GET" {
                let message = format!("Bad HTTP/0.9 request type ({})", repr(&latin1(word(words.first))));
                self.send_error_explain(400, Some(&message), None)?;
                return Ok(None);
            }
        }
        push_word(&mut self.command, &self.requestline, raw, words.first, words.ascii);
        self.target.clear();
        push_word(&mut self.target, &self.requestline, raw, words.second, words.ascii);
        if strict && !self.check_target()? {
            return Ok(None);
        }
        // DEV-7: a NUL in the target would truncate the path in any C API
        // it reaches (CPython dispatches it); other control bytes keep
        // CPython's behaviour in the default profile.
        if crate::io::find_byte(&raw[words.second.0..words.second.1], 0).is_some() {
            let message = format!("Bad request-target ({})", repr(&self.target));
            self.send_error_explain(400, Some(&message), None)?;
            return Ok(None);
        }
        self.path.clear();
        if strict {
            if let Some(origin) = crate::profile::absolute_form_path(&self.target) {
                self.path = origin;
                return Ok(Some(words.count));
            }
        }
        // B27: gh-87389, no open redirects through `//host` paths.
        let (start, end) = words.second;
        if raw[start..end].starts_with(b"//") {
            let slashes = raw[start..end].iter().take_while(|&&b| b == b'/').count();
            self.path.push('/');
            push_word(&mut self.path, &self.requestline, raw, (start + slashes, end), words.ascii);
        } else {
            self.path.push_str(&self.target);
        }
        Ok(Some(words.count))
    }

    fn strict(&self) -> bool {
        self.shared.class.profile == Profile::Rfc9112
    }

    /// The most bytes a request head may have (DEV-8): the server's
    /// `max_head_bytes`, and in the strict profile 64 KiB at most.
    fn head_limit(&self) -> usize {
        let limit = self.shared.config.max_head_bytes;
        if self.strict() {
            limit.min(crate::profile::STRICT_MAX_HEAD)
        } else {
            limit
        }
    }

    /// Strict profile: the request-target's form (RFC 9112 §3.2) and no
    /// control bytes in it. `Ok(false)` after sending the 400.
    fn check_target(&mut self) -> std::io::Result<bool> {
        let t = self.target.as_str();
        let well_formed = !t.bytes().any(|b| b < 0x20 || b == 0x7f)
            && (t.starts_with('/')
                || crate::profile::absolute_form_path(t).is_some()
                || (t == "*" && self.command == "OPTIONS")
                || (self.command == "CONNECT" && crate::profile::valid_host(t) && t.contains(':')));
        if !well_formed {
            let message = format!("Bad request-target ({})", repr(&self.target));
            self.send_error_explain(400, Some(&message), None)?;
        }
        Ok(well_formed)
    }

    /// Strict profile: RFC 9112 §3.2's `Host` rules. `Ok(false)` after
    /// sending the 400.
    fn check_host(&mut self) -> std::io::Result<bool> {
        let host = self.headers.known(Known::Host);
        let problem = match (host, self.headers.known_count(Known::Host)) {
            (_, 2..) => Some("Multiple Host headers"),
            (None, _) if self.request_version.as_str() >= "HTTP/1.1" => Some("Missing Host header"),
            (Some(h), _) if !crate::profile::valid_host(h) => Some("Invalid Host header"),
            _ => None,
        };
        if let Some(message) = problem {
            self.send_error_explain(400, Some(message), None)?;
        }
        Ok(problem.is_none())
    }

    /// The header section (B28-B38, DEV-3), then `Connection` (B39-B41),
    /// framing (DEV-6) and `Expect` (B46).
    fn parse_head(&mut self, nwords: usize) -> std::io::Result<bool> {
        let limit = self.head_limit();
        let section = read_section(&mut self.io, &mut self.headers, self.raw_requestline.len(), limit)?;
        match section {
            Section::Done { invalid: false } => {}
            Section::Done { invalid: true } => {
                self.send_error_explain(400, Some("Invalid header line"), None)?;
                return Ok(false);
            }
            Section::LineTooLong => return self.header_too_large("Line too long", "header line").map(|_| false),
            Section::TooManyLines => {
                let explain = format!("got more than {MAX_HEADERS} headers");
                self.send_error_explain(431, Some("Too many headers"), Some(&explain))?;
                return Ok(false);
            }
            Section::TooLarge => {
                let explain = format!("got more than {limit} bytes of request head");
                self.send_error_explain(431, Some("Header section too large"), Some(&explain))?;
                return Ok(false);
            }
        }
        let strict = self.strict();
        if strict && !self.check_host()? {
            return Ok(false);
        }
        if nwords == 3 {
            match framing::check(&self.headers, &self.request_version) {
                Ok(f) => {
                    // Strict: a chunked body read to its end frames the
                    // message exactly, so the connection may carry on; the
                    // default keeps DEV-4's close after any Transfer-Encoding.
                    let chunked = matches!(f.body, BodyKind::Chunked(_));
                    self.ambiguous_framing = f.ambiguous && !(chunked && strict);
                    self.io.body.kind = f.body;
                }
                Err((code, message)) => {
                    self.send_error_explain(code, Some(message), None)?;
                    return Ok(false);
                }
            }
        } else {
            self.io.body.kind = BodyKind::Empty;
        }
        let conntype = self.headers.known(Known::Connection).unwrap_or("");
        if conntype.eq_ignore_ascii_case("close") {
            self.close_connection = true;
        } else if conntype.eq_ignore_ascii_case("keep-alive") && self.http11 {
            self.close_connection = false;
        }
        let expect = self.headers.known(Known::Expect).unwrap_or("");
        if expect.eq_ignore_ascii_case("100-continue") && self.http11 && self.request_version.as_str() >= "HTTP/1.1" {
            let hook = self.shared.class.handle_expect_100;
            if !hook(self)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn header_too_large(&mut self, message: &str, what: &str) -> std::io::Result<()> {
        let explain = format!("got more than {MAX_LINE} bytes when reading {what}");
        self.send_error_explain(431, Some(message), Some(&explain))
    }

    /// Reads the request line for the next request (B8-B10). `Ok(false)`:
    /// nothing to parse (EOF, or an error was sent).
    pub(crate) fn read_request_line(&mut self) -> std::io::Result<bool> {
        // Strict: RFC 9112 §2.2, ignore (a few) empty lines before the request line.
        let mut skips = if self.strict() { 16 } else { 0 };
        let line = loop {
            let line = match buffered_line(&mut self.io) {
                Some((s, e)) => Line::Ok(s, e),
                None => self.io.read_line(MAX_LINE + 1)?,
            };
            if let Line::Ok(s, e) = line {
                if skips > 0 && matches!(&self.io.buf[s..e], b"\r\n" | b"\n") {
                    skips -= 1;
                    continue;
                }
            }
            break line;
        };
        let (start, end) = match line {
            Line::Ok(s, e) if e - s <= MAX_LINE => (s, e),
            _ => {
                // B9: 414 with a status line even in the default config.
                self.requestline.clear();
                self.request_version.clear();
                self.command.clear();
                self.send_error(414)?;
                return Ok(false);
            }
        };
        if start == end {
            self.close_connection = true; // B10
            return Ok(false);
        }
        let line = &self.io.buf[start..end];
        self.raw_requestline.clear();
        self.raw_requestline.extend_from_slice(line);
        Ok(true)
    }

    pub(crate) fn set_head_deadline(&mut self, deadline: Option<Instant>) {
        self.io.deadline = deadline;
        self.io.per_read = None;
    }
}

/// `dst.clone_from(src)`, skipped when `dst` already holds it (the default
/// version, reset twice per request).
#[inline]
fn set_text(dst: &mut String, src: &str) {
    if !same_bytes(dst.as_bytes(), src.as_bytes()) {
        dst.clear();
        dst.push_str(src);
    }
}

/// `a == b` for short strings, eight bytes at a time (`==` calls libc's
/// memcmp, slow for a few bytes).
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let word = |c: &[u8]| u64::from_le_bytes(c.try_into().expect("eight bytes"));
    a.len() == b.len()
        && a.chunks_exact(8).zip(b.chunks_exact(8)).all(|(x, y)| word(x) == word(y))
        && a.chunks_exact(8)
            .remainder()
            .iter()
            .zip(b.chunks_exact(8).remainder())
            .fold(true, |eq, (x, y)| eq & (x == y))
}

/// `io.read_line(MAX_LINE + 1)` for a line already in the buffer: its span,
/// consumed; `None` if `io.read_line` has to wait for (more of) it.
#[inline]
fn buffered_line(io: &mut Io) -> Option<(usize, usize)> {
    let start = io.pos;
    let len = crate::io::find_byte(&io.buf[start..io.end.min(start + MAX_LINE + 1)], b'\n')? + 1;
    io.consume(len);
    Some((start, start + len))
}

/// How a header section ended (B28-B30, DEV-3).
enum Section {
    /// At its empty line; `invalid` if a line broke DEV-3.
    Done { invalid: bool },
    /// A line longer than [`MAX_LINE`].
    LineTooLong,
    /// More than [`MAX_HEADERS`] lines.
    TooManyLines,
    /// A head larger than its limit (DEV-8).
    TooLarge,
}

/// Reads the header section into `headers`, line by line as Python's
/// `readline` loop does, the fields of ASCII lines copied in one piece.
/// `head_bytes`: the request line's length; `limit`: the most bytes the
/// whole head may have.
fn read_section(io: &mut Io, headers: &mut HTTPMessage, head_bytes: usize, limit: usize) -> std::io::Result<Section> {
    let mut pending = None;
    let section = read_lines(io, headers, &mut pending, head_bytes, limit);
    headers.flush(&io.buf, &mut pending);
    section
}

fn read_lines(
    io: &mut Io,
    headers: &mut HTTPMessage,
    pending: &mut Option<Pending>,
    mut head_bytes: usize,
    limit: usize,
) -> std::io::Result<Section> {
    let mut lines = 0;
    let mut invalid = false;
    loop {
        // The line in place if it is buffered (a line's bytes are scanned
        // once), else from `io.read_line`.
        let mut at = io.pos;
        let mut line = scan_line(&io.buf[at..io.end.min(at + MAX_LINE + 1)]);
        if line.terminated {
            io.consume(line.len);
        } else {
            match wait_for_line(io, headers, pending)? {
                Some((start, waited)) => (at, line) = (start, waited),
                None => return Ok(Section::LineTooLong),
            }
        }
        if line.len > MAX_LINE {
            return Ok(Section::LineTooLong);
        }
        lines += 1;
        if lines > MAX_HEADERS {
            return Ok(Section::TooManyLines);
        }
        head_bytes += line.len;
        if head_bytes > limit {
            return Ok(Section::TooLarge);
        }
        match line.kind {
            LineKind::Blank => return Ok(Section::Done { invalid }),
            _ if invalid => {}
            LineKind::Invalid => invalid = true,
            LineKind::Field => headers.add_scanned(&io.buf, at, &line, pending),
        }
    }
}

/// A header line not (wholly) buffered yet: `io.read_line` waits for it,
/// after `pending` is copied (the buffer may move). `None` if it is too
/// long (B28).
#[cold]
fn wait_for_line(
    io: &mut Io,
    headers: &mut HTTPMessage,
    pending: &mut Option<Pending>,
) -> std::io::Result<Option<(usize, ScannedLine)>> {
    headers.flush(&io.buf, pending);
    match io.read_line(MAX_LINE + 1)? {
        Line::Ok(s, e) => Ok(Some((s, scan_line(&io.buf[s..e])))),
        Line::TooLong => Ok(None),
    }
}

/// Appends the word `raw[start..end]` of the request line to `out`: from
/// `line` (the line as text) if the line is ASCII, so the offsets agree;
/// else decoded as ISO-8859-1.
#[inline]
fn push_word(out: &mut String, line: &str, raw: &[u8], (start, end): (usize, usize), ascii: bool) {
    if ascii {
        out.push_str(&line[start..end]);
    } else {
        push_latin1(out, &raw[start..end]);
    }
}

/// The words of a request line that the rules look at (B13, B15), as
/// `(start, end)` spans: Python's `str.split()` on the latin-1 text, in one
/// pass that also tells whether the line is ASCII.
#[derive(Default)]
struct Words {
    /// The line's length without its trailing CRs and LFs (B12).
    len: usize,
    count: usize,
    first: (usize, usize),
    second: (usize, usize),
    last: (usize, usize),
    ascii: bool,
}

impl Words {
    /// Splits `raw` without its trailing CRs and LFs.
    fn split(raw: &[u8]) -> Words {
        let len = raw.iter().rposition(|&b| b != b'\r' && b != b'\n').map_or(0, |i| i + 1);
        let line = &raw[..len];
        let mut words = Words { len, ..Words::default() };
        let mut high = false;
        let mut at = 0;
        loop {
            while at < line.len() && is_py_space(line[at]) {
                high |= line[at] >= 0x80;
                at += 1;
            }
            if at == line.len() {
                words.ascii = !high;
                return words;
            }
            let end = space_at(line, at, &mut high);
            words.push((at, end));
            at = end;
        }
    }

    fn push(&mut self, word: (usize, usize)) {
        match self.count {
            0 => self.first = word,
            1 => self.second = word,
            _ => {}
        }
        self.last = word;
        self.count += 1;
    }
}

/// B16/B17: `HTTP/` then exactly two dot-separated components of 1 to 10
/// ASCII digits (leading zeros allowed).
fn parse_version(version: &[u8]) -> Option<(u64, u64)> {
    let rest = version.strip_prefix(b"HTTP/")?;
    let dot = rest.iter().position(|&b| b == b'.')?;
    let component = |c: &[u8]| {
        if c.is_empty() || c.len() > 10 || !c.iter().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(c.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')))
    };
    Some((component(&rest[..dot])?, component(&rest[dot + 1..])?))
}

/// Strict profile: exactly `HTTP/DIGIT.DIGIT` (RFC 9112 §2.3).
fn parse_version_strict(version: &[u8]) -> Option<(u64, u64)> {
    match version {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor] if major.is_ascii_digit() && minor.is_ascii_digit() => {
            Some(((major - b'0') as u64, (minor - b'0') as u64))
        }
        _ => None,
    }
}

/// The first Python whitespace byte at or after `at`, or `line.len()`;
/// `high` records any byte above 0x7F passed over. Eight bytes at a time
/// (the last word overlaps the one before): every whitespace byte is below
/// 0x21 or above 0x7F, and each such candidate is then looked up.
fn space_at(line: &[u8], mut at: usize, high: &mut bool) -> usize {
    while at < line.len() {
        let base = match line.len() {
            len if at + 8 <= len => at,
            len if len >= 8 => len - 8,
            _ => return space_at_bytewise(line, at, high),
        };
        let x = swar::word(line, base).expect("eight bytes");
        // Bytes up to 0x20 (the spaces among them) and non-ASCII ones.
        let candidates = (swar::below(x, 0x21) | (x & swar::HI)) & (u64::MAX << (8 * (at - base)));
        if candidates == 0 {
            at = base + 8;
            continue;
        }
        let i = base + candidates.trailing_zeros() as usize / 8;
        let b = line[i];
        if b == b' ' || is_py_space(b) {
            return i;
        }
        *high |= b >= 0x80;
        at = i + 1;
    }
    line.len()
}

/// [`space_at`] for a line shorter than eight bytes.
fn space_at_bytewise(line: &[u8], at: usize, high: &mut bool) -> usize {
    for (i, &b) in line.iter().enumerate().skip(at) {
        if is_py_space(b) {
            return i;
        }
        *high |= b >= 0x80;
    }
    line.len()
}

/// Python's `str.isspace()` for a latin-1 char (B13).
pub(crate) fn is_py_space(b: u8) -> bool {
    PY_SPACE[b as usize]
}

/// [`is_py_space`] for every byte.
static PY_SPACE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = matches!(b, 0x09..=0x0d | 0x1c..=0x20 | 0x85 | 0xa0);
        b += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_version(b"HTTP/1.1"), Some((1, 1)));
        assert_eq!(parse_version(b"HTTP/01.10"), Some((1, 10)));
        assert_eq!(parse_version(b"HTTP/0000000001.0"), Some((1, 0)));
        for bad in [
            "HTTP/1",
            "HTTP/1.1.1",
            "HTTP/1.a",
            "http/1.1",
            "HTTP/-1.1",
            "HTTP/+1.1",
            "HTTP/1.",
            "HTTP/.1",
            "HTTP/12345678901.0",
            "HTTP/².1",
        ] {
            assert_eq!(parse_version(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn words_are_python_str_split() {
        let alphabet = b"GET /aZ\t\n\x0b\x0c\r\x1c\x1f \x85\xa0\x84\xa1\x01\x7f";
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..100_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut r = state;
            let line: Vec<u8> = (0..state % 30)
                .map(|_| {
                    r = r.rotate_left(5).wrapping_mul(0x2545_f491_4f6c_dd1d);
                    alphabet[(r >> 8) as usize % alphabet.len()]
                })
                .collect();
            let expected: Vec<&[u8]> = line.split(|&b| is_py_space(b)).filter(|w| !w.is_empty()).collect();
            let words = Words::split(&line);
            let word = |(s, e): (usize, usize)| &line[s..e];
            assert_eq!(words.count, expected.len(), "{line:?}");
            assert_eq!(words.ascii, line.is_ascii());
            if let [first, rest @ ..] = &expected[..] {
                assert_eq!(word(words.first), *first, "{line:?}");
                assert_eq!(word(words.last), *expected.last().unwrap(), "{line:?}");
                if let Some(second) = rest.first() {
                    assert_eq!(word(words.second), *second, "{line:?}");
                }
            }
        }
    }

    #[test]
    fn python_whitespace() {
        let spaces: Vec<u8> = (0..=255u8).filter(|&b| is_py_space(b)).collect();
        assert_eq!(spaces, [9, 10, 11, 12, 13, 28, 29, 30, 31, 32, 0x85, 0xa0]);
    }
}
