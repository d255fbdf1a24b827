//! A port of CPython 3.11's `CGIHTTPServerTestCase`
//! (`Lib/test/test_httpservers.py`): the same tree (`cgi-bin/`,
//! `cgi-bin/child-dir/`, `sub/dir/cgi-bin/`, `nocgi.py` at the root), the
//! same scripts (`cgi_file1`, `cgi_file2`, `cgi_file4`, `cgi_file6`, written
//! by the tests with `\n` line endings, run by `/usr/bin/python3`), the same
//! requests and the same expectations, against
//! `basehttp::CGIHTTPRequestHandler` on HTTP/1.0 (CPython's default
//! `protocol_version`).
//!
//! The requests are written the way Python's `http.client` writes them
//! (`HTTP/1.1`, `Host`, `Accept-Encoding: identity`, `Content-Length` for a
//! body, then the test's headers in order) over a raw socket, and the
//! response is read until the server closes, as `HTTPResponse.read()`
//! does for an HTTP/1.0 answer.
//!
//! Not ported here: `test_url_collapse_path`, whose vectors are unit tests
//! of `url_collapse_path` in `basehttp/src/cgi/locate.rs`.
//!
//! Differences from CPython that the tests assert on purpose:
//! - `test_os_environ_is_not_altered`: CPython copies `os.environ` into the
//!   script's environment; ours is built from scratch, so the script does
//!   not see the test process's `SERVER_SOFTWARE` at all (it sees the
//!   server's own meta-variable);
//! - `test_accept`: without an `Accept` header CPython sets `HTTP_ACCEPT`
//!   to the empty string, we do not set it.

#[path = "cgi/support.rs"]
mod support;

use std::ffi::OsString;

use support::*;

/// The scripts' first line (`#!%s` in CPython, the interpreter's path).
fn shebang(script: &str) -> String {
    script.replacen("%PYTHON%", &python3().display().to_string(), 1)
}

/// `cgi_file1`: prints a `text/html` head and `Hello World`.
fn cgi_file1() -> String {
    shebang(
        r#"#!%PYTHON%

print("Content-type: text/html")
print()
print("Hello World")
"#,
    )
}

/// `cgi_file2`: reads `CONTENT_LENGTH` bytes of a urlencoded form from
/// stdin and prints three of its fields.
fn cgi_file2() -> String {
    shebang(
        r#"#!%PYTHON%
import os
import sys
import urllib.parse

print("Content-type: text/html")
print()

content_length = int(os.environ["CONTENT_LENGTH"])
query_string = sys.stdin.buffer.read(content_length)
params = {key.decode("utf-8"): val.decode("utf-8")
            for key, val in urllib.parse.parse_qsl(query_string)}

print("%s, %s, %s" % (params["spam"], params["eggs"], params["bacon"]))
"#,
    )
}

/// `cgi_file4`: prints the environment variable `name`.
fn cgi_file4(name: &str) -> String {
    shebang(
        &r#"#!%PYTHON%
import os

print("Content-type: text/html")
print()

print(os.environ["%NAME%"])
"#
        .replace("%NAME%", name),
    )
}

/// `cgi_file6`: an extra header field, then every (ASCII) environment
/// variable as `NAME=value` between `<pre>` lines.
fn cgi_file6() -> String {
    shebang(
        r#"#!%PYTHON%
import os

print("X-ambv: was here")
print("Content-type: text/html")
print()
print("<pre>")
for k, v in os.environ.items():
    try:
        k.encode('ascii')
        v.encode('ascii')
    except UnicodeEncodeError:
        continue  # see: BPO-44647
    print(f"{k}={v}")
print("</pre>")
"#,
    )
}

/// `os.linesep` on POSIX: what `print()` ends its lines with.
const LINESEP: &str = "\n";

/// `setUp()`: the tree and its scripts, and a server over it. The server
/// is declared first so that it stops before the tree is removed.
struct Fixture {
    server: TestServer,
    tree: CgiTree,
}

