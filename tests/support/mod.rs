//! Helpers shared by the integration tests: an in-process server on
//! `127.0.0.1:0` that shuts down when dropped, bounded waits (for a
//! condition, for a child process), a raw-socket client whose every wait is
//! bounded, the oracle's `Date`/`Server` normalisation, CPython's error
//! page, and a capturing `log::Log`.
//!
//! Each test file includes it with `mod support;`; not every file uses every
//! helper.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use basehttp::{BaseHTTPRequestHandler, HTTPServer, HandlerResult, Request, ServerConfig, ShutdownHandle};

/// The longest any single wait of a test may take before it fails.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------
// In-process servers
// ---------------------------------------------------------------------------

/// A server running `serve_forever` on its own thread. Dropping it calls
/// `shutdown()` and joins the thread (bounded).
pub struct TestServer {
    pub port: u16,
    pub addr: SocketAddr,
    handle: ShutdownHandle,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl TestServer {
    /// Binds `127.0.0.1:0` with the default configuration.
    pub fn start<H, F>(factory: F) -> TestServer
    where
        H: BaseHTTPRequestHandler,
        F: Fn() -> H + Send + Sync + 'static,
    {
        Self::start_with(factory, ServerConfig::default(), |_| {})
    }

    /// Binds `127.0.0.1:0` with `config`; `setup` may adjust the server
    /// (class variables, state, …) before `serve_forever` starts.
    pub fn start_with<H, F>(factory: F, config: ServerConfig, setup: impl FnOnce(&mut HTTPServer<H>)) -> TestServer
    where
        H: BaseHTTPRequestHandler,
        F: Fn() -> H + Send + Sync + 'static,
    {
        let mut server = HTTPServer::with_config(("127.0.0.1", 0), factory, config).expect("bind 127.0.0.1:0");
        setup(&mut server);
        Self::spawn(server)
    }

    /// Runs `serve_forever` of an already built server on a thread.
    pub fn spawn<H: BaseHTTPRequestHandler>(mut server: HTTPServer<H>) -> TestServer {
        let port = server.server_port();
        let addr = server.server_address();
        assert_ne!(port, 0, "server_port must be the real port");
        let handle = server.shutdown_handle();
        let thread = thread::Builder::new()
            .name(format!("serve_forever:{port}"))
            .spawn(move || server.serve_forever())
            .expect("spawn serve_forever");
        TestServer { port, addr, handle, thread: Some(thread) }
    }

    /// A client connected to this server.
    pub fn connect(&self) -> Client {
        Client::connect(self.port)
    }

    /// One connection: sends `request`, half-closes, returns everything the
    /// server sent until it closed (panics if it does not close in time).
    pub fn exchange(&self, request: &[u8]) -> Vec<u8> {
        let mut c = self.connect();
        c.send(request);
        c.half_close();
        c.read_to_end()
    }

    /// [`exchange`](Self::exchange) with `Date`/`Server` normalised, as text.
    pub fn exchange_norm(&self, request: &[u8]) -> String {
        norm(&self.exchange(request))
    }

    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.handle.clone()
    }

    /// Stops the server and returns what `serve_forever` returned.
    pub fn stop(mut self) -> io::Result<()> {
        self.stop_inner().expect("serve_forever did not return after shutdown()")
    }

    fn stop_inner(&mut self) -> Option<io::Result<()>> {
        let thread = self.thread.take()?;
        let deadline = Instant::now() + Duration::from_secs(15);
        // `shutdown()` returns at once when `serve_forever` has not started
        // yet; keep asking until the thread is done.
        loop {
            self.handle.request_shutdown();
            if thread.is_finished() {
                return Some(thread.join().expect("serve_forever panicked"));
            }
            if Instant::now() > deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if self.thread.is_some() && self.stop_inner().is_none() {
            eprintln!("warning: server on port {} did not stop within 15 s", self.port);
        }
    }
}

/// A handler made of a closure: for tests that need only a `dispatch`.
/// Class variables are changed through `HTTPServer::class_mut` (see
/// [`http11`]).
#[derive(Clone)]
pub struct FnHandler(pub Arc<dyn Fn(&mut Request) -> HandlerResult + Send + Sync>);

impl BaseHTTPRequestHandler for FnHandler {
    fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
        (self.0)(req)
    }
}

/// A server whose every request is answered by `f` (default configuration).
pub fn serve_fn(f: impl Fn(&mut Request) -> HandlerResult + Send + Sync + 'static) -> TestServer {
    serve_fn_with(ServerConfig::default(), |_| {}, f)
}

