//! The two rule sets a server can follow: CPython's (the default) and the
//! strict RFC 9112 profile.
//!
//! The strict profile keeps everything of the default (DEV-1 … DEV-6) and
//! adds what RFC 9112 / RFC 9110 require of a server where CPython is
//! lenient:
//!
//! - HTTP/0.9 requests are refused (`400 Bad request syntax`), and no
//!   response is ever written in 0.9 mode;
//! - the version must be exactly `HTTP/DIGIT.DIGIT` (`HTTP/1.10`,
//!   `HTTP/01.1` → 400);
//! - empty lines before a request line are ignored (RFC 9112 §2.2);
//! - the request-target must be origin-form (`/path`), absolute-form
//!   (`http://host/path`: `path` becomes `/path`, the full target stays in
//!   [`Request::target`](crate::Request::target)), `*` for `OPTIONS` or
//!   authority-form for `CONNECT`; control bytes in it → 400;
//! - exactly one `Host` field with a valid value on HTTP/1.1 requests, at
//!   most one valid one on HTTP/1.0 (RFC 9112 §3.2) → 400 otherwise;
//! - a request head (request line and header section) of at most
//!   [`STRICT_MAX_HEAD`] bytes → 431 otherwise;
//! - a `Content-Length` body cut short by the client is an `UnexpectedEof`
//!   error for the handler (CPython hands it a short body), so a truncated
//!   message is never processed as complete (RFC 9112 §8); a handler that
//!   fails on it before answering gets 400.

/// Which rules the runtime applies to requests.
///
/// ```
/// use basehttp::{BaseHTTPRequestHandler, HandlerResult, Profile, Request};
/// struct Strict;
/// impl BaseHTTPRequestHandler for Strict {
///     const PROFILE: Profile = Profile::Rfc9112;
///     fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
///         Ok(req.send_unsupported_method()?)
///     }
/// }
/// let out = basehttp::serve_bytes(&mut Strict, b"GET /hello\r\n\r\n");
/// assert!(out.starts_with(b"HTTP/1.0 400 Bad request syntax ('GET /hello')\r\n"));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Profile {
    /// CPython 3.11's behaviour with the deliberate deviations DEV-1 … DEV-6.
    #[default]
    CPython,
    /// The default plus what RFC 9112 requires of a server (module docs).
    Rfc9112,
}

/// Largest request head (request line + header section, line endings
/// included) the strict profile accepts: 64 KiB, as large as CPython's
/// longest single line and above what browsers send (nginx: 32 KiB).
pub const STRICT_MAX_HEAD: usize = 64 * 1024;

/// RFC 9112 §3.2 / RFC 3986 §3.2.2: `uri-host [ ":" port ]`.
pub(crate) fn valid_host(value: &str) -> bool {
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        let Some((literal, after)) = rest.split_once(']') else { return false };
        if literal.is_empty() || !literal.bytes().all(|b| b.is_ascii_hexdigit() || b":.vV".contains(&b)) {
            return false;
        }
        match after.strip_prefix(':') {
            Some(port) => ("", port),
            None if after.is_empty() => ("", ""),
            None => return false,
        }
    } else {
        match value.rsplit_once(':') {
            Some((h, p)) => (h, p),
            None => (value, ""),
        }
    };
    let reg_name = |b: u8| b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(&b);
    host.bytes().all(reg_name) && port.bytes().all(|b| b.is_ascii_digit())
}

/// The origin-form path of an absolute-form target (`http://h/p?q` →
/// `/p?q`), `None` if `target` is not absolute-form.
pub(crate) fn absolute_form_path(target: &str) -> Option<String> {
    let (scheme, rest) = target.split_once("://")?;
    if scheme.is_empty() || !scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) {
        return None;
    }
    let path_at = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(path_at);
    if authority.is_empty() || !valid_host(authority.rsplit_once('@').map_or(authority, |(_, h)| h)) {
        return None;
    }
    let tail = tail.split('#').next().unwrap_or("");
    Some(if tail.starts_with('/') { tail.to_owned() } else { format!("/{tail}") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        for ok in ["a", "example.com:8080", "127.0.0.1", "[::1]", "[::1]:80", "", "a-b_c~d:", "xn--p1ai"] {
            assert!(valid_host(ok), "{ok}");
        }
        for bad in ["a b", "a/b", "[::1", "a:b", "[::1]x", "a\u{0}", "a@b", "é"] {
            assert!(!valid_host(bad), "{bad}");
        }
    }

    #[test]
    fn absolute_form() {
        assert_eq!(absolute_form_path("http://host/hello?x=1").as_deref(), Some("/hello?x=1"));
        assert_eq!(absolute_form_path("http://host").as_deref(), Some("/"));
        assert_eq!(absolute_form_path("http://host?q").as_deref(), Some("/?q"));
        assert_eq!(absolute_form_path("https://u@h:8443/a#frag").as_deref(), Some("/a"));
        assert_eq!(absolute_form_path("/hello"), None);
        assert_eq!(absolute_form_path("http:///x"), None);
    }
}
