//! Every learner example runs and gives its main response, so examples
//! never rot. The examples are built on demand (`support::example_binary`:
//! `cargo test --test examples` alone works); each one starts on port 0 and
//! its first stdout line tells the URL.

mod support;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::{find, header_value, latin1, Client, IO_TIMEOUT};

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

/// Reads one chunked body from `c` (its head already read), decoded with
/// the runtime's `ChunkedDecoder`; `progress` sees the body decoded so far
/// after each read (to time when parts arrived). Returns the body and the
/// bytes of it as sent (sizes, data, the last chunk and trailers).
fn read_chunked(c: &mut Client, mut progress: impl FnMut(&[u8])) -> (Vec<u8>, Vec<u8>) {
    let mut decoder = basehttp::ChunkedDecoder::new();
    let (mut body, mut wire) = (Vec::new(), Vec::new());
    let mut out = vec![0; 1 << 16];
    let deadline = Instant::now() + IO_TIMEOUT;
    loop {
        let mut used = 0;
        while !decoder.is_done() && used < c.buf.len() {
            let (n, produced) = decoder.decode(&c.buf[used..], &mut out).expect("a valid chunked body");
            body.extend_from_slice(&out[..produced]);
            used += n;
        }
        wire.extend(c.buf.drain(..used));
        progress(&body);
        if decoder.is_done() {
            return (body, wire);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "the chunked body did not end within {IO_TIMEOUT:?}: {:?}", latin1(&wire));
        assert!(c.read_some(left), "the server closed inside the chunked body: {:?}", latin1(&wire));
    }
}

/// What `sse` sends for events `first..=20`.
fn sse_events(first: u32) -> String {
    let events: String = (first..=20).map(|n| format!("id: {n}\ndata: event {n}\n\n")).collect();
    format!("retry: 2000\n\n{events}")
}

