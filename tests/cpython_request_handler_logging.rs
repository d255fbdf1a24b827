//! Port of CPython 3.11's `test_httpservers.RequestHandlerLoggingTestCase`
//! (BEHAVIOUR.md appendix C): a real server with logging on. CPython captures
//! `sys.stderr`; the port logs through the `log` crate (target `basehttp`),
//! so a capturing logger stands in for stderr, and whole lines are compared
//! (CPython checks how they end).

mod support;

use basehttp::{BaseHTTPRequestHandler, HandlerResult, Request};
use support::{logs, TestServer};

#[derive(Default)]
struct Handler;

impl BaseHTTPRequestHandler for Handler {
    const PROTOCOL_VERSION: &'static str = "HTTP/1.1";
    const DEFAULT_REQUEST_VERSION: &'static str = "HTTP/1.1";

    fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
        match req.command.as_str() {
            "GET" => {
                req.send_response(200)?;
                req.end_headers()?;
            }
            "ERROR" => req.send_error_message(404, "File not found")?,
            _ => req.send_unsupported_method()?,
        }
        Ok(())
    }
}

fn request(server: &TestServer, method: &str) -> Vec<u8> {
    format!("{method} / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAccept-Encoding: identity\r\n\r\n", server.port).into_bytes()
}

#[test]
fn test_get() {
    let _serial = logs::capture();
    let server = TestServer::start(Handler::default);
    let mut c = server.connect();
    c.send(&request(&server, "GET"));
    // getresponse(): the head (no body, the connection stays open).
    let head = support::norm(&c.read_until(b"\r\n\r\n"));
    assert_eq!(head, "HTTP/1.1 200 OK\r\nServer: <SERVER>\r\nDate: <DATE>\r\n\r\n");
    assert_eq!(logs::wait_lines(1), [r#"127.0.0.1 - - [<TS>] "GET / HTTP/1.1" 200 -"#]);
}

#[test]
fn test_err() {
    let _serial = logs::capture();
    let server = TestServer::start(Handler::default);
    let mut c = server.connect();
    c.send(&request(&server, "ERROR"));
    let response = c.read_response_norm();
    assert_eq!(
        response,
        support::error_response("HTTP/1.1", 404, "File not found", "Nothing matches the given URI", false)
    );
    assert_eq!(
        logs::wait_lines(2),
        ["127.0.0.1 - - [<TS>] code 404, message File not found", r#"127.0.0.1 - - [<TS>] "ERROR / HTTP/1.1" 404 -"#,]
    );
}
