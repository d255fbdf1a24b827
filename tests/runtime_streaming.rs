//! Streaming responses and upgraded connections over real sockets (issue
//! 14): `Request::send_chunked` read by real HTTP clients (ureq, Python's
//! `http.client`, curl) over keep-alive, trailers and the refusals on the
//! wire, events pushed by `flush()` as they happen, a client that stops
//! reading, and `Request::upgrade`: a WebSocket echo (tungstenite on both
//! sides), a hundred upgraded connections open at once, bytes pipelined
//! behind the upgrade request, the upgrade refusals, and a shutdown with
//! upgraded connections open.
//!
//! Every wait is bounded; timing bounds are loose enough for a loaded
//! 2-core machine.

mod support;

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use basehttp::{HandlerResult, Request, ServerConfig, Upgraded};
use support::{find, header_value, http11, latin1, reply, serve_fn_with, Client, Gate, TestServer, IO_TIMEOUT};
use tungstenite::protocol::Role;
use tungstenite::{Message, WebSocket};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// The sizes of the handler's writes: 1 byte to 100 KiB, around the
/// runtime's 16 KiB chunk and 64 KiB write-buffer sizes.
const SIZES: [usize; 30] = [
    1, 2, 3, 5, 8, 13, 100, 511, 1000, 1024, 4095, 4096, 16383, 16384, 16385, 1, 65535, 65536, 65537, 3, 102_400, 7,
    50_000, 2, 12_345, 1, 1, 1, 32_768, 9,
];

/// Write number `j` of `n` bytes: a pattern that differs per write and
/// per position, so a lost, repeated or reordered piece shows.
fn piece(j: usize, n: usize) -> Vec<u8> {
    (0..n).map(|i| ((i * 31 + j * 7 + n) % 251) as u8).collect()
}

fn expected_body() -> Vec<u8> {
    SIZES.iter().enumerate().flat_map(|(j, &n)| piece(j, n)).collect()
}

/// Asserts two bodies are equal, naming the first difference (not
/// dumping 500 KB).
fn assert_same_body(got: &[u8], want: &[u8], what: &str) {
    if got != want {
        let at = got.iter().zip(want).position(|(a, b)| a != b).unwrap_or(got.len().min(want.len()));
        panic!("{what}: body differs at byte {at} (got {} bytes, want {})", got.len(), want.len());
    }
}

/// A 200 with a chunked body made of the [`SIZES`] writes, flushing after
/// every fourth; `X-Peer-Port` tells the client which connection it came on.
fn send_pieces(req: &mut Request) -> HandlerResult {
    req.send_response(200)?;
    req.send_header("Content-Type", "application/octet-stream")?;
    req.send_header("X-Peer-Port", req.client_address.port())?;
    req.send_chunked()?;
    req.end_headers()?;
    for (j, &n) in SIZES.iter().enumerate() {
        req.wfile().write_all(&piece(j, n))?;
        if j % 4 == 3 {
            req.wfile().flush()?;
        }
    }
    Ok(())
}

const SMALL_BODY: &[u8] = b"the second response, chunked too\n";

/// An HTTP/1.1 server: `/stream` sends [`send_pieces`], `/small` a short
/// chunked body, anything else a 404.
fn pieces_server() -> TestServer {
    serve_fn_with(ServerConfig::default(), http11, |req| match req.path.as_str() {
        "/stream" => send_pieces(req),
        "/small" => {
            req.send_response(200)?;
            req.send_header("X-Peer-Port", req.client_address.port())?;
            req.send_chunked()?;
            req.end_headers()?;
            req.wfile().write_all(SMALL_BODY)?;
            Ok(())
        }
        _ => Ok(req.send_error(404)?),
    })
}

/// A decoded chunked body: the data, the chunk sizes, the trailer section.
type Decoded = (Vec<u8>, Vec<usize>, Vec<u8>);

/// A strict decoder of one chunked body at the start of `data`: the data,
/// the chunk sizes, the trailer section (without the final CRLF) and the
/// bytes consumed; `None` while incomplete. Panics on malformed framing.
fn decode_chunked(data: &[u8]) -> Option<(Decoded, usize)> {
    let mut at = 0;
    let mut body = Vec::new();
    let mut sizes = Vec::new();
    loop {
        let line_end = at + find(&data[at..], b"\r\n")?;
        let line = std::str::from_utf8(&data[at..line_end]).expect("ASCII chunk-size line");
        let size = usize::from_str_radix(line, 16).unwrap_or_else(|_| panic!("bad chunk-size line {line:?}"));
        at = line_end + 2;
        if size == 0 {
            // Trailer fields, then an empty line.
            let mut end = at;
            loop {
                let e = end + find(&data[end..], b"\r\n")?;
                if e == end {
                    return Some(((body, sizes, data[at..end].to_vec()), e + 2));
                }
                end = e + 2;
            }
        }
        if data.len() < at + size + 2 {
            return None;
        }
        body.extend_from_slice(&data[at..at + size]);
        assert_eq!(&data[at + size..at + size + 2], b"\r\n", "chunk data not followed by CRLF");
        sizes.push(size);
        at += size + 2;
    }
}

/// Reads one chunked body from `c` (its head already read): data, chunk
/// sizes, trailer section. The bytes after it stay buffered.
fn read_chunked_body(c: &mut Client) -> Decoded {
    let deadline = Instant::now() + IO_TIMEOUT;
    loop {
        if let Some((decoded, used)) = decode_chunked(&c.buf) {
            c.buf.drain(..used);
            return decoded;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero() && c.read_some(left),
            "the chunked body did not end (eof: {}); {} bytes buffered",
            c.eof,
            c.buf.len()
        );
    }
}

