//! Helpers of `tests/file_server.rs`: a throw-away directory tree under the
//! system temp dir, an in-process `SimpleHTTPRequestHandler` server on
//! `127.0.0.1:0`, and a raw-socket client that sends exactly the bytes a
//! test writes (no URL normalisation, so `/../` reaches the server as sent).
#![allow(dead_code)]

use std::fs;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use basehttp::{HTTPServer, ShutdownHandle, SimpleHTTPRequestHandler};

/// The longest any single read or write of a test may wait.
pub const IO_TIMEOUT: Duration = Duration::from_secs(20);

/// Tests take this shared; the memory test takes it alone, so that no other
/// test allocates in the process while it measures.
static EXCLUSIVE: RwLock<()> = RwLock::new(());

pub fn shared() -> RwLockReadGuard<'static, ()> {
    EXCLUSIVE.read().unwrap_or_else(|e| e.into_inner())
}

pub fn alone() -> RwLockWriteGuard<'static, ()> {
    EXCLUSIVE.write().unwrap_or_else(|e| e.into_inner())
}

/// `<temp>/basehttp-files-<pid>-<n>-<nanos>/` holding `root/` (the served
/// directory) and, beside it, a canary file that must never be served.
/// Removed on drop.
pub struct Tree {
    pub base: PathBuf,
    pub root: PathBuf,
    pub canary: PathBuf,
    pub canary_text: String,
}

impl Tree {
    pub fn new() -> Tree {
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
        let name = format!("basehttp-files-{}-{}-{nanos}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        let base = std::env::temp_dir().join(name);
        let root = base.join("root");
        fs::create_dir_all(&root).unwrap();
        let canary = base.join("canary-secret.txt");
        let canary_text = format!("CANARY-{nanos:x}-DO-NOT-SERVE");
        fs::write(&canary, &canary_text).unwrap();
        Tree { base, root, canary, canary_text }
    }

    /// Writes `root/<rel>`, creating folders on the way.
    pub fn file(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, content).unwrap();
        path
    }

    pub fn dir(&self, rel: &str) -> PathBuf {
        let path = self.root.join(rel);
        fs::create_dir_all(&path).unwrap();
        path
    }

    /// `root/<rel>` as a symlink to `target`.
    #[cfg(unix)]
    pub fn symlink(&self, rel: &str, target: impl AsRef<Path>) {
        std::os::unix::fs::symlink(target, self.root.join(rel)).unwrap();
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.base);
    }
}

/// A `SimpleHTTPRequestHandler` server on `127.0.0.1:0`, running
/// `serve_forever` on a thread; dropping it shuts the server down.
pub struct Server {
    pub port: u16,
    stop: ShutdownHandle,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl Server {
    pub fn start(root: &Path) -> Server {
        Self::start_with(SimpleHTTPRequestHandler::new(root), "HTTP/1.0")
    }

    pub fn start_with(handler: SimpleHTTPRequestHandler, protocol: &str) -> Server {
        let mut httpd = HTTPServer::new(("127.0.0.1", 0), move || handler.clone()).unwrap();
        httpd.class_mut().protocol_version = protocol.to_owned();
        let port = httpd.server_port();
        let stop = httpd.shutdown_handle();
        let thread = std::thread::spawn(move || httpd.serve_forever());
        Server { port, stop, thread: Some(thread) }
    }

    /// One request on a fresh connection.
    pub fn get(&self, target: &str, headers: &[(&str, &str)]) -> Response {
        self.request("GET", target, headers)
    }

    pub fn request(&self, method: &str, target: &str, headers: &[(&str, &str)]) -> Response {
        let mut head = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        self.raw(head.as_bytes(), method == "HEAD")
    }

    /// Sends `request` as it is on a fresh connection and reads one response.
    pub fn raw(&self, request: &[u8], head_only: bool) -> Response {
        let mut conn = self.connect();
        conn.write_all(request).unwrap();
        read_response(&mut conn, head_only)
    }

    pub fn connect(&self) -> TcpStream {
        let conn = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        conn.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        conn.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        conn
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A parsed response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Reads one response: the head, then `Content-Length` bytes (none for
/// `HEAD`, 1xx, 204 and 304), or everything until the server closes.
pub fn read_response(conn: &mut TcpStream, head_only: bool) -> Response {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match conn.read(&mut byte) {
            Ok(0) => panic!("connection closed inside the head: {:?}", String::from_utf8_lossy(&head)),
            Ok(_) => head.push(byte[0]),
            Err(e) => panic!("reading the head: {e}"),
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line.split(' ').nth(1).and_then(|c| c.parse().ok()).expect(status_line);
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (n, v) = l.split_once(':').expect(l);
            (n.to_owned(), v.trim().to_owned())
        })
        .collect();
    let mut response = Response { status, headers, body: Vec::new() };
    if head_only || status < 200 || status == 204 || status == 304 {
        return response;
    }
    match response.header("Content-Length").map(|v| v.parse::<usize>().unwrap()) {
        Some(len) => {
            response.body.resize(len, 0);
            conn.read_exact(&mut response.body).unwrap();
        }
        None => {
            conn.read_to_end(&mut response.body).unwrap();
        }
    }
    response
}

/// Sends a request and reads the body as it arrives, counting bytes without
/// keeping them; `each` sees the running total after every read.
pub fn stream_and_discard(conn: &mut TcpStream, target: &str, mut each: impl FnMut(u64)) -> (Response, u64) {
    let request = format!("GET {target} HTTP/1.0\r\n\r\n");
    conn.write_all(request.as_bytes()).unwrap();
    let response = read_response(conn, true);
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = conn.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        total += n as u64;
        each(total);
    }
    let _ = conn.shutdown(Shutdown::Both);
    (response, total)
}

/// This process's resident set size, from `/proc/self/status` (Linux).
pub fn rss_bytes() -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// `urllib.parse.unquote` for checking links.
pub fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Some(v) = std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}
