//! From a request target to a file under the root: CPython's
//! `translate_path` (query and fragment dropped, percent-decoded, `.` and
//! `..` resolved without ever climbing above the root), plus the refusals
//! CPython lacks, and the symlink containment check.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

/// A request target split the way the file server needs it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Target {
    /// The path's components under the root, percent-decoded, with `.`,
    /// `..` and empty ones resolved away.
    pub(crate) components: Vec<Vec<u8>>,
    /// The (undecoded) path ended with `/` (CPython: issue 17324).
    pub(crate) trailing_slash: bool,
    /// The path part of the target as sent (no query, no fragment).
    pub(crate) raw_path: Vec<u8>,
}

/// The request target's bytes: `Request::path` holds them decoded as
/// ISO-8859-1, one char per byte.
pub(crate) fn target_bytes(path: &str) -> Vec<u8> {
    path.chars().map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')).collect()
}

/// The path part of a request target: without `?query` and `#fragment`,
/// and without `scheme://authority` for an absolute-form target
/// (RFC 9112 §3.2.2).
pub(crate) fn path_part(target: &[u8]) -> &[u8] {
    let mut path = target;
    for scheme in [&b"http://"[..], b"https://"] {
        if path.len() >= scheme.len() && path[..scheme.len()].eq_ignore_ascii_case(scheme) {
            let rest = &path[scheme.len()..];
            path = rest.iter().position(|&b| b == b'/').map_or(&b""[..], |i| &rest[i..]);
            break;
        }
    }
    // CPython splits on '?' first, then on '#'.
    let path = path.split(|&b| b == b'?').next().unwrap_or_default();
    path.split(|&b| b == b'#').next().unwrap_or_default()
}

/// CPython's `translate_path`, on bytes. `None` when a component is refused:
/// one holding `\` (a separator on Windows, and the way to `/\host`
/// redirects), NUL (C strings end there), or a drive (`C:`), or on Windows
/// any `:` (alternate data streams). CPython serves or errors on these
/// depending on the platform; here they are a plain 404 everywhere.
pub(crate) fn translate(target: &str) -> Option<Target> {
    let bytes = target_bytes(target);
    let raw_path = path_part(&bytes).to_vec();
    // CPython: `path.rstrip().endswith('/')`, before decoding.
    let trailing_slash = raw_path.trim_ascii_end().ends_with(b"/");
    let decoded = percent_decode(&raw_path);
    let mut components: Vec<Vec<u8>> = Vec::new();
    for word in decoded.split(|&b| b == b'/') {
        match word {
            b"" | b"." => {}
            // posixpath.normpath: `..` removes the previous component and
            // never climbs above the root.
            b".." => {
                components.pop();
            }
            w if refused(w) => return None,
            w => components.push(w.to_vec()),
        }
    }
    Some(Target { components, trailing_slash, raw_path })
}

fn refused(word: &[u8]) -> bool {
    let drive = word.len() >= 2 && word[0].is_ascii_alphabetic() && word[1] == b':';
    drive || word.iter().any(|&b| b == b'\\' || b == 0 || (cfg!(windows) && b == b':'))
}

/// `urllib.parse.unquote` on bytes: `%XX` becomes the byte; a `%` not
/// followed by two hex digits stays as it is.
pub(crate) fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' && i + 2 < input.len() {
            if let (Some(h), Some(l)) = (hex(input[i + 1]), hex(input[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(input[i]);
        i += 1;
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// A path component from its bytes: any bytes on Unix; UTF-8 elsewhere.
pub(crate) fn os_component(bytes: &[u8]) -> Option<OsString> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Some(std::ffi::OsStr::from_bytes(bytes).to_owned())
    }
    #[cfg(not(unix))]
    {
        std::str::from_utf8(bytes).ok().map(OsString::from)
    }
}

/// A file name's bytes: exact on Unix; UTF-8 (lossy) elsewhere.
pub(crate) fn name_bytes(name: &std::ffi::OsStr) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        name.as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        name.to_string_lossy().into_owned().into_bytes()
    }
}

/// The lexical path of `target` under `root`, as CPython's
/// `translate_path` returns it (no file-system access).
pub(crate) fn join(root: &Path, target: &Target) -> Option<PathBuf> {
    let mut path = root.to_path_buf();
    for c in &target.components {
        path.push(os_component(c)?);
    }
    Some(path)
}

/// Resolves `path` (symlinks included) and returns it only when it exists
/// and stays inside `root`, which must already be canonical.
///
/// The check is on the canonical path, and the caller opens that canonical
/// path, so a symlink anywhere on the way is judged by where it really
/// points. What remains is a race with someone who can rename things inside
/// the served tree between this check and the `open`.
pub(crate) fn contained(canonical_root: &Path, path: &Path) -> Option<PathBuf> {
    let canonical = fs::canonicalize(path).ok()?;
    canonical.starts_with(canonical_root).then_some(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(target: &str) -> Option<Vec<String>> {
        translate(target).map(|t| t.components.iter().map(|c| String::from_utf8_lossy(c).into_owned()).collect())
    }

    #[test]
    fn like_cpython_translate_path() {
        assert_eq!(words("/a/b.txt?x=1#f").unwrap(), ["a", "b.txt"]);
        assert_eq!(words("/a/../b").unwrap(), ["b"]);
        assert_eq!(words("/../../etc/passwd").unwrap(), ["etc", "passwd"]);
        assert_eq!(words("/%2e%2e/%2E%2E/x").unwrap(), ["x"]);
        assert_eq!(words("/..%2f..%2fx").unwrap(), ["x"]);
        assert_eq!(words("/./a//b/.").unwrap(), ["a", "b"]);
        assert_eq!(words("/a%20b%zz%4").unwrap(), ["a b%zz%4"]);
        assert_eq!(words("http://host:8000/a/b?q").unwrap(), ["a", "b"]);
        assert_eq!(words("/a%3Fb").unwrap(), ["a?b"]);
    }

    #[test]
    fn refusals() {
        for bad in ["/..\\x", "/a%5c..%5cx", "/x%00.txt", "/C:/x", "/a/d%3A"] {
            assert_eq!(translate(bad), None, "{bad}");
        }
        // An alternate data stream on Windows, an ordinary name elsewhere.
        assert_eq!(translate("/file.txt%3A%3A$DATA").is_none(), cfg!(windows));
    }

    #[test]
    fn trailing_slash_and_raw_path() {
        let t = translate("/dir/?q=/").unwrap();
        assert!(t.trailing_slash);
        assert_eq!(t.raw_path, b"/dir/");
        assert!(!translate("/dir?q=/").unwrap().trailing_slash);
        assert!(translate("/dir/%2e").unwrap().components == [b"dir".to_vec()]);
    }

    #[test]
    fn latin1_target_to_bytes() {
        assert_eq!(target_bytes("/\u{e9}"), b"/\xe9");
        assert_eq!(percent_decode(b"%C3%A9%"), "é%".as_bytes());
    }
}