/// A shared log of what handlers saw (error kinds and the like).
type Notes = Arc<Mutex<Vec<String>>>;

fn note(notes: &Notes, what: impl Into<String>) {
    notes.lock().unwrap().push(what.into());
}

fn notes_of(notes: &Notes) -> Vec<String> {
    notes.lock().unwrap().clone()
}

fn kind_of<T>(r: io::Result<T>) -> String {
    match r {
        Ok(_) => "ok".to_owned(),
        Err(e) => format!("{:?}", e.kind()),
    }
}

fn body_of(response: &[u8]) -> &[u8] {
    &response[find(response, b"\r\n\r\n").expect("a whole head") + 4..]
}

/// A unique scratch directory for files a client process writes.
fn scratch_dir(tag: &str) -> std::path::PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "basehttp-streaming-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Waits (bounded) until `cond` holds.
fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        thread::sleep(Duration::from_millis(5));
    }
}

// ---------------------------------------------------------------------------
// 1. Chunked bodies read by real clients, over keep-alive
// ---------------------------------------------------------------------------

#[test]
fn chunked_body_read_by_ureq_then_a_second_request_on_the_same_connection() {
    let server = pieces_server();
    let agent = ureq::AgentBuilder::new().timeout(IO_TIMEOUT).build();
    let url = |path: &str| format!("http://127.0.0.1:{}{path}", server.port);

    let first = agent.get(&url("/stream")).call().expect("GET /stream");
    assert_eq!(first.status(), 200);
    assert_eq!(first.header("Transfer-Encoding"), Some("chunked"));
    assert_eq!(first.header("Content-Length"), None);
    let port1 = first.header("X-Peer-Port").expect("X-Peer-Port").to_owned();
    let mut body = Vec::new();
    first.into_reader().read_to_end(&mut body).expect("read the chunked body");
    assert_same_body(&body, &expected_body(), "ureq, first response");

    let second = agent.get(&url("/small")).call().expect("GET /small");
    assert_eq!(second.header("Transfer-Encoding"), Some("chunked"));
    let port2 = second.header("X-Peer-Port").expect("X-Peer-Port").to_owned();
    let mut body = Vec::new();
    second.into_reader().read_to_end(&mut body).unwrap();
    assert_eq!(latin1(&body), latin1(SMALL_BODY));
    // ureq put the connection back in its pool after the last chunk and
    // took it again: the same client port.
    assert_eq!(port1, port2, "the second request did not reuse the connection");
}

#[test]
fn chunked_body_read_by_python_http_client_then_a_second_request() {
    let server = pieces_server();
    // Two requests on one HTTPConnection; per response a line "status
    // transfer-encoding x-peer-port local-port length", then the bodies.
    let script = r#"
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
lines, bodies = [], []
for path in ("/stream", "/small"):
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    lines.append("%d %s %s %d %d" % (r.status, r.getheader("Transfer-Encoding"), r.getheader("X-Peer-Port"),
                                     c.sock.getsockname()[1], len(body)))
    bodies.append(body)
c.close()
sys.stdout.buffer.write(("\n".join(lines) + "\n").encode() + b"".join(bodies))
"#;
    let out = match Command::new("python3").arg("-c").arg(script).arg(server.port.to_string()).output() {
        Ok(out) => out,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            eprintln!("note: python3 not found; skipping the http.client check");
            return;
        }
        Err(e) => panic!("python3: {e}"),
    };
    assert!(out.status.success(), "python3 failed: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = out.stdout;
    let first_nl = find(&stdout, b"\n").expect("line 1");
    let second_nl = first_nl + 1 + find(&stdout[first_nl + 1..], b"\n").expect("line 2");
    let line = |range: std::ops::Range<usize>| latin1(&stdout[range]).split(' ').map(str::to_owned).collect::<Vec<_>>();
    let (l1, l2) = (line(0..first_nl), line(first_nl + 1..second_nl));
    let bodies = &stdout[second_nl + 1..];
    let want = expected_body();
    assert_eq!(&l1[..2], ["200", "chunked"], "{l1:?}");
    assert_eq!(&l2[..2], ["200", "chunked"], "{l2:?}");
    // X-Peer-Port is the client's own port, and both responses came on it.
    assert_eq!(l1[2], l1[3], "{l1:?}");
    assert_eq!(l2[2], l1[2], "the second request did not reuse the connection: {l1:?} {l2:?}");
    assert_eq!(l1[4], want.len().to_string());
    assert_eq!(l2[4], SMALL_BODY.len().to_string());
    assert_same_body(&bodies[..want.len()], &want, "http.client, first response");
    assert_eq!(latin1(&bodies[want.len()..]), latin1(SMALL_BODY));
}

#[test]
fn chunked_body_read_by_curl_then_a_second_url_on_the_same_connection() {
    let server = pieces_server();
    let dir = scratch_dir("curl");
    let (f1, f2) = (dir.join("first"), dir.join("second"));
    let url = |path: &str| format!("http://127.0.0.1:{}{path}", server.port);
    let out = Command::new("curl")
        .args(["-sS", "-v", "--http1.1", "--max-time", "20"])
        .args(["--write-out", "%{http_code} %{num_connects} %{local_port} %header{x-peer-port}\\n"])
        .arg("-o")
        .arg(&f1)
        .arg(url("/stream"))
        .arg("-o")
        .arg(&f2)
        .arg(url("/small"))
        .output();
    let out = match out {
        Ok(out) => out,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            eprintln!("note: curl not found; skipping the curl check");
            return;
        }
        Err(e) => panic!("curl: {e}"),
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "curl failed: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<Vec<&str>> = stdout.lines().map(|l| l.split(' ').collect()).collect();
    assert_eq!(lines.len(), 2, "{stdout:?}");
    // One connection made, for the first URL; the second reused it.
    assert_eq!(lines[0][..2], ["200", "1"], "{stdout:?}");
    assert_eq!(lines[1][..2], ["200", "0"], "{stdout:?}");
    assert_eq!(lines[0][2], lines[1][2], "{stdout:?}");
    assert_eq!(lines[0][2], lines[0][3], "X-Peer-Port is curl's port: {stdout:?}");
    assert!(stderr.contains("Re-using existing connection"), "{stderr}");
    assert!(stderr.contains("< Transfer-Encoding: chunked"), "{stderr}");
    let first = std::fs::read(&f1).unwrap();
    let second = std::fs::read(&f2).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_same_body(&first, &expected_body(), "curl, first URL");
    assert_eq!(latin1(&second), latin1(SMALL_BODY));
}

