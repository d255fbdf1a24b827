//! The benchmark's server (`bench/run.sh`): answers every `GET` with `200`
//! and the 13-byte body `Hello, world!`, as the peers in `bench/peers/` do.
//!
//! ```text
//! cargo run --release --example bench_hello -- PORT
//! ```
//!
//! HTTP/1.1 with keep-alive, `Content-Length`, no access log. Errors the
//! runtime logs (timeouts, bad requests, accept failures) still go to
//! stderr, so a benchmark run can show them. Port 0 binds an ephemeral
//! port; the bound address is printed on stdout either way.

use std::io::Write;

use basehttp::{BaseHTTPRequestHandler, HTTPServer, HandlerResult, Request};

const BODY: &[u8] = b"Hello, world!";

#[derive(Default)]
struct Hello;

impl BaseHTTPRequestHandler for Hello {
    const PROTOCOL_VERSION: &'static str = "HTTP/1.1";

    fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
        if req.command != "GET" {
            req.send_unsupported_method()?;
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

fn main() -> std::io::Result<()> {
    let port = match std::env::args().nth(1).map(|p| p.parse::<u16>()) {
        Some(Ok(port)) => port,
        _ => {
            eprintln!("usage: bench_hello PORT");
            std::process::exit(2);
        }
    };
    basehttp::log_to_stderr();
    let mut httpd = HTTPServer::new(("127.0.0.1", port), Hello::default)?;
    println!("bench_hello listening on {}", httpd.server_address());
    std::io::stdout().flush()?;
    httpd.serve_forever()
}
