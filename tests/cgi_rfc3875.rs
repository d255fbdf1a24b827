//! `CGIHTTPRequestHandler` against RFC 3875 and the promises of
//! `basehttp/src/cgi.rs` (and its modules), over real sockets with real
//! scripts (`/bin/sh`, and `/usr/bin/python3` where Python is needed):
//!
//! - the meta-variables (§4.1): `SERVER_*`, `GATEWAY_INTERFACE`,
//!   `REQUEST_METHOD`, `SCRIPT_NAME`, `PATH_INFO`, `PATH_TRANSLATED`,
//!   `QUERY_STRING`, `REMOTE_ADDR`, `CONTENT_*`, `AUTH_TYPE`/`REMOTE_USER`,
//!   `HTTP_*` (joined repeats, `Cookie` with `; `) and the ones that must
//!   not be there (`HTTP_PROXY`, `HTTP_AUTHORIZATION` unless asked for,
//!   `HTTP_CONTENT_*`, a name with `_`);
//! - a clean environment: nothing of the server's own besides `PATH` and
//!   the locale, `with_pass_env` and `with_env`;
//! - the script's head (§6): `Status`, `Location` (client redirects, with
//!   a status or other fields; local redirects, a `HEAD` kept a `HEAD`, a
//!   `POST` turned into a `GET` without its body's length, loops ended),
//!   `204`/`304` without a body, and the `502` for a head that is no head;
//! - the framing of the script's body: `Content-Length`, chunked on
//!   HTTP/1.1 with the connection kept, close-delimited on HTTP/1.0, `HEAD`,
//!   streaming as the script writes, `nph-` scripts passed through;
//! - the script's `Content-Length` kept to (short: the connection
//!   closes; long: the extra bytes never reach the wire);
//! - request bodies to stdin (`Content-Length`, a 10 MiB chunked upload
//!   with no `CONTENT_LENGTH`, a script that writes 1 MiB before it reads
//!   1 MiB, a script that ignores a large body, a slow body that is no
//!   script timeout);
//! - how a script runs: in its own directory, as `nobody` without root's
//!   groups or capabilities, without arguments; `500` when it cannot start;
//!   header bytes passed unchanged;
//! - stderr to the server log;
//! - the timeout (`504`, the script and its children killed; a response
//!   cut short when the script stops in the middle; a script that keeps
//!   writing runs past it), no zombies, 32 scripts at once, and a client
//!   that hangs up killing its script.
//!
//! The tests run as root, so the server runs the scripts as `nobody`:
//! everything a script reads is under a [`CgiTree`] (mode 0755) and
//! everything it writes goes to a directory of the tree made 0777.

#[path = "cgi/support.rs"]
mod support;

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use basehttp::CGIHTTPRequestHandler;
use support::{
    get, latin1, logs, parse_head, poll, read_response, serve, writable_dir, CgiTree, Client, Response, TestServer,
    IO_TIMEOUT,
};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Sends `request` on a new connection and reads one response.
fn roundtrip(server: &TestServer, request: &str) -> Response {
    let mut c = server.connect();
    c.send(request.as_bytes());
    read_response(&mut c, request.starts_with("HEAD "))
}

