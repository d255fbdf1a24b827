//! Message framing of a request body (RFC 9112 §6): DEV-6, the checks of
//! `Content-Length` / `Transfer-Encoding` before dispatch, and the DEV-4
//! "ambiguous framing" test after it.

use crate::protocol::chunked::ChunkedDecoder;
use crate::protocol::headers::{HTTPMessage, Known};

/// The framing of a request that passed DEV-6.
pub(crate) struct Framing {
    pub(crate) body: BodyKind,
    /// DEV-4: a `Transfer-Encoding` field, more than one `Content-Length`
    /// field, or a `Content-Length` that is not plain digits. Such a request
    /// never keeps its connection open.
    pub(crate) ambiguous: bool,
}

/// DEV-6: the framing of a request with a version word, or the
/// `(status, message)` that `send_error` must answer (then close).
#[inline]
pub(crate) fn check(headers: &HTTPMessage, request_version: &str) -> Result<Framing, (u16, &'static str)> {
    let has_te = headers.known_count(Known::TransferEncoding) > 0;
    let has_cl = headers.known_count(Known::ContentLength) > 0;
    if !has_te && !has_cl {
        return Ok(Framing { body: BodyKind::Empty, ambiguous: false });
    }
    check_fields(headers, request_version, has_te, has_cl)
}

/// [`check`] for a request with a `Transfer-Encoding` or a `Content-Length`.
fn check_fields(
    headers: &HTTPMessage,
    request_version: &str,
    has_te: bool,
    has_cl: bool,
) -> Result<Framing, (u16, &'static str)> {
    if has_te && has_cl {
        return Err((400, "Content-Length with Transfer-Encoding"));
    }
    if has_te {
        if request_version < "HTTP/1.1" {
            return Err((400, "Transfer-Encoding in HTTP/1.0 request"));
        }
        // RFC 9110 §5.3: repeated fields are one comma-separated list.
        let mut codings = headers.known_all(Known::TransferEncoding).flat_map(|v| v.split(',')).map(trim_ows);
        let (first, second) = (codings.next(), codings.next());
        let last = codings.last().or(second).or(first);
        let is_chunked = |c: Option<&str>| c.is_some_and(|c| c.eq_ignore_ascii_case("chunked"));
        return if second.is_none() && is_chunked(first) {
            Ok(Framing { body: BodyKind::Chunked(ChunkedDecoder::new()), ambiguous: true })
        } else if is_chunked(last) {
            Err((501, "Unsupported Transfer-Encoding"))
        } else {
            Err((400, "Invalid Transfer-Encoding"))
        };
    }
    // Content-Length only.
    let mut length = None;
    let mut fields = 0;
    let mut plain = true;
    for value in headers.known_all(Known::ContentLength) {
        fields += 1;
        plain &= !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
        for element in value.split(',').map(trim_ows) {
            // RFC 9110 §8.6: 1*DIGIT; at most 19 digits always fit a u64.
            if element.is_empty() || element.len() > 19 || !element.bytes().all(|b| b.is_ascii_digit()) {
                return Err((400, "Invalid Content-Length"));
            }
            let n: u64 = element.parse().map_err(|_| (400, "Invalid Content-Length"))?;
            if length.is_some_and(|l| l != n) {
                return Err((400, "Invalid Content-Length"));
            }
            length = Some(n);
        }
    }
    let n = length.unwrap_or(0);
    let body = if n == 0 { BodyKind::Empty } else { BodyKind::Length(n) };
    Ok(Framing { body, ambiguous: fields > 1 || !plain })
}

fn trim_ows(s: &str) -> &str {
    s.trim_matches(|c| c == ' ' || c == '\t')
}

/// How the current request's body is framed.
#[derive(Clone, Debug, Default)]
pub(crate) enum BodyKind {
    /// No body (no `Content-Length`, no `Transfer-Encoding`, or HTTP/0.9).
    #[default]
    Empty,
    /// `Content-Length`: bytes still to read.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked(ChunkedDecoder),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(fields: &[(&str, &str)], version: &str) -> Result<(String, bool), (u16, &'static str)> {
        let mut h = HTTPMessage::new();
        for (n, v) in fields {
            h.push(*n, *v);
        }
        check(&h, version).map(|f| (format!("{:?}", f.body).split('(').next().unwrap().to_owned(), f.ambiguous))
    }

    #[test]
    fn dev6_order_and_messages() {
        let cl_te = [("Content-Length", "5"), ("Transfer-Encoding", "chunked")];
        assert_eq!(run(&cl_te, "HTTP/1.1"), Err((400, "Content-Length with Transfer-Encoding")));
        assert_eq!(
            run(&[("Transfer-Encoding", "chunked")], "HTTP/1.0"),
            Err((400, "Transfer-Encoding in HTTP/1.0 request"))
        );
        assert_eq!(
            run(&[("Transfer-Encoding", "chunked")], "HTTP/01.1"),
            Err((400, "Transfer-Encoding in HTTP/1.0 request"))
        );
        assert_eq!(run(&[("Transfer-Encoding", " Chunked \t")], "HTTP/1.1"), Ok(("Chunked".into(), true)));
        assert_eq!(
            run(&[("Transfer-Encoding", "gzip, chunked")], "HTTP/1.1"),
            Err((501, "Unsupported Transfer-Encoding"))
        );
        assert_eq!(
            run(&[("Transfer-Encoding", "gzip"), ("Transfer-Encoding", "chunked")], "HTTP/1.1"),
            Err((501, "Unsupported Transfer-Encoding"))
        );
        assert_eq!(run(&[("Transfer-Encoding", ", chunked")], "HTTP/1.1"), Err((501, "Unsupported Transfer-Encoding")));
        assert_eq!(run(&[("Transfer-Encoding", "chunked,")], "HTTP/1.1"), Err((400, "Invalid Transfer-Encoding")));
        assert_eq!(run(&[("Transfer-Encoding", "gzip")], "HTTP/1.1"), Err((400, "Invalid Transfer-Encoding")));
    }

    #[test]
    fn content_length_rules() {
        assert_eq!(run(&[("Content-Length", "5")], "HTTP/1.0"), Ok(("Length".into(), false)));
        assert_eq!(run(&[("Content-Length", "0")], "HTTP/1.0"), Ok(("Empty".into(), false)));
        assert_eq!(run(&[("Content-Length", "5, 5")], "HTTP/1.0"), Ok(("Length".into(), true)));
        assert_eq!(run(&[("Content-Length", "5"), ("Content-Length", "5")], "HTTP/1.0"), Ok(("Length".into(), true)));
        assert_eq!(run(&[("Content-Length", "5 ")], "HTTP/1.0"), Ok(("Length".into(), true)));
        assert!(run(&[("Content-Length", "9999999999999999999")], "HTTP/1.0").is_ok());
        for bad in ["", "-1", "+1", "abc", "1 2", "5,6", "99999999999999999999", "0x5"] {
            assert_eq!(run(&[("Content-Length", bad)], "HTTP/1.0"), Err((400, "Invalid Content-Length")), "{bad}");
        }
        assert_eq!(
            run(&[("Content-Length", "5"), ("Content-Length", "6")], "HTTP/1.0"),
            Err((400, "Invalid Content-Length"))
        );
    }
}
