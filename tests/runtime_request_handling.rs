//! Issue 2, item 2: request handling (`handle`, `handle_one_request`,
//! `parse_request`): what a handler sees of a request, persistent
//! connections, pipelining, `Expect: 100-continue` and its override hook,
//! and CPython's request-line and header rules on the wire.

mod support;

use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use basehttp::{BaseHTTPRequestHandler, HTTPServer, HandlerResult, Request, ServerConfig};
use support::{error_response, reply, serve_fn, serve_fn_with, TestServer};

/// Replies with everything `parse_request` produced.
fn describe(req: &mut Request) -> HandlerResult {
    let mut body = format!(
        "command={}\npath={}\nrequest_version={}\nrequestline={}\nraw_requestline={:?}\nclose_connection={}\n",
        req.command,
        req.path,
        req.request_version,
        req.requestline,
        support::latin1(&req.raw_requestline),
        req.close_connection
    );
    for (name, value) in req.headers.items() {
        body.push_str(&format!("{name}: {value}\n"));
    }
    let bytes: Vec<u8> = body.chars().map(|c| c as u32 as u8).collect();
    reply(req, &bytes)
}

fn body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

#[test]
fn the_handler_sees_the_parsed_request() {
    let server = serve_fn(describe);
    let response = server.exchange_norm(b"GET //a/b?x=%41 HTTP/1.0\r\nHost: h\r\nX-Dup: 1\r\nx-dup:  2 \r\n\r\n");
    assert_eq!(
        body(&response),
        "command=GET\npath=/a/b?x=%41\nrequest_version=HTTP/1.0\nrequestline=GET //a/b?x=%41 HTTP/1.0\n\
         raw_requestline=\"GET //a/b?x=%41 HTTP/1.0\\r\\n\"\nclose_connection=true\n\
         Host: h\nX-Dup: 1\nx-dup: 2 \n"
    );
}

