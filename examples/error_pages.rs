//! Custom error pages: `ERROR_MESSAGE_FORMAT` and `ERROR_CONTENT_TYPE`
//! replace CPython's HTML template, and `send_error` takes a message and an
//! explanation.
//!
//! ```text
//! cargo run --example error_pages
//! curl -i http://127.0.0.1:8000/missing     # 404 as JSON
//! curl -i http://127.0.0.1:8000/teapot      # 418 with a message and an explanation
//! curl -i -X DELETE http://127.0.0.1:8000/  # the 501 uses the same template
//! ```

use basehttp::{http_handler, HTTPServer, Request};

mod cli;

/// The command line: an optional port, `-h` for help (see `cli/mod.rs`).
const CLI: cli::Cli = cli::Cli::new("error_pages", "usage: error_pages [-h] [PORT]");

#[derive(Default)]
struct Errors;

#[http_handler]
impl Errors {
    // Python's `%(name)s` placeholders: `code`, `message` and `explain`
    // (message and explain are HTML-escaped first, as in CPython).
    const ERROR_MESSAGE_FORMAT: &'static str =
        "{\"error\": %(code)d, \"message\": \"%(message)s\", \"explain\": \"%(explain)s\"}\n";
    const ERROR_CONTENT_TYPE: &'static str = "application/json";

    fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
        match req.path.as_str() {
            // send_error(code, message, explain)
            "/teapot" => req.send_error_explain(418, Some("No coffee here"), Some("This server only brews tea")),
            // send_error(code): message and explanation from `responses`
            _ => req.send_error(404),
        }
    }
}

fn main() -> std::io::Result<()> {
    let port = CLI.port(8000);
    basehttp::log_to_stderr();
    let mut httpd = CLI.listen(format_args!("127.0.0.1:{port}"), HTTPServer::new(("127.0.0.1", port), Errors::default));
    println!("Serving on http://127.0.0.1:{}/ (JSON error pages)", httpd.server_port());
    httpd.serve_forever()
}
