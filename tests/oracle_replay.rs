//! The oracle's replay algorithm (`../shared/oracle/README.md`, "Replay
//! algorithm"), reimplemented as-is: every case of `tests/oracle/cases`
//! (copies of the public cases) is replayed against the conformance example
//! and its response, connection end, `wait_for` outcomes and log lines are
//! compared with what CPython (or `ref_server.py --strict` for deviation
//! cases) produced.
//!
//! One server process per configuration (`--protocol`,
//! `--default-request-version`); the configurations run in parallel, the
//! cases of one configuration one after the other (the log marker needs
//! that). `cargo test` builds the example into the same target directory.

mod support;

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{bytes_of, latin1, normalize_log_line, normalize_response};

const CASE_LIMIT: f64 = 30.0;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_IDLE_HALF_CLOSED: f64 = 3.0;
const DEFAULT_IDLE_OPEN: f64 = 1.0;
const DEFAULT_WAIT_TIMEOUT: f64 = 3.0;
const MARKER: &str = "__oracle_log_marker__";
const DEFAULT_PROTOCOL: &str = "HTTP/1.0";
const DEFAULT_REQUEST_VERSION: &str = "HTTP/0.9";
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------

struct Case {
    id: String,
    title: String,
    config: (String, String),
    steps: Vec<Step>,
    half_close: bool,
    idle_timeout: f64,
    expected: Outcome,
    deviation: Option<String>,
}

enum Step {
    Send(Vec<u8>),
    WaitFor(Vec<u8>, f64),
    Sleep(f64),
}

#[derive(Clone, Debug, PartialEq)]
struct Outcome {
    /// Normalised response, one char per byte.
    response: String,
    end: String,
    waits: Vec<String>,
    log: Option<Vec<String>>,
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/cases")
}

fn load_cases() -> Vec<Case> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("tests/oracle/cases")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths.iter().map(|p| parse_case(p)).collect()
}

fn parse_case(path: &Path) -> Case {
    let text = std::fs::read_to_string(path).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let id = v["id"].as_str().map_or_else(|| path.file_stem().unwrap().to_string_lossy().into_owned(), str::to_owned);
    let server = &v["server"];
    let config = (
        server["protocol"].as_str().unwrap_or(DEFAULT_PROTOCOL).to_owned(),
        server["default_request_version"].as_str().unwrap_or(DEFAULT_REQUEST_VERSION).to_owned(),
    );
    let steps = v["steps"]
        .as_array()
        .unwrap_or_else(|| panic!("{id}: no steps"))
        .iter()
        .map(|s| {
            if let Some(b) = s["send"].as_str() {
                Step::Send(bytes_of(b))
            } else if let Some(p) = s["wait_for"].as_str() {
                Step::WaitFor(bytes_of(p), s["timeout"].as_f64().unwrap_or(DEFAULT_WAIT_TIMEOUT))
            } else if let Some(t) = s["sleep"].as_f64() {
                Step::Sleep(t)
            } else {
                panic!("{id}: unknown step {s}")
            }
        })
        .collect();
    let half_close = v["half_close"].as_bool().unwrap_or(true);
    let idle_timeout =
        v["idle_timeout"].as_f64().unwrap_or(if half_close { DEFAULT_IDLE_HALF_CLOSED } else { DEFAULT_IDLE_OPEN });
    let e = &v["expected"];
    let expected = Outcome {
        response: e["response"].as_str().unwrap_or_else(|| panic!("{id}: no expected response")).to_owned(),
        end: e["end"].as_str().unwrap().to_owned(),
        waits: e["waits"]
            .as_array()
            .map_or_else(Vec::new, |w| w.iter().map(|x| x.as_str().unwrap().to_owned()).collect()),
        log: e["log"].as_array().map(|l| l.iter().map(|x| x.as_str().unwrap().to_owned()).collect()),
    };
    let deviation = v["deviation"]["id"].as_str().map(str::to_owned);
    let title = v["title"].as_str().unwrap_or("").to_owned();
    Case { id, title, config, steps, half_close, idle_timeout, expected, deviation }
}

// ---------------------------------------------------------------------------
// The server process
// ---------------------------------------------------------------------------

/// A free port: bind `127.0.0.1:0` and let it go.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Server {
    child: Child,
    port: u16,
    lines: Arc<Mutex<Vec<String>>>,
    marker_seq: u32,
}

