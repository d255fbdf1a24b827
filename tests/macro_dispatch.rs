//! What `#[http_handler]` generates, seen from a real socket: each `do_`
//! method reached, CPython's 501 (bytes and log lines) for everything else,
//! `METHODS` in source order, the opt-ins (automatic HEAD and OPTIONS, 405
//! for standard methods), and overridden class variables and hooks.

mod support;

use std::fmt;
use std::io::{Read, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use basehttp::{http_handler, BaseHTTPRequestHandler, HandlerResult, Request};
use support::{logs, norm, TestServer};

/// CPython's defaults: no opt-ins.
#[derive(Default)]
struct App;

#[http_handler]
impl App {
    fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
        let body = format!("GET {}\n", req.path);
        req.send_response(200)?;
        req.send_header("Content-Type", "text/plain")?;
        req.send_header("Content-Length", body.len())?;
        req.end_headers()?;
        req.wfile().write_all(body.as_bytes())
    }

    fn do_POST(&mut self, req: &mut Request) -> HandlerResult {
        let length: u64 = req.headers.get("Content-Length").unwrap_or("0").parse()?;
        let mut body = Vec::new();
        req.rfile().take(length).read_to_end(&mut body)?;
        req.send_response(200)?;
        req.send_header("Content-Length", body.len() + 6)?;
        req.end_headers()?;
        req.wfile().write_all(b"POST ")?;
        req.wfile().write_all(&body)?;
        req.wfile().write_all(b"\n")?;
        Ok(())
    }

    /// No return type: a method that cannot fail.
    fn do_DELETE(&mut self, req: &mut Request) {
        let _ = req.send_error(403);
    }

    /// A failure before anything was sent answers 500 (DEV-5).
    fn do_PATCH(&mut self, _req: &mut Request) -> HandlerResult {
        Err("patch failed".into())
    }
}

/// All three opt-ins.
#[derive(Default)]
struct Modern;

#[http_handler(auto_head, auto_options, method_not_allowed)]
impl Modern {
    fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
        // What `do_GET` sees of a HEAD request: the real command.
        let command = req.command.clone();
        let body = format!("{command} {}\n", req.path);
        req.send_response(200)?;
        req.send_header("Content-Type", "text/plain")?;
        req.send_header("Content-Length", body.len())?;
        req.send_header("X-Seen-Command", &command)?;
        req.end_headers()?;
        req.wfile().write_all(body.as_bytes())
    }

    fn do_POST(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_response(204)?;
        req.end_headers()
    }
}

/// Lines passed to `Custom::log_message`.
static CUSTOM_LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Overridden class variables and hooks.
#[derive(Default)]
struct Custom;

#[http_handler]
impl Custom {
    const PROTOCOL_VERSION: &'static str = "HTTP/1.1";
    const SERVER_VERSION: &'static str = "Custom/2.0";
    const SYS_VERSION: &'static str = "Tested";
    const ERROR_MESSAGE_FORMAT: &'static str = "error %(code)d: %(message)s\n";
    const ERROR_CONTENT_TYPE: &'static str = "text/plain";

    fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_response(200)?;
        req.send_header("Content-Length", "0")?;
        req.end_headers()
    }

    fn do_POST(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_response(200)?;
        req.send_header("Content-Length", "0")?;
        req.end_headers()
    }

    fn log_message(req: &Request, args: fmt::Arguments<'_>) {
        CUSTOM_LOG.lock().unwrap_or_else(|e| e.into_inner()).push(format!("{} {args}", req.path));
    }

    /// Refuses every `Expect: 100-continue`.
    fn handle_expect_100(req: &mut Request) -> std::io::Result<bool> {
        req.send_error(417)?;
        Ok(false)
    }
}

/// A deliberately lower-case method next to its upper-case twin.
#[derive(Default)]
struct Teapot;

#[http_handler]
impl Teapot {
    #[exact_method]
    fn do_brew(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_error_message(418, "brewed lower-case")
    }

