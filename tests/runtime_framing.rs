//! Issue 2, item 3: framing and bodies (DEV-4, DEV-6). `rfile` reads
//! exactly the request body — `Content-Length` bytes or a decoded chunked
//! body — then EOF; malformed chunked framing is `InvalidData` and, when
//! the handler then fails with nothing sent, a 400; a body the handler did
//! not read to its end is never parsed as the next request.

mod support;

use std::io::{self, Read};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use basehttp::{HandlerResult, Request, ServerConfig};
use support::{error_response, reply, serve_fn, serve_fn_with, TestServer};

fn body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

/// Reads the whole body, then answers `<len>:<body>` plus the EOF check.
fn echo(req: &mut Request) -> HandlerResult {
    let mut data = Vec::new();
    req.rfile().read_to_end(&mut data)?;
    // After the body, rfile stays at EOF.
    let mut more = [0u8; 16];
    let after = req.rfile().read(&mut more)?;
    let mut out = format!("{}:", data.len()).into_bytes();
    out.extend_from_slice(&data);
    out.extend_from_slice(format!("|{after}").as_bytes());
    reply(req, &out)
}

fn echo_server() -> TestServer {
    serve_fn_with(ServerConfig::default(), support::http11, echo)
}

#[test]
fn a_content_length_body_is_read_exactly() {
    let server = echo_server();
    let mut c = server.connect();
    // The next request follows the body immediately, in the same write.
    c.send(b"POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789GET /b HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert_eq!(body(&c.read_response_norm()), "10:0123456789|0");
    assert_eq!(body(&c.read_response_norm()), "0:|0");
    c.assert_closed();
}

#[test]
fn a_large_body_arrives_whole() {
    let server = echo_server();
    let payload: Vec<u8> = (0..1_000_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let mut c = server.connect();
    let mut request = format!("PUT /big HTTP/1.1\r\nContent-Length: {}\r\n\r\n", payload.len()).into_bytes();
    request.extend_from_slice(&payload);
    c.send(&request);
    let response = c.read_response();
    let (_, got) = response.split_at(support::find(&response, b"\r\n\r\n").unwrap() + 4);
    let mut expected = format!("{}:", payload.len()).into_bytes();
    expected.extend_from_slice(&payload);
    expected.extend_from_slice(b"|0");
    assert!(got == expected.as_slice(), "body differs (got {} bytes)", got.len());
}

#[test]
fn no_body_reads_as_empty() {
    let server = echo_server();
    let response = server.exchange_norm(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert_eq!(body(&response), "0:|0");
    let response = server.exchange_norm(b"POST / HTTP/1.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    assert_eq!(body(&response), "0:|0");
}

#[test]
fn a_chunked_body_is_decoded_with_extensions_and_trailers() {
    let server = echo_server();
    let response = server.exchange_norm(
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\
          4;name=value\r\nWiki\r\n5 ; a=b;c\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n\
          0;last\r\nX-Trailer: t\r\nX-Other: u\r\n\r\n",
    );
    assert_eq!(body(&response), "23:Wikipedia in\r\n\r\nchunks.|0");
}

#[test]
fn a_chunked_body_may_arrive_byte_by_byte() {
    let server = echo_server();
    let mut c = server.connect();
    c.send(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    for b in basehttp::encode_chunked(b"hello, trickle", 3) {
        c.send(&[b]);
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(body(&c.read_response_norm()), "14:hello, trickle|0");
}

#[test]
fn a_chunked_request_is_never_followed_by_another_on_the_connection() {
    // DEV-4: a Transfer-Encoding request closes the connection after the
    // response, even when its body was read to the end.
    let server = echo_server();
    let mut c = server.connect();
    c.send(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\nGET /next HTTP/1.1\r\n\r\n");
    assert_eq!(body(&c.read_response_norm()), "2:ok|0");
    c.assert_closed();
}

/// Reads the body and reports the error kind instead of failing.
fn body_error_kind(req: &mut Request) -> HandlerResult {
    let mut data = Vec::new();
    let outcome = match req.rfile().read_to_end(&mut data) {
        Ok(n) => format!("ok {n}"),
        Err(e) => format!("{:?} after {}", e.kind(), data.len()),
    };
    reply(req, outcome.as_bytes())
}

#[test]
fn malformed_chunked_framing_is_invalid_data() {
    let server = serve_fn_with(ServerConfig::default(), support::http11, body_error_kind);
    let long_line = format!("1;{}\r\na\r\n0\r\n\r\n", "e".repeat(5000));
    let many_trailers = format!("0\r\n{}\r\n", "T: 1\r\n".repeat(101));
    let cases: Vec<(&str, &[u8])> = vec![
        ("not hex", b"zz\r\nhello\r\n0\r\n\r\n"),
        ("bare LF after the size", b"5\nhello\r\n0\r\n\r\n"),
        ("data not followed by CRLF", b"5\r\nhelloXX0\r\n\r\n"),
        ("size overflows u64", b"10000000000000000\r\nx\r\n0\r\n\r\n"),
        ("signed size", b"-1\r\nx\r\n0\r\n\r\n"),
        ("size line too long", long_line.as_bytes()),
        ("too many trailer lines", many_trailers.as_bytes()),
        ("bare LF in the trailers", b"0\r\nT: 1\n\r\n"),
    ];
    for (what, chunks) in cases {
        let mut request = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        request.extend_from_slice(chunks);
        let response = server.exchange_norm(&request);
        assert!(body(&response).starts_with("InvalidData after "), "{what}: {response}");
    }
}

#[test]
fn a_handler_failing_on_a_malformed_body_answers_400() {
    // The handler propagates the InvalidData error with `?` before sending
    // anything: the client gets a 400, not a 500, and the connection closes.
    let errors = Arc::new(Mutex::new(Vec::new()));
    let e = errors.clone();
    let server = serve_fn_with(ServerConfig::default(), support::http11, move |req| {
        let mut data = Vec::new();
        let r = req.rfile().read_to_end(&mut data);
        e.lock().unwrap().push(r.as_ref().map_err(io::Error::kind).map(|_| ()));
        r?;
        reply(req, b"unreachable")
    });
    let mut c = server.connect();
    c.send(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nxyz\r\n");
    assert_eq!(
        c.read_response_norm(),
        error_response("HTTP/1.1", 400, "Bad Request", "Bad request syntax or unsupported method", false)
    );
    c.assert_closed();
    assert_eq!(*errors.lock().unwrap(), [Err(io::ErrorKind::InvalidData)]);
    // The server keeps serving.
    let response = server.exchange_norm(b"POST / HTTP/1.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
}

#[test]
fn a_client_gone_inside_a_body() {
    let server = serve_fn_with(ServerConfig::default(), support::http11, body_error_kind);
    // Content-Length: a short read, like Python's rfile.read(n).
    let response = server.exchange_norm(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabcd");
    assert_eq!(body(&response), "ok 4");
    // Chunked: UnexpectedEof.
    let response = server.exchange_norm(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab");
    assert_eq!(body(&response), "UnexpectedEof after 2");
}

/// Answers without reading the body (or reading only `n` bytes of it) and
/// counts the requests it saw.
fn partial_reader(n: u64, seen: Arc<Mutex<Vec<String>>>) -> TestServer {
    serve_fn_with(ServerConfig::default(), support::http11, move |req| {
        seen.lock().unwrap().push(req.path.clone());
        let mut data = Vec::new();
        req.rfile().take(n).read_to_end(&mut data)?;
        reply(req, &data)
    })
}

#[test]
fn an_unread_body_is_never_parsed_as_a_request() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let server = partial_reader(0, seen.clone());
    let smuggled = b"GET /smuggled HTTP/1.1\r\n\r\n";
    let mut request = format!("POST /ignore HTTP/1.1\r\nContent-Length: {}\r\n\r\n", smuggled.len()).into_bytes();
    request.extend_from_slice(smuggled);
    let mut c = server.connect();
    c.send(&request);
    assert_eq!(
        c.read_response_norm(),
        "HTTP/1.1 200 OK\r\nServer: <SERVER>\r\nDate: <DATE>\r\nContent-Length: 0\r\n\r\n"
    );
    c.assert_closed();
    assert_eq!(*seen.lock().unwrap(), ["/ignore"]);
}

#[test]
fn a_partly_read_body_closes_the_connection_and_a_fully_read_one_does_not() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let server = partial_reader(5, seen.clone());
    let mut c = server.connect();
    c.send(b"POST /part HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789");
    assert_eq!(body(&c.read_response_norm()), "01234");
    c.assert_closed();
    let mut c = server.connect();
    c.send(b"POST /whole HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde");
    assert_eq!(body(&c.read_response_norm()), "abcde");
    c.send(b"GET /again HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert_eq!(body(&c.read_response_norm()), "");
    c.assert_closed();
    assert_eq!(*seen.lock().unwrap(), ["/part", "/whole", "/again"]);
}

#[test]
fn framing_errors_are_answered_before_dispatch() {
    // DEV-6, in its order, for a handler that never runs.
    let calls = Arc::new(Mutex::new(0));
    let c = calls.clone();
    let server = serve_fn(move |req| {
        *c.lock().unwrap() += 1;
        reply(req, b"dispatched")
    });
    let bad = |what: &str, code: u16, message: &str, head: &str| {
        let response = server.exchange_norm(format!("POST / HTTP/1.1\r\n{head}\r\n").as_bytes());
        let explain = basehttp::responses(code).unwrap().1;
        assert_eq!(response, error_response("HTTP/1.0", code, message, explain, false), "{what}");
    };
    bad("CL + TE", 400, "Content-Length with Transfer-Encoding", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n");
    bad("unknown coding", 400, "Invalid Transfer-Encoding", "Transfer-Encoding: gzip\r\n");
    bad("coding before chunked", 501, "Unsupported Transfer-Encoding", "Transfer-Encoding: gzip, chunked\r\n");
    bad("trailing comma", 400, "Invalid Transfer-Encoding", "Transfer-Encoding: chunked,\r\n");
    bad("two lengths", 400, "Invalid Content-Length", "Content-Length: 5\r\nContent-Length: 6\r\n");
    bad("negative", 400, "Invalid Content-Length", "Content-Length: -1\r\n");
    bad("20 digits", 400, "Invalid Content-Length", "Content-Length: 99999999999999999999\r\n");
    bad("not a number", 400, "Invalid Content-Length", "Content-Length: abc\r\n");
    bad("empty", 400, "Invalid Content-Length", "Content-Length: \r\n");
    let response = server.exchange_norm(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    assert_eq!(
        response,
        error_response(
            "HTTP/1.0",
            400,
            "Transfer-Encoding in HTTP/1.0 request",
            "Bad request syntax or unsupported method",
            false
        )
    );
    assert_eq!(*calls.lock().unwrap(), 0);
    // What DEV-6 accepts reaches the handler.
    let ok = server.exchange_norm(b"POST / HTTP/1.1\r\nContent-Length: 0, 0\r\n\r\n");
    assert_eq!(body(&ok), "dispatched");
    let ok = server.exchange_norm(b"POST / HTTP/1.1\r\nTransfer-Encoding:  Chunked \t\r\n\r\n0\r\n\r\n");
    assert_eq!(body(&ok), "dispatched");
    assert_eq!(*calls.lock().unwrap(), 2);
}

#[test]
fn repeated_identical_lengths_are_read_once_then_the_connection_closes() {
    let server = echo_server();
    let mut c = server.connect();
    c.send(b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n");
    assert_eq!(body(&c.read_response_norm()), "3:abc|0");
    // DEV-4: ambiguous framing never keeps the connection.
    c.assert_closed();
}