/// [`serve_fn`] with a configuration and a setup step.
pub fn serve_fn_with(
    config: ServerConfig,
    setup: impl FnOnce(&mut HTTPServer<FnHandler>),
    f: impl Fn(&mut Request) -> HandlerResult + Send + Sync + 'static,
) -> TestServer {
    let h = FnHandler(Arc::new(f));
    TestServer::start_with(move || h.clone(), config, setup)
}

/// A setup step: `protocol_version = "HTTP/1.1"`.
pub fn http11(server: &mut HTTPServer<FnHandler>) {
    server.class_mut().protocol_version = "HTTP/1.1".to_owned();
}

/// Answers 200 with `body` and an exact `Content-Length`.
pub fn reply(req: &mut Request, body: &[u8]) -> HandlerResult {
    req.send_response(200)?;
    req.send_header("Content-Length", body.len())?;
    req.end_headers()?;
    req.wfile().write_all(body)?;
    Ok(())
}

// ---------------------------------------------------------------------------
// The conformance example, as a separate process
// ---------------------------------------------------------------------------

/// The conformance example: `target/debug/deps/<test>-HASH` →
/// `target/debug/examples/conformance`, built if needed ([`example_binary`]).
pub fn conformance_binary() -> PathBuf {
    example_binary("conformance")
}

/// An example's executable, `target/<profile>/examples/NAME`, built first
/// with `cargo build --example NAME` in this test's profile, once per test
/// process (a no-op when it is up to date, which also keeps it from being
/// stale).
///
/// The examples are the `basehttp-examples` package, so `cargo test` builds
/// them (it builds every default member's examples) but a filtered run
/// (`cargo test --test examples`) or a run of this package alone does not.
/// The build goes through the root manifest without `-p`, as `cargo test`
/// does, so both resolve the same features and share their artifacts.
pub fn example_binary(name: &str) -> PathBuf {
    static BUILT: Mutex<Vec<(String, PathBuf)>> = Mutex::new(Vec::new());
    // Held during the build: cargo would serialise the builds on its lock anyway.
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, bin)) = built.iter().find(|(n, _)| n == name) {
        return bin.clone();
    }
    let bin = build_example(name);
    built.push((name.to_owned(), bin.clone()));
    bin
}

fn build_example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>");
    let bin = profile_dir.join("examples").join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let target_dir = profile_dir.parent().expect("target dir");
    // target/debug is the dev profile's folder (and the test profile's);
    // any other is named after its profile (`cargo test --release`: release).
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev",
        Some(profile) => profile,
    };
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["build", "--quiet", "--example", name, "--profile", profile, "--manifest-path"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target_dir)
        .stdin(Stdio::null());
    // Under `cargo test --features tls` the examples are built with it too
    // (http_server's --tls-cert), as cargo test itself built them.
    if cfg!(feature = "tls") {
        cmd.args(["--features", "tls"]);
    }
    // Bounded: a build that hangs (e.g. on a lock) is killed after 5 min
    // (`Ok(None)`).
    let status = cmd.spawn().map(|mut child| wait_or_kill(&mut child, Duration::from_secs(300)));
    assert!(bin.exists(), "{} is missing and `cargo build --example {name}` failed ({status:?})", bin.display());
    if !matches!(status, Ok(Some(s)) if s.success()) {
        eprintln!("warning: `cargo build --example {name}` failed ({status:?}); using the existing binary");
    }
    bin
}

// ---------------------------------------------------------------------------
// Bounded waits
// ---------------------------------------------------------------------------

