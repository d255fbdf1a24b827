//! From a request path to a CGI script: CPython's `_url_collapse_path`,
//! `is_cgi` and the part of `run_cgi` that splits the path into the
//! script's directory, its name, `PATH_INFO` and the query.
//!
//! Paths here are text whose chars are the request's bytes (ISO-8859-1,
//! one char per byte, like [`Request::path`](crate::Request::path)), so a
//! percent-decoded name maps back to the exact bytes of a file name.

use crate::protocol::headers::latin1;
use crate::simple::path::{percent_decode, target_bytes};

/// CPython's `_url_collapse_path(path)`: the path part percent-decoded,
/// `.` and `..` resolved and empty segments dropped, always of the form
/// `head/tail` where `head` starts with `/`; the query (after the first
/// `?`) is kept undecoded on the tail. `None` where CPython raises
/// `IndexError`: a `..` that would climb above the root.
///
/// ```text
/// ""                 -> "//"
/// "/a/b/c/../d"      -> "/a/b/d"
/// "cgi-bin/x.py?q=1" -> "/cgi-bin/x.py?q=1"
/// "/.."              -> None
/// ```
pub(crate) fn url_collapse_path(path: &str) -> Option<String> {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let path = latin1(&percent_decode(&target_bytes(path)));
    let mut parts: Vec<&str> = path.split('/').collect();
    let last = parts.pop().unwrap_or_default();
    let mut head: Vec<&str> = Vec::new();
    for part in parts {
        match part {
            ".." => {
                head.pop()?;
            }
            "" | "." => {}
            part => head.push(part),
        }
    }
    let tail = match last {
        ".." => {
            head.pop()?;
            ""
        }
        "." => "",
        tail => tail,
    };
    let mut collapsed = format!("/{}/{tail}", head.join("/"));
    if !query.is_empty() {
        collapsed.push('?');
        collapsed.push_str(query);
    }
    Some(collapsed)
}

/// CPython's `is_cgi()`: the collapsed path split after the first of its
/// leading directories that is one of `cgi_directories` (compared exactly,
/// case-sensitive), as `(directory, rest)`; `None` when the path is not
/// under one (or cannot be collapsed).
pub(crate) fn split_cgi(path: &str, cgi_directories: &[String]) -> Option<(String, String)> {
    let collapsed = url_collapse_path(path)?;
    let mut from = 1;
    loop {
        let sep = from + collapsed.get(from..)?.find('/')?;
        if cgi_directories.iter().any(|d| *d == collapsed[..sep]) {
            return Some((collapsed[..sep].to_owned(), collapsed[sep + 1..].to_owned()));
        }
        from = sep + 1;
    }
}

/// Where a CGI request points: the script's URL path and what follows it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ScriptPath {
    /// `SCRIPT_NAME`: the directory (nested ones included) and the script.
    pub(crate) script_name: String,
    /// `PATH_INFO`: what follows the script name, decoded, from its `/` on
    /// (empty when nothing does).
    pub(crate) path_info: String,
    /// `QUERY_STRING`: after the first `?`, as sent (not decoded).
    pub(crate) query: String,
}