/// Issue 14: each event reaches the client when it is produced (a chunk
/// flushed every 100 ms, not one body at the end), the last chunk ends the
/// stream, and the connection then carries the next request.
#[test]
fn sse_streams_events_as_they_happen() {
    let ex = Example::start("sse", &["0"]);
    let mut c = Client::connect(ex.port);
    let start = Instant::now();
    c.send(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
    let head = c.read_until(b"\r\n\r\n");
    let text = latin1(&head);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert_eq!(header_value(&head, "Content-Type").as_deref(), Some("text/event-stream"), "{text}");
    assert_eq!(header_value(&head, "Cache-Control").as_deref(), Some("no-cache"), "{text}");
    assert_eq!(header_value(&head, "Transfer-Encoding").as_deref(), Some("chunked"), "{text}");
    assert_eq!(header_value(&head, "Content-Length"), None, "{text}");

    let (mut first, mut last) = (None, None);
    let (body, wire) = read_chunked(&mut c, |body| {
        if first.is_none() && find(body, b"data: event 1\n\n").is_some() {
            first = Some(start.elapsed());
        }
        if last.is_none() && find(body, b"data: event 20\n\n").is_some() {
            last = Some(start.elapsed());
        }
    });
    let (first, last) = (first.expect("event 1"), last.expect("event 20"));
    assert!(first < Duration::from_secs(1), "the first event took {first:?}");
    // 19 pauses of 100 ms between the 20 events.
    assert!(last >= Duration::from_millis(1500), "the stream took only {last:?}: not paced");
    assert!(last - first >= Duration::from_millis(1500), "event 1 at {first:?}, event 20 at {last:?}");
    assert_eq!(String::from_utf8(body).unwrap(), sse_events(1));
    assert!(wire.ends_with(b"\r\n0\r\n\r\n"), "{:?}", latin1(&wire));
    assert!(c.buf.is_empty(), "bytes after the body: {:?}", latin1(&c.buf));

    // Keep-alive: the same connection answers the next request.
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let page = latin1(&c.read_response());
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(page.contains("new EventSource('/events')"), "{page}");
}

/// An HTTP/1.0 client gets the same events close-delimited; a reconnecting
/// EventSource (`Last-Event-ID`) gets the rest, or `204` when none is left.
#[test]
fn sse_falls_back_to_close_delimited_and_resumes() {
    let ex = Example::start("sse", &["0"]);
    let r = ex.get("/events");
    assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
    assert!(!r.contains("Transfer-Encoding") && !r.contains("Content-Length"), "{r}");
    assert_eq!(body(&r), sse_events(1));
    let resumed = ex.exchange(b"GET /events HTTP/1.0\r\nLast-Event-ID: 18\r\n\r\n");
    assert_eq!(body(&resumed), sse_events(19));
    let done = ex.exchange(b"GET /events HTTP/1.0\r\nLast-Event-ID: 20\r\n\r\n");
    assert!(done.starts_with("HTTP/1.1 204 No Content\r\n"), "{done}");
    assert_eq!(body(&done), "");
}

/// The WebSocket handshake in `do_GET`, then `req.upgrade()` and
/// tungstenite: text and binary messages come back, a ping gets its pong,
/// a close its close, and then the server closes the connection.
#[test]
fn websocket_echo_echoes_messages() {
    use tungstenite::{Bytes, Message};

    let ex = Example::start("websocket_echo", &["0"]);
    let page = ex.get("/");
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(page.contains(r#"id="log""#) && page.contains("new WebSocket('ws://' + location.host + '/ws')"), "{page}");

    let stream = TcpStream::connect(("127.0.0.1", ex.port)).expect("connect");
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    let (mut ws, response) = tungstenite::client(format!("ws://127.0.0.1:{}/ws", ex.port), stream).expect("handshake");
    assert_eq!(response.status(), 101);

    ws.send(Message::text("hello")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("hello"));
    ws.send(Message::binary(vec![0u8, 1, 2, 255])).unwrap();
    assert_eq!(ws.read().unwrap(), Message::binary(vec![0u8, 1, 2, 255]));
    // Larger than the runtime's buffers both ways (1 MiB).
    let big: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
    ws.send(Message::binary(big.clone())).unwrap();
    assert_eq!(ws.read().unwrap(), Message::binary(big));
    ws.send(Message::Ping(Bytes::from_static(b"are you there"))).unwrap();
    assert_eq!(ws.read().unwrap(), Message::Pong(Bytes::from_static(b"are you there")));

    ws.close(None).unwrap();
    loop {
        match ws.read() {
            Ok(Message::Close(_)) => {}
            Err(tungstenite::Error::ConnectionClosed) => break,
            other => panic!("expected the close handshake to end, got {other:?}"),
        }
    }
}

/// A frame sent in the same packet as the handshake reaches the echo
/// (`Upgraded` starts with the bytes read past the request head); a `GET
/// /ws` that is no WebSocket handshake gets `400`.
#[test]
fn websocket_echo_handshake_edges() {
    let ex = Example::start("websocket_echo", &["0"]);
    let mut c = Client::connect(ex.port);
    let mut request = b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\
        Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        .to_vec();
    // A masked text frame "hi" (client frames are masked).
    let mask = [1u8, 2, 3, 4];
    request.extend([0x81, 0x82]);
    request.extend(mask);
    request.extend(b"hi".iter().zip(mask).map(|(b, m)| b ^ m));
    c.send(&request);
    let head = latin1(&c.read_until(b"\r\n\r\n"));
    assert!(head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"), "{head}");
    // RFC 6455's own example key and answer.
    assert!(head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), "{head}");
    assert_eq!(c.read_exact_n(4), b"\x81\x02hi");

    let plain = ex.exchange(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(plain.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{plain}");
    assert!(plain.contains("Expected the header Upgrade: websocket"), "{plain}");
    let old = ex.exchange(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, close\r\nUpgrade: websocket\r\n\
        Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    assert!(old.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{old}");
}

/// A generated download: 100,000 rows streamed chunked, decoded here; the
/// same close-delimited on HTTP/1.0; a bad `rows` is a `400`.
#[test]
fn csv_download_streams_generated_rows() {
    let ex = Example::start("csv_download", &["0"]);
    let mut c = Client::connect(ex.port);
    c.send(b"GET /data.csv?rows=100000 HTTP/1.1\r\nHost: x\r\n\r\n");
    let head = c.read_until(b"\r\n\r\n");
    let text = latin1(&head);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert_eq!(header_value(&head, "Content-Type").as_deref(), Some("text/csv; charset=utf-8"), "{text}");
    assert_eq!(
        header_value(&head, "Content-Disposition").as_deref(),
        Some("attachment; filename=\"data.csv\""),
        "{text}"
    );
    assert_eq!(header_value(&head, "Transfer-Encoding").as_deref(), Some("chunked"), "{text}");
    let (csv, _) = read_chunked(&mut c, |_| {});
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.ends_with('\n'));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 100_001, "a header and 100,000 rows");
    assert_eq!(lines[0], "id,name,value");
    assert_eq!(lines[1], "1,item-1,79.19");
    assert_eq!(lines[100_000], "100000,item-100000,0.00");
    for (i, line) in lines.iter().enumerate().skip(1) {
        assert!(line.starts_with(&format!("{i},item-{i},")), "row {i}: {line:?}");
    }

    let old = ex.get("/data.csv?rows=3");
    assert!(old.starts_with("HTTP/1.1 200 OK\r\n") && !old.contains("Transfer-Encoding"), "{old}");
    assert_eq!(body(&old), "id,name,value\n1,item-1,79.19\n2,item-2,58.38\n3,item-3,37.57\n");
    assert!(ex.get("/data.csv?rows=lots").starts_with("HTTP/1.1 400 Bad Request\r\n"));
    assert!(ex.get("/other.csv").starts_with("HTTP/1.1 404 Not Found\r\n"));
}

/// Issue 13 (items 1-3, in part): two `http_server --reuse-port` processes
/// listen on one port; `--forwarded-allow-ips 127.0.0.1` makes the access
/// log show the client a trusted proxy names, and without it a client's
/// `X-Forwarded-For` changes nothing; SIGTERM stops the server cleanly.
#[test]
fn http_server_shares_its_port_trusts_proxies_and_stops_on_sigterm() {
    let spawn = |args: &[&str]| {
        Command::new(example_path("http_server"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start http_server")
    };
    let first_line = |child: &mut Child| {
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).expect("first line");
        line
    };
    let mut trusting = spawn(&["--bind", "127.0.0.1", "--reuse-port", "--forwarded-allow-ips", "127.0.0.1", "0"]);
    let line = first_line(&mut trusting);
    let port = line.split_whitespace().nth(5).expect("the port").to_owned();
    // The same port, bound a second time: only with SO_REUSEPORT on both.
    let mut plain = spawn(&["--bind", "127.0.0.1", "--reuse-port", &port]);
    assert!(first_line(&mut plain).contains(&format!("port {port} ")), "the second process listens too");
    let port: u16 = port.parse().unwrap();
    // The kernel deals connections between the two: ask until each has
    // logged a request (bounded).
    for _ in 0..200 {
        let mut c = Client::connect(port);
        c.send(b"GET / HTTP/1.0\r\nX-Forwarded-For: 1.1.1.1, 203.0.113.9\r\n\r\n");
        assert!(c.read_to_end().starts_with(b"HTTP/1.0 200 OK\r\n"));
    }
    let stop = |child: &mut Child| {
        let pid = child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            assert!(start.elapsed() < Duration::from_secs(10), "http_server ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success(), "{status:?}");
        let mut log = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut log).unwrap();
        log
    };
    let trusted_log = stop(&mut trusting);
    let plain_log = stop(&mut plain);
    assert!(trusted_log.lines().count() > 0 && plain_log.lines().count() > 0, "both served: {trusted_log}{plain_log}");
    assert!(trusted_log.lines().all(|l| l.starts_with("203.0.113.9 - - [")), "{trusted_log}");
    assert!(plain_log.lines().all(|l| l.starts_with("127.0.0.1 - - [")), "{plain_log}");
}
