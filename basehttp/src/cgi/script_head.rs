//! The head a CGI script prints before its body (RFC 3875 §6): read,
//! checked and turned into what the server sends. No I/O here.
//!
//! A head is lines ending in LF (CRLF accepted) up to an empty line. Each
//! is `name: value`; the name a token, the value without control bytes.
//! `Status: NNN reason` becomes the status line, `Location` a redirect,
//! `Content-Length` the framing; hop-by-hop fields and the ones the server
//! writes itself are dropped, every other field is passed on. A head that
//! breaks any rule, is longer than [`MAX_HEAD`] or has more than
//! [`MAX_HEADERS`] fields, or has none of `Content-Type`, `Location` and
//! `Status` (§6.2), is refused: the caller answers `502`.

use crate::protocol::request_line::MAX_HEADERS;

/// The longest script head accepted (the same 64 KiB as a request line).
pub(crate) const MAX_HEAD: usize = 64 * 1024;

/// Fields a script may not set: the connection's own (hop-by-hop,
/// RFC 9110 §7.6.1) and the ones the server writes itself.
const DROPPED: [&str; 9] =
    ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "server", "date"];

/// A script's head, checked.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ScriptHead {
    /// `Status`: the code and, if given, the reason phrase.
    pub(crate) status: Option<(u16, Option<String>)>,
    /// `Location`, if given.
    pub(crate) location: Option<String>,
    /// `Content-Length`, if given.
    pub(crate) content_length: Option<u64>,
    /// `Connection: close` was asked for.
    pub(crate) close: bool,
    /// The fields to send, in order (without `Status`, `Content-Length`
    /// and the dropped ones), as text whose chars are the script's bytes.
    pub(crate) fields: Vec<(String, String)>,
}

impl ScriptHead {
    /// The status to send: `Status`, else `302 Found` for a `Location`,
    /// else `200 OK`.
    pub(crate) fn code(&self) -> u16 {
        match (&self.status, &self.location) {
            (Some((code, _)), _) => *code,
            (None, Some(_)) => 302,
            (None, None) => 200,
        }
    }

    /// RFC 3875 §6.2.2: a local redirect is a `Location` that is a path,
    /// alone (no `Status`, no other field); the server answers it as a
    /// `GET` of that path.
    pub(crate) fn local_redirect(&self) -> Option<&str> {
        let location = self.location.as_deref()?;
        let alone = self.status.is_none() && self.fields.len() == 1 && self.content_length.is_none();
        (alone && location.starts_with('/') && !location.starts_with("//")).then_some(location)
    }
}

/// What the bytes read so far hold.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Scan {
    /// No end of the head yet (and no rule broken so far).
    Incomplete,
    /// The head, and where the body starts in the bytes.
    Done(ScriptHead, usize),
    /// The head breaks a rule: why, for the log.
    Invalid(String),
}

/// Scans a script's output for its head.
pub(crate) fn scan(out: &[u8]) -> Scan {
    let mut head = ScriptHead::default();
    let mut at = 0;
    let mut count = 0;
    while let Some(len) = out[at..].iter().position(|&b| b == b'\n') {
        let line = &out[at..at + len];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        at += len + 1;
        if at > MAX_HEAD {
            break;
        }
        if line.is_empty() {
            if head.status.is_none() && head.location.is_none() && !has(&head, "content-type") {
                return Scan::Invalid("the head has no Content-Type, Location or Status".into());
            }
            return Scan::Done(head, at);
        }
        count += 1;
        if count > MAX_HEADERS {
            return Scan::Invalid(format!("more than {MAX_HEADERS} header fields"));
        }
        if let Err(why) = field(&mut head, line) {
            return Scan::Invalid(why);
        }
    }
    if at > MAX_HEAD || out.len() > MAX_HEAD {
        return Scan::Invalid(format!("the head is longer than {MAX_HEAD} bytes"));
    }
    Scan::Incomplete
}

fn has(head: &ScriptHead, name: &str) -> bool {
    head.fields.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
}