impl Fixture {
    fn new() -> Fixture {
        Self::with(|h| h)
    }

    /// The fixture, with the handler adjusted by `configure`.
    fn with(configure: impl FnOnce(basehttp::CGIHTTPRequestHandler) -> basehttp::CGIHTTPRequestHandler) -> Fixture {
        let tree = CgiTree::new();
        tree.dir("cgi-bin/child-dir");
        tree.dir("sub/dir/cgi-bin");
        tree.script("nocgi.py", &cgi_file1());
        tree.script("cgi-bin/file1.py", &cgi_file1());
        tree.script("cgi-bin/file2.py", &cgi_file2());
        tree.script("cgi-bin/child-dir/file3.py", &cgi_file1());
        tree.script("cgi-bin/file4.py", &cgi_file4("QUERY_STRING"));
        tree.script("sub/dir/cgi-bin/file5.py", &cgi_file1());
        tree.script("cgi-bin/file6.py", &cgi_file6());
        // CPython's handler: protocol_version HTTP/1.0.
        let server = serve(configure(tree.handler()), false);
        Fixture { server, tree }
    }

    /// `BaseTestCase.request(uri, method, body, headers)`.
    fn request(&self, method: &str, uri: &str, body: &[u8], headers: &[(&str, &str)]) -> Response {
        let mut head =
            format!("{method} {uri} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAccept-Encoding: identity\r\n", self.server.port);
        // http.client: a Content-Length for a body, and for the methods
        // that expect one.
        if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let mut client = self.server.connect();
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        client.send(&bytes);
        // HTTP/1.0: the body ends where the server closes.
        Response::parse(&client.read_to_end())
    }

    fn get(&self, uri: &str) -> Response {
        self.request("GET", uri, b"", &[])
    }
}

/// An `http.client.HTTPResponse`, read whole.
struct Response {
    status: u16,
    reason: String,
    head: Vec<u8>,
    body: Vec<u8>,
}

impl Response {
    fn parse(data: &[u8]) -> Response {
        let end = find(data, b"\r\n\r\n").unwrap_or_else(|| panic!("no response head in {:?}", latin1(data)));
        let head = data[..end + 4].to_vec();
        let status_line = latin1(&head[..find(&head, b"\r\n").unwrap()]);
        let mut words = status_line.splitn(3, ' ');
        let version = words.next().unwrap_or_default();
        assert_eq!(version, "HTTP/1.0", "status line {status_line:?}");
        let status = words.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("status line {status_line:?}"));
        let reason = words.next().unwrap_or_default().to_owned();
        let mut body = data[end + 4..].to_vec();
        if let Some(length) = header_value(&head, "Content-Length") {
            let length: usize = length.trim().parse().expect("Content-Length");
            assert!(body.len() >= length, "body shorter than its Content-Length: {:?}", latin1(data));
            body.truncate(length);
        }
        Response { status, reason, head, body }
    }

    /// `getheader(name)`.
    fn header(&self, name: &str) -> Option<String> {
        header_value(&self.head, name)
    }

    /// `(res.read(), res.getheader('Content-type'), res.status)`.
    fn triple(&self) -> (String, Option<String>, u16) {
        (latin1(&self.body), self.header("Content-type"), self.status)
    }

    /// The body's lines (`NAME=value` for `cgi_file6`).
    fn lines(&self) -> Vec<String> {
        latin1(&self.body).lines().map(str::to_owned).collect()
    }
}

/// CPython's expectation for `cgi_file1`: `Hello World`, `text/html`, 200.
#[track_caller]
fn assert_hello(res: &Response) {
    let hello = (format!("Hello World{LINESEP}"), Some("text/html".to_owned()), 200);
    assert_eq!(res.triple(), hello, "head: {:?}", latin1(&res.head));
}

#[test]
fn test_headers_and_content() {
    let f = Fixture::new();
    let res = f.get("/cgi-bin/file1.py");
    assert_hello(&res);
}