/// Calls `check` every 10 ms until it returns `Some`, for at most `limit`; `None` if it never did.
pub fn poll<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Waits at most `limit` for `child` to exit; on overrun kills it (and any group it leads), reaps it, returns `None`.
pub fn wait_or_kill(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let status = poll(limit, || child.try_wait().unwrap());
    if status.is_none() {
        // `-PID` is the group of a child spawned with `process_group(0)`
        // (git's helpers go with it); for any other child there is no such
        // group and this kill does nothing.
        let group = format!("-{}", child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = child.kill();
        let _ = child.wait();
    }
    status
}

// ---------------------------------------------------------------------------
// Raw-socket client
// ---------------------------------------------------------------------------

/// A client connection with a receive buffer; every read is bounded.
pub struct Client {
    pub stream: TcpStream,
    /// Received and not yet returned.
    pub buf: Vec<u8>,
    /// The server closed (EOF or reset).
    pub eof: bool,
}

impl Client {
    pub fn connect(port: u16) -> Client {
        Self::connect_addr(SocketAddr::from(([127, 0, 0, 1], port)))
    }

    pub fn connect_addr(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
        stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        Client { stream, buf: Vec::new(), eof: false }
    }

    pub fn local_port(&self) -> u16 {
        self.stream.local_addr().unwrap().port()
    }

    /// Writes all of `bytes` (a reset or broken pipe is ignored: the test
    /// then checks what the server sent).
    pub fn send(&mut self, bytes: &[u8]) {
        match self.stream.write_all(bytes) {
            Ok(()) => {}
            Err(e) if matches!(e.kind(), io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset) => {}
            Err(e) => panic!("send failed: {e}"),
        }
    }

    /// `shutdown(SHUT_WR)`: the server sees EOF.
    pub fn half_close(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// One read of at most `wait`; `false` once the server closed.
    pub fn read_some(&mut self, wait: Duration) -> bool {
        if self.eof {
            return false;
        }
        let wait = wait.max(Duration::from_millis(1));
        self.stream.set_read_timeout(Some(wait)).unwrap();
        let mut chunk = [0u8; 65536];
        match self.stream.read(&mut chunk) {
            Ok(0) => {
                self.eof = true;
                false
            }
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => true,
            Err(_) => {
                // Reset or aborted: the server is gone.
                self.eof = true;
                false
            }
        }
    }

    /// Reads until `pattern` was received and returns everything up to and
    /// including it (the rest stays buffered). Panics after `IO_TIMEOUT`.
    pub fn read_until(&mut self, pattern: &[u8]) -> Vec<u8> {
        self.try_read_until(pattern, IO_TIMEOUT).unwrap_or_else(|| {
            panic!("{:?} not received within {IO_TIMEOUT:?}; got {:?}", latin1(pattern), latin1(&self.buf))
        })
    }

    /// [`read_until`](Self::read_until) that returns `None` on timeout or EOF.
    pub fn try_read_until(&mut self, pattern: &[u8], limit: Duration) -> Option<Vec<u8>> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(i) = find(&self.buf, pattern) {
                let rest = self.buf.split_off(i + pattern.len());
                return Some(std::mem::replace(&mut self.buf, rest));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !self.read_some(left) {
                return None;
            }
        }
    }

    /// Reads exactly `n` more bytes. Panics on EOF or timeout.
    pub fn read_exact_n(&mut self, n: usize) -> Vec<u8> {
        let deadline = Instant::now() + IO_TIMEOUT;
        while self.buf.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !self.read_some(left) {
                panic!("wanted {n} bytes, got {:?} (eof: {})", latin1(&self.buf), self.eof);
            }
        }
        let rest = self.buf.split_off(n);
        std::mem::replace(&mut self.buf, rest)
    }

    /// One response: the head up to the blank line, then `Content-Length`
    /// bytes of body (none without the header).
    pub fn read_response(&mut self) -> Vec<u8> {
        let mut head = self.read_until(b"\r\n\r\n");
        let length = header_value(&head, "Content-Length").map_or(0, |v| v.trim().parse::<usize>().unwrap());
        let body = self.read_exact_n(length);
        head.extend_from_slice(&body);
        head
    }

    /// [`read_response`](Self::read_response), normalised.
    pub fn read_response_norm(&mut self) -> String {
        norm(&self.read_response())
    }

    /// Everything until the server closes. Panics if it does not close
    /// within `IO_TIMEOUT`.
    pub fn read_to_end(&mut self) -> Vec<u8> {
        let (data, closed) = self.read_for(IO_TIMEOUT);
        assert!(closed, "the server did not close within {IO_TIMEOUT:?}; got {:?}", latin1(&data));
        data
    }

    /// Reads for at most `limit` or until EOF; returns the bytes and whether
    /// the server closed.
    pub fn read_for(&mut self, limit: Duration) -> (Vec<u8>, bool) {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !self.read_some(left) {
                break;
            }
        }
        (std::mem::take(&mut self.buf), self.eof)
    }

    /// Asserts that nothing arrives for `quiet` and the connection stays
    /// open.
    pub fn assert_silent(&mut self, quiet: Duration) {
        let (data, closed) = self.read_for(quiet);
        assert!(data.is_empty() && !closed, "expected silence; got {:?} (closed: {closed})", latin1(&data));
    }

    /// Asserts that the server closes without sending anything more.
    pub fn assert_closed(&mut self) {
        let data = self.read_to_end();
        assert!(data.is_empty(), "expected a close; got {:?}", latin1(&data));
    }
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The value of the first `name` field of a response head (case-insensitive).
pub fn header_value(head: &[u8], name: &str) -> Option<String> {
    let head = latin1(head);
    head.split("\r\n").skip(1).take_while(|l| !l.is_empty()).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim_start().to_owned())
    })
}

