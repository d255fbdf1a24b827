//! The seed's second pattern: `handle_request()` in a loop while a condition
//! holds. This server answers requests until it is asked for `/quit`, then
//! exits.
//!
//! ```text
//! cargo run --example run_while_true            # port 8000
//! curl http://127.0.0.1:8000/                   # "request 1"
//! curl http://127.0.0.1:8000/quit               # "bye", and the program ends
//! ```

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use basehttp::{http_handler, HTTPServer, Request};

mod cli;

/// The command line: an optional port, `-h` for help (see `cli/mod.rs`).
const CLI: cli::Cli = cli::Cli::new("run_while_true", "usage: run_while_true [-h] [PORT]");

/// What the loop looks at: `keep_running()` in the Python example.
#[derive(Default)]
struct Control {
    quit: AtomicBool,
    served: AtomicUsize,
}

struct Handler {
    control: Arc<Control>,
}

#[http_handler]
impl Handler {
    fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
        let n = self.control.served.fetch_add(1, Ordering::SeqCst) + 1;
        let body = if req.path == "/quit" {
            self.control.quit.store(true, Ordering::SeqCst);
            "bye\n".to_owned()
        } else {
            format!("request {n}\n")
        };
        req.send_response(200)?;
        req.send_header("Content-Length", body.len())?;
        req.end_headers()?;
        req.wfile().write_all(body.as_bytes())
    }
}

fn main() -> std::io::Result<()> {
    let port = CLI.port(8000);
    basehttp::log_to_stderr();
    let control = Arc::new(Control::default());
    // The factory clones the Arc into each connection's handler.
    let shared = control.clone();
    let mut httpd = CLI.listen(
        format_args!("127.0.0.1:{port}"),
        HTTPServer::new(("127.0.0.1", port), move || Handler { control: shared.clone() }),
    );
    // Wake up now and then even without requests, like Python's `timeout`.
    httpd.timeout = Some(std::time::Duration::from_secs(1));
    println!("Serving on http://127.0.0.1:{}/ until /quit", httpd.server_port());
    // while keep_running(): httpd.handle_request()
    while !control.quit.load(Ordering::SeqCst) {
        httpd.handle_request()?;
    }
    println!("served {} requests", control.served.load(Ordering::SeqCst));
    Ok(())
}