#[test]
fn test_issue19435() {
    let f = Fixture::new();
    let res = f.get("///////////nocgi.py/../cgi-bin/nothere.sh");
    assert_eq!(res.status, 404, "{:?}", latin1(&res.head));
    // The collapsed path names a script in cgi-bin that does not exist
    // (CPython: "No such CGI script (%r)").
    assert_eq!(res.reason, "No such CGI script ('/cgi-bin/nothere.sh')");
    // And nocgi.py, outside the CGI directories, did not run.
    assert!(!latin1(&res.body).contains("Hello World"), "{:?}", latin1(&res.body));
}

#[test]
fn test_post() {
    let f = Fixture::new();
    // urllib.parse.urlencode({'spam': 1, 'eggs': 'python', 'bacon': 123456})
    let params = "spam=1&eggs=python&bacon=123456";
    let res = f.request(
        "POST",
        "/cgi-bin/file2.py",
        params.as_bytes(),
        &[("Content-type", "application/x-www-form-urlencoded")],
    );
    assert_eq!(res.status, 200, "{:?}", latin1(&res.head));
    assert_eq!(latin1(&res.body), format!("1, python, 123456{LINESEP}"));
}

#[test]
fn test_invaliduri() {
    let f = Fixture::new();
    let res = f.get("/cgi-bin/invalid");
    assert_eq!(res.status, 404, "{:?}", latin1(&res.head));
    assert_eq!(res.reason, "No such CGI script ('/cgi-bin/invalid')");
}

#[test]
fn test_authorization() {
    let f = Fixture::new();
    // b'Basic ' + base64.b64encode(b'username:pass')
    let auth = [("Authorization", "Basic dXNlcm5hbWU6cGFzcw==")];
    let res = f.request("GET", "/cgi-bin/file1.py", b"", &auth);
    assert_hello(&res);

    // What the script is told (CPython sets the same two variables, and
    // passes no HTTP_AUTHORIZATION either).
    let res = f.request("GET", "/cgi-bin/file6.py", b"", &auth);
    assert_eq!(res.status, 200, "{:?}", latin1(&res.head));
    let lines = res.lines();
    assert!(lines.contains(&"AUTH_TYPE=Basic".to_owned()), "{lines:?}");
    assert!(lines.contains(&"REMOTE_USER=username".to_owned()), "{lines:?}");
    assert!(!lines.iter().any(|l| l.starts_with("HTTP_AUTHORIZATION=")), "{lines:?}");
}

#[test]
fn test_no_leading_slash() {
    // http://bugs.python.org/issue2254: http.client sends the target as
    // given, `GET cgi-bin/file1.py HTTP/1.1`.
    let f = Fixture::new();
    let res = f.get("cgi-bin/file1.py");
    assert_hello(&res);
}

/// Restores (or removes) an environment variable of this process when dropped.
struct EnvGuard {
    name: &'static str,
    old: Option<OsString>,
}

impl Drop for EnvGuard {
    fn drop(&mut self) {
        match self.old.take() {
            Some(old) => std::env::set_var(self.name, old),
            None => std::env::remove_var(self.name),
        }
    }
}

#[test]
fn test_os_environ_is_not_altered() {
    let f = Fixture::new();
    f.tree.script("cgi-bin/software.py", &cgi_file4("SERVER_SOFTWARE"));
    let signature = "Test CGI Server";
    let _guard = EnvGuard { name: "SERVER_SOFTWARE", old: std::env::var_os("SERVER_SOFTWARE") };
    std::env::set_var("SERVER_SOFTWARE", signature);

    let res = f.get("/cgi-bin/file1.py");
    assert_hello(&res);
    assert_eq!(std::env::var("SERVER_SOFTWARE").as_deref(), Ok(signature));

    // Our difference: the script's environment is built, not copied from
    // the server's, so the test's SERVER_SOFTWARE does not reach it; the
    // script sees the server's own SERVER_SOFTWARE meta-variable.
    let res = f.get("/cgi-bin/software.py");
    assert_eq!(res.status, 200, "{:?}", latin1(&res.head));
    let seen = latin1(&res.body);
    assert_ne!(seen.trim_end(), signature, "the server's environment leaked into the script");
    assert!(seen.starts_with("SimpleHTTP/0.6"), "SERVER_SOFTWARE seen by the script: {seen:?}");
    let res = f.get("/cgi-bin/file6.py");
    assert!(!latin1(&res.body).contains(signature), "{:?}", latin1(&res.body));

    // And running scripts did not change the process's environment.
    assert_eq!(std::env::var("SERVER_SOFTWARE").as_deref(), Ok(signature));
}

