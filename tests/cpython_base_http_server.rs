//! Port of CPython 3.11's `test_httpservers.BaseHTTPServerTestCase`
//! (BEHAVIOUR.md appendix C): a real server whose handler has
//! `protocol_version = 'HTTP/1.1'` and `default_request_version =
//! 'HTTP/1.1'`, driven with the exact bytes `http.client` sends (request
//! line, `Host`, `Accept-Encoding: identity`). Where CPython checks a status
//! code or one header, these tests check the whole normalised response.

mod support;

use std::io::Write;

use basehttp::{BaseHTTPRequestHandler, HandlerResult, Request};
use support::{error_response, latin1, norm, Client, TestServer};

/// CPython's `request_handler` of the test case (a `NoLogRequestHandler`:
/// no logger is installed in this binary, so nothing is printed).
#[derive(Default)]
struct Handler;

impl Handler {
    fn code_from_path(req: &Request) -> u16 {
        req.path[1..].parse().expect("/CODE")
    }
}

impl BaseHTTPRequestHandler for Handler {
    const PROTOCOL_VERSION: &'static str = "HTTP/1.1";
    const DEFAULT_REQUEST_VERSION: &'static str = "HTTP/1.1";

    fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
        match req.command.as_str() {
            "TEST" => {
                req.send_response(204)?;
                req.send_header("Content-Type", "text/html")?;
                req.send_header("Connection", "close")?;
                req.end_headers()?;
            }
            "KEEP" => {
                req.send_response(204)?;
                req.send_header("Content-Type", "text/html")?;
                req.send_header("Connection", "keep-alive")?;
                req.end_headers()?;
            }
            "KEYERROR" => req.send_error(999)?,
            "NOTFOUND" => req.send_error(404)?,
            "EXPLAINERROR" => {
                req.send_error_explain(999, Some("Short Message"), Some("This is a long \n explanation"))?
            }
            "CUSTOM" => {
                req.send_response(999)?;
                req.send_header("Content-Type", "text/html")?;
                req.send_header("Connection", "close")?;
                req.end_headers()?;
            }
            "LATINONEHEADER" => {
                req.send_response(999)?;
                req.send_header("X-Special", "Dängerous Mind")?;
                req.send_header("Connection", "close")?;
                req.end_headers()?;
                // self.headers['x-special-incoming'].encode('utf-8')
                let body = req.headers.get("x-special-incoming").unwrap_or("").as_bytes().to_vec();
                req.wfile().write_all(&body)?;
            }
            "SEND_ERROR" | "HEAD" => {
                let code = Self::code_from_path(req);
                req.send_error(code)?;
            }
            _ => req.send_unsupported_method()?,
        }
        Ok(())
    }
}

fn server() -> TestServer {
    TestServer::start(Handler::default)
}

