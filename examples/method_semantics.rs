//! Opt-in modern method semantics. CPython answers only the methods you
//! define (`HEAD` too must be written) and 501 for the rest; with these
//! `#[http_handler]` arguments:
//!
//! - `auto_head`: `HEAD` runs `do_GET` with the body dropped;
//! - `auto_options`: `OPTIONS` answers `Allow: GET, HEAD, POST, OPTIONS`;
//! - `method_not_allowed`: a standard method without a `do_` method (`PUT`,
//!   `DELETE`…) gets `405` with `Allow`; unknown ones (`BREW`) keep the 501.
//!
//! ```text
//! cargo run --example method_semantics
//! curl -I http://127.0.0.1:8000/                 # HEAD: GET's headers, no body
//! curl -i -X OPTIONS http://127.0.0.1:8000/      # 200, Allow: GET, HEAD, POST, OPTIONS
//! curl -i -X DELETE http://127.0.0.1:8000/       # 405 with Allow
//! curl -i -X BREW http://127.0.0.1:8000/         # 501
//! ```

use std::io::Write;

use basehttp::{http_handler, BaseHTTPRequestHandler, HTTPServer, Request};

mod cli;

/// The command line: an optional port, `-h` for help (see `cli/mod.rs`).
const CLI: cli::Cli = cli::Cli::new("method_semantics", "usage: method_semantics [-h] [PORT]");

#[derive(Default)]
struct Api;

#[http_handler(auto_head, auto_options, method_not_allowed)]
impl Api {
    fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
        let body = b"resource\n";
        req.send_response(200)?;
        req.send_header("Content-Type", "text/plain")?;
        req.send_header("Content-Length", body.len())?;
        req.end_headers()?;
        req.wfile().write_all(body) // dropped for HEAD
    }

    fn do_POST(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_response(204)?;
        req.end_headers()
    }
}

fn main() -> std::io::Result<()> {
    let port = CLI.port(8000);
    basehttp::log_to_stderr();
    let mut httpd = CLI.listen(format_args!("127.0.0.1:{port}"), HTTPServer::new(("127.0.0.1", port), Api::default));
    // The macro also generated the list of handled methods.
    println!("Serving on http://127.0.0.1:{}/ (methods: {})", httpd.server_port(), Api::METHODS.join(", "));
    httpd.serve_forever()
}