/// The first part of CPython's `run_cgi()`: walks down from `dir` through
/// the leading segments of `rest` for as long as they are directories
/// (`is_dir` answers for a URL path), then splits the query at the first
/// `?` and the script name from `PATH_INFO` at the next `/`.
pub(crate) fn split_script(dir: &str, rest: &str, is_dir: impl Fn(&str) -> bool) -> ScriptPath {
    let path = format!("{dir}/{rest}");
    let (mut dir_len, mut rest_at) = (dir.len(), dir.len() + 1);
    while let Some(i) = path.get(dir_len + 1..).and_then(|s| s.find('/')).map(|i| i + dir_len + 1) {
        if !is_dir(&path[..i]) {
            break;
        }
        (dir_len, rest_at) = (i, i + 1);
    }
    let rest = path.get(rest_at..).unwrap_or_default();
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (script, path_info) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    ScriptPath {
        script_name: format!("{}/{script}", &path[..dir_len]),
        path_info: path_info.to_owned(),
        query: query.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CPython 3.11's `test_url_collapse_path` vectors (`None` = IndexError).
    #[test]
    fn like_cpython_url_collapse_path() {
        let vectors: &[(&str, Option<&str>)] = &[
            ("", Some("//")),
            ("..", None),
            ("/.//..", None),
            ("/", Some("//")),
            ("//", Some("//")),
            ("/\\", Some("//\\")),
            ("/.//", Some("//")),
            ("cgi-bin/file1.py", Some("/cgi-bin/file1.py")),
            ("/cgi-bin/file1.py", Some("/cgi-bin/file1.py")),
            ("a", Some("//a")),
            ("/a", Some("//a")),
            ("//a", Some("//a")),
            ("./a", Some("//a")),
            ("./C:/", Some("/C:/")),
            ("/a/b", Some("/a/b")),
            ("/a/b/", Some("/a/b/")),
            ("/a/b/.", Some("/a/b/")),
            ("/a/b/c/..", Some("/a/b/")),
            ("/a/b/c/../d", Some("/a/b/d")),
            ("/a/b/c/../d/e/../f", Some("/a/b/d/f")),
            ("/a/b/c/../d/e/../../f", Some("/a/b/f")),
            ("/a/b/c/../d/e/.././././..//f", Some("/a/b/f")),
            ("../a/b/c/../d/e/.././././..//f", None),
            ("/a/b/c/../d/e/../../../f", Some("/a/f")),
            ("/a/b/c/../d/e/../../../../f", Some("//f")),
            ("/a/b/c/../d/e/../../../../../f", None),
            ("/a/b/c/../d/e/../../../../f/..", Some("//")),
            ("/a/b/c/../d/e/../../../../f/../.", Some("//")),
        ];
        for (path, expected) in vectors {
            assert_eq!(url_collapse_path(path).as_deref(), *expected, "path = {path:?}");
        }
    }

    #[test]
    fn query_and_decoding() {
        assert_eq!(url_collapse_path("/cgi-bin%2ffile1.py").unwrap(), "/cgi-bin/file1.py");
        assert_eq!(url_collapse_path("/a/x.py?k=aa%2F%2Fbb&//q//").unwrap(), "/a/x.py?k=aa%2F%2Fbb&//q//");
        assert_eq!(url_collapse_path("/cgi-bin/%2e%2e/x").unwrap(), "//x");
        assert_eq!(url_collapse_path("/caf%C3%A9").unwrap(), "//caf\u{c3}\u{a9}");
    }

    fn dirs() -> Vec<String> {
        vec!["/cgi-bin".into(), "/htbin".into(), "/sub/dir/cgi-bin".into()]
    }

    #[test]
    fn is_cgi_splits_after_a_cgi_directory() {
        let split = |p: &str| split_cgi(p, &dirs());
        assert_eq!(split("/cgi-bin/file1.py"), Some(("/cgi-bin".into(), "file1.py".into())));
        assert_eq!(split("cgi-bin/file1.py"), Some(("/cgi-bin".into(), "file1.py".into())));
        assert_eq!(split("/sub/dir/cgi-bin/f.py?x"), Some(("/sub/dir/cgi-bin".into(), "f.py?x".into())));
        assert_eq!(split("/cgi-bin/"), Some(("/cgi-bin".into(), String::new())));
        assert_eq!(split("/cgi-bin"), None);
        assert_eq!(split("/cgi-binx/f.py"), None);
        assert_eq!(split("/CGI-BIN/f.py"), None);
        assert_eq!(split("/cgi-bin/../x.py"), None);
        assert_eq!(split("/.."), None);
        assert_eq!(split("/x/../cgi-bin/f.py"), Some(("/cgi-bin".into(), "f.py".into())));
    }

    #[test]
    fn run_cgi_split() {
        let nested = |p: &str| p == "/cgi-bin/child-dir";
        assert_eq!(
            split_script("/cgi-bin", "child-dir/file3.py/extra/path?a=b?c=d", nested),
            ScriptPath {
                script_name: "/cgi-bin/child-dir/file3.py".into(),
                path_info: "/extra/path".into(),
                query: "a=b?c=d".into(),
            }
        );
        let none = |_: &str| false;
        let q = split_script("/cgi-bin", "file4.py?k=aa%2F%2Fbb&//q//p//=//a//b//", none);
        assert_eq!((q.script_name.as_str(), q.path_info.as_str()), ("/cgi-bin/file4.py", ""));
        assert_eq!(q.query, "k=aa%2F%2Fbb&//q//p//=//a//b//");
        assert_eq!(split_script("/cgi-bin", "", none).script_name, "/cgi-bin/");
    }
}