impl Server {
    fn start(config: &(String, String)) -> Server {
        let bin = support::conformance_binary();
        let mut last_error = String::new();
        for _attempt in 0..3 {
            let port = free_port();
            let mut cmd = Command::new(&bin);
            cmd.arg("--port").arg(port.to_string());
            if config.0 != DEFAULT_PROTOCOL {
                cmd.arg("--protocol").arg(&config.0);
            }
            if config.1 != DEFAULT_REQUEST_VERSION {
                cmd.arg("--default-request-version").arg(&config.1);
            }
            cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
            let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
            let lines = Arc::new(Mutex::new(Vec::new()));
            let stderr = child.stderr.take().unwrap();
            let sink = lines.clone();
            thread::spawn(move || drain(stderr, &sink));
            let mut server = Server { child, port, lines, marker_seq: 0 };
            let deadline = Instant::now() + STARTUP_TIMEOUT;
            while Instant::now() < deadline && server.alive() {
                let addr = SocketAddr::from(([127, 0, 0, 1], port));
                if TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err() {
                    thread::sleep(Duration::from_millis(50));
                    continue;
                }
                // A bind failure (port taken meanwhile) shows up by now.
                thread::sleep(Duration::from_millis(200));
                break;
            }
            if server.alive() {
                return server;
            }
            last_error = format!("exited: {:?}; stderr: {:?}", server.child.try_wait(), server.lines.lock().unwrap());
        }
        panic!("conformance server {config:?} did not start: {last_error}");
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn log_mark(&self) -> usize {
        self.lines.lock().unwrap().len()
    }

    /// Sends the marker request and returns the lines written between
    /// `start` and the marker's own line (and whether it was seen).
    fn logs_since(&mut self, start: usize, settle: bool) -> (Vec<String>, bool) {
        if settle {
            thread::sleep(Duration::from_millis(150));
        }
        self.marker_seq += 1;
        let tag = format!("{MARKER}={}", self.marker_seq);
        let req = format!("GET /hello?{tag} HTTP/1.0\r\n\r\n");
        let _ = exchange(self.port, &[Step::Send(req.into_bytes())], true, 3.0, 5.0);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            {
                let lines = self.lines.lock().unwrap();
                if let Some(i) = (start..lines.len()).find(|&i| lines[i].contains(&tag)) {
                    return (lines[start..i].to_vec(), true);
                }
                if Instant::now() >= deadline {
                    return (lines[start.min(lines.len())..].to_vec(), false);
                }
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads the server's stderr line by line (decoded as UTF-8 with Python's
/// `backslashreplace`), continuously, so a long line never blocks it.
fn drain(stderr: impl Read, sink: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stderr);
    let mut raw = Vec::new();
    loop {
        raw.clear();
        match reader.read_until(b'\n', &mut raw) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                if raw.last() == Some(&b'\n') {
                    raw.pop();
                }
                sink.lock().unwrap().push(backslash_replace(&raw));
            }
        }
    }
}

fn backslash_replace(mut bytes: &[u8]) -> String {
    let mut out = String::new();
    loop {
        match std::str::from_utf8(bytes) {
            Ok(s) => {
                out.push_str(s);
                return out;
            }
            Err(e) => {
                let (good, bad) = bytes.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(good).unwrap());
                let n = e.error_len().unwrap_or(bad.len());
                for b in &bad[..n] {
                    out.push_str(&format!("\\x{b:02x}"));
                }
                bytes = &bad[n..];
            }
        }
    }
}

// ---------------------------------------------------------------------------
// One TCP exchange (README "Replay algorithm" 1-4)
// ---------------------------------------------------------------------------

struct Exchange {
    raw: Vec<u8>,
    end: String,
    waits: Vec<String>,
    notes: Vec<String>,
}

struct Conn {
    sock: TcpStream,
    buf: Vec<u8>,
    eof: bool,
    deadline: Instant,
    notes: Vec<String>,
}

