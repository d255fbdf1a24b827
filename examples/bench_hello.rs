//! The benchmark's server (`bench/run.sh`): answers every `GET` with `200`
//! and the 13-byte body `Hello, world!`, as the peers in `bench/peers/` do.
//!
//! ```text
//! cargo run --release --example bench_hello -- [PORT]
//! cargo run --release -p basehttp-examples --features tls --example bench_hello -- \
//!     --tls-cert cert.pem --tls-key key.pem [PORT]
//! ```
//!
//! HTTP/1.1 with keep-alive, `Content-Length`, no access log. Errors the
//! runtime logs (timeouts, bad requests, accept failures) still go to
//! stderr, so a benchmark run can show them. Port 0 binds an ephemeral
//! port; the bound address is printed on stdout either way.
//!
//! Two more routes serve the blocking-handlers section
//! (`bench/run.sh --blocking`), as a user's blocking handler would:
//! - `GET /sleep/N`: `std::thread::sleep` N milliseconds in the handler,
//!   then the same answer as `/`;
//! - `GET /spin/N`: burn N microseconds of the handling thread's CPU time (a
//!   loop until `CLOCK_THREAD_CPUTIME_ID` has advanced by N µs, so being
//!   preempted does not shorten the work), then the same answer as `/`;
//! - `/sleep/` or `/spin/` with a bad N (not 1-8 digits, or over 10 s): 404.
//!
//! Any other path gets the hello answer. `/` itself costs what it did before
//! these routes: the path is looked at only when it is not `/`.
//!
//! With `--tls-cert CERT --tls-key KEY` (only in a build with the feature
//! `tls`) it serves the same over HTTPS, for the TLS section
//! (`bench/run.sh --tls`): `TlsConfig::from_pem_files(CERT, KEY)` as it comes
//! (rustls with ring, TLS 1.3 and 1.2, ALPN `http/1.1`). Without the
//! feature the flags are refused with a note on how to build with it.

use std::io::Write;
use std::time::{Duration, Instant};

use basehttp::{BaseHTTPRequestHandler, HTTPServer, HandlerResult, Request};

mod cli;

/// The command line: the port and the TLS files (see `cli/mod.rs`).
const CLI: cli::Cli = cli::Cli::new("bench_hello", "usage: bench_hello [-h] [--tls-cert CERT --tls-key KEY] [PORT]");

const BODY: &[u8] = b"Hello, world!";
const MAX_SLEEP_MS: u64 = 10_000;
const MAX_SPIN_US: u64 = 10_000_000;
/// A spin gives up after this much wall-clock time whatever CPU time it got.
const SPIN_WALL_LIMIT: Duration = Duration::from_secs(30);

/// CPU time the calling thread has used, in nanoseconds.
fn thread_cpu_ns() -> u64 {
    let clock = nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID;
    nix::time::clock_gettime(clock).map_or(0, |ts| ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64)
}

/// Burns `us` microseconds of this thread's CPU time.
fn spin(us: u64) {
    let start = thread_cpu_ns();
    let wall = Instant::now();
    let mut x = 1u64;
    while thread_cpu_ns().saturating_sub(start) < us * 1000 && wall.elapsed() < SPIN_WALL_LIMIT {
        for _ in 0..256 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
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

/// The work of `/sleep/N` and `/spin/N` (any other path: none); false when
/// N is bad.
fn blocking_route(path: &str) -> bool {
    if let Some(rest) = path.strip_prefix("/sleep/") {
        let Some(ms) = number(rest, MAX_SLEEP_MS) else { return false };
        std::thread::sleep(Duration::from_millis(ms));
    } else if let Some(rest) = path.strip_prefix("/spin/") {
        let Some(us) = number(rest, MAX_SPIN_US) else { return false };
        spin(us);
    }
    true
}

#[derive(Default)]
struct Hello;

impl BaseHTTPRequestHandler for Hello {
    const PROTOCOL_VERSION: &'static str = "HTTP/1.1";

    fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
        if req.command != "GET" {
            req.send_unsupported_method()?;
            return Ok(());
        }
        if req.path != "/" && !blocking_route(&req.path) {
            req.send_error(404)?;
            return Ok(());
        }
        req.send_response(200)?;
        req.send_header("Content-Type", "text/plain")?;
        req.send_header("Content-Length", BODY.len())?;
        if req.headers.get("Connection").is_some_and(|v| v.eq_ignore_ascii_case("close")) {
            // RFC 9112 §9.6: confirm the close the client asked for, as the
            // peers do.
            req.send_header("Connection", "close")?;
        }
        req.end_headers()?;
        req.wfile().write_all(BODY)?;
        Ok(())
    }

    /// No access log: the peers keep none either.
    fn log_request(_req: &Request, _code: Option<u16>, _size: Option<u64>) {}
}

/// The command line: `[--tls-cert CERT --tls-key KEY] [PORT]`, flags and
/// port in any order. Returns the port and the two files, if given.
fn command_line() -> (u16, Option<(String, String)>) {
    let (mut port, mut cert, mut key) = (None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{}", CLI.usage);
                std::process::exit(0)
            }
            "--tls-cert" | "--tls-key" => {
                let value = args.next().unwrap_or_else(|| CLI.usage_error(format!("{arg} needs a file")));
                *(if arg == "--tls-cert" { &mut cert } else { &mut key }) = Some(value);
            }
            _ if port.is_none() && !arg.starts_with('-') => {
                port = Some(arg.parse().unwrap_or_else(|_| CLI.usage_error(format!("invalid port: {arg:?}"))));
            }
            _ => CLI.usage_error(format!("unrecognized argument: {arg:?}")),
        }
    }
    let tls = match (cert, key) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        _ => CLI.usage_error("--tls-cert and --tls-key go together"),
    };
    (port.unwrap_or(0), tls)
}

/// HTTPS with the certificate and key files, or one line and exit status 1.
#[cfg(feature = "tls")]
fn use_tls(httpd: &mut HTTPServer<Hello>, cert: &str, key: &str) {
    match basehttp::TlsConfig::from_pem_files(cert, key) {
        Ok(tls) => httpd.set_tls(tls),
        Err(e) => {
            eprintln!("{}: error: {e}", CLI.name);
            std::process::exit(1)
        }
    }
}

/// Without the feature `tls` there is no HTTPS.
#[cfg(not(feature = "tls"))]
fn use_tls(_: &mut HTTPServer<Hello>, _: &str, _: &str) {
    CLI.usage_error(
        "this build has no TLS support: build with `cargo build --release -p basehttp-examples --features tls \
         --example bench_hello`",
    )
}

fn main() -> std::io::Result<()> {
    let (port, tls) = command_line();
    basehttp::log_to_stderr();
    let mut httpd = CLI.listen(format_args!("127.0.0.1:{port}"), HTTPServer::new(("127.0.0.1", port), Hello::default));
    if let Some((cert, key)) = &tls {
        use_tls(&mut httpd, cert, key);
    }
    // The port stays last: tests/bench_script.rs reads it from this line.
    let over = if tls.is_some() { " (HTTPS)" } else { "" };
    println!("bench_hello listening{over} on {}", httpd.server_address());
    std::io::stdout().flush()?;
    httpd.serve_forever()
}