/// Bytes as text, one char per byte (the oracle's JSON convention).
pub fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

/// Text of chars U+0000..U+00FF back to bytes.
pub fn bytes_of(text: &str) -> Vec<u8> {
    text.chars().map(|c| u8::try_from(u32::from(c)).unwrap_or_else(|_| panic!("{c:?} is not a byte"))).collect()
}

// ---------------------------------------------------------------------------
// The oracle's normalisation (../shared/oracle/README.md, "Replay algorithm" 5)
// ---------------------------------------------------------------------------

/// Replaces, in every response head, a valid current `Date` value by
/// `<DATE>` and a non-blank `Server` value by `<SERVER>`; returns latin-1
/// text. Invalid values stay, so the comparison fails.
pub fn norm(data: &[u8]) -> String {
    latin1(&normalize_response(data))
}

/// The oracle's `normalize_response`, byte for byte: for each match of
/// `HTTP/[0-9]\.[0-9] [0-9]{3}[^\r\n]*(?:\r\n.*?)??\r\n\r\n` (DOTALL), the
/// lines `Date: V` and `Server: V` between CRLFs are rewritten.
pub fn normalize_response(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    let mut copied = 0;
    while i < data.len() {
        match header_block_at(data, i) {
            Some(end) => {
                out.extend_from_slice(&data[copied..i]);
                let block = sub_header(&data[i..end], b"Date: ", |v| valid_http_date(v).then(|| b"<DATE>".to_vec()));
                let block = sub_header(&block, b"Server: ", |v| {
                    (!v.iter().all(|b| b.is_ascii_whitespace())).then(|| b"<SERVER>".to_vec())
                });
                out.extend_from_slice(&block);
                i = end;
                copied = end;
            }
            None => i += 1,
        }
    }
    out.extend_from_slice(&data[copied..]);
    out
}

/// The end of a header block starting at `i`, if the regex matches there.
fn header_block_at(data: &[u8], i: usize) -> Option<usize> {
    let s = &data[i..];
    let digit = |k: usize| s.get(k).is_some_and(u8::is_ascii_digit);
    if !(s.starts_with(b"HTTP/") && digit(5) && s.get(6) == Some(&b'.') && digit(7) && s.get(8) == Some(&b' ')) {
        return None;
    }
    if !(digit(9) && digit(10) && digit(11)) {
        return None;
    }
    // `[^\r\n]*` stops at the first CR or LF, which must start a CRLF; the
    // block then ends at the first CRLFCRLF from there.
    let p = 12 + s[12..].iter().position(|&b| b == b'\r' || b == b'\n')?;
    if !s[p..].starts_with(b"\r\n") {
        return None;
    }
    let q = p + find(&s[p..], b"\r\n\r\n")?;
    Some(i + q + 4)
}

/// `(?<=\r\n)NAME([^\r\n]*)(?=\r\n)` → `NAME` + `f(value)` when `f` says so.
fn sub_header(block: &[u8], name: &[u8], f: impl Fn(&[u8]) -> Option<Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::with_capacity(block.len());
    let mut j = 0;
    while j < block.len() {
        if j >= 2 && &block[j - 2..j] == b"\r\n" && block[j..].starts_with(name) {
            let vstart = j + name.len();
            let vend = vstart + block[vstart..].iter().position(|&b| b == b'\r' || b == b'\n').unwrap_or(block.len());
            if block[vend..].starts_with(b"\r\n") {
                if let Some(new) = f(&block[vstart..vend]) {
                    out.extend_from_slice(name);
                    out.extend_from_slice(&new);
                    j = vend;
                    continue;
                }
            }
        }
        out.push(block[j]);
        j += 1;
    }
    out
}

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
pub const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Days since 1970-01-01 → (year, month 1-12, day).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// (year, month 1-12, day) → days since 1970-01-01.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Python's `formatdate(ts, usegmt=True)`: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn imf_fixdate(ts: i64) -> String {
    let days = ts.div_euclid(86_400);
    let secs = ts.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    // 1970-01-01 was a Thursday (index 3 with Monday = 0).
    let wd = (days + 3).rem_euclid(7) as usize;
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[wd],
        d,
        MONTHS[m as usize - 1],
        y,
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Parses an IMF-fixdate strictly; `None` unless it formats back to itself.
pub fn parse_imf_fixdate(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 29 || !s.is_ascii() || &s[3..5] != ", " || &s[25..] != " GMT" {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = &s[r];
        t.bytes().all(|c| c.is_ascii_digit()).then(|| t.parse().ok())?
    };
    let day = num(5..7)?;
    let month = MONTHS.iter().position(|m| *m == &s[8..11])? as u32 + 1;
    let year = num(12..16)?;
    let (hh, mm, ss) = (num(17..19)?, num(20..22)?, num(23..25)?);
    if !(1..=31).contains(&day) || hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    let ts = days_from_civil(year, month, day as u32) * 86_400 + hh * 3600 + mm * 60 + ss;
    (imf_fixdate(ts) == s).then_some(ts)
}

