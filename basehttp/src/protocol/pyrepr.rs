//! Python's `repr()` of a `str`, used by CPython's error messages
//! (`"Bad request version (%r)"`, `"Unsupported method (%r)"`: BEHAVIOUR.md
//! appendix B).

/// `repr(text)` exactly as CPython 3.11 prints it for text decoded from
/// latin-1 request bytes.
///
/// ```
/// assert_eq!(basehttp::repr("SPAM"), "'SPAM'");
/// assert_eq!(basehttp::repr("HTTP/1'1"), "\"HTTP/1'1\"");
/// assert_eq!(basehttp::repr("a'b\"c"), "'a\\'b\"c'");
/// assert_eq!(basehttp::repr("\u{1}é\t"), "'\\x01é\\t'");
/// ```
pub fn repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_printable(c) => out.push(c),
            c if (c as u32) <= 0xff => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push(quote);
    out
}

/// `str.isprintable()` for the characters request text can hold (latin-1),
/// and a conservative answer (control and separator characters are not
/// printable) above it.
fn is_printable(c: char) -> bool {
    let u = c as u32;
    match u {
        0x20..=0x7e => true,
        0xa1..=0xff => u != 0xad,
        0x100.. => !c.is_control() && !c.is_whitespace(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::repr;

    #[test]
    fn quotes() {
        assert_eq!(repr(""), "''");
        assert_eq!(repr("'"), "\"'\"");
        assert_eq!(repr("\""), "'\"'");
        assert_eq!(repr("'\""), "'\\'\"'");
    }

    #[test]
    fn escapes() {
        assert_eq!(repr("\\"), "'\\\\'");
        assert_eq!(repr("\r\n"), "'\\r\\n'");
        assert_eq!(repr("\u{7f}\u{80}\u{a0}\u{a1}\u{ad}\u{ff}"), "'\\x7f\\x80\\xa0¡\\xadÿ'");
        assert_eq!(repr("\u{0}\u{1f}"), "'\\x00\\x1f'");
    }
}
