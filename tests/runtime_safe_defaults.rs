//! Issue 2, item 6: safe defaults beyond CPython. A request head that never
//! completes gets a 408 (or a clean close) within `header_timeout`, logged;
//! an idle keep-alive connection is closed after `keep_alive_timeout`; a
//! body read that stalls ends the connection (B7's `TimeoutError`). The
//! defaults themselves are pinned against the README's table.

mod support;

use std::fmt;
use std::io::Read;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use basehttp::{BaseHTTPRequestHandler, HandlerResult, Request, ServerConfig};
use support::{error_response, reply, serve_fn_with, Client, TestServer};

#[test]
fn the_defaults_are_safe() {
    let d = ServerConfig::default();
    assert!(d.header_timeout > Duration::ZERO && d.header_timeout <= Duration::from_secs(10), "{d:?}");
    assert!(d.keep_alive_timeout > Duration::ZERO && d.keep_alive_timeout <= Duration::from_secs(60), "{d:?}");
    assert!(d.read_timeout.is_some_and(|t| t > Duration::ZERO), "{d:?}");
    assert!(d.write_timeout.is_some_and(|t| t > Duration::ZERO), "{d:?}");
    assert!(d.request_queue_size >= 1024, "{d:?}");
    assert!(d.max_connections >= 1, "{d:?}");
    // Every `open` case of the oracle waits 1 s and CONTRACT.md asks for
    // timeouts of at least 5 s.
    assert!(d.header_timeout >= Duration::from_secs(5) && d.keep_alive_timeout >= Duration::from_secs(5));
}

/// The README's table of defaults must state the values in force.
#[test]
fn the_readme_lists_every_default() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let d = ServerConfig::default();
    let row = |field: &str| {
        readme
            .lines()
            .find(|l| l.starts_with('|') && l.contains(&format!("ServerConfig::{field}")))
            .unwrap_or_else(|| panic!("README has no table row for ServerConfig::{field}"))
            .to_owned()
    };
    let secs = |t: Duration| format!("{} s", t.as_secs());
    assert!(row("max_connections").contains(&d.max_connections.to_string()), "{}", row("max_connections"));
    assert!(row("max_workers").contains(&d.max_workers.to_string()), "{}", row("max_workers"));
    assert!(row("header_timeout").contains(&secs(d.header_timeout)), "{}", row("header_timeout"));
    assert!(row("keep_alive_timeout").contains(&secs(d.keep_alive_timeout)), "{}", row("keep_alive_timeout"));
    assert!(row("read_timeout").contains(&secs(d.read_timeout.unwrap())), "{}", row("read_timeout"));
    assert!(row("write_timeout").contains(&secs(d.write_timeout.unwrap())), "{}", row("write_timeout"));
    assert!(row("shutdown_grace").contains(&secs(d.shutdown_grace)), "{}", row("shutdown_grace"));
    let backlog = readme.lines().find(|l| l.starts_with("| listen backlog")).expect("README: listen backlog row");
    assert!(backlog.contains(&d.request_queue_size.to_string()), "{backlog}");
}

/// Log lines of the handlers of this file, tagged with the client port.
static LINES: Mutex<Vec<(u16, String)>> = Mutex::new(Vec::new());

fn lines_of(port: u16) -> Vec<String> {
    LINES.lock().unwrap().iter().filter(|(p, _)| *p == port).map(|(_, l)| l.clone()).collect()
}

/// Echoes its body; keeps its log lines (no global logger needed).
#[derive(Default)]
struct Echo;

impl BaseHTTPRequestHandler for Echo {
    const PROTOCOL_VERSION: &'static str = "HTTP/1.1";

    fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
        let mut data = Vec::new();
        req.rfile().read_to_end(&mut data)?;
        reply(req, &data)
    }

    fn log_message(req: &Request, args: fmt::Arguments<'_>) {
        LINES.lock().unwrap().push((req.client_address.port(), args.to_string()));
    }
}

