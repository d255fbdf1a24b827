//! Issue 2, item 5: logging through the `log` crate (target `basehttp`):
//! `log_message`, `log_request`, `log_error` produce CPython's exact lines
//! (B67-B73), control characters escaped (B68), and each hook is
//! overridable per handler type. A capturing logger stands in for stderr;
//! every test of this file holds `logs::capture()`, so they run one at a
//! time and no line leaks into another test's capture.

mod support;

use std::fmt;
use std::sync::Mutex;

use basehttp::{BaseHTTPRequestHandler, HandlerResult, Request};
use support::{days_from_civil, logs, reply, serve_fn, TestServer, MONTHS};

/// `DD/Mon/YYYY hh:mm:ss` → seconds (in the time zone it was printed in).
fn log_seconds(ts: &str) -> i64 {
    assert!(support::is_log_timestamp(ts), "{ts:?}");
    let n = |r: std::ops::Range<usize>| ts[r].parse::<i64>().unwrap();
    let month = MONTHS.iter().position(|m| *m == &ts[3..6]).unwrap() as u32 + 1;
    days_from_civil(n(7..11), month, n(0..2) as u32) * 86_400 + n(12..14) * 3600 + n(15..17) * 60 + n(18..20)
}

#[test]
fn a_request_is_logged_in_cpythons_format() {
    let _serial = logs::capture();
    let server = serve_fn(|req| reply(req, b"ok"));
    let before = log_seconds(&basehttp::log_date_time_string());
    server.exchange(b"GET /x?y=1 HTTP/1.0\r\n\r\n");
    let after = log_seconds(&basehttp::log_date_time_string());
    let raw = logs::take();
    assert_eq!(raw.len(), 1, "{raw:?}");
    // 127.0.0.1 - - [23/Nov/2026 18:50:01] "GET /x?y=1 HTTP/1.0" 200 -
    let line = &raw[0];
    let (prefix, rest) = line.split_at("127.0.0.1 - - [".len());
    assert_eq!(prefix, "127.0.0.1 - - [");
    let (ts, message) = rest.split_at(20);
    assert!((before..=after).contains(&log_seconds(ts)), "{ts} not in [{before}, {after}]");
    assert_eq!(message, "] \"GET /x?y=1 HTTP/1.0\" 200 -");
}

#[test]
fn control_characters_in_request_text_are_escaped() {
    let _serial = logs::capture();
    let server = serve_fn(|req| Ok(req.send_error_message(404, "bad\x1b[0mthing\\")?));
    server.exchange(b"GET /a\x1b[2Jb\x7f\\c\xe9\x9f\x01 HTTP/1.0\r\n\r\n");
    assert_eq!(
        logs::wait_lines(2),
        [
            r"127.0.0.1 - - [<TS>] code 404, message bad\x1b[0mthing\\".to_owned(),
            // U+00E9 stays a character; ESC, DEL, U+009F and SOH are escaped.
            "127.0.0.1 - - [<TS>] \"GET /a\\x1b[2Jb\\x7f\\\\c\u{e9}\\x9f\\x01 HTTP/1.0\" 404 -".to_owned(),
        ]
    );
}

#[test]
fn escape_log_text_is_b68() {
    assert_eq!(basehttp::escape_log_text("plain"), "plain");
    assert_eq!(
        basehttp::escape_log_text("\0\x1f \x7f\u{80}\u{9f}\u{a0}\u{ff}\\"),
        "\\x00\\x1f \\x7f\\x80\\x9f\u{a0}\u{ff}\\\\"
    );
    assert_eq!(basehttp::escape_log_text("a\nb\rc\td"), "a\\x0ab\\x0dc\\x09d");
}

