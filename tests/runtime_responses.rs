//! Issue 2, item 4: responses — `send_response`, `send_response_only`,
//! `send_header` (DEV-1/DEV-2 refusals, `Connection` → `close_connection`),
//! `end_headers`, `flush_headers`, `send_error` byte for byte, the
//! overridable `error_message_format` / `error_content_type`, the
//! `responses` table, `version_string`, `date_time_string`, and what a
//! failing handler (panic or `Err`) produces before and after its head was
//! sent (DEV-5).

mod support;

use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use basehttp::{BaseHTTPRequestHandler, HTTPServer, HandlerResult, Request, ServerConfig};
use support::{error_page, error_response, latin1, reply, serve_fn, serve_fn_with, Gate, TestServer};

/// BEHAVIOUR.md appendix A, copied: CPython 3.11.7's `responses`.
const APPENDIX_A: &[(u16, &str, &str)] = &[
    (100, "Continue", "Request received, please continue"),
    (101, "Switching Protocols", "Switching to new protocol; obey Upgrade header"),
    (102, "Processing", ""),
    (103, "Early Hints", ""),
    (200, "OK", "Request fulfilled, document follows"),
    (201, "Created", "Document created, URL follows"),
    (202, "Accepted", "Request accepted, processing continues off-line"),
    (203, "Non-Authoritative Information", "Request fulfilled from cache"),
    (204, "No Content", "Request fulfilled, nothing follows"),
    (205, "Reset Content", "Clear input form for further input"),
    (206, "Partial Content", "Partial content follows"),
    (207, "Multi-Status", ""),
    (208, "Already Reported", ""),
    (226, "IM Used", ""),
    (300, "Multiple Choices", "Object has several resources -- see URI list"),
    (301, "Moved Permanently", "Object moved permanently -- see URI list"),
    (302, "Found", "Object moved temporarily -- see URI list"),
    (303, "See Other", "Object moved -- see Method and URL list"),
    (304, "Not Modified", "Document has not changed since given time"),
    (305, "Use Proxy", "You must use proxy specified in Location to access this resource"),
    (307, "Temporary Redirect", "Object moved temporarily -- see URI list"),
    (308, "Permanent Redirect", "Object moved permanently -- see URI list"),
    (400, "Bad Request", "Bad request syntax or unsupported method"),
    (401, "Unauthorized", "No permission -- see authorization schemes"),
    (402, "Payment Required", "No payment -- see charging schemes"),
    (403, "Forbidden", "Request forbidden -- authorization will not help"),
    (404, "Not Found", "Nothing matches the given URI"),
    (405, "Method Not Allowed", "Specified method is invalid for this resource"),
    (406, "Not Acceptable", "URI not available in preferred format"),
    (407, "Proxy Authentication Required", "You must authenticate with this proxy before proceeding"),
    (408, "Request Timeout", "Request timed out; try again later"),
    (409, "Conflict", "Request conflict"),
    (410, "Gone", "URI no longer exists and has been permanently removed"),
    (411, "Length Required", "Client must specify Content-Length"),
    (412, "Precondition Failed", "Precondition in headers is false"),
    (413, "Request Entity Too Large", "Entity is too large"),
    (414, "Request-URI Too Long", "URI is too long"),
    (415, "Unsupported Media Type", "Entity body in unsupported format"),
    (416, "Requested Range Not Satisfiable", "Cannot satisfy request range"),
    (417, "Expectation Failed", "Expect condition could not be satisfied"),
    (418, "I'm a Teapot", "Server refuses to brew coffee because it is a teapot."),
    (421, "Misdirected Request", "Server is not able to produce a response"),
    (422, "Unprocessable Entity", ""),
    (423, "Locked", ""),
    (424, "Failed Dependency", ""),
    (425, "Too Early", ""),
    (426, "Upgrade Required", ""),
    (428, "Precondition Required", "The origin server requires the request to be conditional"),
    (429, "Too Many Requests", "The user has sent too many requests in a given amount of time (\"rate limiting\")"),
    (
        431,
        "Request Header Fields Too Large",
        "The server is unwilling to process the request because its header fields are too large",
    ),
    (
        451,
        "Unavailable For Legal Reasons",
        "The server is denying access to the resource as a consequence of a legal demand",
    ),
    (500, "Internal Server Error", "Server got itself in trouble"),
    (501, "Not Implemented", "Server does not support this operation"),
    (502, "Bad Gateway", "Invalid responses from another server/proxy"),
    (503, "Service Unavailable", "The server cannot process the request due to a high load"),
    (504, "Gateway Timeout", "The gateway server did not receive a timely response"),
    (505, "HTTP Version Not Supported", "Cannot fulfill request"),
    (506, "Variant Also Negotiates", ""),
    (507, "Insufficient Storage", ""),
    (508, "Loop Detected", ""),
    (510, "Not Extended", ""),
    (511, "Network Authentication Required", "The client needs to authenticate to gain network access"),
];