impl Conn {
    fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Reads whatever arrives within `wait`; `false` once EOF or reset.
    fn read_for(&mut self, wait: Duration) -> bool {
        if self.eof {
            return false;
        }
        let wait = wait.min(self.remaining());
        let mut chunk = [0u8; 65536];
        let result = if wait.is_zero() {
            self.sock.set_nonblocking(true).unwrap();
            let r = self.sock.read(&mut chunk);
            self.sock.set_nonblocking(false).unwrap();
            r
        } else {
            self.sock.set_read_timeout(Some(wait)).unwrap();
            self.sock.read(&mut chunk)
        };
        match result {
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
            Err(e) => {
                if matches!(e.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted) {
                    self.notes.push("connection reset by server".into());
                } else {
                    self.notes.push(format!("read error: {e}"));
                }
                self.eof = true;
                false
            }
        }
    }

    /// Writes all of `data`, reading what the server sends meanwhile; stops
    /// on EPIPE / ECONNRESET.
    fn send(&mut self, data: &[u8]) {
        let mut view = data;
        self.sock.set_nonblocking(true).unwrap();
        while !view.is_empty() && !self.remaining().is_zero() {
            let mut progressed = false;
            if !self.eof {
                let before = self.buf.len();
                let mut chunk = [0u8; 65536];
                match self.sock.read(&mut chunk) {
                    Ok(0) => self.eof = true,
                    Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                    Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {}
                    Err(e) => {
                        if matches!(e.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted) {
                            self.notes.push("connection reset by server".into());
                        }
                        self.eof = true;
                    }
                }
                progressed |= self.buf.len() != before;
            }
            match self.sock.write(&view[..view.len().min(65536)]) {
                Ok(n) => {
                    view = &view[n..];
                    progressed |= n > 0;
                }
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {}
                Err(e) if matches!(e.kind(), io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset) => {
                    self.notes.push(format!("send failed with {} bytes remaining", view.len()));
                    break;
                }
                Err(e) => {
                    self.notes.push(format!("send error: {e}"));
                    break;
                }
            }
            if !progressed {
                thread::sleep(Duration::from_millis(1));
            }
        }
        self.sock.set_nonblocking(false).unwrap();
        if !view.is_empty() {
            self.notes.push(format!("{} bytes not sent", view.len()));
        }
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

fn exchange(port: u16, steps: &[Step], half_close: bool, idle_timeout: f64, case_limit: f64) -> io::Result<Exchange> {
    let deadline = Instant::now() + secs(case_limit);
    let sock = TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), CONNECT_TIMEOUT)?;
    sock.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut c = Conn { sock, buf: Vec::new(), eof: false, deadline, notes: Vec::new() };
    let mut waits = Vec::new();
    for step in steps {
        match step {
            Step::Send(data) => c.send(data),
            Step::WaitFor(pattern, timeout) => {
                let limit = Instant::now() + secs(*timeout).min(c.remaining());
                let outcome = loop {
                    if support::find(&c.buf, pattern).is_some() {
                        break "ok";
                    }
                    let left = limit.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break "timeout";
                    }
                    if !c.read_for(left) {
                        break if support::find(&c.buf, pattern).is_some() { "ok" } else { "eof" };
                    }
                };
                waits.push(outcome.to_owned());
            }
            Step::Sleep(t) => {
                let until = Instant::now() + secs(*t).min(c.remaining());
                while Instant::now() < until {
                    if !c.read_for(until.saturating_duration_since(Instant::now())) {
                        thread::sleep(until.saturating_duration_since(Instant::now()));
                        break;
                    }
                }
            }
        }
    }
    if half_close {
        let _ = c.sock.shutdown(Shutdown::Write);
    }
    let mut end = "open";
    let idle = secs(idle_timeout);
    let mut last = Instant::now();
    loop {
        if c.remaining().is_zero() {
            c.notes.push("case time limit reached".into());
            break;
        }
        let before = c.buf.len();
        let left = idle.saturating_sub(last.elapsed());
        if left.is_zero() {
            break;
        }
        if !c.read_for(left) {
            end = "closed";
            break;
        }
        if c.buf.len() != before {
            last = Instant::now();
        }
    }
    Ok(Exchange { raw: c.buf, end: end.to_owned(), waits, notes: c.notes })
}

// ---------------------------------------------------------------------------
// Running and comparing
// ---------------------------------------------------------------------------

struct Result {
    actual: std::result::Result<Outcome, String>,
    notes: Vec<String>,
}