/// `KEY=value` lines (what `env` prints) as a map.
fn env_map(text: &str) -> HashMap<String, String> {
    text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

/// A script printing its whole environment.
const ENV_SCRIPT: &str = "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nexec env\n";

/// The pid a script wrote to `path`, waited for (bounded).
fn read_pid(path: &Path, limit: Duration) -> u32 {
    poll(limit, || fs::read_to_string(path).ok()?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{} was not written within {limit:?}", path.display()))
}

/// The state letter and the parent of a process, `None` once it is gone.
fn proc_state(pid: u32) -> Option<(char, u32)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let mut fields = after.split(' ');
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Waits (bounded) until `pid` no longer runs: gone, or a zombie left to
/// someone other than this process (a script's own child, orphaned when
/// the script was killed, is `init`'s to reap). Whether it got there.
fn wait_dead(pid: u32, limit: Duration) -> bool {
    let dead = || match proc_state(pid) {
        None => Some(()),
        Some(('Z', ppid)) if ppid != std::process::id() => Some(()),
        Some(_) => None,
    };
    poll(limit, dead).is_some()
}

/// Waits (bounded) until `pid` has fully disappeared (it was reaped); its
/// last state seen (`None` once gone).
fn wait_gone(pid: u32, limit: Duration) -> Option<(char, u32)> {
    let mut state = None;
    poll(limit, || {
        state = proc_state(pid);
        state.is_none().then_some(())
    });
    state
}

/// The zombie processes whose parent is this test process.
fn my_zombies() -> Vec<u32> {
    let me = std::process::id();
    let Ok(entries) = fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| matches!(proc_state(pid), Some(('Z', ppid)) if ppid == me))
        .collect()
}

/// Waits (bounded) for a moment when `zombies` finds none; what it found
/// last (empty if that moment came).
fn wait_no_zombies(limit: Duration, mut zombies: impl FnMut() -> Vec<u32>) -> Vec<u32> {
    let mut found = Vec::new();
    poll(limit, || {
        found = zombies();
        found.is_empty().then_some(())
    });
    found
}

/// `sha256sum` of `data` (the system's, not a reimplementation).
fn sha256_hex(tree: &CgiTree, data: &[u8]) -> String {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = tree.root.join(format!("sha-input-{n}.bin"));
    fs::write(&path, data).unwrap();
    let out = Command::new("sha256sum").arg(&path).output().expect("run sha256sum");
    assert!(out.status.success(), "sha256sum failed: {out:?}");
    let _ = fs::remove_file(&path);
    let hex = String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_owned();
    assert_eq!(hex.len(), 64);
    hex
}

/// Deterministic bytes that are not all alike (xorshift).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Meta-variables (RFC 3875 §4.1)
// ---------------------------------------------------------------------------

/// `alice:secret`.
const BASIC_ALICE: &str = "Basic YWxpY2U6c2VjcmV0";

/// The request of the meta-variable tests: a POST with a body, `PATH_INFO`
/// with an encoded space, a query with `%20` and a second `?`, Basic
/// credentials and headers that must, or must not, become `HTTP_*`.
fn env_request() -> String {
    [
        "POST /cgi-bin/env.sh/some%20dir/x.txt?a=1&b=%20c?d HTTP/1.1",
        "Host: example.test:8080",
        "Content-Type: application/x-www-form-urlencoded",
        "Content-Length: 5",
        &format!("Authorization: {BASIC_ALICE}"),
        "X-Custom-Thing: yes indeed",
        "X-Multi: a",
        "X-Multi: b",
        "Cookie: a=1",
        "Cookie: b=2",
        "Proxy: http://evil",
        "X_Foo: underscore",
        "Connection: close",
        "",
        "hello",
    ]
    .join("\r\n")
}

#[test]
fn meta_variables() {
    let tree = CgiTree::new();
    tree.script("cgi-bin/env.sh", ENV_SCRIPT);
    let server = serve(tree.handler(), true);
    let response = roundtrip(&server, &env_request());
    assert_eq!(response.status, 200, "{response:?}");
    let env = env_map(&response.text());
    let var = |name: &str| env.get(name).map(String::as_str);
    let root = fs::canonicalize(&tree.root).unwrap();

    // SERVER_SOFTWARE is the server's own name, the one in its Server header.
    let server_header = response.header("Server").expect("a Server header").to_owned();
    assert_eq!(var("SERVER_SOFTWARE"), Some(server_header.as_str()));
    assert!(server_header.starts_with("SimpleHTTP/"), "{server_header}");
    assert_eq!(var("SERVER_NAME"), Some("example.test"), "from the Host header");
    assert_eq!(var("SERVER_PORT"), Some(server.port.to_string().as_str()), "the port the server listens on");
    assert_eq!(var("SERVER_PROTOCOL"), Some("HTTP/1.1"));
    assert_eq!(var("GATEWAY_INTERFACE"), Some("CGI/1.1"));
    assert_eq!(var("REQUEST_METHOD"), Some("POST"));
    assert_eq!(var("SCRIPT_NAME"), Some("/cgi-bin/env.sh"));
    assert_eq!(var("PATH_INFO"), Some("/some dir/x.txt"), "decoded, after the script name");
    let translated = root.join("some dir/x.txt");
    assert_eq!(var("PATH_TRANSLATED"), Some(translated.to_str().unwrap()), "the root + PATH_INFO");
    assert_eq!(var("QUERY_STRING"), Some("a=1&b=%20c?d"), "raw, after the first ?");
    assert_eq!(var("REMOTE_ADDR"), Some("127.0.0.1"));
    assert_eq!(var("CONTENT_TYPE"), Some("application/x-www-form-urlencoded"));
    assert_eq!(var("CONTENT_LENGTH"), Some("5"));
    assert_eq!(var("AUTH_TYPE"), Some("Basic"));
    assert_eq!(var("REMOTE_USER"), Some("alice"));

    // Every request header as HTTP_*, repeats joined.
    assert_eq!(var("HTTP_HOST"), Some("example.test:8080"));
    assert_eq!(var("HTTP_X_CUSTOM_THING"), Some("yes indeed"));
    assert_eq!(var("HTTP_X_MULTI"), Some("a,b"));
    assert_eq!(var("HTTP_COOKIE"), Some("a=1; b=2"));
    assert_eq!(var("HTTP_CONNECTION"), Some("close"));

    // And the ones that must not be there.
    for absent in ["HTTP_PROXY", "HTTP_AUTHORIZATION", "HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH", "HTTP_X_FOO"] {
        assert_eq!(var(absent), None, "{absent} must not be set: {env:?}");
    }
    assert!(!response.text().contains("underscore"), "the X_Foo header reached the script: {env:?}");
    assert!(!response.text().contains("http://evil"), "the Proxy header reached the script: {env:?}");
    assert!(!response.text().contains("YWxpY2U6c2VjcmV0"), "the credentials reached the script: {env:?}");
}

#[test]
fn authorization_is_passed_only_when_asked() {
    let tree = CgiTree::new();
    tree.script("cgi-bin/env.sh", ENV_SCRIPT);
    let server = serve(tree.handler().with_pass_authorization(true), true);
    let env = env_map(&roundtrip(&server, &env_request()).text());
    assert_eq!(env.get("HTTP_AUTHORIZATION").map(String::as_str), Some(BASIC_ALICE));
    assert_eq!(env.get("AUTH_TYPE").map(String::as_str), Some("Basic"));
    assert_eq!(env.get("REMOTE_USER").map(String::as_str), Some("alice"));
    // Still never the proxy.
    assert_eq!(env.get("HTTP_PROXY"), None);

    // A scheme that is not Basic: AUTH_TYPE, no user; and not passed by default.
    let server = serve(tree.handler(), true);
    let request =
        "GET /cgi-bin/env.sh HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer tok.en\r\nConnection: close\r\n\r\n";
    let env = env_map(&roundtrip(&server, request).text());
    assert_eq!(env.get("AUTH_TYPE").map(String::as_str), Some("Bearer"));
    assert_eq!(env.get("REMOTE_USER"), None);
    assert_eq!(env.get("HTTP_AUTHORIZATION"), None);
}

#[test]
fn meta_variables_of_a_plain_get() {
    let tree = CgiTree::new();
    tree.script("cgi-bin/env.sh", ENV_SCRIPT);
    let server = serve(tree.handler(), true);
    // HTTP/1.0, no Host: SERVER_NAME is the server's own.
    let response = roundtrip(&server, "GET /cgi-bin/env.sh HTTP/1.0\r\n\r\n");
    assert_eq!(response.status, 200, "{response:?}");
    let env = env_map(&response.text());
    let var = |name: &str| env.get(name).map(String::as_str);
    assert_eq!(var("REQUEST_METHOD"), Some("GET"));
    assert_eq!(var("SERVER_PROTOCOL"), Some("HTTP/1.0"));
    assert!(var("SERVER_NAME").is_some_and(|n| !n.is_empty()), "{env:?}");
    assert_eq!(var("QUERY_STRING").unwrap_or_default(), "");
    assert_eq!(var("PATH_INFO").unwrap_or_default(), "");
    assert_eq!(var("PATH_TRANSLATED").unwrap_or_default(), "", "no PATH_INFO, no PATH_TRANSLATED");
    for absent in ["CONTENT_TYPE", "CONTENT_LENGTH", "AUTH_TYPE", "REMOTE_USER", "HTTP_HOST"] {
        assert_eq!(var(absent), None, "{absent}: {env:?}");
    }
}

// ---------------------------------------------------------------------------
// A clean environment
// ---------------------------------------------------------------------------

const SECRET_VAR: &str = "BASEHTTP_CGI_RFC3875_SECRET_TEST";

/// Sets [`SECRET_VAR`] in this test process, once.
fn set_secret() {
    static SET: OnceLock<()> = OnceLock::new();
    SET.get_or_init(|| std::env::set_var(SECRET_VAR, "s3cret-value"));
}

#[test]
fn clean_environment() {
    set_secret();
    let tree = CgiTree::new();
    tree.script("cgi-bin/env.sh", ENV_SCRIPT);

    // Default: nothing of the server's environment but PATH and the locale.
    let server = serve(tree.handler(), true);
    let response = get(&server, "/cgi-bin/env.sh");
    assert_eq!(response.status, 200, "{response:?}");
    let env = env_map(&response.text());
    assert_eq!(env.get(SECRET_VAR), None, "the server's environment leaked: {env:?}");
    assert!(!response.text().contains("s3cret-value"), "{env:?}");
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".to_owned());
    assert_eq!(env.get("PATH"), Some(&path), "PATH is passed");
    // Every variable is a meta-variable, HTTP_*, or an allowed one (and
    // PWD, which /bin/sh sets itself).
    let allowed = [
        "SERVER_SOFTWARE",
        "SERVER_NAME",
        "SERVER_PORT",
        "SERVER_ADDR",
        "SERVER_PROTOCOL",
        "GATEWAY_INTERFACE",
        "REQUEST_METHOD",
        "REQUEST_URI",
        "REQUEST_SCHEME",
        "SCRIPT_NAME",
        "SCRIPT_FILENAME",
        "PATH_INFO",
        "PATH_TRANSLATED",
        "QUERY_STRING",
        "DOCUMENT_ROOT",
        "REMOTE_ADDR",
        "REMOTE_HOST",
        "REMOTE_PORT",
        "PATH",
        "LANG",
        "LC_ALL",
        "LC_CTYPE",
        "TZ",
        "PWD",
    ];
    for name in env.keys() {
        assert!(
            allowed.contains(&name.as_str()) || name.starts_with("HTTP_"),
            "{name} does not belong in a script's environment: {env:?}"
        );
    }

    // Passed when asked for; a fixed variable given.
    let server = serve(tree.handler().with_pass_env(SECRET_VAR).with_env("FIXED", "v"), true);
    let env = env_map(&get(&server, "/cgi-bin/env.sh").text());
    assert_eq!(env.get(SECRET_VAR).map(String::as_str), Some("s3cret-value"));
    assert_eq!(env.get("FIXED").map(String::as_str), Some("v"));
    assert_eq!(env.get("PATH"), Some(&path));

    // A fixed variable overrides a meta-variable of the same name.
    let server = serve(tree.handler().with_env("SERVER_NAME", "fixed.example"), true);
    let env = env_map(&get(&server, "/cgi-bin/env.sh").text());
    assert_eq!(env.get("SERVER_NAME").map(String::as_str), Some("fixed.example"));
}

// ---------------------------------------------------------------------------
// The script's head (RFC 3875 §6)
// ---------------------------------------------------------------------------

#[test]
fn status_field_is_the_status_line() {
    let tree = CgiTree::new();
    tree.script(
        "cgi-bin/status.sh",
        "#!/bin/sh\nprintf 'Status: 404 Not Here\\nContent-Type: text/plain\\nX-Script: yes\\n\\nnot here body'\n",
    );
    let server = serve(tree.handler(), true);
    let response = get(&server, "/cgi-bin/status.sh");
    assert_eq!(response.status_line, "HTTP/1.1 404 Not Here");
    assert_eq!(response.header("X-Script"), Some("yes"));
    assert_eq!(response.header("Content-Type"), Some("text/plain"));
    assert_eq!(response.header("Status"), None, "Status is not a field of the response");
    assert_eq!(response.text(), "not here body");
}

#[test]
fn location_alone_is_a_redirect() {
    let tree = CgiTree::new();
    tree.script("cgi-bin/away.sh", "#!/bin/sh\nprintf 'Location: http://example.com/x\\n\\n'\n");
    let server = serve(tree.handler(), true);
    let response = get(&server, "/cgi-bin/away.sh");
    assert_eq!(response.status, 302, "{response:?}");
    assert_eq!(response.header("Location"), Some("http://example.com/x"));
}

#[test]
fn local_redirect_serves_the_path() {
    let tree = CgiTree::new();
    tree.file("static.txt", b"static content\n");
    tree.script("cgi-bin/local.sh", "#!/bin/sh\nprintf 'Location: /static.txt\\n\\nscript body, dropped'\n");
    let server = serve(tree.handler(), true);
    let response = get(&server, "/cgi-bin/local.sh");
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.header("Location"), None, "{response:?}");
    assert_eq!(response.text(), "static content\n");
    assert!(response.header("Content-Type").is_some_and(|t| t.starts_with("text/plain")), "{response:?}");
}

