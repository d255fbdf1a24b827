//! `parse_request` with CPython 3.11's request-line and header rules
//! (B8-B50), the strict profile's additions, DEV-3, DEV-7 and DEV-8: the
//! request head read from the connection's buffer into [`Request`].

use crate::handler::io::{Io, Line};
use crate::handler::request::{set_text, Request};
use crate::protocol::framing::{self, BodyKind};
use crate::protocol::headers::{latin1, push_latin1, scan_line, HTTPMessage, Known, LineKind, Pending, ScannedLine};
use crate::protocol::profile;
use crate::protocol::pyrepr::repr;
use crate::protocol::request_line::{parse_version, parse_version_strict, Words, MAX_HEADERS, MAX_LINE};
use crate::protocol::swar::find_byte;

impl Request {
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
        if find_byte(&raw[words.second.0..words.second.1], 0).is_some() {
            let message = format!("Bad request-target ({})", repr(&self.target));
            self.send_error_explain(400, Some(&message), None)?;
            return Ok(None);
        }
        self.path.clear();
        if strict {
            if let Some(origin) = profile::absolute_form_path(&self.target) {
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

    /// The most bytes a request head may have (DEV-8): the server's
    /// `max_head_bytes`, and in the strict profile 64 KiB at most.
    fn head_limit(&self) -> usize {
        let limit = self.shared.config.max_head_bytes;
        if self.strict() {
            limit.min(profile::STRICT_MAX_HEAD)
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
                || profile::absolute_form_path(t).is_some()
                || (t == "*" && self.command == "OPTIONS")
                || (self.command == "CONNECT" && profile::valid_host(t) && t.contains(':')));
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
            (Some(h), _) if !profile::valid_host(h) => Some("Invalid Host header"),
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
}
/// `io.read_line(MAX_LINE + 1)` for a line already in the buffer: its span,
/// consumed; `None` if `io.read_line` has to wait for (more of) it.
#[inline]
fn buffered_line(io: &mut Io) -> Option<(usize, usize)> {
    let start = io.pos;
    let len = find_byte(&io.buf[start..io.end.min(start + MAX_LINE + 1)], b'\n')? + 1;
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