fn run_one(server: &mut Server, case: &Case) -> Result {
    let capture_logs = case.expected.log.is_some();
    let start = server.log_mark();
    let ex = match exchange(server.port, &case.steps, case.half_close, case.idle_timeout, CASE_LIMIT) {
        Ok(ex) => ex,
        Err(e) => return Result { actual: Err(format!("connection failed: {e}")), notes: vec![] },
    };
    let mut notes = ex.notes;
    let mut outcome =
        Outcome { response: latin1(&normalize_response(&ex.raw)), end: ex.end, waits: ex.waits, log: None };
    if capture_logs {
        let (lines, found) = server.logs_since(start, outcome.end == "open");
        outcome.log = Some(lines.iter().filter_map(|l| normalize_log_line(l)).collect());
        if !found {
            notes.push("log marker not seen (server dead or /hello broken?)".into());
        }
    }
    if !server.alive() {
        notes.push("server process died".into());
    }
    Result { actual: Ok(outcome), notes }
}

/// diff.py's `escape`: `\r \n \t`, `\xNN` for other control and non-ASCII
/// bytes, backslash doubled.
fn escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || (c as u32) >= 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Splits after each LF and escapes each piece (diff.py's `esc_lines`).
fn esc_lines(text: &str) -> Vec<String> {
    text.split_inclusive('\n').map(escape).collect()
}

/// A line diff (longest common subsequence), unified-style with one line of
/// context, at most `max` lines.
fn line_diff(expected: &[String], actual: &[String], max: usize) -> Vec<String> {
    let (n, m) = (expected.len(), actual.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if expected[i] == actual[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let mut ops = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && expected[i] == actual[j] {
            ops.push((' ', &expected[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', &expected[i]));
            i += 1;
        } else {
            ops.push(('+', &actual[j]));
            j += 1;
        }
    }
    let near = |k: usize| ops[k.saturating_sub(1)..(k + 2).min(ops.len())].iter().any(|(op, _)| *op != ' ');
    let mut out = Vec::new();
    for (k, (op, line)) in ops.iter().enumerate() {
        if *op != ' ' || near(k) {
            let mut l = format!("{op}{line}");
            l.truncate(200);
            out.push(l);
        }
    }
    if out.len() > max {
        let more = out.len() - max;
        out.truncate(max);
        out.push(format!("... ({more} more diff lines)"));
    }
    out
}

fn explain(case: &Case, actual: &Outcome) -> Vec<String> {
    let expected = &case.expected;
    let mut out = Vec::new();
    if expected.response != actual.response {
        let (e, a): (Vec<char>, Vec<char>) = (expected.response.chars().collect(), actual.response.chars().collect());
        let at = e.iter().zip(&a).position(|(x, y)| x != y).unwrap_or(e.len().min(a.len()));
        out.push(format!("response differs at byte {at} (expected {} bytes, got {})", e.len(), a.len()));
        out.extend(
            line_diff(&esc_lines(&expected.response), &esc_lines(&actual.response), 40)
                .into_iter()
                .map(|l| format!("  {l}")),
        );
    }
    if expected.end != actual.end {
        out.push(format!("connection end: expected {:?}, got {:?}", expected.end, actual.end));
    }
    if expected.waits != actual.waits {
        out.push(format!("wait_for steps: expected {:?}, got {:?}", expected.waits, actual.waits));
    }
    if expected.log.is_some() && expected.log != actual.log {
        out.push("log lines differ:".into());
        let (e, a) = (expected.log.clone().unwrap_or_default(), actual.log.clone().unwrap_or_default());
        out.extend(line_diff(&e, &a, 40).into_iter().map(|l| format!("  {l}")));
    }
    out
}

#[test]
fn oracle_public_cases() {
    let t0 = Instant::now();
    let cases = load_cases();
    assert_eq!(cases.len(), 97, "tests/oracle/cases must hold the 97 public cases");
    let mut by_config: BTreeMap<(String, String), Vec<Case>> = BTreeMap::new();
    for case in cases {
        by_config.entry(case.config.clone()).or_default().push(case);
    }
    let workers: Vec<_> = by_config
        .into_iter()
        .map(|(config, cases)| {
            thread::spawn(move || {
                let mut server = Server::start(&config);
                let mut reports = Vec::new();
                for case in &cases {
                    let result = run_one(&mut server, case);
                    if !server.alive() {
                        server = Server::start(&config);
                    }
                    reports.push(report(case, &result));
                }
                reports
            })
        })
        .collect();
    let mut passed = 0;
    let mut failures = Vec::new();
    for worker in workers {
        for (id, failure) in worker.join().expect("replay worker panicked") {
            match failure {
                None => passed += 1,
                Some(text) => failures.push((id, text)),
            }
        }
    }
    failures.sort();
    for (_, text) in &failures {
        println!("{text}");
    }
    println!("{passed} passed, {} failed ({:.1} s)", failures.len(), t0.elapsed().as_secs_f64());
    assert!(failures.is_empty(), "{} oracle case(s) failed; see the diffs above", failures.len());
    assert_eq!(passed, 97);
}

/// `(id, None)` for a pass, `(id, Some(readable diff))` for a failure.
fn report(case: &Case, result: &Result) -> (String, Option<String>) {
    let tag = case.deviation.as_ref().map_or_else(String::new, |d| format!(" [deviation {d}]"));
    let mut text = match &result.actual {
        Err(e) => format!("FAIL {}{tag}: {}\n  {e}", case.id, case.title),
        Ok(actual) if same(&case.expected, actual) => return (case.id.clone(), None),
        Ok(actual) => {
            let mut t = format!("FAIL {}{tag}: {}", case.id, case.title);
            for line in explain(case, actual) {
                t.push_str("\n  ");
                t.push_str(&line);
            }
            t
        }
    };
    for note in &result.notes {
        text.push_str(&format!("\n  note: {note}"));
    }
    (case.id.clone(), Some(text))
}

/// diff.py's `same`: logs are compared only when the case records them.
fn same(expected: &Outcome, actual: &Outcome) -> bool {
    expected.response == actual.response
        && expected.end == actual.end
        && expected.waits == actual.waits
        && (expected.log.is_none() || expected.log == actual.log)
}

/// The normalisation itself is part of the algorithm: pin it.
#[test]
fn normalisation_follows_the_oracle() {
    let now = support::imf_fixdate(support::unix_now());
    let raw = format!("HTTP/1.0 200 OK\r\nServer: X/1\r\nDate: {now}\r\n\r\nbody Date: {now}\r\n");
    assert_eq!(
        latin1(&normalize_response(raw.as_bytes())),
        format!("HTTP/1.0 200 OK\r\nServer: <SERVER>\r\nDate: <DATE>\r\n\r\nbody Date: {now}\r\n")
    );
    // A stale, malformed or non-canonical date stays and so fails a case.
    for bad in ["Sun, 06 Nov 1994 08:49:37 GMT", "Sun, 6 Nov 1994 08:49:37 GMT", "yesterday"] {
        let raw = format!("HTTP/1.1 200 OK\r\nDate: {bad}\r\nServer:  \r\n\r\n");
        assert_eq!(latin1(&normalize_response(raw.as_bytes())), raw);
    }
    // A wrong weekday is not canonical either.
    let ts = support::unix_now();
    let good = support::imf_fixdate(ts);
    let wrong_day = good.replacen(&good[..3], if &good[..3] == "Mon" { "Tue" } else { "Mon" }, 1);
    assert!(!support::valid_http_date(wrong_day.as_bytes()));
    assert!(support::valid_http_date(good.as_bytes()));
    assert_eq!(support::imf_fixdate(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
    // A head whose status line ends in a bare LF is not a block.
    let raw = format!("HTTP/1.0 200 OK\nDate: {now}\r\n\r\n");
    assert_eq!(latin1(&normalize_response(raw.as_bytes())), raw);
    // Log lines.
    assert_eq!(
        normalize_log_line("127.0.0.1 - - [23/Nov/2026 18:50:01] \"GET / HTTP/1.0\" 200 -").as_deref(),
        Some("127.0.0.1 - - [<TS>] \"GET / HTTP/1.0\" 200 -")
    );
    assert_eq!(normalize_log_line("thread 'x' panicked at src/main.rs"), None);
    assert_eq!(
        normalize_log_line("h - - [1/Nov/2026 18:50:01] m").as_deref(),
        Some("h - - [1/Nov/2026 18:50:01] m"),
        "a malformed timestamp stays"
    );
}
