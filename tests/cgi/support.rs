//! Helpers for the CGI tests: a served tree with scripts written by the
//! test (readable by `nobody`, whom scripts run as when the tests run as
//! root), a scratch directory outside it, the interpreters found the way
//! `.ci/run` installs them, a server over the tree, and a raw-socket
//! reader of its responses (framed by `Content-Length`, chunked, or the
//! close).
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use basehttp::{CGIHTTPRequestHandler, HTTPServer, ServerConfig};

#[path = "../support/mod.rs"]
mod base;
pub use base::*;

/// A temporary directory served by the tests; removed when dropped.
pub struct CgiTree {
    pub root: PathBuf,
}

impl CgiTree {
    /// A fresh tree with an empty `cgi-bin/`.
    pub fn new() -> CgiTree {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let root = std::env::temp_dir().join(format!("basehttp-cgi-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let tree = CgiTree { root };
        tree.dir("cgi-bin");
        tree
    }

    /// A directory (and its parents) under the root, mode 0755.
    pub fn dir(&self, rel: &str) -> PathBuf {
        let path = self.root.join(rel);
        fs::create_dir_all(&path).unwrap();
        let mut at = path.clone();
        while at.starts_with(&self.root) {
            fs::set_permissions(&at, fs::Permissions::from_mode(0o755)).unwrap();
            if !at.pop() {
                break;
            }
        }
        path
    }

    /// A file with `mode` (0755 for a script, 0644 for a plain file).
    pub fn file_mode(&self, rel: &str, content: &[u8], mode: u32) -> PathBuf {
        let path = self.root.join(rel);
        if let Some(parent) = Path::new(rel).parent().filter(|p| !p.as_os_str().is_empty()) {
            self.dir(parent.to_str().unwrap());
        }
        fs::write(&path, content).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    /// An executable script (mode 0755).
    pub fn script(&self, rel: &str, content: &str) -> PathBuf {
        self.file_mode(rel, content.as_bytes(), 0o755)
    }

    /// A plain file (mode 0644).
    pub fn file(&self, rel: &str, content: &[u8]) -> PathBuf {
        self.file_mode(rel, content, 0o644)
    }

    /// The CGI handler over this tree, with `python3()` as the interpreter.
    pub fn handler(&self) -> CGIHTTPRequestHandler {
        CGIHTTPRequestHandler::new(&self.root).with_interpreter([python3().into_os_string(), "-u".into()])
    }
}

impl Drop for CgiTree {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// Makes a directory of the tree writable by `nobody`, whom scripts run as.
pub fn open_up(dir: &Path) {
    fs::set_permissions(dir, fs::Permissions::from_mode(0o777)).unwrap();
}

/// A directory of the tree where scripts (run as `nobody`) may write.
pub fn writable_dir(tree: &CgiTree, rel: &str) -> PathBuf {
    let dir = tree.dir(rel);
    open_up(&dir);
    dir
}

/// A scratch directory outside the served tree (mode 0755, so `nobody`
/// may pass through it), removed when dropped.
pub struct Scratch {
    pub root: PathBuf,
}

impl Scratch {
    /// A fresh, empty `basehttp-cgi-{tag}-…` under the temporary directory.
    pub fn new(tag: &str) -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let root = std::env::temp_dir().join(format!("basehttp-cgi-{tag}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).unwrap();
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).unwrap();
        Scratch { root }
    }

    /// `rel` under the root.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// A Python 3 that `nobody` may run (scripts run as `nobody` when the
/// tests run as root, and a pyenv under /root is out of its reach):
/// Debian's, which `.ci/run` installs. Panics when there is none: a test
/// that needs it must not pass without it.
pub fn python3() -> PathBuf {
    for candidate in ["/usr/bin/python3", "/usr/local/bin/python3"] {
        if Path::new(candidate).exists() {
            return PathBuf::from(candidate);
        }
    }
    panic!("no /usr/bin/python3: install it (apt-get install python3; .ci/run does)")
}

/// A server over `handler` on 127.0.0.1:0, HTTP/1.1 (`http11 == true`) or
/// HTTP/1.0, the default configuration otherwise.
pub fn serve(handler: CGIHTTPRequestHandler, http11: bool) -> TestServer {
    serve_with(handler, http11, ServerConfig::default())
}

/// [`serve`] with a configuration.
pub fn serve_with(handler: CGIHTTPRequestHandler, http11: bool, config: ServerConfig) -> TestServer {
    TestServer::start_with(
        move || handler.clone(),
        config,
        |s: &mut HTTPServer<CGIHTTPRequestHandler>| {
            if http11 {
                s.class_mut().protocol_version = "HTTP/1.1".to_owned();
            }
        },
    )
}

// ---------------------------------------------------------------------------
// Responses, read off a raw socket
// ---------------------------------------------------------------------------

/// One parsed response.
pub struct Response {
    /// The status line, without its CRLF.
    pub status_line: String,
    pub status: u16,
    /// The header fields, in order.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked if it was chunked.
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Response {
    /// The whole response as text (the body de-chunked, cut at 4 KiB).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dump = self.dump();
        match dump.char_indices().nth(4096) {
            Some((at, _)) => write!(f, "{:?}…", &dump[..at]),
            None => write!(f, "{dump:?}"),
        }
    }
}

impl Response {
    /// Every value of `name` (case-insensitive).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    }

    /// The only value of `name`, if any (panics on a repeated field).
    pub fn header(&self, name: &str) -> Option<&str> {
        let all = self.all(name);
        assert!(all.len() <= 1, "{name} sent {} times: {self:?}", all.len());
        all.first().copied()
    }

    /// The body as text (chars are bytes).
    pub fn text(&self) -> String {
        latin1(&self.body)
    }

    /// Status line, fields and body, as text (chars are bytes).
    pub fn dump(&self) -> String {
        let fields: String = self.headers.iter().map(|(n, v)| format!("{n}: {v}\r\n")).collect();
        format!("{}\r\n{fields}\r\n{}", self.status_line, self.text())
    }

    /// Whether the body was sent chunked.
    pub fn chunked(&self) -> bool {
        self.header("Transfer-Encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    }
}

/// Parses a response head (up to and including its blank line).
pub fn parse_head(head: &[u8]) -> (String, u16, Vec<(String, String)>) {
    let text = latin1(head);
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_owned();
    let status = status_line.get(9..12).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("{text:?}"));
    let headers = lines
        .take_while(|l| !l.is_empty())
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap_or_else(|| panic!("not a field: {l:?} in {text:?}"));
            (n.to_owned(), v.trim().to_owned())
        })
        .collect();
    (status_line, status, headers)
}

/// A chunked body, read to its last chunk and its trailer section, which
/// must be empty (the server sends no trailers).
pub fn read_chunked(c: &mut Client) -> Vec<u8> {
    let mut body = Vec::new();
    // Bounded: every read is (IO_TIMEOUT), and so is the number of chunks.
    for _ in 0..1_000_000 {
        let line = c.read_until(b"\r\n");
        let line = latin1(&line[..line.len() - 2]);
        let size = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16).unwrap_or_else(|_| panic!("bad chunk size line {line:?}"));
        if size == 0 {
            assert_eq!(c.read_until(b"\r\n"), b"\r\n", "no trailers expected");
            return body;
        }
        body.extend_from_slice(&c.read_exact_n(size));
        assert_eq!(c.read_exact_n(2), b"\r\n", "a chunk must end with CRLF");
    }
    panic!("more than a million chunks");
}

/// One response from `c`: the head, then the body as its framing says
/// (none for `HEAD`; chunked; `Content-Length`; else up to the close).
pub fn read_response(c: &mut Client, head_request: bool) -> Response {
    let head = c.read_until(b"\r\n\r\n");
    let (status_line, status, headers) = parse_head(&head);
    let mut response = Response { status_line, status, headers, body: Vec::new() };
    if head_request || matches!(status, 100..=199 | 204 | 304) {
        return response;
    }
    response.body = if response.chunked() {
        read_chunked(c)
    } else if let Some(n) = response.header("Content-Length") {
        c.read_exact_n(n.parse().unwrap())
    } else {
        let (body, closed) = c.read_for(IO_TIMEOUT);
        assert!(closed, "a close-delimited body must end with the close; got {:?}", latin1(&body));
        body
    };
    response
}

/// `METHOD path` on HTTP/1.1 with `Connection: close`: one response, then
/// nothing but the close (checked).
pub fn request(server: &TestServer, method: &str, path: &str) -> Response {
    let mut c = server.connect();
    c.send(format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").as_bytes());
    let response = read_response(&mut c, method == "HEAD");
    let rest = c.read_to_end();
    assert!(rest.is_empty(), "bytes after the response to {method} {path}: {:?}", latin1(&rest));
    response
}

/// [`request`] with `GET`.
pub fn get(server: &TestServer, path: &str) -> Response {
    request(server, "GET", path)
}