pub fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// The oracle's `valid_http_date`: a canonical IMF-fixdate within 15 min of now.
pub fn valid_http_date(value: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(value) else { return false };
    parse_imf_fixdate(s).is_some_and(|ts| (ts - unix_now()).abs() <= 900)
}

// ---------------------------------------------------------------------------
// Log lines (B67-B73)
// ---------------------------------------------------------------------------

/// Python's `str.isspace()` (what `\S` excludes in the oracle's log regex).
fn py_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0b' | '\x0c' | '\r' | '\x1c'..='\x1f' | ' ' | '\u{85}' | '\u{a0}') || c.is_whitespace()
}

/// The oracle's `normalize_log` for one line: `HOST - - [TS] MESSAGE` with a
/// well-formed `DD/Mon/YYYY hh:mm:ss` replaced by `<TS>`; `None` for a line
/// of another shape.
pub fn normalize_log_line(line: &str) -> Option<String> {
    let host_end = line.find(py_space).unwrap_or(line.len());
    if host_end == 0 {
        return None;
    }
    let (host, rest) = line.split_at(host_end);
    let rest = rest.strip_prefix(" - - [")?;
    let close = rest.find(']')?;
    let (ts, message) = (&rest[..close], rest[close..].strip_prefix("] ")?);
    let ts = if is_log_timestamp(ts) { "<TS>" } else { ts };
    Some(format!("{host} - - [{ts}] {message}"))
}

/// `[0-9]{2}/(Jan|…|Dec)/[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}` (B71).
pub fn is_log_timestamp(ts: &str) -> bool {
    let b = ts.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    b.len() == 20
        && ts.is_ascii()
        && digits(0..2)
        && b[2] == b'/'
        && MONTHS.contains(&&ts[3..6])
        && b[6] == b'/'
        && digits(7..11)
        && b[11] == b' '
        && digits(12..14)
        && b[14] == b':'
        && digits(15..17)
        && b[17] == b':'
        && digits(18..20)
}

/// A `log::Log` that keeps every record of target `basehttp` (the runtime's
/// log lines), for the tests of one test binary.
pub mod logs {
    use super::*;

    struct Capture;

    static LINES: Mutex<Vec<(log::Level, String)>> = Mutex::new(Vec::new());
    static SERIAL: Mutex<()> = Mutex::new(());