#[test]
fn headers_are_an_ordered_case_insensitive_multimap() {
    let server = serve_fn(|req| {
        let h = &req.headers;
        let body = format!(
            "{:?}|{:?}|{:?}|{}|{}|{}|{:?}",
            h.get("accept"),
            h.get_all("ACCEPT").collect::<Vec<_>>(),
            h.get("missing"),
            h.contains("aCcEpT"),
            h.len(),
            h.is_empty(),
            h.keys().collect::<Vec<_>>()
        );
        reply(req, body.as_bytes())
    });
    let response = server.exchange_norm(b"GET / HTTP/1.0\r\nAccept: a\r\nX: 1\r\naccept: b\r\nACCEPT: c\r\n\r\n");
    assert_eq!(body(&response), r#"Some("a")|["a", "b", "c"]|None|true|4|false|["Accept", "X", "accept", "ACCEPT"]"#);
}

#[test]
fn client_address_is_the_peer() {
    let server = serve_fn(|req| {
        let body = format!("{}", req.client_address);
        reply(req, body.as_bytes())
    });
    let mut c = server.connect();
    c.send(b"GET / HTTP/1.0\r\n\r\n");
    let local = c.stream.local_addr().unwrap();
    assert_eq!(body(&support::norm(&c.read_to_end())), local.to_string());
}

#[test]
fn http11_connections_persist_until_connection_close() {
    let server = serve_fn_with(ServerConfig::default(), support::http11, describe);
    let mut c = server.connect();
    for i in 0..3 {
        c.send(format!("GET /{i} HTTP/1.1\r\n\r\n").as_bytes());
        let response = c.read_response_norm();
        assert!(body(&response).contains(&format!("path=/{i}\n")), "{response}");
        assert!(body(&response).contains("close_connection=false\n"), "{response}");
    }
    c.send(b"GET /last HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!(body(&c.read_response_norm()).contains("close_connection=true\n"));
    c.assert_closed();
}

#[test]
fn http10_requests_close_unless_keep_alive_on_an_http11_server() {
    let server = serve_fn_with(ServerConfig::default(), support::http11, describe);
    let mut c = server.connect();
    c.send(b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert!(body(&c.read_response_norm()).contains("close_connection=false\n"));
    c.send(b"GET /b HTTP/1.0\r\n\r\n");
    assert!(body(&c.read_response_norm()).contains("close_connection=true\n"));
    c.assert_closed();
}

#[test]
fn an_http10_server_closes_after_every_response() {
    let server = serve_fn(describe);
    let mut c = server.connect();
    c.send(b"GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n");
    let response = c.read_response_norm();
    assert!(response.starts_with("HTTP/1.0 200 OK\r\n"));
    assert!(body(&response).contains("close_connection=true\n"));
    c.assert_closed();
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = serve_fn_with(ServerConfig::default(), support::http11, |req| {
        let path = req.path.clone();
        reply(req, path.as_bytes())
    });
    let mut c = server.connect();
    let mut burst = Vec::new();
    for i in 0..20 {
        burst.extend_from_slice(format!("GET /{i} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    }
    burst.extend_from_slice(b"GET /end HTTP/1.1\r\nConnection: close\r\n\r\n");
    c.send(&burst);
    for i in 0..20 {
        assert_eq!(body(&c.read_response_norm()), format!("/{i}"));
    }
    assert_eq!(body(&c.read_response_norm()), "/end");
    c.assert_closed();
}

#[test]
fn pipelined_posts_read_their_bodies_exactly() {
    let server = serve_fn_with(ServerConfig::default(), support::http11, |req| {
        let mut data = Vec::new();
        req.rfile().read_to_end(&mut data)?;
        reply(req, &data)
    });
    let mut c = server.connect();
    c.send(
        b"POST /1 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloPOST /2 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc\
          GET /3 HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(body(&c.read_response_norm()), "hello");
    assert_eq!(body(&c.read_response_norm()), "abc");
    assert_eq!(body(&c.read_response_norm()), "");
    c.assert_closed();
}

#[test]
fn expect_100_continue_is_answered_before_the_body_is_read() {
    let server = serve_fn_with(ServerConfig::default(), support::http11, |req| {
        let mut data = Vec::new();
        req.rfile().read_to_end(&mut data)?;
        reply(req, &data)
    });
    let mut c = server.connect();
    c.send(b"PUT /x HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 4\r\n\r\n");
    assert_eq!(c.read_until(b"\r\n\r\n"), b"HTTP/1.1 100 Continue\r\n\r\n");
    c.send(b"data");
    assert_eq!(
        c.read_response_norm(),
        "HTTP/1.1 200 OK\r\nServer: <SERVER>\r\nDate: <DATE>\r\nContent-Length: 4\r\n\r\ndata"
    );
}

/// `handle_expect_100` overridden: 417 and no `do_*` call (B48).
struct Rejecting(Arc<AtomicUsize>);

impl BaseHTTPRequestHandler for Rejecting {
    const PROTOCOL_VERSION: &'static str = "HTTP/1.1";

    fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
        self.0.fetch_add(1, Ordering::SeqCst);
        reply(req, b"dispatched")
    }

    fn handle_expect_100(req: &mut Request) -> std::io::Result<bool> {
        req.send_error(417)?;
        Ok(false)
    }
}

#[test]
fn an_overridden_expect_hook_can_refuse_with_417() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let server = TestServer::start(move || Rejecting(c.clone()));
    let mut client = server.connect();
    client.send(b"POST /upload HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1000\r\n\r\n");
    let response = client.read_response_norm();
    assert_eq!(
        response,
        error_response("HTTP/1.1", 417, "Expectation Failed", "Expect condition could not be satisfied", false)
    );
    client.assert_closed();
    assert_eq!(calls.load(Ordering::SeqCst), 0, "do_POST must not run");
    // Without Expect the method runs.
    let response = server.exchange_norm(b"POST /upload HTTP/1.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    assert_eq!(body(&response), "dispatched");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn expect_is_ignored_without_http11_on_both_sides() {
    let server = serve_fn(describe); // HTTP/1.0 server
    let response = server.exchange_norm(b"GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n");
    assert!(response.starts_with("HTTP/1.0 200 OK\r\n"), "{response}");
    let server = serve_fn_with(ServerConfig::default(), support::http11, describe);
    let response = server.exchange_norm(b"GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n");
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    let response = server.exchange_norm(b"GET / HTTP/1.1\r\nExpect: something-else\r\nConnection: close\r\n\r\n");
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "no 417 for unknown expectations: {response}");
}

#[test]
fn version_rules() {
    let server = serve_fn(describe);
    let bad = |version: &str, quoted: &str| {
        // Request text is latin-1 bytes; the page is UTF-8.
        let response = server.exchange_norm(&support::bytes_of(&format!("GET / {version}\r\n\r\n")));
        // Default config: the error comes in 0.9 mode, body only (B18).
        let page = support::error_page(
            400,
            &format!("Bad request version ({quoted})"),
            "Bad request syntax or unsupported method",
        );
        assert_eq!(response, support::latin1(page.as_bytes()), "{version}");
    };
    bad("HTTP/1", "'HTTP/1'");
    bad("HTTP/1.1.1", "'HTTP/1.1.1'");
    bad("http/1.1", "'http/1.1'");
    bad("HTTP/1'1", "\"HTTP/1'1\"");
    bad("HTTP/\x01\u{e9}", "'HTTP/\\x01\u{e9}'");
    bad("HTTP/12345678901.0", "'HTTP/12345678901.0'");
    let response = server.exchange_norm(b"GET / HTTP/2.0\r\n\r\n");
    assert_eq!(response, support::error_page(505, "Invalid HTTP version (2.0)", "Cannot fulfill request"));
    // Leading zeros are fine and kept as sent.
    let response = server.exchange_norm(b"GET / HTTP/01.0\r\n\r\n");
    assert!(body(&response).contains("request_version=HTTP/01.0\n"), "{response}");
}

#[test]
fn http09_simple_requests() {
    let server = serve_fn(|req| {
        // 0.9 mode: status line and headers are not written (B25).
        req.send_response(200)?;
        req.send_header("Content-Type", "text/plain")?;
        req.end_headers()?;
        let version = req.request_version.clone();
        std::io::Write::write_all(&mut req.wfile(), version.as_bytes())?;
        Ok(())
    });
    assert_eq!(server.exchange(b"GET /\r\n\r\n"), b"HTTP/0.9");
    assert_eq!(
        support::latin1(&server.exchange(b"POST /\r\n\r\n")),
        support::error_page(400, "Bad HTTP/0.9 request type ('POST')", "Bad request syntax or unsupported method")
    );
}

#[test]
fn request_line_and_header_limits() {
    let server = serve_fn(|req| reply(req, b"ok"));
    // 65536 bytes including CRLF are accepted, one more is a 414.
    let line = |len: usize| {
        let mut r = b"GET /".to_vec();
        r.extend(std::iter::repeat_n(b'a', len - "GET / HTTP/1.0\r\n".len()));
        r.extend_from_slice(b" HTTP/1.0\r\n\r\n");
        r
    };
    assert!(server.exchange_norm(&line(65536)).starts_with("HTTP/1.0 200 OK\r\n"));
    assert_eq!(
        server.exchange_norm(&line(65537)),
        error_response("HTTP/1.0", 414, "Request-URI Too Long", "URI is too long", false)
    );
    // 99 header lines are accepted, 100 are a 431.
    let headers = |n: usize| {
        let mut r = b"GET / HTTP/1.0\r\n".to_vec();
        for i in 0..n {
            r.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        r.extend_from_slice(b"\r\n");
        r
    };
    assert!(server.exchange_norm(&headers(99)).starts_with("HTTP/1.0 200 OK\r\n"));
    assert_eq!(
        server.exchange_norm(&headers(100)),
        error_response("HTTP/1.0", 431, "Too many headers", "got more than 100 headers", false)
    );
}

#[test]
fn invalid_header_lines_are_refused_before_dispatch() {
    // DEV-3: obs-fold, no colon, space before the colon, bare CR, NUL.
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let server = serve_fn(move |req| {
        c.fetch_add(1, Ordering::SeqCst);
        reply(req, b"ok")
    });
    for line in [&b"X-A: 1\r\n two"[..], b"NoColon", b"X-A : 1", b"X-A: 1\rX-B: 2", b"X-A: a\0b", b": empty"] {
        let mut request = b"GET / HTTP/1.0\r\n".to_vec();
        request.extend_from_slice(line);
        request.extend_from_slice(b"\r\n\r\n");
        assert_eq!(
            server.exchange_norm(&request),
            error_response("HTTP/1.0", 400, "Invalid header line", "Bad request syntax or unsupported method", false),
            "{:?}",
            support::latin1(line)
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[test]
fn a_nul_in_the_target_is_a_400_and_a_close() {
    // DEV-7: CPython dispatches it; the handler would see a path that any
    // C API truncates. Other control bytes keep CPython's behaviour.
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let http11 = |s: &mut HTTPServer<_>| s.class_mut().protocol_version = "HTTP/1.1".into();
    let server = serve_fn_with(ServerConfig::default(), http11, move |req| {
        c.fetch_add(1, Ordering::SeqCst);
        reply(req, req.path.clone().as_bytes())
    });
    let response = server.exchange_norm(b"GET /a\0b HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(
        response,
        error_response(
            "HTTP/1.1",
            400,
            "Bad request-target ('/a\\x00b')",
            "Bad request syntax or unsupported method",
            false
        ),
        "one answer, then the connection closes"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    let response = server.exchange_norm(b"GET /a\x01b HTTP/1.0\r\n\r\n");
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.ends_with("/a\x01b"), "{response}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn the_whole_head_is_bounded_by_max_head_bytes() {
    // DEV-8: each line and the number of lines are bounded as in CPython,
    // and their sum too (431 and close past `max_head_bytes`).
    let request = |fields: usize, size: usize| {
        let mut r = b"GET / HTTP/1.0\r\n".to_vec();
        for i in 0..fields {
            let name = format!("X-{i:02}: ");
            r.extend_from_slice(name.as_bytes());
            r.extend(std::iter::repeat_n(b'a', size - name.len() - 2));
            r.extend_from_slice(b"\r\n");
        }
        r.extend_from_slice(b"\r\n");
        r
    };
    let default = serve_fn(|req| reply(req, b"ok"));
    // 24 fields of 48 KiB (attack scenario 78): 1.1 MiB, over the default 1 MiB.
    assert_eq!(
        default.exchange_norm(&request(24, 48 * 1024)),
        error_response(
            "HTTP/1.0",
            431,
            "Header section too large",
            "got more than 1048576 bytes of request head",
            false
        )
    );
    // 16 of them (768 KiB) are fine.
    assert!(default.exchange_norm(&request(16, 48 * 1024)).starts_with("HTTP/1.0 200 OK\r\n"));

    let config = ServerConfig { max_head_bytes: 16 + 4 * 1000 + 2, ..ServerConfig::default() };
    let small = serve_fn_with(config, |_| {}, |req| reply(req, b"ok"));
    assert!(small.exchange_norm(&request(4, 1000)).starts_with("HTTP/1.0 200 OK\r\n"), "exactly the limit");
    assert_eq!(
        small.exchange_norm(&request(5, 1000)),
        error_response("HTTP/1.0", 431, "Header section too large", "got more than 4018 bytes of request head", false)
    );
}

#[test]
fn unknown_methods_get_501_and_dispatch_is_case_sensitive() {
    #[derive(Default)]
    struct OnlyGet;
    impl BaseHTTPRequestHandler for OnlyGet {
        fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
            match req.command.as_str() {
                "GET" => reply(req, b"got"),
                _ => Ok(req.send_unsupported_method()?),
            }
        }
    }
    let server = TestServer::start(OnlyGet::default);
    assert_eq!(
        server.exchange_norm(b"get / HTTP/1.0\r\n\r\n"),
        error_response("HTTP/1.0", 501, "Unsupported method ('get')", "Server does not support this operation", false)
    );
    assert_eq!(body(&server.exchange_norm(b"GET / HTTP/1.0\r\n\r\n")), "got");
}

#[test]
fn a_blank_line_or_eof_closes_silently() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let server = serve_fn(move |req| {
        c.fetch_add(1, Ordering::SeqCst);
        reply(req, b"ok")
    });
    assert_eq!(server.exchange(b""), b"");
    assert_eq!(server.exchange(b"\r\nGET / HTTP/1.0\r\n\r\n"), b"", "B14: a leading blank line ends the connection");
    assert_eq!(server.exchange(b"  \t \r\n"), b"");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[test]
fn class_variables_can_be_set_per_server() {
    let mut server = HTTPServer::new(("127.0.0.1", 0), || support::FnHandler(Arc::new(describe))).unwrap();
    server.class_mut().protocol_version = "HTTP/1.1".into();
    server.class_mut().default_request_version = "HTTP/1.0".into();
    let server = TestServer::spawn(server);
    // default_request_version applies to 0.9 requests and early errors.
    let response = server.exchange_norm(b"GET /\r\n\r\n");
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(body(&response).contains("request_version=HTTP/1.0\n"), "{response}");
    let response = server.exchange_norm(b"GET / FOO\r\n\r\n");
    assert!(response.starts_with("HTTP/1.1 400 Bad request version ('FOO')\r\n"), "{response}");
}

#[test]
fn a_head_arriving_byte_by_byte_is_served() {
    let server = serve_fn_with(ServerConfig::default(), support::http11, describe);
    let mut c = server.connect();
    for b in b"GET /slow HTTP/1.1\r\nX-A: 1\r\n\r\n" {
        c.send(&[*b]);
        std::thread::sleep(std::time::Duration::from_millis(3));
    }
    let response = c.read_response_norm();
    assert!(body(&response).contains("path=/slow\n") && body(&response).ends_with("X-A: 1\n"), "{response}");
    // Split between the CR and the LF of the blank line.
    c.send(b"GET /split HTTP/1.1\r\n\r");
    c.assert_silent(std::time::Duration::from_millis(200));
    c.send(b"\n");
    assert!(body(&c.read_response_norm()).contains("path=/split\n"));
}

#[test]
fn a_pipelined_head_completed_later_is_served() {
    let server = serve_fn_with(ServerConfig::default(), support::http11, |req| {
        let path = req.path.clone();
        reply(req, path.as_bytes())
    });
    let mut c = server.connect();
    c.send(b"GET /first HTTP/1.1\r\n\r\nGET /sec");
    assert_eq!(body(&c.read_response_norm()), "/first");
    c.assert_silent(std::time::Duration::from_millis(200));
    c.send(b"ond HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert_eq!(body(&c.read_response_norm()), "/second");
    c.assert_closed();
}