fn echo_with(config: ServerConfig) -> TestServer {
    TestServer::start_with(Echo::default, config, |_| {})
}

fn short_heads() -> ServerConfig {
    ServerConfig { header_timeout: Duration::from_millis(500), ..ServerConfig::default() }
}

const TIMEOUT_408: fn() -> String =
    || error_response("HTTP/1.1", 408, "Request Timeout", "Request timed out; try again later", false);

/// Sends `partial`, then waits for the server to act; returns what came,
/// and when the connection closed.
fn stall(server: &TestServer, partial: &[u8]) -> (String, Duration, u16) {
    let mut c = server.connect();
    let port = c.local_port();
    let started = Instant::now();
    c.send(partial);
    let data = c.read_to_end();
    (support::norm(&data), started.elapsed(), port)
}

#[test]
fn an_incomplete_head_gets_408_within_header_timeout() {
    let server = echo_with(short_heads());
    for partial in [&b"GET / HTTP/1.1\r\nHost: x\r\n"[..], b"GET /slo", b"G"] {
        let (response, took, port) = stall(&server, partial);
        assert!(
            response == TIMEOUT_408() || response.is_empty(),
            "{:?}: neither a 408 nor a clean close: {response:?}",
            support::latin1(partial)
        );
        assert_eq!(response, TIMEOUT_408(), "this runtime answers 408");
        assert!(took >= Duration::from_millis(450) && took < Duration::from_secs(4), "closed after {took:?}");
        // The 408 is logged like any send_error.
        assert_eq!(lines_of(port), ["code 408, message Request Timeout", "\"\" 408 -"]);
    }
}

#[test]
fn a_trickled_head_does_not_extend_the_deadline() {
    // Slowloris: one byte every 100 ms keeps the connection busy but the
    // deadline runs from the head's first byte.
    let server = echo_with(short_heads());
    let mut c = server.connect();
    let started = Instant::now();
    let mut closed_after = None;
    for b in b"GET / HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n" {
        c.send(&[*b]);
        if !c.read_some(Duration::from_millis(100)) {
            closed_after = Some(started.elapsed());
            break;
        }
        if !c.buf.is_empty() && closed_after.is_none() {
            closed_after = Some(started.elapsed());
        }
    }
    let took = closed_after.expect("the server never gave up on the trickled head");
    assert!(took < Duration::from_secs(3), "gave up after {took:?}");
    let data = c.read_to_end();
    let mut all = std::mem::take(&mut c.buf);
    all.extend_from_slice(&data);
    let response = support::norm(&all);
    assert!(response.is_empty() || response == TIMEOUT_408(), "{response:?}");
}

#[test]
fn a_connection_that_sends_nothing_is_closed_silently() {
    let server = echo_with(short_heads());
    let (response, took, port) = stall(&server, b"");
    assert_eq!(response, "");
    assert!(took >= Duration::from_millis(450) && took < Duration::from_secs(4), "closed after {took:?}");
    assert!(lines_of(port).is_empty(), "a silent close logs nothing");
}

#[test]
fn a_second_head_that_never_completes_also_gets_408() {
    let config = ServerConfig { keep_alive_timeout: Duration::from_secs(5), ..short_heads() };
    let server = echo_with(config);
    let mut c = server.connect();
    c.send(b"GET /first HTTP/1.1\r\n\r\n");
    assert!(c.read_response_norm().starts_with("HTTP/1.1 200 OK\r\n"));
    let started = Instant::now();
    c.send(b"GET /second HTTP/1.1\r\n");
    assert_eq!(support::norm(&c.read_to_end()), TIMEOUT_408());
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
}