    fn do_BREW(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_error_message(418, "brewed upper-case")
    }
}

/// The status line of a response.
fn status_line(response: &str) -> &str {
    response.split("\r\n").next().unwrap_or("")
}

#[test]
fn methods_are_listed_in_source_order() {
    assert_eq!(App::METHODS, ["GET", "POST", "DELETE", "PATCH"]);
    assert_eq!(Modern::METHODS, ["GET", "HEAD", "POST", "OPTIONS"]);
    assert_eq!(Custom::METHODS, ["GET", "POST"]);
    assert_eq!(Teapot::METHODS, ["brew", "BREW"]);
}

#[test]
fn each_do_method_is_reached() {
    let server = TestServer::start(App::default);
    let get = server.exchange_norm(b"GET /a HTTP/1.0\r\n\r\n");
    assert_eq!(
        get,
        "HTTP/1.0 200 OK\r\nServer: <SERVER>\r\nDate: <DATE>\r\nContent-Type: text/plain\r\n\
         Content-Length: 7\r\n\r\nGET /a\n"
    );
    let post = server.exchange_norm(b"POST /b HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello");
    assert_eq!(post, "HTTP/1.0 200 OK\r\nServer: <SERVER>\r\nDate: <DATE>\r\nContent-Length: 11\r\n\r\nPOST hello\n");
    let delete = server.exchange_norm(b"DELETE /c HTTP/1.0\r\n\r\n");
    assert_eq!(status_line(&delete), "HTTP/1.0 403 Forbidden");
    let patch = server.exchange_norm(b"PATCH /d HTTP/1.0\r\n\r\n");
    assert_eq!(status_line(&patch), "HTTP/1.0 500 Internal Server Error");
}

/// `../shared/oracle/cases/public/p009-unknown-method-put.json`, as CPython
/// 3.11 answered it.
const CPYTHON_501_PUT: &str = "HTTP/1.0 501 Unsupported method ('PUT')\r\nServer: <SERVER>\r\nDate: <DATE>\r\n\
    Connection: close\r\nContent-Type: text/html;charset=utf-8\r\nContent-Length: 356\r\n\r\n\
    <!DOCTYPE HTML>\n<html lang=\"en\">\n    <head>\n        <meta charset=\"utf-8\">\n        \
    <title>Error response</title>\n    </head>\n    <body>\n        <h1>Error response</h1>\n        \
    <p>Error code: 501</p>\n        <p>Message: Unsupported method ('PUT').</p>\n        \
    <p>Error code explanation: 501 - Server does not support this operation.</p>\n    </body>\n</html>\n";

#[test]
fn unknown_method_is_cpythons_501_byte_for_byte() {
    let _guard = logs::capture();
    let server = TestServer::start(App::default);
    let raw = server.exchange(b"PUT /hello HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi");
    assert_eq!(norm(&raw), CPYTHON_501_PUT);
    let server_header = format!("\r\nServer: BaseHTTP/0.6 {}\r\n", basehttp::SYS_VERSION);
    assert!(support::latin1(&raw).contains(&server_header), "{:?}", support::latin1(&raw));

    // B49/B69: the error and the request line, through the default
    // `log_message`. Other tests of this binary log too: keep this request's.
    let deadline = Instant::now() + support::IO_TIMEOUT;
    let mut lines = Vec::new();
    while lines.len() < 2 && Instant::now() < deadline {
        let taken = logs::take();
        lines.extend(taken.into_iter().filter(|l| l.contains("PUT")).filter_map(|l| support::normalize_log_line(&l)));
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        lines,
        [
            "127.0.0.1 - - [<TS>] code 501, message Unsupported method ('PUT')",
            "127.0.0.1 - - [<TS>] \"PUT /hello HTTP/1.0\" 501 -",
        ]
    );
}

