//! `peer-threads PORT`: thread per connection, the standard library only.
//!
//! The reference of the blocking-handlers section (`bench/run.sh --blocking`):
//! what a handler that blocks costs when every connection has a thread of its
//! own. A `std::net::TcpListener` accepts on the main thread and spawns one
//! `std::thread` per connection (TCP_NODELAY on). That thread runs a small
//! HTTP/1.1 keep-alive loop: read until the head's `\r\n\r\n`, route, write
//! the whole response with one `write_all`, go on with the bytes after the
//! head (pipelined requests are answered in order).
//!
//! Routes, for `GET` (any other method: 405):
//! - `/sleep/N`: `std::thread::sleep` N milliseconds, then the hello answer;
//! - `/spin/N`: burn N microseconds of this thread's CPU time (it loops until
//!   `CLOCK_THREAD_CPUTIME_ID` has advanced by N µs), then the hello answer;
//! - `/sleep/` or `/spin/` with a bad N (not digits, or over the limits
//!   below): 404;
//! - any other path: 200 with `Hello, world!` (13 bytes, `Content-Length`).
//!
//! The answer has no `Date` header (std cannot format one without more
//! code than the rest), and no access log is written. `Connection: close`
//! and HTTP/1.0 requests are answered with `Connection: close` and the
//! connection is closed; a request with a body is refused (400, close).

use std::ffi::{c_int, c_long};
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

const HELLO: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, world!";
const HELLO_CLOSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nHello, world!";
const NOT_FOUND: &[u8] = b"HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\nContent-Type: text/plain\r\n\r\nNot Found\n";
const NOT_ALLOWED: &[u8] =
    b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nAllow: GET\r\nConnection: close\r\n\r\n";
const BAD_REQUEST: &[u8] = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// The largest request head read (bytes); a longer one closes the connection.
const MAX_HEAD: usize = 16 * 1024;
/// Limits of N: `/sleep/N` up to 10 s, `/spin/N` up to 10 s of CPU time.
const MAX_SLEEP_MS: u64 = 10_000;
const MAX_SPIN_US: u64 = 10_000_000;
/// A spin gives up after this much wall-clock time whatever CPU time it got.
const SPIN_WALL_LIMIT: Duration = Duration::from_secs(30);

#[repr(C)]
struct Timespec {
    tv_sec: c_long,
    tv_nsec: c_long,
}

extern "C" {
    // POSIX clock_gettime(2), from the C library std links anyway.
    fn clock_gettime(clock: c_int, tp: *mut Timespec) -> c_int;
}

/// Linux's CLOCK_THREAD_CPUTIME_ID.
const CLOCK_THREAD_CPUTIME_ID: c_int = 3;

/// CPU time this thread has used, in nanoseconds (None if the clock fails).
fn thread_cpu_ns() -> Option<u64> {
    let mut ts = Timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec for the call's duration.
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

/// Burns `us` microseconds of this thread's CPU time.
fn spin(us: u64) {
    let Some(start) = thread_cpu_ns() else { return };
    let wall = Instant::now();
    let mut x = 1u64;
    loop {
        for _ in 0..256 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        match thread_cpu_ns() {
            Some(now) if now.saturating_sub(start) < us * 1000 && wall.elapsed() < SPIN_WALL_LIMIT => {}
            _ => break,
        }
    }
}

/// N of `/PREFIX/N`, if it is 1-8 ASCII digits and at most `max`.
fn number(rest: &str, max: u64) -> Option<u64> {
    if rest.is_empty() || rest.len() > 8 || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    rest.parse().ok().filter(|&n| n <= max)
}

/// Runs the route's work and returns the answer.
fn answer(path: &str) -> &'static [u8] {
    if path != "/" {
        if let Some(rest) = path.strip_prefix("/sleep/") {
            let Some(ms) = number(rest, MAX_SLEEP_MS) else { return NOT_FOUND };
            thread::sleep(Duration::from_millis(ms));
        } else if let Some(rest) = path.strip_prefix("/spin/") {
            let Some(us) = number(rest, MAX_SPIN_US) else { return NOT_FOUND };
            spin(us);
        }
    }
    HELLO
}

/// What one request head asks for.
struct Head<'a> {
    method: &'a str,
    path: &'a str,
    close: bool,
    has_body: bool,
}

fn parse_head(head: &[u8]) -> Option<Head<'_>> {
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.split("\r\n");
    let mut words = lines.next()?.split(' ');
    let (method, path, version) = (words.next()?, words.next()?, words.next()?);
    if words.next().is_some() || !version.starts_with("HTTP/1.") {
        return None;
    }
    let mut close = version == "HTTP/1.0";
    let mut has_body = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        if name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        } else if name.eq_ignore_ascii_case("content-length") {
            has_body |= value != "0";
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            has_body = true;
        }
    }
    Some(Head { method, path, close, has_body })
}

/// Where the head ending `\r\n\r\n` ends in `buf`, searching from `from`.
fn head_end(buf: &[u8], from: usize) -> Option<usize> {
    buf[from..].windows(4).position(|w| w == b"\r\n\r\n").map(|at| from + at + 4)
}

fn serve(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut buf = vec![0u8; MAX_HEAD];
    let mut filled = 0;
    loop {
        // Read until a whole head is in the buffer; `scanned` skips what was
        // already searched (less 3 bytes, a split `\r\n\r\n`).
        let mut scanned = 0;
        let end = loop {
            if let Some(end) = head_end(&buf[..filled], scanned) {
                break end;
            }
            scanned = filled.saturating_sub(3);
            if filled == buf.len() {
                return; // head too large
            }
            match stream.read(&mut buf[filled..]) {
                Ok(0) => return,
                Ok(n) => filled += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        };
        let (response, close) = match parse_head(&buf[..end - 4]) {
            None => (BAD_REQUEST, true),
            Some(head) if head.has_body => (BAD_REQUEST, true),
            Some(head) if head.method != "GET" => (NOT_ALLOWED, true),
            Some(head) => {
                let response = answer(head.path);
                if head.close && std::ptr::eq(response, HELLO) {
                    (HELLO_CLOSE, true)
                } else {
                    (response, head.close)
                }
            }
        };
        if stream.write_all(response).is_err() || close {
            return;
        }
        buf.copy_within(end..filled, 0);
        filled -= end;
    }
}

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).expect("usage: peer-threads PORT");
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))?;
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                // A failed spawn (out of threads or memory) drops the connection.
                let _ = thread::Builder::new().spawn(move || serve(stream));
            }
            // Out of descriptors and the like: the next accept may do better.
            Err(_) => thread::sleep(Duration::from_millis(1)),
        }
    }
    Ok(())
}
