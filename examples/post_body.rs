//! Reading a request body in `do_POST`: echoes a form or JSON back.
//!
//! ```text
//! cargo run --example post_body
//! curl -d 'name=Ada&lang=Rust' http://127.0.0.1:8000/form       # form fields, one per line
//! curl -H 'Content-Type: application/json' -d '{"a": 1}' http://127.0.0.1:8000/
//! curl -H 'Transfer-Encoding: chunked' -d 'chunked works too' http://127.0.0.1:8000/
//! ```
//!
//! `rfile` yields exactly the body the request declared (`Content-Length`
//! bytes, or the decoded chunks of a chunked upload) and then EOF, so
//! `read_to_end` is safe. `take` bounds how much a client can make us
//! buffer.

use std::io::{Read, Write};

use basehttp::{http_handler, HTTPServer, HandlerResult, Request};

mod cli;

/// The command line: an optional port, `-h` for help (see `cli/mod.rs`).
const CLI: cli::Cli = cli::Cli::new("post_body", "usage: post_body [-h] [PORT]");

const MAX_BODY: u64 = 1 << 20;

#[derive(Default)]
struct Echo;

/// `application/x-www-form-urlencoded` → "name = value" lines.
fn form_lines(body: &[u8]) -> String {
    let decode = |s: &str| {
        let bytes = s.replace('+', " ").into_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            match (bytes[i], bytes.get(i + 1).and_then(|&b| hex(b)), bytes.get(i + 2).and_then(|&b| hex(b))) {
                (b'%', Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                }
                (b, _, _) => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            format!("{} = {}\n", decode(k), decode(v))
        })
        .collect()
}

#[http_handler]
impl Echo {
    fn do_POST(&mut self, req: &mut Request) -> HandlerResult {
        let mut body = Vec::new();
        req.rfile().take(MAX_BODY + 1).read_to_end(&mut body)?;
        if body.len() as u64 > MAX_BODY {
            return Ok(req.send_error_message(413, "Body larger than 1 MiB")?);
        }
        let form = req.headers.get("Content-Type").is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
        let (ctype, reply) = if form {
            ("text/plain; charset=utf-8", form_lines(&body).into_bytes())
        } else {
            // JSON, or anything else: echoed as it came, with its own type.
            (req.headers.get("Content-Type").unwrap_or("application/octet-stream"), body)
        };
        let ctype = ctype.to_owned();
        req.send_response(200)?;
        req.send_header("Content-Type", ctype)?;
        req.send_header("Content-Length", reply.len())?;
        req.end_headers()?;
        req.wfile().write_all(&reply)?;
        Ok(())
    }
}

fn main() -> std::io::Result<()> {
    let port = CLI.port(8000);
    basehttp::log_to_stderr();
    let mut httpd = CLI.listen(format_args!("127.0.0.1:{port}"), HTTPServer::new(("127.0.0.1", port), Echo::default));
    println!("Serving on http://127.0.0.1:{}/ (POST a body)", httpd.server_port());
    httpd.serve_forever()
}
