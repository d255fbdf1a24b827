//! Every learner example runs and gives its main response, so examples
//! never rot. The examples are built on demand (`support::example_binary`:
//! `cargo test --test examples` alone works); each one starts on port 0 and
//! its first stdout line tells the URL.

mod support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::Client;

/// A running example, killed when dropped.
struct Example {
    child: Child,
    port: u16,
    lines: mpsc::Receiver<String>,
}

fn example_path(name: &str) -> PathBuf {
    support::example_binary(name)
}

/// Forwards the child's stdout lines to a channel (read with timeouts).
fn pump(stdout: ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Example {
    fn start(name: &str, args: &[&str]) -> Example {
        let path = example_path(name);
        let mut child = Command::new(&path)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start example");
        let lines = pump(child.stdout.take().unwrap());
        let first = lines.recv_timeout(Duration::from_secs(20)).expect("the example printed its URL");
        let port = first
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .filter_map(|s| s.parse::<u16>().ok())
            .rfind(|&p| p != 0 && p != 127 && p != 1)
            .unwrap_or_else(|| panic!("no port in {first:?}"));
        Example { child, port, lines }
    }

    fn get(&self, path: &str) -> String {
        self.exchange(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())
    }

    fn exchange(&self, request: &[u8]) -> String {
        let mut c = Client::connect(self.port);
        c.send(request);
        String::from_utf8_lossy(&c.read_to_end()).into_owned()
    }

    /// Waits (bounded) for the process to exit by itself.
    fn wait_exit(&mut self, limit: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn next_line(&self) -> String {
        self.lines.recv_timeout(Duration::from_secs(5)).unwrap_or_default()
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

#[test]
fn hello_greets() {
    let ex = Example::start("hello", &["0"]);
    let r = ex.get("/");
    assert!(r.starts_with("HTTP/1.0 200 OK\r\n"), "{r}");
    assert!(r.contains("Content-Type: text/plain; charset=utf-8\r\n"), "{r}");
    assert_eq!(body(&r), "Hello, world! You asked for /\n");
    assert!(ex.get("/x").starts_with("HTTP/1.0 200"));
    let put = ex.exchange(b"PUT / HTTP/1.0\r\n\r\n");
    assert!(put.starts_with("HTTP/1.0 501 Unsupported method ('PUT')\r\n"), "{put}");
}

#[test]
fn run_serves_forever() {
    let ex = Example::start("run", &["0"]);
    assert_eq!(body(&ex.get("/")), "served forever\n");
    assert_eq!(body(&ex.get("/again")), "served forever\n");
}

#[test]
fn run_while_true_stops_on_quit() {
    let mut ex = Example::start("run_while_true", &["0"]);
    assert_eq!(body(&ex.get("/")), "request 1\n");
    assert_eq!(body(&ex.get("/quit")), "bye\n");
    assert!(ex.wait_exit(Duration::from_secs(10)), "the loop did not end after /quit");
    assert_eq!(ex.next_line(), "served 2 requests");
}

#[test]
fn post_body_echoes_forms_json_and_chunked_uploads() {
    let ex = Example::start("post_body", &["0"]);
    let form = ex.exchange(
        b"POST /form HTTP/1.0\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 25\r\n\r\nname=Ada+L&lang=R%C3%BCst",
    );
    assert_eq!(body(&form), "name = Ada L\nlang = Rüst\n", "{form}");
    let json = ex.exchange(b"POST / HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n{\"a\": 1}");
    assert!(json.contains("Content-Type: application/json\r\n"), "{json}");
    assert_eq!(body(&json), "{\"a\": 1}");
    let chunked = ex.exchange(
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n7\r\nchunked\r\n6\r\n works\r\n0\r\n\r\n",
    );
    assert_eq!(body(&chunked), "chunked works", "{chunked}");
}

#[test]
fn keep_alive_reuses_the_connection() {
    let ex = Example::start("keep_alive", &["0"]);
    let mut c = Client::connect(ex.port);
    c.send(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    let first = String::from_utf8_lossy(&c.read_response()).into_owned();
    c.send(b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
    let second = String::from_utf8_lossy(&c.read_response()).into_owned();
    assert!(first.starts_with("HTTP/1.1 200 OK\r\n"), "{first}");
    assert_eq!(body(&first), "request 1 on this connection\n");
    assert_eq!(body(&second), "request 2 on this connection\n");
}

#[test]
fn error_pages_use_the_custom_template() {
    let ex = Example::start("error_pages", &["0"]);
    let r = ex.get("/missing");
    assert!(r.starts_with("HTTP/1.0 404 Not Found\r\n"), "{r}");
    assert!(r.contains("Content-Type: application/json\r\n"), "{r}");
    assert_eq!(
        body(&r),
        "{\"error\": 404, \"message\": \"Not Found\", \"explain\": \"Nothing matches the given URI\"}\n"
    );
    let tea = ex.get("/teapot");
    assert!(tea.starts_with("HTTP/1.0 418 No coffee here\r\n"), "{tea}");
    assert!(body(&tea).contains("\"explain\": \"This server only brews tea\""), "{tea}");
}

#[test]
fn custom_log_replaces_the_access_log() {
    let ex = Example::start("custom_log", &["0"]);
    assert_eq!(body(&ex.get("/hi")), "logged\n");
    let handling = ex.next_line();
    assert!(handling.starts_with(r#"{"client": "127.0.0.1", "time": ""#), "{handling}");
    assert!(handling.ends_with(r#""message": "handling /hi"}"#), "{handling}");
    let request = ex.next_line();
    assert!(request.ends_with(r#""message": "\"GET /hi HTTP/1.0\" 200 -"}"#), "{request}");
}

#[test]
fn shared_state_counts_across_connections() {
    let ex = Example::start("shared_state", &["0"]);
    assert!(body(&ex.get("/")).starts_with("hit 1 (server up "));
    assert!(body(&ex.get("/")).starts_with("hit 2 (server up "));
}

#[test]
fn graceful_shutdown_finishes_requests_in_flight() {
    let mut ex = Example::start("graceful_shutdown", &["0"]);
    let port = ex.port;
    let slow = std::thread::spawn(move || {
        let mut c = Client::connect(port);
        c.send(b"GET /slow HTTP/1.0\r\n\r\n");
        String::from_utf8_lossy(&c.read_to_end()).into_owned()
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(body(&ex.get("/shutdown")), "shutting down\n");
    assert_eq!(body(&slow.join().unwrap()), "slow request finished\n");
    assert!(ex.wait_exit(Duration::from_secs(10)), "serve_forever did not return");
    assert_eq!(ex.next_line(), "stopped cleanly");
}

#[test]
fn method_semantics_opt_ins() {
    let ex = Example::start("method_semantics", &["0"]);
    let head = ex.exchange(b"HEAD / HTTP/1.0\r\n\r\n");
    assert!(head.starts_with("HTTP/1.0 200 OK\r\n") && head.contains("Content-Length: 9\r\n"), "{head}");
    assert_eq!(body(&head), "");
    let options = ex.exchange(b"OPTIONS * HTTP/1.0\r\n\r\n");
    assert!(options.contains("Allow: GET, HEAD, POST, OPTIONS\r\n"), "{options}");
    let delete = ex.exchange(b"DELETE / HTTP/1.0\r\n\r\n");
    assert!(delete.starts_with("HTTP/1.0 405 Method Not Allowed\r\n"), "{delete}");
    assert!(delete.contains("Allow: GET, HEAD, POST, OPTIONS\r\n"), "{delete}");
    let brew = ex.exchange(b"BREW / HTTP/1.0\r\n\r\n");
    assert!(brew.starts_with("HTTP/1.0 501 Unsupported method ('BREW')\r\n"), "{brew}");
}

#[test]
fn http_server_serves_a_folder() {
    let dir = std::env::temp_dir().join(format!("basehttp-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("note.txt"), "from disk\n").unwrap();
    let ex = Example::start("http_server", &["--bind", "127.0.0.1", "--directory", dir.to_str().unwrap(), "0"]);
    let r = ex.get("/note.txt");
    let listing = ex.get("/");
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(r.starts_with("HTTP/1.0 200 OK\r\n"), "{r}");
    assert_eq!(body(&r), "from disk\n");
    assert!(listing.contains("note.txt"), "{listing}");
}

/// Runs an example to its end (bounded: it must exit within 20 s) and
/// returns its exit code, stdout and stderr.
fn run_to_exit(name: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let mut child = Command::new(example_path(name))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start example");
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("{name} {args:?} did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("output");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (output.status.code(), text(&output.stdout), text(&output.stderr))
}

/// Issue 15, item 4: a bad argument is one line on stderr and exit status
/// 2, `--help` prints the usage and exits 0, a port in use is one line and
/// exit status 1. No panic, no `Debug` dump.
fn speaks_like_a_command_line_tool(name: &str, bad: &[&str]) {
    let (code, out, err) = run_to_exit(name, bad);
    assert_eq!(code, Some(2), "{name} {bad:?}: {out}{err}");
    assert_eq!(err.lines().count(), 1, "{name} {bad:?}: one line on stderr: {err:?}");
    assert!(err.starts_with(&format!("{name}: error: ")), "{err:?}");
    assert!(!err.contains("panicked") && !err.contains("ParseIntError"), "{err:?}");

    let (code, out, err) = run_to_exit(name, &["--help"]);
    assert_eq!(code, Some(0), "{name} --help: {err}");
    assert!(out.starts_with(&format!("usage: {name} ")), "{out:?}");

    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = busy.local_addr().unwrap().port().to_string();
    let mut args = if name == "http_server" { vec!["--bind", "127.0.0.1"] } else { vec![] };
    args.push(&port);
    let (code, _, err) = run_to_exit(name, &args);
    assert_eq!(code, Some(1), "{name} on a busy port: {err}");
    assert_eq!(
        err.trim_end(),
        format!("{name}: error: cannot listen on 127.0.0.1:{port}: Address already in use (os error 98)")
    );
}

#[test]
fn hello_speaks_like_a_command_line_tool() {
    speaks_like_a_command_line_tool("hello", &["abc"]);
}

#[test]
fn http_server_speaks_like_a_command_line_tool() {
    speaks_like_a_command_line_tool("http_server", &["--protocol"]);
}
