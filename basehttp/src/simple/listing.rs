//! The directory page: CPython's `list_directory`, names HTML-escaped for
//! display and percent-encoded in links.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;

use super::path::name_bytes;

/// One directory entry as the page shows it.
struct Entry {
    /// The name's bytes (exact on Unix, so links work for any name).
    name: Vec<u8>,
    /// Sort key: Python's `name.lower()`.
    key: String,
    is_dir: bool,
    is_link: bool,
}

/// The HTML page listing `dir`, titled with `display_path` (the decoded
/// request path). Fails when the directory cannot be read.
pub(crate) fn render(dir: &Path, display_path: &str) -> io::Result<String> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = name_bytes(&entry.file_name());
        let is_link = entry.file_type().is_ok_and(|t| t.is_symlink());
        // os.path.isdir follows symlinks: a link to a folder links with `/`.
        let is_dir = fs::metadata(entry.path()).is_ok_and(|m| m.is_dir());
        let key = String::from_utf8_lossy(&name).to_lowercase();
        entries.push(Entry { name, key, is_dir, is_link });
    }
    // list.sort(key=lambda a: a.lower()); ties by name, so the page does not
    // depend on the order the file system returns.
    entries.sort_by(|a, b| a.key.cmp(&b.key).then_with(|| a.name.cmp(&b.name)));

    let title = format!("Directory listing for {}", escape(display_path));
    let mut page = String::with_capacity(512 + entries.len() * 96);
    page.push_str("<!DOCTYPE HTML>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = write!(page, "<title>{title}</title>\n</head>\n<body>\n<h1>{title}</h1>\n<hr>\n<ul>\n");
    for e in &entries {
        let mut link = e.name.clone();
        let mut display = String::from_utf8_lossy(&e.name).into_owned();
        // CPython: `/` after folders, then `@` instead for symlinks (the
        // link of a symlink to a folder still ends in `/`).
        if e.is_dir {
            link.push(b'/');
            display.push('/');
        }
        if e.is_link {
            display = String::from_utf8_lossy(&e.name).into_owned() + "@";
        }
        let _ = writeln!(page, "<li><a href=\"{}\">{}</a></li>", quote(&link), escape(&display));
    }
    page.push_str("</ul>\n<hr>\n</body>\n</html>\n");
    Ok(page)
}

/// `html.escape(text)`: `&`, `<`, `>`, `"` and `'`. CPython escapes only
/// the first three in its listing (`quote=False`); the quotes are escaped
/// too so that a name is safe in any position of the page.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// `urllib.parse.quote(name)`: every byte but ASCII letters, digits,
/// `_.-~` and `/` becomes `%XX`.
pub(crate) fn quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'~' | b'/') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_like_python() {
        assert_eq!(quote(b"a b#c?d%e/f~g"), "a%20b%23c%3Fd%25e/f~g");
        assert_eq!(quote("é\"<".as_bytes()), "%C3%A9%22%3C");
    }

    #[test]
    fn escape_html() {
        assert_eq!(escape("<a href='x'>&\"</a>"), "&lt;a href=&#x27;x&#x27;&gt;&amp;&quot;&lt;/a&gt;");
    }
}