/// One `name: value` line into `head`.
fn field(head: &mut ScriptHead, line: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(line);
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return Err(format!("not a header field: {text:?}"));
    };
    let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
    if name.is_empty() || !name.iter().all(|&b| is_token(b)) {
        return Err(format!("invalid field name: {text:?}"));
    }
    if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(format!("control byte in a field value: {text:?}"));
    }
    let name = crate::protocol::headers::latin1(name);
    let value = crate::protocol::headers::latin1(value);
    match name.to_ascii_lowercase().as_str() {
        "status" => {
            let code = value.get(..3).filter(|c| c.bytes().all(|b| b.is_ascii_digit()));
            let rest = value.get(3..).unwrap_or_default();
            let code = code.map(|c| c.parse::<u16>().unwrap_or(0)).filter(|c| (200..=599).contains(c));
            match code {
                Some(code) if head.status.is_none() && (rest.is_empty() || rest.starts_with([' ', '\t'])) => {
                    let reason = rest.trim();
                    head.status = Some((code, (!reason.is_empty()).then(|| reason.to_owned())));
                }
                _ => return Err(format!("invalid Status: {value:?}")),
            }
        }
        "content-length" => {
            let n = (!value.is_empty() && value.len() <= 19 && value.bytes().all(|b| b.is_ascii_digit()))
                .then(|| value.parse::<u64>().ok())
                .flatten();
            match (n, head.content_length) {
                (Some(n), None) => head.content_length = Some(n),
                (Some(n), Some(m)) if n == m => {}
                _ => return Err(format!("invalid Content-Length: {value:?}")),
            }
        }
        lower => {
            if lower == "connection" && value.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")) {
                head.close = true;
            }
            if DROPPED.contains(&lower) {
                return Ok(());
            }
            if lower == "location" {
                if value.is_empty() || head.location.is_some() {
                    return Err(format!("invalid Location: {value:?}"));
                }
                head.location = Some(value.clone());
            }
            head.fields.push((name, value));
        }
    }
    Ok(())
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(out: &[u8]) -> (ScriptHead, usize) {
        match scan(out) {
            Scan::Done(head, at) => (head, at),
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(out)),
        }
    }

    fn invalid(out: &[u8]) -> String {
        match scan(out) {
            Scan::Invalid(why) => why,
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(out)),
        }
    }

    #[test]
    fn a_plain_head() {
        let (head, at) = done(b"Content-type: text/html\n\nHello World\n");
        assert_eq!(at, 25);
        assert_eq!(head.fields, [("Content-type".to_owned(), "text/html".to_owned())]);
        assert_eq!((head.code(), head.status, head.content_length), (200, None, None));
    }

    #[test]
    fn status_location_length_and_crlf() {
        let out = b"Status: 404 Not Here\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nX-A:  b c \r\n\r\nnope!";
        let (head, at) = done(out);
        assert_eq!(&out[at..], b"nope!");
        assert_eq!(head.status, Some((404, Some("Not Here".into()))));
        assert_eq!(head.content_length, Some(5));
        assert_eq!(head.fields[1], ("X-A".into(), "b c".into()));
        let (head, _) = done(b"Status: 201\n\n");
        assert_eq!((head.code(), head.status), (201, Some((201, None))));
        let (head, _) = done(b"Location: http://example.com/\n\n");
        assert_eq!((head.code(), head.local_redirect()), (302, None));
        let (head, _) = done(b"Location: /other?x=1\n\n");
        assert_eq!(head.local_redirect(), Some("/other?x=1"));
        let (head, _) = done(b"Location: //evil.example/\n\n");
        assert_eq!(head.local_redirect(), None);
        let (head, _) = done(b"Location: /x\nContent-Type: text/plain\n\n");
        assert_eq!((head.code(), head.local_redirect()), (302, None));
    }

    #[test]
    fn dropped_fields() {
        let (head, _) =
            done(b"Content-Type: a/b\nConnection: close\nTransfer-Encoding: chunked\nServer: x\nDate: y\n\n");
        assert!(head.close);
        assert_eq!(head.fields.len(), 1);
    }

    #[test]
    fn refusals() {
        assert!(invalid(b"Hello World\n\n").contains("not a header field"));
        assert!(invalid(b"\n").contains("no Content-Type"));
        assert!(invalid(b"X-Only: 1\n\n").contains("no Content-Type"));
        assert!(invalid(b"Bad Name: 1\n\n").contains("field name"));
        assert!(invalid(b"Content-Type: a\rInjected: 1\n\n").contains("control byte"));
        assert!(invalid(b"Content-Type: a\x00\n\n").contains("control byte"));
        assert!(invalid(b"Status: 99\n\n").contains("Status"));
        assert!(invalid(b"Status: 600 x\n\n").contains("Status"));
        assert!(invalid(b"Status: 2000\n\n").contains("Status"));
        assert!(invalid(b"Status: 200\nStatus: 404\n\n").contains("Status"));
        assert!(invalid(b"Content-Length: -1\nContent-Type: a\n\n").contains("Content-Length"));
        assert!(invalid(b"Content-Length: 1\nContent-Length: 2\n\n").contains("Content-Length"));
        assert!(invalid(b"Content-Type: a\n folded\n\n").contains("not a header field"));
        assert!(invalid(b"Content-Type: a\n X: folded\n\n").contains("field name"));
        let long = [&b"X: "[..], &[b'a'; MAX_HEAD], b"\n\n"].concat();
        assert!(invalid(&long).contains("longer"));
        assert!(invalid(&vec![b'a'; MAX_HEAD + 1]).contains("longer"));
        let many: Vec<u8> = (0..=MAX_HEADERS).flat_map(|i| format!("X-{i}: 1\n").into_bytes()).collect();
        assert!(invalid(&many).contains("more than"));
    }

    #[test]
    fn incomplete_until_the_empty_line() {
        assert_eq!(scan(b"Content-Type: text/plain\n"), Scan::Incomplete);
        assert_eq!(scan(b"Content-Ty"), Scan::Incomplete);
    }
}
