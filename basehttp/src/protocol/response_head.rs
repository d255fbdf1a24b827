//! Response heads and error pages as CPython writes them, with no I/O:
//! the error page template and its filling (B63-B66), the checks that keep
//! CR, LF and NUL out of a head (DEV-1, DEV-2), and the byte helpers the
//! head writer uses.

use std::fmt::{self, Write as _};
use std::io;

use crate::protocol::pyrepr::repr;
use crate::protocol::swar;

/// CPython's `DEFAULT_ERROR_MESSAGE`: the `send_error` page template, with
/// `%(code)d`, `%(code)s`, `%(message)s` and `%(explain)s` placeholders (B64).
pub const DEFAULT_ERROR_MESSAGE: &str = "<!DOCTYPE HTML>
<html lang=\"en\">
    <head>
        <meta charset=\"utf-8\">
        <title>Error response</title>
    </head>
    <body>
        <h1>Error response</h1>
        <p>Error code: %(code)d</p>
        <p>Message: %(message)s.</p>
        <p>Error code explanation: %(code)s - %(explain)s.</p>
    </body>
</html>
";

/// CPython's `DEFAULT_ERROR_CONTENT_TYPE` (B66).
pub const DEFAULT_ERROR_CONTENT_TYPE: &str = "text/html;charset=utf-8";

pub(crate) fn injection(what: &str, text: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("invalid {what} {}: CR, LF and NUL are not allowed", repr(text)),
    )
}

pub(crate) fn has_forbidden(text: &str) -> bool {
    text.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0)
}

/// Printable ASCII (0x20..=0x7E): bytes that go into a head as they are
/// (anything else, tab included, takes the checking path). Eight bytes at
/// a time.
pub(crate) fn plain_ascii(bytes: &[u8]) -> bool {
    let mut at = 0;
    while let Some(x) = swar::word(bytes, at) {
        if swar::below(x, 0x20) | swar::at_least_7f(x) != 0 {
            return false;
        }
        at += 8;
    }
    bytes[at..].iter().all(|&b| (0x20..0x7f).contains(&b))
}

/// Appends `n` in decimal.
pub(crate) fn push_decimal(out: &mut Vec<u8>, mut n: u16) {
    let mut digits = [0u8; 5];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// `fmt::Write` straight into a byte buffer (header values are formatted
/// in place, without `io::Write`'s error plumbing).
pub(crate) struct ByteWriter<'a>(pub(crate) &'a mut Vec<u8>);

impl fmt::Write for ByteWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Fills a Python `%`-style error page template: `%(code)d`, `%(code)s`,
/// `%(message)s`, `%(explain)s` (any conversion letter) and `%%`. Message
/// and explanation are HTML-escaped first (`& < >`, B63). Unknown keys are
/// left as they are.
pub fn format_error_page(template: &str, code: u16, message: &str, explain: &str) -> String {
    let mut out = String::with_capacity(template.len() + message.len() + explain.len());
    let mut rest = template;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if let Some(after) = rest.strip_prefix("%%") {
            out.push('%');
            rest = after;
            continue;
        }
        let key = rest.strip_prefix("%(").and_then(|r| r.split_once(')'));
        let conversion = key.and_then(|(_, after)| after.chars().next());
        match (key, conversion) {
            (Some((name, after)), Some(conv)) if conv.is_ascii_alphabetic() => {
                match name {
                    "code" => {
                        let _ = write!(out, "{code}");
                    }
                    "message" => html_escape(message, &mut out),
                    "explain" => html_escape(explain, &mut out),
                    _ => {
                        out.push_str(&rest[..rest.len() - after.len() + 1]);
                    }
                }
                rest = &after[1..];
            }
            _ => {
                out.push('%');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `html.escape(text, quote=False)`: only `&`, `<` and `>`.
fn html_escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ascii_matches_a_byte_scan() {
        let reference = |s: &[u8]| s.iter().all(|&b| (0x20..0x7f).contains(&b));
        for b in 0..=255u8 {
            for len in 1..20 {
                for at in 0..len {
                    let mut s = vec![b'a'; len];
                    s[at] = b;
                    assert_eq!(plain_ascii(&s), reference(&s), "byte {b:#04x} at {at} of {len}");
                }
            }
        }
        assert!(plain_ascii(b""));
    }

    #[test]
    fn default_page_is_cpythons() {
        let page = format_error_page(DEFAULT_ERROR_MESSAGE, 404, "Not <Found>", "a & b");
        assert!(page.contains("<p>Error code: 404</p>\n"));
        assert!(page.contains("<p>Message: Not &lt;Found&gt;.</p>"));
        assert!(page.contains("<p>Error code explanation: 404 - a &amp; b.</p>"));
        assert!(page.ends_with("</html>\n"));
    }

    #[test]
    fn template_mini_language() {
        assert_eq!(format_error_page("%(code)i %% %(other)s %(message)r %x", 1, "m", "e"), "1 % %(other)s m %x");
        assert_eq!(format_error_page("100%", 1, "", ""), "100%");
    }
}