fn body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

fn kind(r: io::Result<()>) -> String {
    match r {
        Ok(()) => "ok".into(),
        Err(e) => format!("{:?}", e.kind()),
    }
}

#[test]
fn send_header_refuses_cr_lf_and_nul_and_buffers_nothing_of_them() {
    let server = serve_fn(|req| {
        req.send_response(200)?;
        let mut results = Vec::new();
        for (name, value) in [
            ("X-A", "a\r\nInjected: yes"),
            ("X-A", "a\nb"),
            ("X-A", "a\rb"),
            ("X-A", "a\0b"),
            ("X-B\r\nInjected", "v"),
            ("X-B\n", "v"),
            ("X-B\0", "v"),
            ("X-Euro", "\u{20ac}"),
        ] {
            results.push(kind(req.send_header(name, value)));
        }
        // A value made by Display is checked too.
        results.push(kind(req.send_header("X-N", format_args!("1\r\n2"))));
        results.push(kind(req.send_header("X-Ok", "fine")));
        let text = results.join(",");
        req.send_header("Content-Length", text.len())?;
        req.end_headers()?;
        req.wfile().write_all(text.as_bytes())?;
        Ok(())
    });
    let response = server.exchange_norm(b"GET / HTTP/1.0\r\n\r\n");
    let refused = ["InvalidInput"; 9].join(",");
    assert_eq!(
        response,
        format!(
            "HTTP/1.0 200 OK\r\nServer: <SERVER>\r\nDate: <DATE>\r\nX-Ok: fine\r\nContent-Length: {}\r\n\r\n{refused},ok",
            refused.len() + 3
        )
    );
    assert!(!response.contains("Injected"));
}

#[test]
fn a_refused_header_that_fails_the_handler_answers_500() {
    // DEV-1 then DEV-5: the buffered 200 head is dropped, the 500 goes out.
    let server = serve_fn(|req| {
        req.send_response(200)?;
        req.send_header("Location", "/x\r\nSet-Cookie: a=b")?;
        req.end_headers()?;
        Ok(())
    });
    assert_eq!(
        server.exchange_norm(b"GET / HTTP/1.0\r\n\r\n"),
        error_response("HTTP/1.0", 500, "Internal Server Error", "Server got itself in trouble", false)
    );
}