/// A `502` response whose bytes, up to the close, never contain `forbidden`.
fn assert_bad_gateway(server: &TestServer, path: &str, forbidden: Option<&str>) {
    let mut c = server.connect();
    c.send(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes());
    let response = read_response(&mut c, false);
    assert_eq!(response.status, 502, "{path}: {response:?}");
    let rest = c.read_to_end();
    let all = format!("{}{}", response.dump(), latin1(&rest));
    if let Some(forbidden) = forbidden {
        assert!(!all.contains(forbidden), "{path}: {forbidden:?} reached the client: {all}");
    }
}

#[test]
fn invalid_heads_are_502() {
    let tree = CgiTree::new();
    tree.script("cgi-bin/garbage.sh", "#!/bin/sh\necho hello world\n");
    tree.script("cgi-bin/garbage-nolf.sh", "#!/bin/sh\nprintf 'hello world'\n");
    tree.script(
        "cgi-bin/cr.sh",
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\nX-Bad: a\\rInjected: 1\\r\\n\\r\\nbody'\n",
    );
    tree.script("cgi-bin/space.sh", "#!/bin/sh\nprintf 'Content-Type: text/plain\\nBad Name: 1\\n\\nbody'\n");
    tree.script("cgi-bin/empty.sh", "#!/bin/sh\nexit 0\n");
    tree.script("cgi-bin/noctype.sh", "#!/bin/sh\nprintf 'X-Only: 1\\n\\nbody'\n");
    let server = serve(tree.handler(), true);
    assert_bad_gateway(&server, "/cgi-bin/garbage.sh", Some("hello world"));
    assert_bad_gateway(&server, "/cgi-bin/garbage-nolf.sh", Some("hello world"));
    assert_bad_gateway(&server, "/cgi-bin/cr.sh", Some("Injected"));
    assert_bad_gateway(&server, "/cgi-bin/space.sh", Some("Bad Name"));
    assert_bad_gateway(&server, "/cgi-bin/empty.sh", None);
    assert_bad_gateway(&server, "/cgi-bin/noctype.sh", Some("X-Only"));
}

#[test]
fn a_head_that_never_ends_is_502() {
    let tree = CgiTree::new();
    // 70 header lines of ~1 KiB (70 KiB, fewer than 100 fields), then a
    // body: the head is over 64 KiB.
    tree.script(
        "cgi-bin/long.sh",
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n'\nv=$(head -c 1000 /dev/zero | tr '\\0' a)\n\
         i=0\nwhile [ $i -lt 70 ]; do printf 'X-Pad-%d: %s\\n' $i \"$v\"; i=$((i+1)); done\nprintf '\\nbody'\n",
    );
    // 70 KiB of head without an end, and the script stays: the 502 must not
    // wait for it (its timeout, 5 s, would be a 504).
    tree.script(
        "cgi-bin/endless.sh",
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\nX-Long: '\nhead -c 71680 /dev/zero | tr '\\0' a\nexec sleep 30\n",
    );
    let server = serve(tree.handler().with_timeout(Duration::from_secs(5)), true);
    assert_bad_gateway(&server, "/cgi-bin/long.sh", Some("X-Pad-"));

    let mut c = server.connect();
    let start = Instant::now();
    c.send(b"GET /cgi-bin/endless.sh HTTP/1.1\r\nHost: test\r\n\r\n");
    let response = read_response(&mut c, false);
    assert_eq!(response.status, 502, "{response:?}");
    assert!(start.elapsed() < Duration::from_secs(4), "the 502 took {:?}", start.elapsed());
    assert!(!response.dump().contains("aaaaaaaaaa"), "{response:?}");
}