#[test]
fn an_idle_keep_alive_connection_is_closed() {
    let config = ServerConfig { keep_alive_timeout: Duration::from_millis(600), ..ServerConfig::default() };
    let server = echo_with(config);
    let mut c = server.connect();
    c.send(b"GET /1 HTTP/1.1\r\n\r\n");
    assert!(c.read_response_norm().starts_with("HTTP/1.1 200 OK\r\n"));
    // Activity within the idle timeout keeps the connection.
    std::thread::sleep(Duration::from_millis(300));
    c.send(b"GET /2 HTTP/1.1\r\n\r\n");
    assert!(c.read_response_norm().starts_with("HTTP/1.1 200 OK\r\n"));
    let idle_since = Instant::now();
    c.assert_closed();
    let idle = idle_since.elapsed();
    assert!(idle >= Duration::from_millis(500) && idle < Duration::from_secs(4), "closed after {idle:?}");
}

#[test]
fn a_stalled_body_read_times_out_without_a_response() {
    // B7: the read fails with TimedOut, the handler fails, nothing is sent,
    // the connection closes and `Request timed out` is logged.
    let config = ServerConfig { read_timeout: Some(Duration::from_millis(300)), ..ServerConfig::default() };
    let server = echo_with(config);
    let mut c = server.connect();
    let port = c.local_port();
    let started = Instant::now();
    c.send(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
    assert_eq!(c.read_to_end(), b"");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(250) && took < Duration::from_secs(4), "{took:?}");
    assert_eq!(lines_of(port), ["Request timed out: TimeoutError('timed out')"]);
}

/// The handler's `TIMEOUT` class variable wins over the server's read
/// timeout (CPython's `timeout`).
#[derive(Default)]
struct Impatient;

impl BaseHTTPRequestHandler for Impatient {
    const TIMEOUT: Option<Duration> = Some(Duration::from_millis(200));

    fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
        let mut data = Vec::new();
        req.rfile().read_to_end(&mut data)?;
        reply(req, &data)
    }
}

#[test]
fn the_handler_timeout_class_variable_bounds_body_reads() {
    let server = TestServer::start(Impatient::default); // read_timeout: 30 s
    let mut c = server.connect();
    let started = Instant::now();
    c.send(b"POST / HTTP/1.0\r\nContent-Length: 10\r\n\r\nab");
    assert_eq!(c.read_to_end(), b"");
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
    // A body that arrives in time is read.
    let response = server.exchange_norm(b"POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\nok");
    assert!(response.ends_with("\r\n\r\nok"), "{response}");
}

#[test]
fn a_client_that_does_not_read_cannot_hold_a_response_forever() {
    let config = ServerConfig { write_timeout: Some(Duration::from_millis(300)), ..ServerConfig::default() };
    let done = std::sync::Arc::new(support::Gate::default());
    let d = done.clone();
    let server = serve_fn_with(
        config,
        |_| {},
        move |req| {
            req.send_response(200)?;
            req.end_headers()?;
            let chunk = vec![b'x'; 1 << 20];
            let mut result = Ok(());
            for _ in 0..256 {
                if let Err(e) = std::io::Write::write_all(&mut req.wfile(), &chunk) {
                    result = Err(e);
                    break;
                }
            }
            std::io::Write::flush(&mut req.wfile()).ok();
            d.signal(if result.is_err() { "write failed" } else { "wrote everything" });
            Ok(result?)
        },
    );
    let mut c = Client::connect(server.port);
    c.send(b"GET / HTTP/1.0\r\n\r\n");
    // Never read: the server's writes must give up.
    assert!(done.wait("write failed", Duration::from_secs(15)), "the write never timed out");
}

#[test]
fn handle_request_is_not_held_forever_by_a_silent_client() {
    let mut server = basehttp::HTTPServer::with_config(("127.0.0.1", 0), Echo::default, short_heads()).expect("bind");
    server.timeout = Some(Duration::from_secs(10));
    let mut c = Client::connect(server.server_port());
    let started = Instant::now();
    assert!(server.handle_request().unwrap());
    assert!(started.elapsed() < Duration::from_secs(4), "handle_request took {:?}", started.elapsed());
    assert_eq!(c.read_to_end(), b"");
}