    impl log::Log for Capture {
        fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
            metadata.target().starts_with(basehttp::LOG_TARGET)
        }
        fn log(&self, record: &log::Record<'_>) {
            if self.enabled(record.metadata()) {
                let line = record.args().to_string();
                LINES.lock().unwrap_or_else(|e| e.into_inner()).push((record.level(), line));
            }
        }
        fn flush(&self) {}
    }

    /// Installs the capturing logger (once per test binary) and returns a
    /// guard that serialises the tests that read the captured lines: the
    /// log carries no port, so two servers logging at once would mix.
    pub fn capture() -> MutexGuard<'static, ()> {
        static INSTALLED: OnceLock<()> = OnceLock::new();
        INSTALLED.get_or_init(|| {
            static LOGGER: Capture = Capture;
            log::set_logger(&LOGGER).expect("a logger was already installed");
            log::set_max_level(log::LevelFilter::Trace);
        });
        let guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        LINES.lock().unwrap_or_else(|e| e.into_inner()).clear();
        guard
    }

    /// Every `Info` line captured so far (the `log_message` lines), cleared.
    pub fn take() -> Vec<String> {
        let mut lines = LINES.lock().unwrap_or_else(|e| e.into_inner());
        lines.drain(..).filter(|(l, _)| *l == log::Level::Info).map(|(_, s)| s).collect()
    }

    /// Every captured record with its level, cleared.
    pub fn take_all() -> Vec<(log::Level, String)> {
        std::mem::take(&mut *LINES.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Waits (bounded) until at least `n` `Info` lines were captured; returns
    /// them normalised (`<TS>`), asserting every line has the log shape.
    pub fn wait_lines(n: usize) -> Vec<String> {
        let deadline = Instant::now() + IO_TIMEOUT;
        loop {
            let count =
                LINES.lock().unwrap_or_else(|e| e.into_inner()).iter().filter(|(l, _)| *l == log::Level::Info).count();
            if count >= n || Instant::now() > deadline {
                break;
            }
            thread::sleep(Duration::from_millis(5));
        }
        // Lines written right after the n-th (e.g. by a later response) are
        // given a moment to arrive, so that extra lines fail the test.
        thread::sleep(Duration::from_millis(50));
        take()
            .into_iter()
            .map(|l| normalize_log_line(&l).unwrap_or_else(|| panic!("not a log_message line: {l:?}")))
            .collect()
    }
}

// ---------------------------------------------------------------------------
// CPython's error page (B59-B66)
// ---------------------------------------------------------------------------

/// `html.escape(text, quote=False)`.
pub fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// CPython's `DEFAULT_ERROR_MESSAGE` filled in (B64), written out here
/// independently of the runtime's copy.
pub fn error_page(code: u16, message: &str, explain: &str) -> String {
    format!(
        "<!DOCTYPE HTML>\n<html lang=\"en\">\n    <head>\n        <meta charset=\"utf-8\">\n        \
         <title>Error response</title>\n    </head>\n    <body>\n        <h1>Error response</h1>\n        \
         <p>Error code: {code}</p>\n        <p>Message: {}.</p>\n        \
         <p>Error code explanation: {code} - {}.</p>\n    </body>\n</html>\n",
        html_escape(message),
        html_escape(explain)
    )
}

/// The normalised bytes (as latin-1 text) of `send_error(code, message,
/// explain)` with a page: status line, `Server`, `Date`, `Connection: close`,
/// `Content-Type`, `Content-Length`, blank line, and the page unless `head`.
/// `message` goes into the status line as latin-1 and into the page as UTF-8.
pub fn error_response(protocol: &str, code: u16, message: &str, explain: &str, head: bool) -> String {
    let page = error_page(code, message, explain);
    let mut out = format!(
        "{protocol} {code} {message}\r\nServer: <SERVER>\r\nDate: <DATE>\r\nConnection: close\r\n\
         Content-Type: text/html;charset=utf-8\r\nContent-Length: {}\r\n\r\n",
        page.len()
    );
    if !head {
        out.push_str(&latin1(page.as_bytes()));
    }
    out
}

/// [`error_response`] with the code's default phrase and explanation from
/// `basehttp::responses` (checked against appendix A elsewhere).
pub fn default_error(protocol: &str, code: u16) -> String {
    let (message, explain) = basehttp::responses(code).expect("known code");
    error_response(protocol, code, message, explain, false)
}

// ---------------------------------------------------------------------------
// Coordination between a test and its handler
// ---------------------------------------------------------------------------

/// Named one-shot signals with bounded waits, shared by a test and the
/// handlers of its server (`Arc<Gate>` in the factory or the server state).
#[derive(Default)]
pub struct Gate {
    raised: Mutex<Vec<String>>,
    changed: std::sync::Condvar,
}

impl Gate {
    pub fn new() -> Arc<Gate> {
        Arc::new(Gate::default())
    }

    /// Raises `name` (idempotent) and wakes the waiters.
    pub fn signal(&self, name: &str) {
        let mut raised = self.raised.lock().unwrap_or_else(|e| e.into_inner());
        if !raised.iter().any(|n| n == name) {
            raised.push(name.to_owned());
        }
        self.changed.notify_all();
    }

    /// Waits at most `limit` for `name`; whether it was raised.
    pub fn wait(&self, name: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut raised = self.raised.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if raised.iter().any(|n| n == name) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            raised = self.changed.wait_timeout(raised, left).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    /// Whether `name` was raised.
    pub fn is_raised(&self, name: &str) -> bool {
        self.raised.lock().unwrap_or_else(|e| e.into_inner()).iter().any(|n| n == name)
    }
}
