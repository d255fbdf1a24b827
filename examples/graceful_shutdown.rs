//! Stopping cleanly: Ctrl-C, or a request for `/shutdown`, stops accepting,
//! lets requests in flight finish (up to `ServerConfig::shutdown_grace`) and
//! returns from `serve_forever`.
//!
//! ```text
//! cargo run --example graceful_shutdown
//! curl 'http://127.0.0.1:8000/slow' &          # takes 2 s
//! curl http://127.0.0.1:8000/shutdown          # the slow one still completes
//! ```

use std::io::Write;
use std::time::Duration;

use basehttp::{http_handler, HTTPServer, Request};

mod cli;

/// The command line: an optional port, `-h` for help (see `cli/mod.rs`).
const CLI: cli::Cli = cli::Cli::new("graceful_shutdown", "usage: graceful_shutdown [-h] [PORT]");

#[derive(Default)]
struct App;

#[http_handler]
impl App {
    fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
        let body: &[u8] = match req.path.as_str() {
            "/shutdown" => {
                // From inside a handler, ask and return: `shutdown()` would
                // wait for this very request to finish.
                req.server().shutdown_handle().request_shutdown();
                b"shutting down\n"
            }
            "/slow" => {
                std::thread::sleep(Duration::from_secs(2));
                b"slow request finished\n"
            }
            _ => b"hello\n",
        };
        req.send_response(200)?;
        req.send_header("Content-Length", body.len())?;
        req.end_headers()?;
        req.wfile().write_all(body)
    }
}

fn main() -> std::io::Result<()> {
    let port = CLI.port(8000);
    basehttp::log_to_stderr();
    let mut httpd = CLI.listen(format_args!("127.0.0.1:{port}"), HTTPServer::new(("127.0.0.1", port), App::default));
    // Ctrl-C runs this on another thread: `shutdown()` stops serve_forever
    // and waits for it to return.
    let handle = httpd.shutdown_handle();
    ctrlc::set_handler(move || handle.request_shutdown()).expect("Ctrl-C handler");
    println!("Serving on http://127.0.0.1:{}/ (Ctrl-C or /shutdown to stop)", httpd.server_port());
    httpd.serve_forever()?;
    println!("stopped cleanly");
    Ok(())
}