#[test]
fn test_urlquote_decoding_in_cgi_check() {
    let f = Fixture::new();
    let res = f.get("/cgi-bin%2ffile1.py");
    assert_hello(&res);
}

#[test]
fn test_nested_cgi_path_issue21323() {
    let f = Fixture::new();
    let res = f.get("/cgi-bin/child-dir/file3.py");
    assert_hello(&res);
}

#[test]
fn test_query_with_multiple_question_mark() {
    let f = Fixture::new();
    let res = f.get("/cgi-bin/file4.py?a=b?c=d");
    assert_eq!(res.triple(), (format!("a=b?c=d{LINESEP}"), Some("text/html".to_owned()), 200));
}

#[test]
fn test_query_with_continuous_slashes() {
    let f = Fixture::new();
    let res = f.get("/cgi-bin/file4.py?k=aa%2F%2Fbb&//q//p//=//a//b//");
    assert_eq!(res.triple(), (format!("k=aa%2F%2Fbb&//q//p//=//a//b//{LINESEP}"), Some("text/html".to_owned()), 200));
}

#[test]
fn test_cgi_path_in_sub_directories() {
    // CPython appends '/sub/dir/cgi-bin' to the class's cgi_directories
    // for the duration of the test; here the one handler is configured so.
    let f = Fixture::with(|h| h.with_cgi_directories(["/cgi-bin", "/htbin", "/sub/dir/cgi-bin"]));
    let res = f.get("/sub/dir/cgi-bin/file5.py");
    assert_hello(&res);

    // Without it, the same path is not a CGI path: the file is served as is.
    let f = Fixture::new();
    let res = f.get("/sub/dir/cgi-bin/file5.py");
    assert_eq!(res.status, 200, "{:?}", latin1(&res.head));
    assert_eq!(latin1(&res.body), cgi_file1());
}

/// Request header fields, in order.
type Headers<'a> = &'a [(&'a str, &'a str)];

#[test]
fn test_accept() {
    let f = Fixture::new();
    let browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let cases: [(Headers<'_>, Option<&str>); 3] = [
        (&[("Accept", browser_accept)], Some(browser_accept)),
        // CPython sets HTTP_ACCEPT= (empty) here; we do not set it at all
        // (RFC 3875 §4.1.18: one variable per header the client sent).
        (&[], None),
        // Two fields of the one header, joined with ','.
        (&[("Accept", "text/html"), ("ACCEPT", "text/plain")], Some("text/html,text/plain")),
    ];
    for (headers, expected) in cases {
        let res = f.request("GET", "/cgi-bin/file6.py", b"", headers);
        assert_eq!(res.status, 200, "{headers:?}: {:?}", latin1(&res.head));
        assert_eq!(res.header("X-ambv").as_deref(), Some("was here"), "{headers:?}: {:?}", latin1(&res.head));
        let lines = res.lines();
        assert_eq!(lines.first().map(String::as_str), Some("<pre>"), "{headers:?}: {lines:?}");
        assert_eq!(lines.last().map(String::as_str), Some("</pre>"), "{headers:?}: {lines:?}");
        let accept: Vec<&String> = lines.iter().filter(|l| l.starts_with("HTTP_ACCEPT=")).collect();
        match expected {
            Some(value) => assert_eq!(accept, [&format!("HTTP_ACCEPT={value}")], "{headers:?}"),
            None => assert!(accept.is_empty(), "no Accept header, yet {accept:?}"),
        }
    }
}
