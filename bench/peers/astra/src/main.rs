//! `peer-astra PORT`: astra 0.4, a blocking HTTP server on hyper.
//!
//! As a user gets it: `Server::bind(..).serve(handler)` with every setting
//! at its default. astra runs each connection on a thread of its worker pool
//! (at most 15 threads per CPU this process may use, so 15 under
//! `taskset -c 1`; idle workers leave after 6 s), and the handler is a plain
//! blocking function.
//!
//! Routes, for any method:
//! - `/sleep/N`: `std::thread::sleep` N milliseconds, then the hello answer;
//! - `/spin/N`: burn N microseconds of the handling thread's CPU time (loop
//!   until `CLOCK_THREAD_CPUTIME_ID` has advanced by N µs), then the hello
//!   answer;
//! - `/sleep/` or `/spin/` with a bad N: 404;
//! - any other path: 200 with `Hello, world!` (13 bytes, `Content-Length`).
//!
//! astra's `Body` is a boxed stream whose length hyper does not see, so an
//! answer without a `Content-Length` header goes out chunked; the handler
//! sets the header, as a user who wants it must.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use astra::{Body, Request, Response, ResponseBuilder, Server};

const BODY: &str = "Hello, world!";
const MAX_SLEEP_MS: u64 = 10_000;
const MAX_SPIN_US: u64 = 10_000_000;
/// A spin gives up after this much wall-clock time whatever CPU time it got.
const SPIN_WALL_LIMIT: Duration = Duration::from_secs(30);

/// CPU time this thread has used, in nanoseconds (None if the clock fails).
fn thread_cpu_ns() -> Option<u64> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec for the call's duration.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
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

/// A text/plain answer with its `Content-Length`.
fn text(status: u16, body: &'static str) -> Response {
    ResponseBuilder::new()
        .status(status)
        .header("Content-Type", "text/plain")
        .header("Content-Length", body.len())
        .body(Body::new(body))
        .expect("a valid response")
}

fn not_found() -> Response {
    text(404, "Not Found\n")
}

fn handle(req: Request) -> Response {
    let path = req.uri().path();
    if path != "/" {
        if let Some(rest) = path.strip_prefix("/sleep/") {
            let Some(ms) = number(rest, MAX_SLEEP_MS) else { return not_found() };
            std::thread::sleep(Duration::from_millis(ms));
        } else if let Some(rest) = path.strip_prefix("/spin/") {
            let Some(us) = number(rest, MAX_SPIN_US) else { return not_found() };
            spin(us);
        }
    }
    text(200, BODY)
}

fn main() {
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).expect("usage: peer-astra PORT");
    Server::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).serve(|req, _info| handle(req)).expect("serve");
}