// ---------------------------------------------------------------------------
// 2. Trailers on the wire
// ---------------------------------------------------------------------------

/// FNV-1a, 32 bits: the checksum the trailer carries.
fn fnv1a(data: &[u8]) -> u32 {
    data.iter().fold(0x811c_9dc5, |h, &b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

#[test]
fn trailers_follow_the_last_chunk_and_the_pipelined_request_is_answered() {
    let server = serve_fn_with(ServerConfig::default(), http11, |req| {
        if req.path == "/finish-early" {
            req.send_response(200)?;
            req.send_chunked()?;
            req.end_headers()?;
            req.wfile().write_all(b"done")?;
            req.send_trailer("X-Early", "yes")?;
            req.finish_chunked()?;
            // The body has ended: a later write fails, and the response
            // on the wire is complete before the handler returns.
            let late = req.wfile().write_all(b"late");
            req.send_header("X-Late-Write", kind_of(late))?; // not sent: the head is gone
            return Ok(());
        }
        if req.path != "/trailer" {
            return reply(req, b"next one");
        }
        req.send_response(200)?;
        req.send_header("Trailer", "X-Checksum, X-Parts")?;
        req.send_chunked()?;
        req.end_headers()?;
        req.wfile().write_all(b"hello")?;
        req.wfile().flush()?; // a chunk of its own
        req.wfile().write_all(b", ")?; // these two are coalesced
        req.wfile().write_all(b"world")?;
        req.send_trailer("X-Checksum", format!("{:08x}", fnv1a(b"hello, world")))?;
        req.send_trailer("X-Parts", 3)?;
        Ok(())
    });
    let mut c = server.connect();
    c.send(b"GET /trailer HTTP/1.1\r\nHost: t\r\n\r\nGET /next HTTP/1.1\r\nHost: t\r\n\r\n");
    let head = c.read_until(b"\r\n\r\n");
    assert!(head.starts_with(b"HTTP/1.1 200 OK\r\n"), "{}", latin1(&head));
    assert_eq!(header_value(&head, "Transfer-Encoding").as_deref(), Some("chunked"));
    assert_eq!(header_value(&head, "Trailer").as_deref(), Some("X-Checksum, X-Parts"));
    assert_eq!(header_value(&head, "Content-Length"), None);
    let want =
        format!("5\r\nhello\r\n7\r\n, world\r\n0\r\nX-Checksum: {:08x}\r\nX-Parts: 3\r\n\r\n", fnv1a(b"hello, world"));
    assert_eq!(want, "5\r\nhello\r\n7\r\n, world\r\n0\r\nX-Checksum: 4d0ea41d\r\nX-Parts: 3\r\n\r\n");
    let body = c.read_exact_n(want.len());
    assert_eq!(latin1(&body), want);
    let second = c.read_response();
    assert!(second.starts_with(b"HTTP/1.1 200 OK\r\n"), "{}", latin1(&second));
    assert_eq!(body_of(&second), b"next one");
    // finish_chunked() ends the body early (trailers included); the
    // connection goes on.
    c.send(b"GET /finish-early HTTP/1.1\r\nHost: t\r\n\r\nGET /next HTTP/1.1\r\nHost: t\r\n\r\n");
    let head = c.read_until(b"\r\n\r\n");
    assert_eq!(header_value(&head, "X-Late-Write"), None);
    let want = "4\r\ndone\r\n0\r\nX-Early: yes\r\n\r\n";
    assert_eq!(latin1(&c.read_exact_n(want.len())), want);
    assert_eq!(body_of(&c.read_response()), b"next one");
    c.half_close();
    c.assert_closed();
}

// ---------------------------------------------------------------------------
// 3. Refusals
// ---------------------------------------------------------------------------

/// `/fallback`: chunked if it can be, else close-delimited.
fn fallback(req: &mut Request, notes: &Notes) -> HandlerResult {
    req.send_response(200)?;
    match req.send_chunked() {
        Ok(()) => note(notes, "chunked"),
        Err(e) => {
            note(notes, format!("{:?}", e.kind()));
            if e.kind() != io::ErrorKind::Unsupported {
                return Err(e.into());
            }
            req.close_connection = true;
        }
    }
    req.end_headers()?;
    for (j, &n) in SIZES[..12].iter().enumerate() {
        req.wfile().write_all(&piece(j, n))?;
    }
    Ok(())
}

#[test]
fn send_chunked_is_refused_for_http10_and_the_close_delimited_fallback_works() {
    let notes: Notes = Arc::default();
    let want: Vec<u8> = SIZES[..12].iter().enumerate().flat_map(|(j, &n)| piece(j, n)).collect();

    // An HTTP/1.0 request to an HTTP/1.1 server.
    let n = notes.clone();
    let server = serve_fn_with(ServerConfig::default(), http11, move |req| fallback(req, &n));
    let mut c = server.connect();
    c.send(b"GET /fallback HTTP/1.0\r\n\r\n");
    let out = c.read_to_end();
    let head = &out[..find(&out, b"\r\n\r\n").unwrap() + 4];
    assert!(head.starts_with(b"HTTP/1.1 200 OK\r\n"), "{}", latin1(head));
    assert_eq!(header_value(head, "Transfer-Encoding"), None, "{}", latin1(head));
    assert_eq!(header_value(head, "Content-Length"), None, "{}", latin1(head));
    assert_same_body(body_of(&out), &want, "HTTP/1.0 request, close-delimited");
    assert_eq!(notes_of(&notes), ["Unsupported"]);
    // The same server answers an HTTP/1.1 request chunked.
    let mut c = server.connect();
    c.send(b"GET /fallback HTTP/1.1\r\nHost: f\r\n\r\n");
    let head = c.read_until(b"\r\n\r\n");
    assert_eq!(header_value(&head, "Transfer-Encoding").as_deref(), Some("chunked"));
    let (body, _, trailers) = read_chunked_body(&mut c);
    assert_same_body(&body, &want, "HTTP/1.1 request, chunked");
    assert!(trailers.is_empty());
    assert_eq!(notes_of(&notes), ["Unsupported", "chunked"]);
    drop(server);

    // An HTTP/1.1 request to an HTTP/1.0 server (the default class).
    notes.lock().unwrap().clear();
    let n = notes.clone();
    let server = serve_fn_with(ServerConfig::default(), |_| {}, move |req| fallback(req, &n));
    let mut c = server.connect();
    c.send(b"GET /fallback HTTP/1.1\r\nHost: f\r\n\r\n");
    let out = c.read_to_end();
    assert!(out.starts_with(b"HTTP/1.0 200 OK\r\n"), "{}", latin1(&out[..100.min(out.len())]));
    assert_eq!(header_value(&out, "Transfer-Encoding"), None);
    assert_same_body(body_of(&out), &want, "HTTP/1.0 server, close-delimited");
    assert_eq!(notes_of(&notes), ["Unsupported"]);
}

#[test]
fn send_chunked_and_content_length_refuse_each_other() {
    let notes: Notes = Arc::default();
    let n = notes.clone();
    let server = serve_fn_with(ServerConfig::default(), http11, move |req| match req.path.as_str() {
        "/length-first" => {
            req.send_response(200)?;
            req.send_header("Content-Length", 5)?;
            note(&n, format!("send_chunked: {}", kind_of(req.send_chunked())));
            req.end_headers()?;
            req.wfile().write_all(b"hello")?;
            Ok(())
        }
        "/chunked-first" => {
            req.send_response(200)?;
            req.send_chunked()?;
            note(&n, format!("Content-Length: {}", kind_of(req.send_header("Content-Length", 5))));
            req.end_headers()?;
            req.wfile().write_all(b"hello")?;
            Ok(())
        }
        _ => reply(req, b"next"),
    });
    let mut c = server.connect();
    // A Content-Length, then send_chunked: refused, the response keeps its length.
    c.send(b"GET /length-first HTTP/1.1\r\nHost: r\r\n\r\n");
    let r = c.read_response();
    assert_eq!(header_value(&r, "Content-Length").as_deref(), Some("5"), "{}", latin1(&r));
    assert_eq!(header_value(&r, "Transfer-Encoding"), None, "{}", latin1(&r));
    assert_eq!(body_of(&r), b"hello");
    // send_chunked, then a Content-Length: refused, the response stays chunked.
    c.send(b"GET /chunked-first HTTP/1.1\r\nHost: r\r\n\r\n");
    let head = c.read_until(b"\r\n\r\n");
    assert_eq!(header_value(&head, "Transfer-Encoding").as_deref(), Some("chunked"), "{}", latin1(&head));
    assert_eq!(header_value(&head, "Content-Length"), None, "{}", latin1(&head));
    let (body, sizes, _) = read_chunked_body(&mut c);
    assert_eq!((body.as_slice(), sizes), (&b"hello"[..], vec![5]));
    // The connection carries a third request.
    c.send(b"GET /next HTTP/1.1\r\nHost: r\r\n\r\n");
    assert_eq!(body_of(&c.read_response()), b"next");
    assert_eq!(notes_of(&notes), ["send_chunked: InvalidInput", "Content-Length: InvalidInput"]);
}

#[test]
fn head_with_send_chunked_sends_the_head_only_and_the_connection_goes_on() {
    // A handler that does not look at the method (a do_GET reused for
    // HEAD): it writes a body of small and large pieces and flushes.
    let server = serve_fn_with(ServerConfig::default(), http11, |req| match req.path.as_str() {
        "/next" => reply(req, b"next"),
        "/not-modified" => {
            // A 304 has no body either, whatever is written.
            req.send_response(304)?;
            req.send_chunked()?;
            req.end_headers()?;
            req.wfile().write_all(&piece(0, 20_000))?;
            req.wfile().flush()?;
            req.wfile().write_all(b"small")?;
            Ok(())
        }
        _ => send_pieces(req),
    });
    let mut c = server.connect();
    // Pipelined: any chunk byte after the HEAD's head would show up in
    // front of the next status line.
    c.send(b"HEAD /stream HTTP/1.1\r\nHost: h\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n");
    let head = c.read_until(b"\r\n\r\n");
    assert!(head.starts_with(b"HTTP/1.1 200 OK\r\n"), "{}", latin1(&head));
    assert_eq!(header_value(&head, "Transfer-Encoding").as_deref(), Some("chunked"));
    let next = c.read_until(b"\r\n\r\n");
    assert!(
        next.starts_with(b"HTTP/1.1 200 OK\r\n"),
        "bytes after the HEAD response's head: {:?}…",
        latin1(&next[..next.len().min(80)])
    );
    let body = c.read_exact_n(4);
    assert_eq!(body, b"next");
    // And a HEAD alone, on a new connection: nothing after the head.
    let mut c = server.connect();
    c.send(b"HEAD /stream HTTP/1.1\r\nHost: h\r\n\r\n");
    c.read_until(b"\r\n\r\n");
    c.assert_silent(Duration::from_millis(300));
    c.send(b"GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(body_of(&c.read_response()), b"next");
    // A 304 on a GET: the head, then at once the next response.
    let mut c = server.connect();
    c.send(b"GET /not-modified HTTP/1.1\r\nHost: h\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n");
    let head = c.read_until(b"\r\n\r\n");
    assert!(head.starts_with(b"HTTP/1.1 304 Not Modified\r\n"), "{}", latin1(&head));
    let next = c.read_until(b"\r\n\r\n");
    assert!(
        next.starts_with(b"HTTP/1.1 200 OK\r\n"),
        "bytes after the 304's head: {:?}…",
        latin1(&next[..next.len().min(80)])
    );
    assert_eq!(c.read_exact_n(4), b"next");
}

// ---------------------------------------------------------------------------
// 4. Flushed events reach the client as they happen
// ---------------------------------------------------------------------------

#[test]
fn flushed_events_arrive_while_the_handler_is_still_running() {
    let server = serve_fn_with(ServerConfig::default(), http11, |req| {
        req.send_response(200)?;
        req.send_header("Content-Type", "text/event-stream")?;
        req.send_chunked()?;
        req.end_headers()?;
        for i in 0..5 {
            write!(req.wfile(), "data: event {i}\n\n")?;
            req.wfile().flush()?;
            thread::sleep(Duration::from_millis(200));
        }
        Ok(())
    });
    let mut c = server.connect();
    let sent = Instant::now();
    c.send(b"GET /events HTTP/1.1\r\nHost: e\r\n\r\n");
    c.read_until(b"\r\n\r\n");
    c.read_until(b"data: event 0\n\n\r\n");
    let first = sent.elapsed();
    let (body, sizes, _) = read_chunked_body(&mut c);
    let all = sent.elapsed();
    // The whole takes five sleeps of 200 ms; the first event came well before.
    assert!(first < Duration::from_secs(1), "first event after {first:?}");
    assert!(all >= Duration::from_millis(800), "the stream ended after {all:?}");
    assert!(all - first >= Duration::from_millis(500), "first event at {first:?}, end at {all:?}");
    // Each event was its own chunk: what the buffer held when flushed.
    assert_eq!(sizes, vec!["data: event 1\n\n".len(); 4], "the events after the first");
    let mut events = String::from("data: event 0\n\n");
    events.push_str(&latin1(&body));
    let want: String = (0..5).map(|i| format!("data: event {i}\n\n")).collect();
    assert_eq!(events, want);
    eprintln!("first event after {first:?}, stream ended after {all:?}");
}

// ---------------------------------------------------------------------------
// 5. A client that stops reading
// ---------------------------------------------------------------------------

#[test]
fn a_client_that_stops_reading_times_the_write_out_and_others_are_served() {
    const LIMIT: u64 = 200 * 1024 * 1024;
    let written = Arc::new(AtomicU64::new(0));
    let outcome: Arc<Mutex<Option<(String, Duration)>>> = Arc::default();
    let gate = Gate::new();
    // Long enough that the test sees the handler wait, short enough to be quick.
    const WRITE_TIMEOUT: Duration = Duration::from_secs(1);
    let config = ServerConfig { write_timeout: Some(WRITE_TIMEOUT), ..ServerConfig::default() };
    let (w, o, g) = (written.clone(), outcome.clone(), gate.clone());
    let server = serve_fn_with(config, http11, move |req| {
        if req.path != "/forever" {
            return reply(req, b"prompt");
        }
        req.send_response(200)?;
        req.send_chunked()?;
        req.end_headers()?;
        let data = vec![b'x'; 64 * 1024];
        let mut last_ok = Instant::now();
        while w.load(Ordering::SeqCst) < LIMIT {
            match req.wfile().write_all(&data).and_then(|()| req.wfile().flush()) {
                Ok(()) => {
                    w.fetch_add(data.len() as u64, Ordering::SeqCst);
                    last_ok = Instant::now();
                }
                Err(e) => {
                    *o.lock().unwrap() = Some((format!("{:?}", e.kind()), last_ok.elapsed()));
                    g.signal("ended");
                    return Err(e.into());
                }
            }
        }
        *o.lock().unwrap() = Some(("no error".to_owned(), last_ok.elapsed()));
        g.signal("ended");
        Ok(())
    });
    let started = Instant::now();
    let mut stalled = server.connect();
    stalled.send(b"GET /forever HTTP/1.1\r\nHost: s\r\n\r\n");
    // Never read. Once the socket buffers are full the handler waits in a
    // write: the count stops growing.
    let mut last = (0, Instant::now());
    wait_until("the handler stalled", IO_TIMEOUT, || {
        let now = written.load(Ordering::SeqCst);
        if now != last.0 {
            last = (now, Instant::now());
        }
        now >= 256 * 1024 && last.1.elapsed() >= Duration::from_millis(100)
    });
    assert!(!gate.is_raised("ended"), "the write failed before the test saw it wait");
    // Meanwhile other clients are served promptly.
    let (mut served, mut while_stalled) = (0, 0);
    while served < 20 && !(served >= 3 && gate.is_raised("ended")) {
        let t = Instant::now();
        let out = server.exchange(b"GET /other HTTP/1.0\r\n\r\n");
        let took = t.elapsed();
        assert_eq!(body_of(&out), b"prompt");
        assert!(took < Duration::from_secs(1), "a normal request took {took:?} next to the stalled stream");
        served += 1;
        if !gate.is_raised("ended") {
            while_stalled += 1;
        }
    }
    assert!(while_stalled >= 1, "no request was answered while the stream was stalled");
    assert!(gate.wait("ended", IO_TIMEOUT), "the stalled handler's write never failed");
    let ended = started.elapsed();
    let (kind, stalled_for) = outcome.lock().unwrap().clone().unwrap();
    let total = written.load(Ordering::SeqCst);
    assert_eq!(kind, "TimedOut", "after {total} bytes");
    assert!(total < LIMIT);
    // The write waited for the write timeout, not much longer.
    assert!(stalled_for >= WRITE_TIMEOUT - Duration::from_millis(50), "the write gave up after {stalled_for:?}");
    assert!(stalled_for < WRITE_TIMEOUT + Duration::from_secs(2), "the write gave up after {stalled_for:?}");
    assert!(ended < Duration::from_secs(8), "the handler ended after {ended:?}");
    eprintln!(
        "stalled after {total} bytes; the write failed after {stalled_for:?}; {while_stalled} of {served} requests \
         served while it waited"
    );
    drop(stalled);
    assert_eq!(body_of(&server.exchange(b"GET /other HTTP/1.0\r\n\r\n")), b"prompt");
}

// ---------------------------------------------------------------------------
// 6. WebSocket over `upgrade`
// ---------------------------------------------------------------------------

fn websocket_echo(req: &mut Request, notes: &Notes) -> HandlerResult {
    let key = req.headers.get("Sec-WebSocket-Key").ok_or("no Sec-WebSocket-Key")?.to_owned();
    if !req.headers.get("Upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket")) {
        return Ok(req.send_error(400)?);
    }
    req.send_response(101)?;
    req.send_header("Upgrade", "websocket")?;
    req.send_header("Connection", "Upgrade")?;
    req.send_header("Sec-WebSocket-Accept", tungstenite::handshake::derive_accept_key(key.as_bytes()))?;
    req.end_headers()?;
    let mut up = req.upgrade()?;
    up.set_read_timeout(Some(IO_TIMEOUT));
    let mut ws = WebSocket::from_raw_socket(up, Role::Server, None);
    for _ in 0..1000 {
        match ws.read() {
            Ok(msg @ (Message::Text(_) | Message::Binary(_))) => ws.send(msg)?,
            Ok(Message::Close(_)) => note(notes, "close received"),
            // Pings are answered by tungstenite.
            Ok(_) => {}
            Err(tungstenite::Error::ConnectionClosed) => {
                note(notes, "closed");
                return Ok(());
            }
            Err(e) => {
                note(notes, format!("error: {e}"));
                return Err(e.into());
            }
        }
    }
    Err("too many messages".into())
}

#[test]
fn websocket_echo_over_an_upgraded_connection() {
    let notes: Notes = Arc::default();
    let n = notes.clone();
    let server = serve_fn_with(ServerConfig::default(), http11, move |req| websocket_echo(req, &n));
    let stream = TcpStream::connect(server.addr).unwrap();
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    let url = format!("ws://127.0.0.1:{}/ws", server.port);
    let (mut ws, response) = tungstenite::client(url.as_str(), stream).expect("WebSocket handshake");
    assert_eq!(response.status().as_u16(), 101);

    ws.send(Message::text("hello, WebSocket")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("hello, WebSocket"));
    let bytes: Vec<u8> = (0..=255).collect();
    ws.send(Message::binary(bytes.clone())).unwrap();
    assert_eq!(ws.read().unwrap(), Message::binary(bytes));
    let big: Vec<u8> = (0..1024 * 1024).map(|i: usize| (i * 7 % 253) as u8).collect();
    ws.send(Message::binary(big.clone())).unwrap();
    match ws.read().unwrap() {
        Message::Binary(got) => assert_same_body(&got, &big, "1 MiB message"),
        other => panic!("expected the 1 MiB echo, got {other:?}"),
    }
    ws.send(Message::Ping(b"are you there".to_vec().into())).unwrap();
    assert_eq!(ws.read().unwrap(), Message::Pong(b"are you there".to_vec().into()));

    // The close handshake: our Close, the server's Close back, then the
    // server ends the TCP connection (tungstenite reports ConnectionClosed
    // only at EOF).
    ws.close(None).unwrap();
    let mut saw_close = false;
    for _ in 0..10 {
        match ws.read() {
            Ok(Message::Close(_)) => saw_close = true,
            Ok(other) => panic!("unexpected {other:?} after our Close"),
            Err(tungstenite::Error::ConnectionClosed) => break,
            Err(e) => panic!("close handshake: {e}"),
        }
    }
    assert!(saw_close, "the server did not answer our Close");
    let mut rest = [0u8; 16];
    assert_eq!(ws.get_mut().read(&mut rest).unwrap(), 0, "the connection must be at EOF");
    wait_until("the server's echo loop ended", IO_TIMEOUT, || notes_of(&notes).contains(&"closed".to_owned()));
    assert_eq!(notes_of(&notes), ["close received", "closed"]);
}

// ---------------------------------------------------------------------------
// 7-10. A raw echo protocol over `upgrade`
// ---------------------------------------------------------------------------

/// Echo loops running now.
#[derive(Default)]
struct Live(AtomicUsize);

struct LiveGuard<'a>(&'a Live);

impl Drop for LiveGuard<'_> {
    fn drop(&mut self) {
        self.0 .0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Live {
    fn now(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Echoes until EOF (bounded: 30 s without input ends it).
fn echo(mut up: Upgraded, live: &Live) -> io::Result<()> {
    live.0.fetch_add(1, Ordering::SeqCst);
    let _guard = LiveGuard(live);
    up.set_read_timeout(Some(Duration::from_secs(30)));
    let mut buf = [0u8; 16 * 1024];
    for _ in 0..1_000_000 {
        let n = up.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        up.write_all(&buf[..n])?;
        up.flush()?;
    }
    Ok(())
}

fn switch_to_echo(req: &mut Request) -> io::Result<Upgraded> {
    req.send_response(101)?;
    req.send_header("Upgrade", "echo")?;
    req.send_header("Connection", "Upgrade")?;
    req.end_headers()?;
    req.upgrade()
}

/// `/echo`: the handler echoes on its own thread until EOF;
/// `/echo-thread`: the handler hands the connection to a new thread and
/// returns; `/plain`: a normal response.
fn echo_server(config: ServerConfig, live: Arc<Live>) -> TestServer {
    serve_fn_with(config, http11, move |req| match req.path.as_str() {
        "/echo" => Ok(echo(switch_to_echo(req)?, &live)?),
        "/echo-thread" => {
            let up = switch_to_echo(req)?;
            let live = live.clone();
            thread::spawn(move || echo(up, &live));
            Ok(())
        }
        _ => reply(req, b"plain"),
    })
}

const UPGRADE_HEADERS: &str = "Host: e\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n";

/// Connects, upgrades to the echo protocol at `path`, checks the 101.
fn open_echo(server: &TestServer, path: &str) -> Client {
    let mut c = server.connect();
    c.send(format!("GET {path} HTTP/1.1\r\n{UPGRADE_HEADERS}").as_bytes());
    let head = c.read_until(b"\r\n\r\n");
    assert!(head.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"), "{}", latin1(&head));
    assert_eq!(header_value(&head, "Upgrade").as_deref(), Some("echo"));
    c
}

fn assert_echoes(c: &mut Client, message: &[u8]) {
    c.send(message);
    let got = c.read_exact_n(message.len());
    assert_eq!(latin1(&got), latin1(message));
}

#[test]
fn a_hundred_upgraded_connections_while_normal_requests_are_served() {
    let live = Arc::new(Live::default());
    let server = echo_server(ServerConfig::default(), live.clone());
    let started = Instant::now();
    let mut conns: Vec<Client> = (0..100)
        .map(|i| {
            let mut c = open_echo(&server, if i % 2 == 0 { "/echo" } else { "/echo-thread" });
            assert_echoes(&mut c, format!("hello from {i}\n").as_bytes());
            c
        })
        .collect();
    let opened = started.elapsed();
    wait_until("100 echo loops running", IO_TIMEOUT, || live.now() == 100);
    // All 100 are open; normal requests on new connections are served.
    let t = Instant::now();
    for _ in 0..20 {
        let one = Instant::now();
        let out = server.exchange(b"GET /plain HTTP/1.0\r\n\r\n");
        assert_eq!(body_of(&out), b"plain");
        assert!(one.elapsed() < Duration::from_secs(2), "a normal request took {:?}", one.elapsed());
    }
    let normal = t.elapsed();
    assert!(normal < Duration::from_secs(5), "20 normal requests took {normal:?}");
    // And every upgraded connection still echoes.
    for (i, c) in conns.iter_mut().enumerate() {
        assert_echoes(c, format!("still here {i}\n").as_bytes());
    }
    assert_eq!(live.now(), 100);
    // Closing them ends every echo loop; the server goes on.
    for c in &mut conns {
        c.half_close();
    }
    for c in &mut conns {
        c.assert_closed();
    }
    drop(conns);
    wait_until("the echo loops ended", IO_TIMEOUT, || live.now() == 0);
    assert_eq!(body_of(&server.exchange(b"GET /plain HTTP/1.0\r\n\r\n")), b"plain");
    eprintln!("100 upgrades + echoes in {opened:?}; 20 normal requests meanwhile in {normal:?}");
}

#[test]
fn bytes_pipelined_behind_the_upgrade_request_reach_the_upgraded_stream() {
    let live = Arc::new(Live::default());
    let server = echo_server(ServerConfig::default(), live.clone());
    let large: Vec<u8> = (0..40_000).map(|i: usize| b"0123456789abcdefghijklmnopqrstuvwxyz\n"[i % 37]).collect();
    for path in ["/echo", "/echo-thread"] {
        for early in [&b"early bytes\r\n\r\n"[..], &large] {
            let mut c = server.connect();
            // The request and the first payload in one write.
            let mut bytes = format!("GET {path} HTTP/1.1\r\n{UPGRADE_HEADERS}").into_bytes();
            bytes.extend_from_slice(early);
            c.send(&bytes);
            let head = c.read_until(b"\r\n\r\n");
            assert!(head.starts_with(b"HTTP/1.1 101 "), "{path}: {}", latin1(&head));
            let got = c.read_exact_n(early.len());
            assert_same_body(&got, early, &format!("{path}, {} early bytes", early.len()));
            assert_echoes(&mut c, b"and later ones");
            c.half_close();
            c.assert_closed();
        }
    }
    wait_until("the echo loops ended", IO_TIMEOUT, || live.now() == 0);
}

#[test]
fn upgrade_refusals_and_no_parsing_after_the_upgrade() {
    let notes: Notes = Arc::default();
    let dispatched = Arc::new(AtomicUsize::new(0));
    let live = Arc::new(Live::default());
    let (n, d, l) = (notes.clone(), dispatched.clone(), live.clone());
    let server = serve_fn_with(ServerConfig::default(), http11, move |req| {
        d.fetch_add(1, Ordering::SeqCst);
        match req.path.as_str() {
            "/upgrade" => {
                note(&n, format!("before send_response: {}", kind_of(req.upgrade())));
                req.send_response(101)?;
                req.send_header("Upgrade", "echo")?;
                req.send_header("Connection", "Upgrade")?;
                note(&n, format!("before end_headers: {}", kind_of(req.upgrade())));
                req.end_headers()?;
                let up = req.upgrade()?;
                note(&n, format!("again: {}", kind_of(req.upgrade())));
                Ok(echo(up, &l)?)
            }
            "/chunked" => {
                req.send_response(200)?;
                req.send_chunked()?;
                req.end_headers()?;
                note(&n, format!("chunked: {}", kind_of(req.upgrade())));
                req.wfile().write_all(b"still chunked")?;
                Ok(())
            }
            _ => reply(req, b"plain"),
        }
    });

    let mut c = server.connect();
    c.send(format!("GET /upgrade HTTP/1.1\r\n{UPGRADE_HEADERS}").as_bytes());
    let head = c.read_until(b"\r\n\r\n");
    assert!(head.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"), "{}", latin1(&head));
    // A request sent on the upgraded stream is bytes for the echo, not a
    // request: it comes back as is, and nothing else does.
    let request = b"GET /plain HTTP/1.1\r\nHost: e\r\n\r\n";
    assert_echoes(&mut c, request);
    // (Read after the echo: the 101 goes out before the last upgrade() call.)
    assert_eq!(
        notes_of(&notes),
        ["before send_response: InvalidInput", "before end_headers: InvalidInput", "again: InvalidInput"]
    );
    c.assert_silent(Duration::from_millis(300));
    assert_eq!(dispatched.load(Ordering::SeqCst), 1, "the runtime dispatched a request of the upgraded stream");
    c.half_close();
    c.assert_closed();

    // upgrade() of a chunked response: refused, the response goes on, and
    // so does the connection.
    let mut c = server.connect();
    c.send(b"GET /chunked HTTP/1.1\r\nHost: e\r\n\r\n");
    let head = c.read_until(b"\r\n\r\n");
    assert!(head.starts_with(b"HTTP/1.1 200 OK\r\n"), "{}", latin1(&head));
    let (body, _, _) = read_chunked_body(&mut c);
    assert_eq!(body, b"still chunked");
    c.send(b"GET /plain HTTP/1.1\r\nHost: e\r\n\r\n");
    assert_eq!(body_of(&c.read_response()), b"plain");
    assert_eq!(notes_of(&notes)[3..], ["chunked: InvalidInput"]);
    wait_until("the echo loop ended", IO_TIMEOUT, || live.now() == 0);
}

#[test]
fn shutdown_with_upgraded_connections_open_ends_them_after_the_grace() {
    let grace = Duration::from_millis(500);
    let live = Arc::new(Live::default());
    let config = ServerConfig { shutdown_grace: grace, ..ServerConfig::default() };
    let server = echo_server(config, live.clone());
    let mut inline = open_echo(&server, "/echo");
    let mut spawned = open_echo(&server, "/echo-thread");
    assert_echoes(&mut inline, b"one");
    assert_echoes(&mut spawned, b"two");
    wait_until("2 echo loops running", IO_TIMEOUT, || live.now() == 2);

    let t = Instant::now();
    server.shutdown_handle().shutdown();
    let took = t.elapsed();
    // The upgraded connections count as in flight: the shutdown waits for
    // them during the grace period, then shuts their sockets down.
    assert!(took >= grace - Duration::from_millis(50), "shutdown returned after {took:?}, before the grace");
    assert!(took < grace + Duration::from_secs(3), "shutdown took {took:?}");
    inline.assert_closed();
    spawned.assert_closed();
    wait_until("the echo loops ended", IO_TIMEOUT, || live.now() == 0);
    // serve_forever has returned (stop() joins its thread, bounded).
    server.stop().unwrap();
    eprintln!("shutdown with 2 upgraded connections took {took:?} (grace {grace:?})");
}

/// With `max_connections = 3` and two upgraded connections open at `path`,
/// a third (normal) connection is served.
fn third_connection_is_served_next_to_two_upgraded(path: &str) {
    let live = Arc::new(Live::default());
    let config = ServerConfig { max_connections: 3, ..ServerConfig::default() };
    let server = echo_server(config, live.clone());
    let mut a = open_echo(&server, path);
    let mut b = open_echo(&server, path);
    assert_echoes(&mut a, b"a");
    assert_echoes(&mut b, b"b");
    wait_until("2 echo loops running", IO_TIMEOUT, || live.now() == 2);
    let mut c = server.connect();
    c.send(b"GET /plain HTTP/1.0\r\n\r\n");
    let answered = c.try_read_until(b"plain", Duration::from_secs(3));
    assert!(answered.is_some(), "{path}: a third connection was not served with 2 upgraded ones open (max 3)");
    drop((a, b));
    wait_until("the echo loops ended", IO_TIMEOUT, || live.now() == 0);
}

#[test]
fn an_upgraded_connection_handed_to_a_thread_counts_once_toward_max_connections() {
    third_connection_is_served_next_to_two_upgraded("/echo-thread");
}

/// Fails: while the handler that called `upgrade()` is still running, the
/// connection is registered twice (the request's registration and the
/// `Upgraded`'s, `Control::register` in upgrade.rs), so it counts twice
/// toward `max_connections`: two such connections count 4.
#[test]
fn an_upgraded_connection_kept_by_its_handler_counts_once_toward_max_connections() {
    third_connection_is_served_next_to_two_upgraded("/echo");
}
