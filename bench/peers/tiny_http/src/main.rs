//! `peer-tiny-http PORT [HANDLER_THREADS]`: answers `GET /` with 200 and
//! `Hello, world!`.
//!
//! tiny_http as its documentation suggests for a multi-threaded server: a few
//! threads share the `Server` and each takes the next request with `recv`.
//! tiny_http itself reads connections on threads of its own (a pool that
//! keeps 4 and lets the extra ones go after 5 s idle).
//!
//! HANDLER_THREADS is how many threads call `recv` (default 4, the
//! hello-world section's figure). The blocking-handlers section
//! (`bench/run.sh --blocking`) passes `BENCH_TINY_HTTP_THREADS` (256), at
//! least as many as it has connections, so this pool is never what limits
//! it.
//!
//! Routes, for any method:
//! - `/sleep/N`: `std::thread::sleep` N milliseconds on the handler thread,
//!   then the hello answer;
//! - `/spin/N`: burn N microseconds of the handler thread's CPU time (loop
//!   until `CLOCK_THREAD_CPUTIME_ID` has advanced by N µs), then the hello
//!   answer;
//! - `/sleep/` or `/spin/` with a bad N: 404;
//! - any other path: the hello answer.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const DEFAULT_HANDLER_THREADS: usize = 4;
const MAX_HANDLER_THREADS: usize = 4096;
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

/// Runs the route's work; false for a bad N (a 404).
fn route(url: &str) -> bool {
    if url == "/" {
        return true;
    }
    if let Some(rest) = url.strip_prefix("/sleep/") {
        let Some(ms) = number(rest, MAX_SLEEP_MS) else { return false };
        thread::sleep(Duration::from_millis(ms));
    } else if let Some(rest) = url.strip_prefix("/spin/") {
        let Some(us) = number(rest, MAX_SPIN_US) else { return false };
        spin(us);
    }
    true
}

fn main() {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|p| p.parse().ok()).expect("usage: peer-tiny-http PORT [HANDLER_THREADS]");
    let handler_threads = match args.next() {
        None => DEFAULT_HANDLER_THREADS,
        Some(n) => n
            .parse()
            .ok()
            .filter(|n| (1..=MAX_HANDLER_THREADS).contains(n))
            .expect("HANDLER_THREADS: a number from 1 to 4096"),
    };
    let server = Arc::new(tiny_http::Server::http(("127.0.0.1", port)).expect("bind"));
    let handlers: Vec<_> = (0..handler_threads)
        .map(|_| {
            let server = Arc::clone(&server);
            thread::spawn(move || {
                while let Ok(request) = server.recv() {
                    let response = if route(request.url()) {
                        tiny_http::Response::from_string("Hello, world!")
                    } else {
                        tiny_http::Response::from_string("Not Found\n").with_status_code(404)
                    };
                    let _ = request.respond(response);
                }
            })
        })
        .collect();
    for handler in handlers {
        let _ = handler.join();
    }
}
