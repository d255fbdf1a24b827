//! The seed's first pattern, `run()`: build a server and `serve_forever()`.
//!
//! ```text
//! cargo run --example run            # port 8000 on every interface, like ('', 8000)
//! cargo run --example run -- 8080
//! ```
//!
//! Python:
//!
//! ```python
//! def run(server_class=HTTPServer, handler_class=BaseHTTPRequestHandler):
//!     server_address = ('', 8000)
//!     httpd = server_class(server_address, handler_class)
//!     httpd.serve_forever()
//! ```

use std::io::Write;

use basehttp::{http_handler, BaseHTTPRequestHandler, HTTPServer, Request};

mod cli;

/// The command line: an optional port, `-h` for help (see `cli/mod.rs`).
const CLI: cli::Cli = cli::Cli::new("run", "usage: run [-h] [PORT]");

#[derive(Default)]
struct Handler;

#[http_handler]
impl Handler {
    fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
        let body = b"served forever\n";
        req.send_response(200)?;
        req.send_header("Content-Length", body.len())?;
        req.end_headers()?;
        req.wfile().write_all(body)
    }
}

/// `run(server_class, handler_class)`: generic over the handler type, as
/// the Python function is over the handler class.
fn run<H: BaseHTTPRequestHandler + Default>(port: u16) -> std::io::Result<()> {
    let server_address = ("", port); // "" = every IPv4 interface
    let mut httpd = CLI.listen(format_args!("0.0.0.0:{port}"), HTTPServer::new(server_address, H::default));
    println!("Serving on http://127.0.0.1:{}/", httpd.server_port());
    httpd.serve_forever()
}

fn main() -> std::io::Result<()> {
    let port = CLI.port(8000);
    basehttp::log_to_stderr();
    run::<Handler>(port)
}
