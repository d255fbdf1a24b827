//! `peer-hyper PORT`: answers `GET /` with 200 and `Hello, world!`.
//!
//! hyper's HTTP/1 connection driver on a multi-threaded tokio runtime. The
//! runtime sizes its worker pool from the CPUs this process may use, so
//! under `taskset -c 1` it runs one worker. `pipeline_flush` lets hyper
//! answer a batch of pipelined requests with one write, which is how it is
//! meant to be configured for pipelined clients.
//!
//! Routes of the blocking-handlers section (`bench/run.sh --blocking`), for
//! any method:
//! - `/sleep/N`: blocks N milliseconds the way a tokio user runs blocking
//!   code, `tokio::task::spawn_blocking(move || std::thread::sleep(..)).await`
//!   (tokio's blocking pool: up to 512 threads, idle ones leave after 10 s),
//!   then the hello answer;
//! - `/spin/N`: burns N microseconds of the handling thread's CPU time (loop
//!   until `CLOCK_THREAD_CPUTIME_ID` has advanced by N µs) right in the
//!   handler, on the runtime's worker, as short computations are usually
//!   written, then the hello answer;
//! - `/sleep/` or `/spin/` with a bad N: 404;
//! - any other path: the hello answer, as before (only `path != "/"` is
//!   checked on the way).

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

const BODY: &[u8] = b"Hello, world!";
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

fn hello_response() -> Response<Full<Bytes>> {
    Response::new(Full::new(Bytes::from_static(BODY)))
}

fn not_found() -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(b"Not Found\n")));
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path();
    if path != "/" {
        if let Some(rest) = path.strip_prefix("/sleep/") {
            let Some(ms) = number(rest, MAX_SLEEP_MS) else { return Ok(not_found()) };
            let slept = tokio::task::spawn_blocking(move || std::thread::sleep(Duration::from_millis(ms))).await;
            if slept.is_err() {
                let mut response = Response::new(Full::new(Bytes::new()));
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                return Ok(response);
            }
        } else if let Some(rest) = path.strip_prefix("/spin/") {
            let Some(us) = number(rest, MAX_SPIN_US) else { return Ok(not_found()) };
            spin(us);
        }
    }
    Ok(hello_response())
}

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).expect("usage: peer-hyper PORT");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_io().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
        loop {
            let (socket, _) = match listener.accept().await {
                Ok(pair) => pair,
                Err(_) => continue,
            };
            socket.set_nodelay(true)?;
            tokio::spawn(async move {
                let conn = http1::Builder::new()
                    .pipeline_flush(true)
                    .serve_connection(TokioIo::new(socket), service_fn(hello));
                let _ = conn.await;
            });
        }
    })
}