/// What `http.client` sends for `putrequest(method, url)` with
/// `_http_vsn_str = version`, then `headers`, then `endheaders()`.
fn http_client(server: &TestServer, method: &str, url: &str, version: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut out =
        format!("{method} {url} {version}\r\nHost: 127.0.0.1:{}\r\nAccept-Encoding: identity\r\n", server.port)
            .chars()
            .map(|c| c as u8)
            .collect::<Vec<u8>>();
    for (name, value) in headers {
        out.extend(format!("{name}: {value}\r\n").chars().map(|c| u8::try_from(c as u32).unwrap()));
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// One request, one response, then the server must close (every response
/// below carries `Connection: close`).
fn exchange_closing(server: &TestServer, request: &[u8]) -> String {
    let mut c = server.connect();
    c.send(request);
    let response = c.read_response_norm();
    c.assert_closed();
    response
}

const BAD_REQUEST: &str = "Bad request syntax or unsupported method";
const NOT_IMPLEMENTED: &str = "Server does not support this operation";

fn unsupported(command: &str) -> String {
    error_response("HTTP/1.1", 501, &format!("Unsupported method ('{command}')"), NOT_IMPLEMENTED, false)
}

#[test]
fn test_command() {
    let s = server();
    let r = exchange_closing(&s, &http_client(&s, "GET", "/", "HTTP/1.1", &[]));
    assert_eq!(r, unsupported("GET"));
}

#[test]
fn test_request_line_trimming() {
    // `_http_vsn_str = 'HTTP/1.1\n'`: the line ends in LF, then http.client's
    // CRLF is an empty line that ends the header section.
    let s = server();
    let r = exchange_closing(&s, &http_client(&s, "XYZBOGUS", "/", "HTTP/1.1\n", &[]));
    assert_eq!(r, unsupported("XYZBOGUS"));
}

fn bad_version(version: &str) {
    let s = server();
    let r = exchange_closing(&s, &http_client(&s, "GET", "/", version, &[]));
    assert_eq!(r, error_response("HTTP/1.1", 400, &format!("Bad request version ('{version}')"), BAD_REQUEST, false));
}

#[test]
fn test_version_bogus() {
    bad_version("FUBAR");
}

#[test]
fn test_version_digits() {
    bad_version("HTTP/9.9.9");
}

#[test]
fn test_version_signs_and_underscores() {
    bad_version("HTTP/-9_9_9.+9_9_9");
}

#[test]
fn test_major_version_number_too_long() {
    bad_version("HTTP/909876543210.0");
}

#[test]
fn test_minor_version_number_too_long() {
    bad_version("HTTP/1.909876543210");
}

#[test]
fn test_version_none_get() {
    // `GET / ` is an HTTP/0.9 GET; with default_request_version HTTP/1.1 the
    // 501 gets a status line.
    let s = server();
    let r = exchange_closing(&s, &http_client(&s, "GET", "/", "", &[]));
    assert_eq!(r, unsupported("GET"));
}

#[test]
fn test_version_none() {
    let s = server();
    let r = exchange_closing(&s, &http_client(&s, "CUSTOM", "/", "", &[]));
    assert_eq!(r, error_response("HTTP/1.1", 400, "Bad HTTP/0.9 request type ('CUSTOM')", BAD_REQUEST, false));
}

#[test]
fn test_version_invalid() {
    let s = server();
    let r = exchange_closing(&s, &http_client(&s, "GET", "/", "HTTP/9.9", &[]));
    assert_eq!(r, error_response("HTTP/1.1", 505, "Invalid HTTP version (9.9)", "Cannot fulfill request", false));
}

#[test]
fn test_send_blank() {
    // putrequest('', '') with no version: the request line is ` / `.
    let s = server();
    let r = exchange_closing(&s, &http_client(&s, "", "/", "", &[]));
    assert_eq!(r, error_response("HTTP/1.1", 400, "Bad request syntax (' / ')", BAD_REQUEST, false));
}

#[test]
fn test_header_close() {
    let s = server();
    let r = exchange_closing(&s, &http_client(&s, "GET", "/", "HTTP/1.1", &[("Connection", "close")]));
    assert_eq!(r, unsupported("GET"));
}

#[test]
fn test_header_keep_alive() {
    let s = server();
    let r = exchange_closing(&s, &http_client(&s, "GET", "/", "HTTP/1.1", &[("Connection", "keep-alive")]));
    assert_eq!(r, unsupported("GET"));
}

const NO_CONTENT_CLOSE: &str = "HTTP/1.1 204 No Content\r\nServer: <SERVER>\r\nDate: <DATE>\r\n\
                                Content-Type: text/html\r\nConnection: close\r\n\r\n";

#[test]
fn test_handler() {
    let s = server();
    let r = exchange_closing(&s, &http_client(&s, "TEST", "/", "HTTP/1.1", &[]));
    assert_eq!(r, NO_CONTENT_CLOSE);
}

#[test]
fn test_return_header_keep_alive() {
    let s = server();
    let mut c = s.connect();
    c.send(&http_client(&s, "KEEP", "/", "HTTP/1.1", &[]));
    assert_eq!(
        c.read_response_norm(),
        "HTTP/1.1 204 No Content\r\nServer: <SERVER>\r\nDate: <DATE>\r\n\
         Content-Type: text/html\r\nConnection: keep-alive\r\n\r\n"
    );
    // The connection is reused for the next request.
    c.send(&http_client(&s, "TEST", "/", "HTTP/1.1", &[]));
    assert_eq!(c.read_response_norm(), NO_CONTENT_CLOSE);
    c.assert_closed();
}

#[test]
fn test_internal_key_error() {
    let s = server();
    let r = exchange_closing(&s, &http_client(&s, "KEYERROR", "/", "HTTP/1.1", &[]));
    assert_eq!(r, error_response("HTTP/1.1", 999, "???", "???", false));
}

#[test]
fn test_return_custom_status() {
    let s = server();
    let r = exchange_closing(&s, &http_client(&s, "CUSTOM", "/", "HTTP/1.1", &[]));
    // An unknown code has an empty reason phrase: note the space after 999.
    assert_eq!(
        r,
        "HTTP/1.1 999 \r\nServer: <SERVER>\r\nDate: <DATE>\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n"
    );
}

#[test]
fn test_return_explain_error() {
    let s = server();
    let r = exchange_closing(&s, &http_client(&s, "EXPLAINERROR", "/", "HTTP/1.1", &[]));
    let expected = error_response("HTTP/1.1", 999, "Short Message", "This is a long \n explanation", false);
    assert_eq!(r, expected);
    let length: usize = support::header_value(r.as_bytes(), "Content-Length").unwrap().parse().unwrap();
    assert!(length > 0);
}

#[test]
fn test_latin1_header() {
    let s = server();
    let mut c = s.connect();
    c.send(&http_client(&s, "LATINONEHEADER", "/", "HTTP/1.1", &[("X-Special-Incoming", "Ärger mit Unicode")]));
    c.half_close();
    let r = c.read_to_end();
    // The header goes out in latin-1 (E4), the body is the UTF-8 of the
    // latin-1-decoded request header (C3 84).
    let mut expected = b"HTTP/1.1 999 \r\nServer: <SERVER>\r\nDate: <DATE>\r\n\
                         X-Special: D\xe4ngerous Mind\r\nConnection: close\r\n\r\n"
        .to_vec();
    expected.extend_from_slice("Ärger mit Unicode".as_bytes());
    assert_eq!(norm(&r), latin1(&expected));
}

#[test]
fn test_error_content_length() {
    // Issue #16088: standard error responses have a Content-Length.
    let s = server();
    let r = exchange_closing(&s, &http_client(&s, "NOTFOUND", "/", "HTTP/1.1", &[]));
    assert_eq!(r, error_response("HTTP/1.1", 404, "Not Found", "Nothing matches the given URI", false));
    let (head, body) = r.split_once("\r\n\r\n").unwrap();
    let length: usize = support::header_value(head.as_bytes(), "Content-Length").unwrap().parse().unwrap();
    assert_eq!(length, body.len());
}

/// 1xx, 204, 205 and 304 errors have no body, no Content-Length and no
/// Content-Type.
fn bodiless(code: u16) -> String {
    let phrase = basehttp::responses(code).unwrap().0;
    format!("HTTP/1.1 {code} {phrase}\r\nServer: <SERVER>\r\nDate: <DATE>\r\nConnection: close\r\n\r\n")
}

#[test]
fn test_send_error() {
    let s = server();
    for code in [204, 304, 102, 205, 101] {
        let r = exchange_closing(&s, &http_client(&s, "SEND_ERROR", &format!("/{code}"), "HTTP/1.1", &[]));
        assert_eq!(r, bodiless(code), "send_error({code})");
    }
}

#[test]
fn test_head_via_send_error() {
    let s = server();
    for code in [200, 204, 304, 205, 101] {
        let mut c: Client = s.connect();
        c.send(&http_client(&s, "HEAD", &format!("/{code}"), "HTTP/1.1", &[]));
        c.half_close();
        let r = norm(&c.read_to_end());
        if code == 200 {
            // Content-Length and Content-Type of the page, but no body.
            let expected = error_response("HTTP/1.1", 200, "OK", "Request fulfilled, document follows", true);
            assert_eq!(r, expected);
            let length: usize = support::header_value(r.as_bytes(), "Content-Length").unwrap().parse().unwrap();
            assert!(length > 0);
        } else {
            assert_eq!(r, bodiless(code), "HEAD send_error({code})");
        }
    }
}