// ---------------------------------------------------------------------------
// Framing of the script's body
// ---------------------------------------------------------------------------

const WITH_LENGTH: &str = "#!/bin/sh\nprintf 'Content-Type: text/plain\\nContent-Length: 5\\n\\nhello'\n";
const NO_LENGTH: &str = "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nline one\\n'\nprintf 'line two\\n'\n";

#[test]
fn content_length_keeps_the_connection() {
    let tree = CgiTree::new();
    tree.script("cgi-bin/len.sh", WITH_LENGTH);
    let server = serve(tree.handler(), true);
    let mut c = server.connect();
    c.send(b"GET /cgi-bin/len.sh HTTP/1.1\r\nHost: test\r\n\r\n");
    let first = read_response(&mut c, false);
    assert_eq!(first.status, 200);
    assert_eq!(first.header("Content-Length"), Some("5"));
    assert_eq!(first.header("Transfer-Encoding"), None);
    assert_eq!(first.text(), "hello");
    // The same connection answers a second request.
    c.send(b"GET /cgi-bin/len.sh?again HTTP/1.1\r\nHost: test\r\n\r\n");
    let second = read_response(&mut c, false);
    assert_eq!((second.status, second.text().as_str()), (200, "hello"));
}

#[test]
fn no_length_is_chunked_on_http11() {
    let tree = CgiTree::new();
    tree.script("cgi-bin/nolen.sh", NO_LENGTH);
    let server = serve(tree.handler(), true);
    let mut c = server.connect();
    for round in 0..2 {
        c.send(b"GET /cgi-bin/nolen.sh HTTP/1.1\r\nHost: test\r\n\r\n");
        let response = read_response(&mut c, false);
        assert_eq!(response.status, 200, "round {round}: {response:?}");
        assert!(response.chunked(), "round {round}: {response:?}");
        assert_eq!(response.header("Content-Length"), None);
        assert_eq!(response.text(), "line one\nline two\n", "round {round}");
    }
}

/// A response ended by the close: no `Content-Length`, not chunked.
fn assert_close_delimited(server: &TestServer, request: &str, protocol: &str) {
    let mut c = server.connect();
    c.send(request.as_bytes());
    let response = read_response(&mut c, false);
    assert!(response.status_line.starts_with(&format!("{protocol} 200")), "{response:?}");
    assert_eq!(response.header("Content-Length"), None, "{response:?}");
    assert_eq!(response.header("Transfer-Encoding"), None, "{response:?}");
    assert_eq!(response.text(), "line one\nline two\n");
    assert!(c.eof, "the body ends with the close");
}

