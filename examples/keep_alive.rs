//! HTTP/1.1 persistent connections: set `PROTOCOL_VERSION` to `HTTP/1.1`
//! and send an accurate `Content-Length`, and one connection carries many
//! requests (CPython's rule, B19 and B42 of the behaviour reference).
//!
//! ```text
//! cargo run --example keep_alive
//! curl -v http://127.0.0.1:8000/a http://127.0.0.1:8000/b   # "Re-using existing connection"
//! ```

use std::io::Write;

use basehttp::{http_handler, HTTPServer, Request};

mod cli;

/// The command line: an optional port, `-h` for help (see `cli/mod.rs`).
const CLI: cli::Cli = cli::Cli::new("keep_alive", "usage: keep_alive [-h] [PORT]");

/// Counts the requests of its connection: a fresh value per connection.
#[derive(Default)]
struct KeepAlive {
    requests_on_this_connection: u32,
}

#[http_handler]
impl KeepAlive {
    // Python: `protocol_version = "HTTP/1.1"`. With the default `HTTP/1.0`
    // every connection closes after one response.
    const PROTOCOL_VERSION: &'static str = "HTTP/1.1";

    fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
        self.requests_on_this_connection += 1;
        let body = format!("request {} on this connection\n", self.requests_on_this_connection);
        req.send_response(200)?;
        req.send_header("Content-Type", "text/plain")?;
        // Without Content-Length the client could not tell where the body
        // ends except by the connection closing.
        req.send_header("Content-Length", body.len())?;
        req.end_headers()?;
        req.wfile().write_all(body.as_bytes())
    }
}

fn main() -> std::io::Result<()> {
    let port = CLI.port(8000);
    basehttp::log_to_stderr();
    let mut httpd =
        CLI.listen(format_args!("127.0.0.1:{port}"), HTTPServer::new(("127.0.0.1", port), KeepAlive::default));
    println!("Serving on http://127.0.0.1:{}/ (HTTP/1.1 keep-alive)", httpd.server_port());
    httpd.serve_forever()
}