#[test]
fn without_opt_ins_head_options_and_standard_methods_are_501() {
    let server = TestServer::start(App::default);
    let head = server.exchange_norm(b"HEAD / HTTP/1.0\r\n\r\n");
    // B62: a HEAD error response announces the page (one byte longer than
    // PUT's) and does not send it.
    assert_eq!(
        head,
        "HTTP/1.0 501 Unsupported method ('HEAD')\r\nServer: <SERVER>\r\nDate: <DATE>\r\nConnection: close\r\n\
         Content-Type: text/html;charset=utf-8\r\nContent-Length: 357\r\n\r\n"
    );
    let options = server.exchange_norm(b"OPTIONS * HTTP/1.0\r\n\r\n");
    assert_eq!(status_line(&options), "HTTP/1.0 501 Unsupported method ('OPTIONS')");
    let trace = server.exchange_norm(b"TRACE / HTTP/1.0\r\n\r\n");
    assert_eq!(status_line(&trace), "HTTP/1.0 501 Unsupported method ('TRACE')");
    // Methods are case-sensitive: `get` is not `GET`.
    let lower = server.exchange_norm(b"get / HTTP/1.0\r\n\r\n");
    assert_eq!(status_line(&lower), "HTTP/1.0 501 Unsupported method ('get')");
}

#[test]
fn auto_head_gives_gets_headers_and_no_body() {
    let server = TestServer::start(Modern::default);
    let get = server.exchange_norm(b"GET /page HTTP/1.0\r\n\r\n");
    let head = server.exchange_norm(b"HEAD /page HTTP/1.0\r\n\r\n");
    assert_eq!(
        get,
        "HTTP/1.0 200 OK\r\nServer: <SERVER>\r\nDate: <DATE>\r\nContent-Type: text/plain\r\n\
         Content-Length: 10\r\nX-Seen-Command: GET\r\n\r\nGET /page\n"
    );
    // Same head (`Content-Length` of the body GET would send), no body; the
    // method saw `HEAD`.
    assert_eq!(
        head,
        "HTTP/1.0 200 OK\r\nServer: <SERVER>\r\nDate: <DATE>\r\nContent-Type: text/plain\r\n\
         Content-Length: 11\r\nX-Seen-Command: HEAD\r\n\r\n"
    );
}