#[test]
fn reason_phrases_with_cr_lf_or_nul_are_refused() {
    // DEV-2, for send_response, send_response_only and send_error.
    let server = serve_fn(|req| {
        let results = [
            kind(req.send_response_message(200, "OK\r\nX: y")),
            kind(req.send_response_only(200, Some("a\nb"))),
            kind(req.send_response_only(200, Some("a\0b"))),
            kind(req.send_error_message(400, "bad\r\nSet-Cookie: a=b")),
        ]
        .join(",");
        // Nothing of those reached the head buffer; start a clean response.
        req.send_response_message(299, "Fine \u{e9}")?;
        req.send_header("Content-Length", results.len())?;
        req.end_headers()?;
        req.wfile().write_all(results.as_bytes())?;
        Ok(())
    });
    let response = server.exchange(b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(
        support::norm(&response),
        latin1(b"HTTP/1.0 299 Fine \xe9\r\nServer: <SERVER>\r\nDate: <DATE>\r\nContent-Length: 51\r\n\r\n")
            + "InvalidInput,InvalidInput,InvalidInput,InvalidInput"
    );
}

#[test]
fn a_connection_header_updates_close_connection() {
    let server = serve_fn_with(ServerConfig::default(), support::http11, |req| {
        let mut seen = vec![req.close_connection];
        req.send_response(200)?;
        for value in ["close", "Keep-Alive", "close ", "CLOSE", "keep-alive"] {
            req.send_header("Connection", value)?;
            seen.push(req.close_connection);
        }
        // The last word decides.
        let last = if req.path == "/close" { "close" } else { "keep-alive" };
        req.send_header("Connection", last)?;
        let text = format!("{seen:?}");
        req.send_header("Content-Length", text.len())?;
        req.end_headers()?;
        req.wfile().write_all(text.as_bytes())?;
        Ok(())
    });
    let head = "HTTP/1.1 200 OK\r\nServer: <SERVER>\r\nDate: <DATE>\r\nConnection: close\r\n\
                Connection: Keep-Alive\r\nConnection: close \r\nConnection: CLOSE\r\nConnection: keep-alive\r\n";
    // `close ` (trailing space) changes nothing (B43 compares exactly).
    let flags = "[false, true, false, false, true, false]";
    let mut c = server.connect();
    c.send(b"GET /keep HTTP/1.1\r\n\r\n");
    assert_eq!(c.read_response_norm(), format!("{head}Connection: keep-alive\r\nContent-Length: 40\r\n\r\n{flags}"));
    c.send(b"GET /close HTTP/1.1\r\n\r\n");
    assert_eq!(c.read_response_norm(), format!("{head}Connection: close\r\nContent-Length: 40\r\n\r\n{flags}"));
    c.assert_closed();
}

#[test]
fn keep_alive_from_the_handler_keeps_an_http10_server_connection() {
    // B43: regardless of protocol_version.
    let server = serve_fn(|req| {
        req.send_response(200)?;
        req.send_header("Connection", "keep-alive")?;
        req.send_header("Content-Length", "2")?;
        req.end_headers()?;
        req.wfile().write_all(b"ok")?;
        Ok(())
    });
    let mut c = server.connect();
    for _ in 0..2 {
        c.send(b"GET / HTTP/1.0\r\n\r\n");
        assert_eq!(body(&c.read_response_norm()), "ok");
    }
    c.half_close();
    c.assert_closed();
}

/// `/panic-*` and `/err-*` fail at various points; `/ok` answers.
fn failing(req: &mut Request) -> HandlerResult {
    match req.path.as_str() {
        "/panic-first" => panic!("handler failure before anything (expected by the test)"),
        "/panic-buffered" => {
            req.send_response(200)?;
            req.send_header("X-A", "1")?;
            panic!("handler failure with a buffered head (expected by the test)");
        }
        "/err-buffered" => {
            req.send_response(201)?;
            Err("handler error with a buffered head (expected by the test)".into())
        }
        "/panic-after-head" => {
            req.send_response(200)?;
            req.send_header("Content-Length", "10")?;
            req.end_headers()?;
            req.wfile().write_all(b"01234")?;
            panic!("handler failure after the head (expected by the test)");
        }
        "/err-after-head" => {
            req.send_response(200)?;
            req.send_header("Content-Length", "10")?;
            req.end_headers()?;
            Err(io::Error::other("handler error after the head (expected by the test)").into())
        }
        "/panic-raw-body" => {
            req.wfile().write_all(b"raw bytes")?;
            panic!("handler failure after raw body bytes (expected by the test)");
        }
        _ => reply(req, b"still serving"),
    }
}

const FIVE_HUNDRED: fn(&str) -> String =
    |p| error_response(p, 500, "Internal Server Error", "Server got itself in trouble", false);

#[test]
fn a_failure_before_the_head_was_sent_answers_500_and_closes() {
    let server = serve_fn_with(ServerConfig::default(), support::http11, failing);
    for path in ["/panic-first", "/panic-buffered", "/err-buffered"] {
        let mut c = server.connect();
        // A pipelined request after the failing one is dropped.
        c.send(format!("GET {path} HTTP/1.1\r\n\r\nGET /ok HTTP/1.1\r\n\r\n").as_bytes());
        c.half_close();
        assert_eq!(support::norm(&c.read_to_end()), FIVE_HUNDRED("HTTP/1.1"), "{path}");
        // The server keeps serving.
        let ok = server.exchange_norm(b"GET /ok HTTP/1.1\r\nConnection: close\r\n\r\n");
        assert_eq!(body(&ok), "still serving", "after {path}");
    }
    // HEAD gets the 500 head only; 0.9 mode the page only.
    let head = server.exchange_norm(b"HEAD /panic-first HTTP/1.1\r\n\r\n");
    assert_eq!(head, error_response("HTTP/1.1", 500, "Internal Server Error", "Server got itself in trouble", true));
    let http09 = server.exchange_norm(b"GET /panic-first\r\n\r\n");
    assert_eq!(http09, error_page(500, "Internal Server Error", "Server got itself in trouble"));
}

#[test]
fn a_failure_after_the_head_was_sent_delivers_it_and_closes() {
    let server = serve_fn_with(ServerConfig::default(), support::http11, failing);
    let cases = [
        ("/panic-after-head", "HTTP/1.1 200 OK\r\nServer: <SERVER>\r\nDate: <DATE>\r\nContent-Length: 10\r\n\r\n01234"),
        ("/err-after-head", "HTTP/1.1 200 OK\r\nServer: <SERVER>\r\nDate: <DATE>\r\nContent-Length: 10\r\n\r\n"),
        ("/panic-raw-body", "raw bytes"),
    ];
    for (path, expected) in cases {
        let mut c = server.connect();
        c.send(format!("GET {path} HTTP/1.1\r\n\r\nGET /ok HTTP/1.1\r\n\r\n").as_bytes());
        // No half-close: the server closes on its own, nothing is added.
        assert_eq!(support::norm(&c.read_to_end()), expected, "{path}");
        let ok = server.exchange_norm(b"GET /ok HTTP/1.1\r\nConnection: close\r\n\r\n");
        assert_eq!(body(&ok), "still serving", "after {path}");
    }
}

#[test]
fn a_failure_after_100_continue_still_answers_500() {
    let server = serve_fn_with(ServerConfig::default(), support::http11, failing);
    let response =
        server.exchange_norm(b"POST /panic-first HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(response, format!("HTTP/1.1 100 Continue\r\n\r\n{}", FIVE_HUNDRED("HTTP/1.1")));
}

/// `/CODE[?message]` → `send_error(CODE[, message])`; `/explain` with both.
fn send_errors(req: &mut Request) -> HandlerResult {
    let path = req.path.clone();
    let (route, query) = path.split_once('?').map_or((path.as_str(), None), |(r, q)| (r, Some(q)));
    if route == "/explain" {
        return Ok(req.send_error_explain(418, Some("Short <b>&</b> \"dq\" 'sq'"), Some("Long & more\nline"))?);
    }
    let code: u16 = route[1..].parse()?;
    match query {
        None => req.send_error(code)?,
        Some(q) => req.send_error_message(code, &q.replace("%20", " ").replace("%E9", "\u{e9}"))?,
    }
    Ok(())
}

#[test]
fn send_error_is_byte_exact() {
    let server = serve_fn(send_errors);
    let get = |target: &str| server.exchange_norm(format!("GET {target} HTTP/1.0\r\n\r\n").as_bytes());
    assert_eq!(get("/404"), error_response("HTTP/1.0", 404, "Not Found", "Nothing matches the given URI", false));
    assert_eq!(
        get("/404?Gone%20away"),
        error_response("HTTP/1.0", 404, "Gone away", "Nothing matches the given URI", false)
    );
    // An empty message is used as it is.
    assert_eq!(get("/404?"), error_response("HTTP/1.0", 404, "", "Nothing matches the given URI", false));
    assert_eq!(get("/999"), error_response("HTTP/1.0", 999, "???", "???", false));
    assert_eq!(
        get("/explain"),
        error_response("HTTP/1.0", 418, "Short <b>&</b> \"dq\" 'sq'", "Long & more\nline", false)
    );
    // Status line in latin-1 (E9), page in UTF-8 (C3 A9).
    let latin = get("/400?caf%E9");
    assert!(latin.starts_with("HTTP/1.0 400 caf\u{e9}\r\n"), "{latin}");
    assert!(latin.contains("<p>Message: caf\u{c3}\u{a9}.</p>"), "{latin}");
    // No page for 1xx, 204, 205, 304.
    for code in [100, 101, 204, 205, 304] {
        let phrase = basehttp::responses(code).unwrap().0;
        assert_eq!(
            get(&format!("/{code}")),
            format!("HTTP/1.0 {code} {phrase}\r\nServer: <SERVER>\r\nDate: <DATE>\r\nConnection: close\r\n\r\n")
        );
    }
    // HEAD: the head of the page, no body.
    let head = server.exchange_norm(b"HEAD /403 HTTP/1.0\r\n\r\n");
    assert_eq!(
        head,
        error_response("HTTP/1.0", 403, "Forbidden", "Request forbidden -- authorization will not help", true)
    );
}

#[test]
fn send_error_closes_a_keep_alive_connection() {
    let server = serve_fn_with(ServerConfig::default(), support::http11, send_errors);
    let mut c = server.connect();
    c.send(b"GET /404 HTTP/1.1\r\n\r\nGET /200 HTTP/1.1\r\n\r\n");
    assert_eq!(
        c.read_response_norm(),
        error_response("HTTP/1.1", 404, "Not Found", "Nothing matches the given URI", false)
    );
    c.assert_closed();
}

#[test]
fn send_error_with_headers_adds_fields_after_connection_close() {
    let server = serve_fn(|req| Ok(req.send_error_with_headers(405, None, None, &[("Allow", "GET, HEAD")])?));
    let response = server.exchange_norm(b"DELETE / HTTP/1.0\r\n\r\n");
    let page = error_page(405, "Method Not Allowed", "Specified method is invalid for this resource");
    assert_eq!(
        response,
        format!(
            "HTTP/1.0 405 Method Not Allowed\r\nServer: <SERVER>\r\nDate: <DATE>\r\nConnection: close\r\n\
             Allow: GET, HEAD\r\nContent-Type: text/html;charset=utf-8\r\nContent-Length: {}\r\n\r\n{page}",
            page.len()
        )
    );
}

/// Class variables overridden on the type.
#[derive(Default)]
struct Custom;

impl BaseHTTPRequestHandler for Custom {
    const SERVER_VERSION: &'static str = "Custom/2.0";
    const SYS_VERSION: &'static str = "Rust";
    const ERROR_MESSAGE_FORMAT: &'static str = "%(code)d|%(message)s|%(explain)s|%%|%(code)s\n";
    const ERROR_CONTENT_TYPE: &'static str = "text/plain; charset=utf-8";

    fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
        if req.path == "/version" {
            let v = req.version_string().to_owned();
            return reply(req, v.as_bytes());
        }
        Ok(req.send_error_message(404, "<nope> & co")?)
    }
}

#[test]
fn error_message_format_and_error_content_type_are_overridable() {
    let server = TestServer::start(Custom::default);
    let response = server.exchange_norm(b"GET / HTTP/1.0\r\n\r\n");
    let page = "404|&lt;nope&gt; &amp; co|Nothing matches the given URI|%|404\n";
    assert_eq!(
        response,
        format!(
            "HTTP/1.0 404 <nope> & co\r\nServer: <SERVER>\r\nDate: <DATE>\r\nConnection: close\r\n\
             Content-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\r\n{page}",
            page.len()
        )
    );
    // The same through the server's class variables.
    let mut server = HTTPServer::new(("127.0.0.1", 0), || support::FnHandler(Arc::new(send_errors))).unwrap();
    server.class_mut().error_message_format = "<%(code)d>".into();
    server.class_mut().error_content_type = "text/x-test".into();
    let server = TestServer::spawn(server);
    assert_eq!(
        server.exchange_norm(b"GET /410 HTTP/1.0\r\n\r\n"),
        "HTTP/1.0 410 Gone\r\nServer: <SERVER>\r\nDate: <DATE>\r\nConnection: close\r\n\
         Content-Type: text/x-test\r\nContent-Length: 5\r\n\r\n<410>"
    );
}

#[test]
fn version_string_is_server_version_and_sys_version() {
    let server = TestServer::start(Custom::default);
    let raw = server.exchange(b"GET /version HTTP/1.0\r\n\r\n");
    assert_eq!(support::header_value(&raw, "Server").as_deref(), Some("Custom/2.0 Rust"));
    assert!(raw.ends_with(b"\r\n\r\nCustom/2.0 Rust"));
    // CPython's defaults: server_version "BaseHTTP/0.6"; sys_version names
    // this runtime where CPython puts "Python/3.11.7".
    let plain = serve_fn(|req| {
        let v = req.version_string().to_owned();
        reply(req, v.as_bytes())
    });
    let raw = plain.exchange(b"GET / HTTP/1.0\r\n\r\n");
    let expected = format!("BaseHTTP/0.6 {}", basehttp::SYS_VERSION);
    assert_eq!(support::header_value(&raw, "Server"), Some(expected.clone()));
    assert!(raw.ends_with(expected.as_bytes()));
    assert!(basehttp::SYS_VERSION.starts_with("basehttp/"));
}

#[test]
fn send_response_writes_status_server_date_in_that_order() {
    let server = serve_fn(|req| {
        req.send_response(200)?;
        req.send_header("X-Last", "1")?;
        req.end_headers()?;
        Ok(())
    });
    let raw = server.exchange(b"GET / HTTP/1.0\r\n\r\n");
    let text = latin1(&raw);
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(lines[0], "HTTP/1.0 200 OK");
    assert!(lines[1].starts_with("Server: ") && lines[2].starts_with("Date: ") && lines[3] == "X-Last: 1");
    // The Date is a current IMF-fixdate.
    assert!(support::valid_http_date(&lines[2].as_bytes()["Date: ".len()..]), "{}", lines[2]);
    assert_eq!(support::norm(&raw), "HTTP/1.0 200 OK\r\nServer: <SERVER>\r\nDate: <DATE>\r\nX-Last: 1\r\n\r\n");
}

#[test]
fn send_response_only_writes_just_the_status_line_and_flush_headers_sends_early() {
    let gate = Gate::new();
    let g = gate.clone();
    let server = serve_fn(move |req| {
        req.send_response_only(299, None)?;
        req.send_header("X-First", "1")?;
        // flush_headers() hands the buffered head over without the blank line.
        req.flush_headers()?;
        req.wfile().flush()?;
        assert!(g.wait("seen", Duration::from_secs(10)));
        req.send_header("X-Second", "2")?;
        req.end_headers()?;
        Ok(())
    });
    let mut c = server.connect();
    c.send(b"GET / HTTP/1.0\r\n\r\n");
    // Unknown code: empty reason, no Server/Date.
    assert_eq!(c.read_until(b"X-First: 1\r\n"), b"HTTP/1.0 299 \r\nX-First: 1\r\n");
    gate.signal("seen");
    assert_eq!(c.read_to_end(), b"X-Second: 2\r\n\r\n");
}

#[test]
fn date_time_string_formats_timestamps() {
    let server = serve_fn(|req| {
        let t = std::time::UNIX_EPOCH + Duration::from_secs(784_111_777);
        let text = format!("{}|{}", req.date_time_string(Some(t)), req.date_time_string(None));
        reply(req, text.as_bytes())
    });
    let raw = server.exchange(b"GET / HTTP/1.0\r\n\r\n");
    let text = support::norm(&raw);
    let (fixed, now) = body(&text).split_once('|').unwrap();
    assert_eq!(fixed, "Sun, 06 Nov 1994 08:49:37 GMT");
    assert!(support::valid_http_date(now.as_bytes()), "{now}");
}

#[test]
fn the_responses_table_is_cpythons() {
    assert_eq!(basehttp::RESPONSES.len(), APPENDIX_A.len());
    for &(code, phrase, description) in APPENDIX_A {
        assert_eq!(basehttp::responses(code), Some((phrase, description)), "{code}");
    }
    for code in [0, 99, 199, 306, 418 + 1, 599, 999] {
        assert_eq!(basehttp::responses(code), None, "{code}");
    }
    // Every known code's phrase is send_response's default reason.
    let server = serve_fn(|req| {
        let code: u16 = req.path[1..].parse()?;
        req.send_response(code)?;
        req.end_headers()?;
        Ok(())
    });
    for &(code, phrase, _) in APPENDIX_A.iter().step_by(7) {
        let raw = server.exchange(format!("GET /{code} HTTP/1.0\r\n\r\n").as_bytes());
        assert!(raw.starts_with(format!("HTTP/1.0 {code} {phrase}\r\n").as_bytes()), "{code}");
    }
}

#[test]
fn everything_written_is_delivered_before_the_close() {
    let payload: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    let p = payload.clone();
    let server = serve_fn(move |req| {
        req.send_response(200)?;
        req.send_header("Content-Length", p.len())?;
        req.end_headers()?;
        for piece in p.chunks(7000) {
            req.wfile().write_all(piece)?;
        }
        Ok(())
    });
    let raw = server.exchange(b"GET / HTTP/1.0\r\n\r\n");
    let at = support::find(&raw, b"\r\n\r\n").unwrap() + 4;
    assert_eq!(raw.len() - at, payload.len());
    assert!(raw[at..] == payload[..]);
}

#[test]
fn wfile_flush_streams_a_response() {
    let gate = Gate::new();
    let g = gate.clone();
    let server = serve_fn(move |req| {
        req.send_response(200)?;
        req.end_headers()?;
        req.wfile().write_all(b"part one;")?;
        req.wfile().flush()?;
        let seen = g.wait("part one seen", Duration::from_secs(10));
        req.wfile().write_all(if seen { b"part two" } else { b"not streamed" })?;
        Ok(())
    });
    let mut c = server.connect();
    c.send(b"GET / HTTP/1.0\r\n\r\n");
    c.read_until(b"part one;");
    gate.signal("part one seen");
    assert_eq!(c.read_to_end(), b"part two");
}

#[test]
fn handler_results_accept_any_error() {
    // HandlerResult's error is a boxed std error: io::Error, parse errors
    // and strings all convert with `?` and all end in a 500.
    let seen = Arc::new(Mutex::new(0));
    let s = seen.clone();
    let server = serve_fn(move |req| {
        *s.lock().unwrap() += 1;
        let n: u32 = req.path[1..].parse()?;
        reply(req, n.to_string().as_bytes())
    });
    assert_eq!(body(&server.exchange_norm(b"GET /42 HTTP/1.0\r\n\r\n")), "42");
    assert_eq!(server.exchange_norm(b"GET /x HTTP/1.0\r\n\r\n"), FIVE_HUNDRED("HTTP/1.0"));
    assert_eq!(*seen.lock().unwrap(), 2);
}

/// Answers with the head only, or, when `send_response` fails, with the
/// error kind as raw bytes (no head is flushed).
fn version_probe(req: &mut Request) -> HandlerResult {
    match req.send_response(200) {
        Ok(()) => req.end_headers()?,
        Err(e) => req.wfile().write_all(format!("refused: {:?}", e.kind()).as_bytes())?,
    }
    Ok(())
}

#[test]
fn a_server_version_that_is_not_printable_ascii_goes_through_send_header() {
    // The Server line is pre-built for printable ASCII; anything else is
    // written as send_header writes it: latin-1, or refused (DEV-1).
    struct Latin;
    impl BaseHTTPRequestHandler for Latin {
        const SERVER_VERSION: &'static str = "Caf\u{e9}/1.0\tbeta";
        fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
            version_probe(req)
        }
    }
    struct Injected;
    impl BaseHTTPRequestHandler for Injected {
        const SERVER_VERSION: &'static str = "Evil/1.0\r\nX-Injected: 1";
        fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
            version_probe(req)
        }
    }
    let out = basehttp::serve_bytes(&mut Latin, b"GET / HTTP/1.0\r\n\r\n");
    let expected = format!("Server: Caf\u{e9}/1.0\tbeta {}\r\n", Latin::SYS_VERSION);
    assert!(latin1(&out).contains(&expected), "{:?}", latin1(&out));
    let out = basehttp::serve_bytes(&mut Injected, b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(latin1(&out), "refused: InvalidInput");
}
