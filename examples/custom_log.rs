//! Overriding `log_message`: every line the server logs (requests, errors)
//! goes through this hook, here to stdout as JSON instead of CPython's
//! `127.0.0.1 - - [date] "GET / HTTP/1.1" 200 -` on stderr.
//!
//! ```text
//! cargo run --example custom_log
//! curl http://127.0.0.1:8000/hi
//! ```

use std::fmt;
use std::io::Write;

use basehttp::{http_handler, HTTPServer, Request};

mod cli;

/// The command line: an optional port, `-h` for help (see `cli/mod.rs`).
const CLI: cli::Cli = cli::Cli::new("custom_log", "usage: custom_log [-h] [PORT]");

#[derive(Default)]
struct Quiet;

#[http_handler]
impl Quiet {
    fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.log_message(format_args!("handling {}", req.path));
        let body = b"logged\n";
        req.send_response(200)?; // calls log_request → log_message
        req.send_header("Content-Length", body.len())?;
        req.end_headers()?;
        req.wfile().write_all(body)
    }

    // A hook: same name and signature as the trait's, so the macro moves it
    // into the trait impl, the way a Python subclass overrides a method.
    // Hooks take the request, not `self`: they run inside response calls.
    fn log_message(req: &Request, args: fmt::Arguments<'_>) {
        let text = args.to_string().replace('\\', "\\\\").replace('"', "\\\"");
        println!(
            r#"{{"client": "{}", "time": "{}", "message": "{}"}}"#,
            req.address_string(),
            req.log_date_time_string(),
            text
        );
    }
}

fn main() -> std::io::Result<()> {
    let port = CLI.port(8000);
    let mut httpd = CLI.listen(format_args!("127.0.0.1:{port}"), HTTPServer::new(("127.0.0.1", port), Quiet::default));
    println!("Serving on http://127.0.0.1:{}/ (JSON log lines on stdout)", httpd.server_port());
    std::io::stdout().flush()?;
    httpd.serve_forever()
}