#[test]
fn http10_bodies_end_with_the_close() {
    let tree = CgiTree::new();
    tree.script("cgi-bin/nolen.sh", NO_LENGTH);
    // An HTTP/1.0 server, asked in HTTP/1.1.
    let server = serve(tree.handler(), false);
    assert_close_delimited(&server, "GET /cgi-bin/nolen.sh HTTP/1.1\r\nHost: test\r\n\r\n", "HTTP/1.0");
    // An HTTP/1.1 server, asked in HTTP/1.0 (even with keep-alive).
    let server = serve(tree.handler(), true);
    assert_close_delimited(&server, "GET /cgi-bin/nolen.sh HTTP/1.0\r\n\r\n", "HTTP/1.1");
    assert_close_delimited(&server, "GET /cgi-bin/nolen.sh HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "HTTP/1.1");
}

#[test]
fn head_has_no_body() {
    let tree = CgiTree::new();
    tree.script("cgi-bin/nolen.sh", NO_LENGTH);
    tree.script("cgi-bin/len.sh", WITH_LENGTH);
    let server = serve(tree.handler(), true);
    let mut c = server.connect();
    for path in ["/cgi-bin/nolen.sh", "/cgi-bin/len.sh"] {
        c.send(format!("HEAD {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes());
        let head = read_response(&mut c, true);
        assert_eq!(head.status, 200, "{path}: {head:?}");
        // No body bytes: the next thing on the connection is the next response.
        c.send(b"GET /cgi-bin/len.sh HTTP/1.1\r\nHost: test\r\n\r\n");
        let next = read_response(&mut c, false);
        assert_eq!((next.status, next.text().as_str()), (200, "hello"), "after HEAD {path}");
    }
    c.send(b"HEAD /cgi-bin/len.sh HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    let head = read_response(&mut c, true);
    assert_eq!(head.header("Content-Length"), Some("5"), "{head:?}");
    c.assert_closed();
}

// ---------------------------------------------------------------------------
// Streaming and nph-
// ---------------------------------------------------------------------------

#[test]
fn output_is_streamed_as_written() {
    let tree = CgiTree::new();
    tree.script(
        "cgi-bin/stream.sh",
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nfirst\\n'\nsleep 1\nprintf 'second\\n'\n",
    );
    let server = serve(tree.handler(), true);
    // Warm up: the first run of a script can be slow to start.
    assert_eq!(get(&server, "/cgi-bin/stream.sh").text(), "first\nsecond\n");

    let mut c = server.connect();
    let start = Instant::now();
    c.send(b"GET /cgi-bin/stream.sh HTTP/1.1\r\nHost: test\r\n\r\n");
    let first = c.try_read_until(b"first", Duration::from_secs(3)).expect("first arrives");
    let first_at = start.elapsed();
    assert!(!latin1(&first).contains("second"));
    c.read_until(b"second");
    let second_at = start.elapsed();
    assert!(first_at < Duration::from_millis(800), "first came after {first_at:?}");
    assert!(second_at >= first_at + Duration::from_millis(500), "first at {first_at:?}, second at {second_at:?}");
}

#[test]
fn nph_scripts_pass_through_unchanged() {
    let tree = CgiTree::new();
    let raw = "HTTP/1.0 299 Custom\r\nContent-Type: text/plain\r\nX-Nph: raw\r\n\r\nbody";
    tree.script("cgi-bin/nph-raw.sh", &format!("#!/bin/sh\nprintf '{}'\n", raw.replace("\r\n", "\\r\\n")));
    let server = serve(tree.handler(), true);
    let mut c = server.connect();
    c.send(b"GET /cgi-bin/nph-raw.sh HTTP/1.1\r\nHost: test\r\n\r\n");
    // Not half-closed and not asked to close: the server closes by itself.
    let (data, closed) = c.read_for(Duration::from_secs(3));
    assert_eq!(latin1(&data), raw);
    assert!(closed, "the connection must close after an nph- response");
}

// ---------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------

#[test]
fn post_body_reaches_stdin() {
    let tree = CgiTree::new();
    tree.script(
        "cgi-bin/sha.py",
        "import hashlib, os, sys\n\
         n = int(os.environ.get('CONTENT_LENGTH', '0'))\n\
         data = sys.stdin.buffer.read(n)\n\
         sys.stdout.write('Content-Type: text/plain\\n\\n%s %d\\n' % (hashlib.sha256(data).hexdigest(), len(data)))\n",
    );
    let server = serve(tree.handler(), true);
    let body = noise(300_000, 7);
    let expected = format!("{} {}\n", sha256_hex(&tree, &body), body.len());
    let mut c = server.connect();
    c.send(format!("POST /cgi-bin/sha.py HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes());
    c.send(&body);
    let response = read_response(&mut c, false);
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.text(), expected);
    // The connection goes on.
    c.send(b"POST /cgi-bin/sha.py HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
    let response = read_response(&mut c, false);
    assert_eq!(response.text(), format!("{} 3\n", sha256_hex(&tree, b"abc")));
}

#[test]
fn chunked_upload_of_10_mib() {
    let tree = CgiTree::new();
    tree.script(
        "cgi-bin/sum.sh",
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nsha256sum | cut -d' ' -f1\necho \"${CONTENT_LENGTH-unset}\"\n",
    );
    let server = serve(tree.handler(), true);
    let body = noise(10 << 20, 11);
    let expected = format!("{}\nunset\n", sha256_hex(&tree, &body));
    let mut c = server.connect();
    c.send(b"POST /cgi-bin/sum.sh HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    for chunk in body.chunks(64 * 1024) {
        let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
        framed.extend_from_slice(chunk);
        framed.extend_from_slice(b"\r\n");
        c.send(&framed);
    }
    c.send(b"0\r\n\r\n");
    let response = read_response(&mut c, false);
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.text(), expected, "the checksum of stdin, and CONTENT_LENGTH unset");
}

#[test]
fn writing_before_reading_does_not_deadlock() {
    let tree = CgiTree::new();
    tree.script(
        "cgi-bin/both.sh",
        "#!/bin/sh\nprintf 'Content-Type: application/octet-stream\\n\\n'\n\
         head -c 1048576 /dev/zero | tr '\\0' x\nsha256sum | cut -d' ' -f1\n",
    );
    let server = serve(tree.handler(), true);
    let body = noise(1 << 20, 3);
    let expected_sum = sha256_hex(&tree, &body);
    let mut c = server.connect();
    // The body is sent while the response is read: the script answers
    // before it reads.
    let mut writer = c.stream.try_clone().unwrap();
    let sender = thread::spawn(move || -> std::io::Result<()> {
        writer.write_all(
            format!("POST /cgi-bin/both.sh HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes(),
        )?;
        writer.write_all(&body)
    });
    let response = read_response(&mut c, false);
    sender.join().unwrap().expect("the whole body was sent");
    assert_eq!(response.status, 200);
    assert_eq!(response.body.len(), (1 << 20) + 65, "{:?}", response.headers);
    assert!(response.body[..1 << 20].iter().all(|&b| b == b'x'));
    assert_eq!(latin1(&response.body[1 << 20..]), format!("{expected_sum}\n"));
}

// ---------------------------------------------------------------------------
// stderr
// ---------------------------------------------------------------------------

#[test]
fn stderr_goes_to_the_log() {
    let _guard = logs::capture();
    let tree = CgiTree::new();
    tree.script("cgi-bin/err.sh", "#!/bin/sh\necho 'oops to stderr' >&2\nprintf 'Content-Type: text/plain\\n\\nok'\n");
    let server = serve(tree.handler(), true);
    assert_eq!(get(&server, "/cgi-bin/err.sh").text(), "ok");
    let mut seen = Vec::new();
    let logged = poll(IO_TIMEOUT, || {
        seen.extend(logs::take_all().into_iter().map(|(_, line)| line));
        seen.iter().any(|l| l.contains("oops to stderr")).then_some(())
    });
    assert!(logged.is_some(), "no log line with the script's stderr: {seen:?}");
}

// ---------------------------------------------------------------------------
// Timeout, killing, reaping
// ---------------------------------------------------------------------------

#[test]
fn silent_script_is_killed_with_its_children_504() {
    let tree = CgiTree::new();
    let run = writable_dir(&tree, "run");
    tree.script(
        "cgi-bin/sleepy.sh",
        &format!(
            "#!/bin/sh\nsleep 30 &\necho $! > {dir}/child.pid\necho $$ > {dir}/main.pid\nsleep 30\n",
            dir = run.display()
        ),
    );
    let server = serve(tree.handler().with_timeout(Duration::from_millis(500)), true);
    let start = Instant::now();
    let response = get(&server, "/cgi-bin/sleepy.sh");
    let took = start.elapsed();
    assert_eq!(response.status, 504, "{response:?}");
    assert!(took < Duration::from_secs(3), "the 504 took {took:?}");
    let main = read_pid(&run.join("main.pid"), Duration::from_secs(1));
    let child = read_pid(&run.join("child.pid"), Duration::from_secs(1));
    // The script is reaped by the server: gone altogether.
    assert_eq!(wait_gone(main, Duration::from_secs(3)), None, "the script {main} still exists");
    // Its child, in its process group, is killed too.
    assert!(wait_dead(child, Duration::from_secs(3)), "the script's child {child} still runs: {:?}", proc_state(child));
}

#[test]
fn timeout_in_the_middle_cuts_the_response_short() {
    let tree = CgiTree::new();
    tree.script("cgi-bin/chunky.sh", "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nstart\\n'\nexec sleep 30\n");
    tree.script(
        "cgi-bin/sized.sh",
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\nContent-Length: 100\\n\\nstart\\n'\nexec sleep 30\n",
    );
    let server = serve(tree.handler().with_timeout(Duration::from_millis(500)), true);

    let mut c = server.connect();
    c.send(b"GET /cgi-bin/chunky.sh HTTP/1.1\r\nHost: test\r\n\r\n");
    let head = c.read_until(b"\r\n\r\n");
    let (_, status, _) = parse_head(&head);
    assert_eq!(status, 200);
    assert!(latin1(&head).contains("Transfer-Encoding: chunked"), "{}", latin1(&head));
    let (rest, closed) = c.read_for(Duration::from_secs(5));
    let rest = latin1(&rest);
    assert!(closed, "the connection must close when the script times out; got {rest:?}");
    assert!(rest.contains("start\n"), "{rest:?}");
    assert!(!rest.ends_with("0\r\n\r\n"), "a cut response must not end like a complete one: {rest:?}");

    let mut c = server.connect();
    c.send(b"GET /cgi-bin/sized.sh HTTP/1.1\r\nHost: test\r\n\r\n");
    let head = c.read_until(b"\r\n\r\n");
    assert!(latin1(&head).contains("Content-Length: 100"), "{}", latin1(&head));
    let (rest, closed) = c.read_for(Duration::from_secs(5));
    assert!(closed, "the connection must close when the script times out");
    assert_eq!(latin1(&rest), "start\n", "fewer bytes than the Content-Length, then the close");
}

#[test]
fn no_zombies_after_runs() {
    let tree = CgiTree::new();
    tree.script("cgi-bin/pid.sh", "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n%s' $$\n");
    tree.script("cgi-bin/fail.sh", "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n%s' $$\nexit 3\n");
    let server = serve(tree.handler(), true);
    let mut pids = Vec::new();
    for i in 0..12 {
        let path = if i % 3 == 0 { "/cgi-bin/fail.sh" } else { "/cgi-bin/pid.sh" };
        let response = get(&server, path);
        assert_eq!(response.status, 200);
        pids.push(response.text().parse::<u32>().unwrap_or_else(|_| panic!("{response:?}")));
    }
    let me = std::process::id();
    let zombies = wait_no_zombies(Duration::from_secs(5), || {
        pids.iter().copied().filter(|&p| matches!(proc_state(p), Some(('Z', pp)) if pp == me)).collect()
    });
    assert!(zombies.is_empty(), "scripts left as zombies: {zombies:?}");
    // And no zombie child at all (other tests' scripts may be exiting just
    // now: a moment with none is enough).
    let zombies = wait_no_zombies(Duration::from_secs(5), my_zombies);
    assert!(zombies.is_empty(), "zombie children of the test process: {zombies:?}");
}

#[test]
fn thirty_two_scripts_at_once() {
    let tree = CgiTree::new();
    tree.script(
        "cgi-bin/slow.sh",
        "#!/bin/sh\nsleep 0.5\nprintf 'Content-Type: text/plain\\n\\n%s' \"$QUERY_STRING\"\n",
    );
    let server = serve(tree.handler(), true);
    let port = server.port;
    let start = Instant::now();
    let clients: Vec<_> = (0..32)
        .map(|i| {
            thread::spawn(move || {
                let mut c = Client::connect(port);
                c.send(format!("GET /cgi-bin/slow.sh?n={i}&x=y HTTP/1.0\r\n\r\n").as_bytes());
                let response = read_response(&mut c, false);
                (response.status, response.text())
            })
        })
        .collect();
    for (i, client) in clients.into_iter().enumerate() {
        let (status, text) = client.join().unwrap();
        assert_eq!((status, text), (200, format!("n={i}&x=y")));
    }
    let took = start.elapsed();
    assert!(took < Duration::from_secs(8), "32 scripts of 0.5 s took {took:?}");
}

#[test]
fn client_hang_up_kills_the_script() {
    let tree = CgiTree::new();
    let run = writable_dir(&tree, "run");
    tree.script("cgi-bin/quiet.sh", &format!("#!/bin/sh\necho $$ > {}/quiet.pid\nsleep 30\n", run.display()));
    tree.script(
        "cgi-bin/talky.sh",
        &format!(
            "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nstarted\\n'\necho $$ > {}/talky.pid\nsleep 30\n",
            run.display()
        ),
    );
    let server = serve(tree.handler(), true);

    // Before the script printed anything.
    let mut c = server.connect();
    c.send(b"GET /cgi-bin/quiet.sh HTTP/1.1\r\nHost: test\r\n\r\n");
    let pid = read_pid(&run.join("quiet.pid"), IO_TIMEOUT);
    drop(c);
    assert_eq!(wait_gone(pid, Duration::from_secs(3)), None, "the script {pid} outlived its client");

    // In the middle of its body.
    let mut c = server.connect();
    c.send(b"GET /cgi-bin/talky.sh HTTP/1.1\r\nHost: test\r\n\r\n");
    c.read_until(b"started\n");
    let pid = read_pid(&run.join("talky.pid"), IO_TIMEOUT);
    drop(c);
    assert_eq!(wait_gone(pid, Duration::from_secs(3)), None, "the script {pid} outlived its client");
}

/// The default handler (not the tree's) runs `.py` scripts with `python3 -u`
/// from the scripts' `PATH`; here only the handler's API is checked.
#[test]
fn handler_api() {
    let h = CGIHTTPRequestHandler::new("/srv");
    assert_eq!(h.cgi_directories(), ["/cgi-bin", "/htbin"]);
    assert!(CGIHTTPRequestHandler::is_python("x.PY") && CGIHTTPRequestHandler::is_python("x.pyw"));
    assert!(!CGIHTTPRequestHandler::is_python("x.sh"));
    assert_eq!(h.is_cgi("/htbin/a.sh/b?c"), Some(("/htbin".into(), "a.sh/b?c".into())));
}

// ---------------------------------------------------------------------------
// More of the head: local redirects, redirects with a status, no-body codes
// ---------------------------------------------------------------------------

#[test]
fn local_redirect_variants() {
    let tree = CgiTree::new();
    tree.file("static.txt", b"static content\n");
    tree.script("cgi-bin/local.sh", "#!/bin/sh\nprintf 'Location: /static.txt\\n\\n'\n");
    tree.script("cgi-bin/loop.sh", "#!/bin/sh\nprintf 'Location: /cgi-bin/loop.sh\\n\\n'\n");
    tree.script("cgi-bin/moved.sh", "#!/bin/sh\nprintf 'Status: 301 Moved\\nLocation: /static.txt\\n\\n'\n");
    tree.script(
        "cgi-bin/typed.sh",
        "#!/bin/sh\nprintf 'Location: /static.txt\\nContent-Type: text/plain\\n\\nsee there'\n",
    );
    let server = serve(tree.handler(), true);

    // HEAD stays HEAD: the file's head, no body, the connection usable.
    let mut c = server.connect();
    c.send(b"HEAD /cgi-bin/local.sh HTTP/1.1\r\nHost: test\r\n\r\n");
    let head = read_response(&mut c, true);
    assert_eq!(head.status, 200, "{head:?}");
    assert_eq!(head.header("Content-Length"), Some("15"), "{head:?}");
    c.send(b"GET /static.txt HTTP/1.1\r\nHost: test\r\n\r\n");
    assert_eq!(read_response(&mut c, false).text(), "static content\n", "no body bytes after the HEAD");

    // A loop ends (500), it does not hang.
    let start = Instant::now();
    let response = get(&server, "/cgi-bin/loop.sh");
    assert_eq!(response.status, 500, "{response:?}");
    assert!(start.elapsed() < Duration::from_secs(5));

    // A Location with a Status, or with other fields, goes to the client.
    let response = get(&server, "/cgi-bin/moved.sh");
    assert_eq!(response.status_line, "HTTP/1.1 301 Moved");
    assert_eq!(response.header("Location"), Some("/static.txt"));
    let response = get(&server, "/cgi-bin/typed.sh");
    assert_eq!(response.status, 302, "{response:?}");
    assert_eq!(response.header("Location"), Some("/static.txt"));
    assert_eq!(response.text(), "see there");
}

/// RFC 3875 §6.2.2: a local redirect is answered as a `GET` of the new
/// path, so a `POST`'s body (read by the first script) and its length are
/// not the second script's (Apache's mod_cgi unsets `Content-Length`).
#[test]
fn local_redirect_from_post_is_a_get() {
    let tree = CgiTree::new();
    tree.script("cgi-bin/env.sh", ENV_SCRIPT);
    tree.script("cgi-bin/to-env.sh", "#!/bin/sh\ncat > /dev/null\nprintf 'Location: /cgi-bin/env.sh/pi?q=1\\n\\n'\n");
    let server = serve(tree.handler(), true);
    let mut c = server.connect();
    c.send(b"POST /cgi-bin/to-env.sh HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
    let response = read_response(&mut c, false);
    assert_eq!(response.status, 200, "{response:?}");
    let env = env_map(&response.text());
    assert_eq!(env.get("REQUEST_METHOD").map(String::as_str), Some("GET"), "{env:?}");
    assert_eq!(env.get("SCRIPT_NAME").map(String::as_str), Some("/cgi-bin/env.sh"));
    assert_eq!(env.get("PATH_INFO").map(String::as_str), Some("/pi"));
    assert_eq!(env.get("QUERY_STRING").map(String::as_str), Some("q=1"));
    assert_eq!(env.get("CONTENT_LENGTH"), None, "a GET has no body, so no CONTENT_LENGTH: {env:?}");
}

#[test]
fn no_body_statuses_keep_the_connection() {
    let tree = CgiTree::new();
    tree.script("cgi-bin/204.sh", "#!/bin/sh\nprintf 'Status: 204 No Content\\nX-A: 1\\n\\n'\n");
    tree.script("cgi-bin/304.sh", "#!/bin/sh\nprintf 'Status: 304 Not Modified\\nETag: \"e\"\\n\\n'\n");
    tree.script("cgi-bin/len.sh", WITH_LENGTH);
    let server = serve(tree.handler(), true);
    let mut c = server.connect();
    for (path, status) in [("/cgi-bin/204.sh", 204), ("/cgi-bin/304.sh", 304)] {
        c.send(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes());
        let response = read_response(&mut c, false);
        assert_eq!(response.status, status, "{response:?}");
        assert_eq!(response.header("Transfer-Encoding"), None, "{response:?}");
        c.send(b"GET /cgi-bin/len.sh HTTP/1.1\r\nHost: test\r\n\r\n");
        let next = read_response(&mut c, false);
        assert_eq!((next.status, next.text().as_str()), (200, "hello"), "after {path}");
    }
}

// ---------------------------------------------------------------------------
// Content-Length from the script, kept to
// ---------------------------------------------------------------------------

#[test]
fn script_content_length_is_enforced() {
    let tree = CgiTree::new();
    tree.script("cgi-bin/short.sh", "#!/bin/sh\nprintf 'Content-Type: text/plain\\nContent-Length: 10\\n\\nabc'\n");
    tree.script(
        "cgi-bin/long.sh",
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\nContent-Length: 2\\n\\nok'\n\
         printf 'HTTP/1.1 200 OK\\r\\nX-Smuggled: 1\\r\\nContent-Length: 0\\r\\n\\r\\n'\n",
    );
    tree.script("cgi-bin/len.sh", WITH_LENGTH);
    let server = serve(tree.handler(), true);

    // Short: the bytes it wrote, then the close (never a complete-looking response).
    let mut c = server.connect();
    c.send(b"GET /cgi-bin/short.sh HTTP/1.1\r\nHost: test\r\n\r\n");
    let head = c.read_until(b"\r\n\r\n");
    assert!(latin1(&head).contains("Content-Length: 10"), "{}", latin1(&head));
    let (rest, closed) = c.read_for(Duration::from_secs(5));
    assert!(closed, "the connection must close when the script ends short");
    assert_eq!(latin1(&rest), "abc");

    // Long: the extra bytes never reach the wire as a response of their own.
    let mut c = server.connect();
    c.send(b"GET /cgi-bin/long.sh HTTP/1.1\r\nHost: test\r\n\r\n");
    let response = read_response(&mut c, false);
    assert_eq!(response.text(), "ok");
    c.send(b"GET /cgi-bin/len.sh HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    let (rest, _) = c.read_for(IO_TIMEOUT);
    let rest = latin1(&rest);
    assert!(!rest.contains("X-Smuggled"), "the script's extra bytes reached the client: {rest:?}");
    if !rest.is_empty() {
        assert!(rest.starts_with("HTTP/1.1 200 ") && rest.ends_with("\r\n\r\nhello"), "{rest:?}");
    }
}

// ---------------------------------------------------------------------------
// The request body, more
// ---------------------------------------------------------------------------

#[test]
fn script_ignoring_a_large_body_still_answers() {
    let tree = CgiTree::new();
    tree.script("cgi-bin/ignore.sh", "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nignored'\n");
    let server = serve(tree.handler(), true);
    let mut c = server.connect();
    let body = noise(4 << 20, 5);
    let mut writer = c.stream.try_clone().unwrap();
    let sender = thread::spawn(move || {
        let head = format!("POST /cgi-bin/ignore.sh HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n", body.len());
        // The server may stop reading (and close) once the script is done.
        let _ = writer.write_all(head.as_bytes()).and_then(|()| writer.write_all(&body));
    });
    let response = read_response(&mut c, false);
    assert_eq!((response.status, response.text().as_str()), (200, "ignored"), "{response:?}");
    drop(c);
    sender.join().unwrap();
}

#[test]
fn slow_request_body_is_not_a_script_timeout() {
    let tree = CgiTree::new();
    tree.script("cgi-bin/cat.sh", "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nexec cat\n");
    let server = serve(tree.handler().with_timeout(Duration::from_millis(500)), true);
    let mut c = server.connect();
    c.send(b"POST /cgi-bin/cat.sh HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nhello");
    thread::sleep(Duration::from_millis(1200));
    c.send(b"world");
    let response = read_response(&mut c, false);
    assert_eq!((response.status, response.text().as_str()), (200, "helloworld"), "{response:?}");
}

#[test]
fn a_script_that_keeps_writing_is_not_timed_out() {
    let tree = CgiTree::new();
    tree.script(
        "cgi-bin/ticker.sh",
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\n\
         for i in 1 2 3 4 5 6 7 8; do printf 'tick%s\\n' $i; sleep 0.2; done\n",
    );
    let server = serve(tree.handler().with_timeout(Duration::from_millis(700)), true);
    let start = Instant::now();
    let response = get(&server, "/cgi-bin/ticker.sh");
    assert_eq!(response.status, 200, "{response:?}");
    let expected: String = (1..=8).map(|i| format!("tick{i}\n")).collect();
    assert_eq!(response.text(), expected);
    assert!(start.elapsed() >= Duration::from_millis(1400), "ran longer than the timeout");
}

// ---------------------------------------------------------------------------
// How a script is run
// ---------------------------------------------------------------------------

/// The real uid of this test process, from `/proc/self/status`.
fn my_uid() -> u32 {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn scripts_run_in_their_directory_as_nobody() {
    let tree = CgiTree::new();
    tree.script(
        "cgi-bin/sub/who.sh",
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n%s\\n%s\\n%s\\n' \"$(pwd -P)\" \"$SCRIPT_NAME\" \"$PATH_INFO\"\n\
         grep -E '^(Uid|Gid|Groups|CapPrm|CapEff|CapAmb):' /proc/self/status\n",
    );
    tree.script(
        "cgi-bin/who.py",
        "import os, sys\nsys.stdout.write('Content-Type: text/plain\\n\\n%r\\n%s\\n' % (sys.argv[1:], os.getcwd()))\n",
    );
    let server = serve(tree.handler(), true);
    let response = get(&server, "/cgi-bin/sub/who.sh/extra");
    assert_eq!(response.status, 200, "{response:?}");
    let text = response.text();
    let mut lines = text.lines();
    let cwd = fs::canonicalize(tree.root.join("cgi-bin/sub")).unwrap();
    assert_eq!(lines.next(), Some(cwd.to_str().unwrap()), "the script's own directory (RFC 3875 §7.2)");
    assert_eq!(lines.next(), Some("/cgi-bin/sub/who.sh"), "SCRIPT_NAME through a nested directory");
    assert_eq!(lines.next(), Some("/extra"), "PATH_INFO");
    let status: HashMap<&str, Vec<&str>> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k, v.split_whitespace().collect())).collect();
    if my_uid() == 0 {
        let nobody = Command::new("id").args(["-u", "nobody"]).output().unwrap();
        let nobody = String::from_utf8(nobody.stdout).unwrap().trim().to_owned();
        let nogroup = Command::new("id").args(["-g", "nobody"]).output().unwrap();
        let nogroup = String::from_utf8(nogroup.stdout).unwrap().trim().to_owned();
        assert_eq!(status["Uid"], [nobody.as_str(); 4], "a server running as root runs scripts as nobody: {text}");
        assert_eq!(status["Gid"], [nogroup.as_str(); 4], "with nobody's group: {text}");
        assert!(status["Groups"].iter().all(|g| *g == nogroup), "root's supplementary groups are dropped: {text}");
        for caps in ["CapPrm", "CapEff", "CapAmb"] {
            assert_eq!(status[caps], ["0000000000000000"], "{caps}: no capabilities left: {text}");
        }
    } else {
        assert_eq!(status["Uid"][0], my_uid().to_string(), "{text}");
    }
    // A Python script: no arguments after its own path.
    let response = get(&server, "/cgi-bin/who.py?a+b");
    assert_eq!(response.status, 200, "{response:?}");
    let cgi = fs::canonicalize(tree.root.join("cgi-bin")).unwrap();
    assert_eq!(response.text(), format!("[]\n{}\n", cgi.display()));
}

#[test]
fn a_script_that_cannot_start_is_500() {
    let tree = CgiTree::new();
    tree.script("cgi-bin/bad.sh", "#!/nonexistent/interpreter\nprintf 'Content-Type: text/plain\\n\\nran'\n");
    let server = serve(tree.handler(), true);
    let response = get(&server, "/cgi-bin/bad.sh");
    assert_eq!(response.status, 500, "{response:?}");
    assert!(!response.text().contains("ran"));
}

/// Header values are bytes: ISO-8859-1 and UTF-8 reach the script as sent.
#[test]
fn header_bytes_reach_the_script_unchanged() {
    let tree = CgiTree::new();
    tree.script("cgi-bin/env.sh", ENV_SCRIPT);
    let server = serve(tree.handler(), true);
    let mut c = server.connect();
    c.send(b"GET /cgi-bin/env.sh HTTP/1.1\r\nHost: t\r\nX-Latin: caf\xe9\r\nX-Utf8: caf\xc3\xa9\r\nConnection: close\r\n\r\n");
    let response = read_response(&mut c, false);
    let env = env_map(&response.text());
    assert_eq!(env.get("HTTP_X_LATIN").map(String::as_str), Some("caf\u{e9}"), "{env:?}");
    assert_eq!(env.get("HTTP_X_UTF8").map(String::as_str), Some("caf\u{c3}\u{a9}"), "{env:?}");
}

/// A server that stops while a script runs ends it too: after the
/// shutdown grace the runtime closes the script's connection, the script
/// is killed with its group, and `serve_forever` returns; no script is
/// left behind a stopped server.
#[test]
fn shutdown_ends_running_scripts() {
    let tree = CgiTree::new();
    let run = writable_dir(&tree, "run");
    tree.script("cgi-bin/long.sh", &format!("#!/bin/sh\necho $$ > {}/long.pid\nsleep 30\n", run.display()));
    let config = basehttp::ServerConfig { shutdown_grace: Duration::from_millis(300), ..Default::default() };
    let server = support::serve_with(tree.handler(), true, config);
    let mut c = server.connect();
    c.send(b"GET /cgi-bin/long.sh HTTP/1.1\r\nHost: test\r\n\r\n");
    let pid = read_pid(&run.join("long.pid"), IO_TIMEOUT);

    let start = Instant::now();
    server.stop().expect("serve_forever returns");
    let took = start.elapsed();
    assert!(took < Duration::from_secs(5), "serve_forever returned after {took:?} with a script running");
    assert_eq!(wait_gone(pid, Duration::from_secs(3)), None, "the script {pid} outlived the server");
}

/// `with_timeout(Duration::MAX)` is no limit, not an overflow: scripts
/// answer (a deadline of "now + MAX" would panic, and the handler's panic
/// would be a 500).
#[test]
fn an_unlimited_timeout_runs_scripts() {
    let tree = CgiTree::new();
    tree.script("cgi-bin/ok.sh", "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nfine\\n'\n");
    let server = serve(tree.handler().with_timeout(Duration::MAX), true);
    let response = get(&server, "/cgi-bin/ok.sh");
    assert_eq!((response.status, response.text().as_str()), (200, "fine\n"), "{response:?}");
}