#[test]
fn errors_log_the_code_and_message_before_the_request_line() {
    let _serial = logs::capture();
    let server = serve_fn(|req| reply(req, b"never"));
    let mut long = b"GET /".to_vec();
    long.extend(std::iter::repeat_n(b'x', 70_000));
    server.exchange(&long);
    assert_eq!(
        logs::wait_lines(2),
        ["127.0.0.1 - - [<TS>] code 414, message Request-URI Too Long", r#"127.0.0.1 - - [<TS>] "" 414 -"#]
    );
    server.exchange(b"GET / HTTP/1.0\r\nBad Header: x\r\n\r\n");
    assert_eq!(
        logs::wait_lines(2),
        [
            "127.0.0.1 - - [<TS>] code 400, message Invalid header line",
            r#"127.0.0.1 - - [<TS>] "GET / HTTP/1.0" 400 -"#
        ]
    );
}

#[test]
fn log_request_takes_an_optional_code_and_size() {
    let _serial = logs::capture();
    let server = serve_fn(|req| {
        req.log_request(Some(201), Some(1234));
        req.log_request(None, None);
        req.log_error(format_args!("custom {} error", 7));
        req.log_message(format_args!("{}%{}", "100", "s"));
        req.send_response_only(204, None)?;
        Ok(req.end_headers()?)
    });
    server.exchange(b"PUT /r HTTP/1.0\r\n\r\n");
    assert_eq!(
        logs::wait_lines(4),
        [
            r#"127.0.0.1 - - [<TS>] "PUT /r HTTP/1.0" 201 1234"#,
            r#"127.0.0.1 - - [<TS>] "PUT /r HTTP/1.0" - -"#,
            "127.0.0.1 - - [<TS>] custom 7 error",
            "127.0.0.1 - - [<TS>] 100%s",
        ]
    );
}

#[test]
fn silent_closes_log_nothing() {
    let _serial = logs::capture();
    let server = serve_fn(|req| reply(req, b"ok"));
    server.exchange(b"");
    server.exchange(b"\r\n");
    // A later request proves the server ran; only its line is there.
    server.exchange(b"GET /after HTTP/1.0\r\n\r\n");
    assert_eq!(logs::wait_lines(1), [r#"127.0.0.1 - - [<TS>] "GET /after HTTP/1.0" 200 -"#]);
}

#[test]
fn log_lines_are_info_records_and_failures_are_errors() {
    let _serial = logs::capture();
    let server = serve_fn(|req| {
        if req.path == "/fail" {
            return Err("deliberate failure (expected by the test)".into());
        }
        reply(req, b"ok")
    });
    server.exchange(b"GET /fail HTTP/1.0\r\n\r\n");
    server.exchange(b"GET /ok HTTP/1.0\r\n\r\n");
    std::thread::sleep(std::time::Duration::from_millis(100));
    let records = logs::take_all();
    let info: Vec<String> = records
        .iter()
        .filter(|(level, _)| *level == log::Level::Info)
        .map(|(_, line)| support::normalize_log_line(line).unwrap())
        .collect();
    assert_eq!(
        info,
        [
            "127.0.0.1 - - [<TS>] code 500, message Internal Server Error",
            r#"127.0.0.1 - - [<TS>] "GET /fail HTTP/1.0" 500 -"#,
            r#"127.0.0.1 - - [<TS>] "GET /ok HTTP/1.0" 200 -"#,
        ]
    );
    // The failure itself (Python's traceback) is an error record, not a
    // log_message line.
    let errors: Vec<&String> = records.iter().filter(|(l, _)| *l == log::Level::Error).map(|(_, m)| m).collect();
    assert_eq!(errors.len(), 1, "{records:?}");
    assert!(errors[0].contains("deliberate failure"), "{}", errors[0]);
    assert!(support::normalize_log_line(errors[0]).is_none(), "not in log_message format: {}", errors[0]);
}

/// Lines of the handlers below, tagged with the client's port (tests in
/// this binary run in parallel; the port tells whose line it is).
static HOOKED: Mutex<Vec<(u16, String)>> = Mutex::new(Vec::new());

fn hooked(port: u16) -> Vec<String> {
    HOOKED.lock().unwrap().iter().filter(|(p, _)| *p == port).map(|(_, l)| l.clone()).collect()
}

/// Overrides `log_message`: every line (requests and errors) goes here.
#[derive(Default)]
struct OwnLogMessage;

impl BaseHTTPRequestHandler for OwnLogMessage {
    fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
        Ok(req.send_error(404)?)
    }

    fn log_message(req: &Request, args: fmt::Arguments<'_>) {
        let line = format!("{} {} | {args}", req.address_string(), req.log_date_time_string().len());
        HOOKED.lock().unwrap().push((req.client_address.port(), line));
    }
}

#[test]
fn log_message_is_overridable() {
    let _serial = logs::capture();
    let server = TestServer::start(OwnLogMessage::default);
    let mut c = server.connect();
    let port = c.local_port();
    c.send(b"GET /nothing HTTP/1.0\r\n\r\n");
    c.read_to_end();
    assert_eq!(
        hooked(port),
        ["127.0.0.1 20 | code 404, message Not Found", "127.0.0.1 20 | \"GET /nothing HTTP/1.0\" 404 -"]
    );
    assert!(logs::take().is_empty(), "the default logger must not see these lines");
}

/// Overrides `log_error` and `log_request` only.
#[derive(Default)]
struct OwnErrorAndRequest;

impl BaseHTTPRequestHandler for OwnErrorAndRequest {
    fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
        req.log_message(format_args!("plain message"));
        Ok(req.send_error(403)?)
    }

    fn log_error(req: &Request, args: fmt::Arguments<'_>) {
        HOOKED.lock().unwrap().push((req.client_address.port(), format!("ERROR {args}")));
    }

    fn log_request(req: &Request, code: Option<u16>, size: Option<u64>) {
        HOOKED.lock().unwrap().push((req.client_address.port(), format!("REQUEST {} {code:?} {size:?}", req.command)));
    }
}

#[test]
fn log_error_and_log_request_are_overridable() {
    let _serial = logs::capture();
    let server = TestServer::start(OwnErrorAndRequest::default);
    let mut c = server.connect();
    let port = c.local_port();
    c.send(b"DELETE /x HTTP/1.0\r\n\r\n");
    c.read_to_end();
    assert_eq!(hooked(port), ["ERROR code 403, message Forbidden", "REQUEST DELETE Some(403) None"]);
    // log_message itself kept the default.
    assert_eq!(logs::wait_lines(1), ["127.0.0.1 - - [<TS>] plain message"]);
}

#[test]
fn address_string_and_log_date_time_string() {
    let _serial = logs::capture(); // its request is logged too
    let server = serve_fn(|req| {
        let text = format!("{}|{}", req.address_string(), req.log_date_time_string());
        reply(req, text.as_bytes())
    });
    let response = server.exchange_norm(b"GET / HTTP/1.0\r\n\r\n");
    let (_, body) = response.split_once("\r\n\r\n").unwrap();
    let (address, ts) = body.split_once('|').unwrap();
    assert_eq!(address, "127.0.0.1");
    assert!(support::is_log_timestamp(ts), "{ts}");
    assert!(support::is_log_timestamp(&basehttp::log_date_time_string()));
}

#[test]
fn a_client_that_hangs_up_mid_response_is_logged_at_debug_a_handler_error_at_error() {
    use std::io::{Read, Write};
    let _guard = logs::capture();
    let server = serve_fn(|req| {
        if req.path == "/fail" {
            return Err("handler bug".into());
        }
        let chunk = vec![b'x'; 64 * 1024];
        req.send_response(200)?;
        req.send_header("Content-Length", 256 * chunk.len())?;
        req.end_headers()?;
        for _ in 0..256 {
            req.wfile().write_all(&chunk)?;
        }
        Ok(())
    });
    let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.write_all(b"GET /big HTTP/1.0\r\n\r\n").unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
    let mut first = [0u8; 4096];
    assert!(s.read(&mut first).unwrap() > 0);
    drop(s); // unread data: the kernel resets the connection
    assert!(server.exchange(b"GET /fail HTTP/1.0\r\n\r\n").starts_with(b"HTTP/1.0 500 "));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut records = Vec::new();
    while std::time::Instant::now() < deadline {
        records.extend(logs::take_all());
        if records.iter().any(|(_, l)| l.contains("Broken pipe") || l.contains("reset"))
            && records.iter().any(|(_, l)| l.contains("handler bug"))
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let level_of = |needle: &dyn Fn(&str) -> bool| records.iter().find(|(_, l)| needle(l)).map(|(level, _)| *level);
    assert_eq!(level_of(&|l| l.contains("handler bug")), Some(log::Level::Error), "{records:?}");
    assert_eq!(
        level_of(&|l| l.starts_with("error while handling") && (l.contains("Broken pipe") || l.contains("reset"))),
        Some(log::Level::Debug),
        "{records:?}"
    );
}