#[test]
fn auto_head_keeps_a_persistent_connection_in_step() {
    // After a HEAD on a keep-alive connection the next response must start
    // right after the head: no body bytes in between.
    let server = TestServer::start_with(Modern::default, Default::default(), |s| {
        s.class_mut().protocol_version = "HTTP/1.1".to_owned();
    });
    let mut client = server.connect();
    client.send(b"HEAD /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let first = client.read_until(b"\r\n\r\n");
    assert!(norm(&first).starts_with("HTTP/1.1 200 OK\r\n"), "{:?}", norm(&first));
    let second = client.read_response();
    assert!(norm(&second).starts_with("HTTP/1.1 200 OK\r\n"), "{:?}", norm(&second));
    assert!(norm(&second).ends_with("\r\n\r\nGET /two\n"), "{:?}", norm(&second));
}

#[test]
fn auto_options_lists_the_handled_methods() {
    let server = TestServer::start(Modern::default);
    let options = server.exchange_norm(b"OPTIONS * HTTP/1.0\r\n\r\n");
    assert_eq!(
        options,
        "HTTP/1.0 200 OK\r\nServer: <SERVER>\r\nDate: <DATE>\r\nAllow: GET, HEAD, POST, OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    );
}

#[test]
fn method_not_allowed_answers_405_for_standard_methods_only() {
    let server = TestServer::start(Modern::default);
    let page = "<!DOCTYPE HTML>\n<html lang=\"en\">\n    <head>\n        <meta charset=\"utf-8\">\n        \
        <title>Error response</title>\n    </head>\n    <body>\n        <h1>Error response</h1>\n        \
        <p>Error code: 405</p>\n        <p>Message: Method Not Allowed.</p>\n        \
        <p>Error code explanation: 405 - Specified method is invalid for this resource.</p>\n    </body>\n</html>\n";
    let expected = format!(
        "HTTP/1.0 405 Method Not Allowed\r\nServer: <SERVER>\r\nDate: <DATE>\r\nConnection: close\r\n\
         Allow: GET, HEAD, POST, OPTIONS\r\nContent-Type: text/html;charset=utf-8\r\nContent-Length: {}\r\n\r\n{page}",
        page.len()
    );
    for method in ["DELETE", "PUT", "TRACE", "CONNECT"] {
        let target = if method == "CONNECT" { "example.com:443" } else { "/" };
        let response = server.exchange_norm(format!("{method} {target} HTTP/1.0\r\n\r\n").as_bytes());
        assert_eq!(response, expected, "{method}");
    }
    // Not an RFC 9110 method: still CPython's 501.
    let brew = server.exchange_norm(b"BREW / HTTP/1.0\r\n\r\n");
    assert_eq!(status_line(&brew), "HTTP/1.0 501 Unsupported method ('BREW')");
    let lower = server.exchange_norm(b"delete / HTTP/1.0\r\n\r\n");
    assert_eq!(status_line(&lower), "HTTP/1.0 501 Unsupported method ('delete')");
}

#[test]
fn overridden_class_variables_take_effect() {
    let server = TestServer::start(Custom::default);
    let raw = server.exchange(b"GET /vars HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let text = support::latin1(&raw);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\nServer: Custom/2.0 Tested\r\n"), "{text:?}");
    // ERROR_MESSAGE_FORMAT and ERROR_CONTENT_TYPE shape the 501.
    let error = server.exchange_norm(b"PATCH /vars HTTP/1.1\r\nHost: x\r\n\r\n");
    let page = "error 501: Unsupported method ('PATCH')\n";
    assert_eq!(
        error,
        format!(
            "HTTP/1.1 501 Unsupported method ('PATCH')\r\nServer: <SERVER>\r\nDate: <DATE>\r\nConnection: close\r\n\
             Content-Type: text/plain\r\nContent-Length: {}\r\n\r\n{page}",
            page.len()
        )
    );
}

#[test]
fn overridden_hooks_are_called() {
    let server = TestServer::start(Custom::default);
    let _ = server.exchange(b"GET /hook-log HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let logged: Vec<String> = CUSTOM_LOG
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|l| l.starts_with("/hook-log "))
        .cloned()
        .collect();
    assert_eq!(logged, ["/hook-log \"GET /hook-log HTTP/1.1\" 200 -"]);

    // handle_expect_100 refuses with 417, so do_POST never runs; the error
    // is logged through the default log_error, which calls the override.
    let response = server
        .exchange_norm(b"POST /hook-expect HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
    assert!(response.starts_with("HTTP/1.1 417 Expectation Failed\r\n"), "{response:?}");
    let logged: Vec<String> = CUSTOM_LOG
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|l| l.starts_with("/hook-expect "))
        .cloned()
        .collect();
    assert_eq!(
        logged,
        ["/hook-expect code 417, message Expectation Failed", "/hook-expect \"POST /hook-expect HTTP/1.1\" 417 -",]
    );
}

#[test]
fn exact_method_answers_the_literal_lower_case_method() {
    let server = TestServer::start(Teapot::default);
    let lower = server.exchange_norm(b"brew /pot HTTP/1.0\r\n\r\n");
    assert_eq!(status_line(&lower), "HTTP/1.0 418 brewed lower-case");
    let upper = server.exchange_norm(b"BREW /pot HTTP/1.0\r\n\r\n");
    assert_eq!(status_line(&upper), "HTTP/1.0 418 brewed upper-case");
    let mixed = server.exchange_norm(b"Brew /pot HTTP/1.0\r\n\r\n");
    assert_eq!(status_line(&mixed), "HTTP/1.0 501 Unsupported method ('Brew')");
}
