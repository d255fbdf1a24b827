//! The smallest useful server: answers every `GET` with a greeting.
//!
//! ```text
//! cargo run --example hello          # serves http://127.0.0.1:8000/
//! cargo run --example hello -- 8080  # another port (0 = any free port)
//! curl -i http://127.0.0.1:8000/
//! ```

use std::io::Write;

use basehttp::{http_handler, HTTPServer, Request};

mod cli;

/// The command line: an optional port, `-h` for help (see `cli/mod.rs`).
const CLI: cli::Cli = cli::Cli::new("hello", "usage: hello [-h] [PORT]");

// A handler is an ordinary struct. The server makes a fresh one for every
// connection (like Python instantiates the handler class), so fields can
// hold per-connection state. This one needs none.
#[derive(Default)]
struct Hello;

// `#[http_handler]` finds the `do_*` methods of this block at compile time
// and generates the dispatch: `GET` calls `do_GET`; any other method gets
// CPython's `501 Unsupported method` page.
#[http_handler]
impl Hello {
    fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
        // The request is already parsed: `command`, `path`, `headers`…
        let body = format!("Hello, world! You asked for {}\n", req.path);
        // send_response logs the request and starts the head (status line,
        // Server, Date); send_header adds fields; end_headers finishes it.
        req.send_response(200)?;
        req.send_header("Content-Type", "text/plain; charset=utf-8")?;
        req.send_header("Content-Length", body.len())?;
        req.end_headers()?;
        // wfile is the response body stream.
        req.wfile().write_all(body.as_bytes())
    }
}

fn main() -> std::io::Result<()> {
    let port = CLI.port(8000);
    // Python prints its access log on stderr; in Rust it goes through the
    // `log` crate, and this installs a logger that prints it the same way.
    basehttp::log_to_stderr();
    // HTTPServer(('127.0.0.1', 8000), Hello): binds and listens at once.
    // `Hello::default` is the factory that makes each connection's handler.
    let mut httpd = CLI.listen(format_args!("127.0.0.1:{port}"), HTTPServer::new(("127.0.0.1", port), Hello::default));
    println!("Serving on http://127.0.0.1:{}/ (Ctrl-C to stop)", httpd.server_port());
    httpd.serve_forever()
}
