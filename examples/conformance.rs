//! The oracle's contract handler (`../shared/oracle/CONTRACT.md`): the
//! program `diff.py` and the replay test run against CPython's recorded
//! responses.
//!
//! ```text
//! cargo run --example conformance -- --port 8080 [--protocol HTTP/1.1] [--default-request-version HTTP/1.1] [--rfc9112]
//! ```
//!
//! `--rfc9112` turns on the strict profile (`Profile::Rfc9112`); `POST /echo`
//! then echoes whatever body the runtime framed, chunked included, which is
//! how the hostile-client suite exercises the chunked decoder.

use std::io::{Read, Write};

use basehttp::{http_handler, HTTPServer, HandlerResult, Profile, Request};

mod cli;

/// The command line (see `cli/mod.rs`).
const CLI: cli::Cli = cli::Cli::new(
    "conformance",
    "usage: conformance [-h] [--port N] [--protocol VERSION] [--default-request-version VERSION] [--rfc9112]",
);

#[derive(Default)]
struct Contract;

/// A handler failure for `/raise`, `/raise-after-head` and `/partial`.
fn fail(route: &str) -> HandlerResult {
    Err(format!("contract: {route}").into())
}

/// Byte-level percent-decoding of the query, read back as latin-1 text.
fn pct(query: &str) -> String {
    let bytes: Vec<u8> = query.chars().map(|c| c as u32 as u8).collect();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out.iter().map(|&b| b as char).collect()
}

/// `[1-9][0-9]{2}` exactly.
fn code_from(suffix: &str) -> Option<u16> {
    let b = suffix.as_bytes();
    (b.len() == 3 && (b'1'..=b'9').contains(&b[0]) && b[1].is_ascii_digit() && b[2].is_ascii_digit())
        .then(|| suffix.parse().unwrap())
}

fn latin1_bytes(text: &str) -> Vec<u8> {
    text.chars().map(|c| c as u32 as u8).collect()
}

impl Contract {
    fn ok(req: &mut Request, ctype: &str, body: &[u8], head: bool) -> HandlerResult {
        req.send_response(200)?;
        req.send_header("Content-Type", ctype)?;
        req.send_header("Content-Length", body.len())?;
        req.end_headers()?;
        if !head {
            req.wfile().write_all(body)?;
        }
        Ok(())
    }

    fn get(&mut self, req: &mut Request, head: bool) -> HandlerResult {
        let path = req.path.clone();
        let (route, query) = match path.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (path.as_str(), None),
        };
        match route {
            "/hello" => Self::ok(req, "text/plain; charset=utf-8", b"Hello, world!", head),
            r if r == "/info" || r.starts_with("/info/") => {
                let body = format!(
                    "command={}\npath={}\nrequest_version={}\nrequestline={}\nclose_connection={}\n",
                    req.command, req.path, req.request_version, req.requestline, req.close_connection
                );
                Self::ok(req, "text/plain; charset=iso-8859-1", &latin1_bytes(&body), head)
            }
            "/headers" => {
                let body: String = req.headers.items().map(|(n, v)| format!("{n}: {v}\n")).collect();
                Self::ok(req, "text/plain; charset=iso-8859-1", &latin1_bytes(&body), head)
            }
            "/latin1" => {
                let body = req.headers.get("X-Special-Incoming").unwrap_or("").to_owned().into_bytes();
                req.send_response(200)?;
                req.send_header("X-Special", "Dängerous Mind")?;
                req.send_header("Content-Type", "text/plain; charset=utf-8")?;
                req.send_header("Content-Length", body.len())?;
                req.end_headers()?;
                if !head {
                    req.wfile().write_all(&body)?;
                }
                Ok(())
            }
            r if r.starts_with("/send-error/") => match code_from(&r["/send-error/".len()..]) {
                None => Ok(req.send_error_message(400, "Bad code")?),
                Some(code) => match query {
                    None => Ok(req.send_error(code)?),
                    Some(q) => Ok(req.send_error_message(code, &pct(q))?),
                },
            },
            "/send-error-explain" => Ok(req.send_error_explain(
                418,
                Some("Short <b>&</b> \"dq\" 'sq'"),
                Some("Long <i>explanation</i> & more\nsecond line"),
            )?),
            r if r.starts_with("/custom-status/") => match code_from(&r["/custom-status/".len()..]) {
                None => Ok(req.send_error_message(400, "Bad code")?),
                Some(code) => {
                    match query {
                        None => req.send_response(code)?,
                        Some(q) => req.send_response_message(code, &pct(q))?,
                    }
                    req.send_header("Content-Length", "0")?;
                    Ok(req.end_headers()?)
                }
            },
            "/keep-alive" | "/close" => {
                req.send_response(200)?;
                req.send_header("Connection", &route[1..])?;
                req.send_header("Content-Length", "2")?;
                req.end_headers()?;
                if !head {
                    req.wfile().write_all(b"ok")?;
                }
                Ok(())
            }
            "/reflect-header" => {
                req.send_response(200)?;
                req.send_header("X-Reflect", pct(query.unwrap_or("")))?;
                req.send_header("Content-Length", "0")?;
                Ok(req.end_headers()?)
            }
            "/raise" => fail(route),
            "/raise-after-head" => {
                req.send_response(200)?;
                req.send_header("X-A", "1")?;
                fail(route)
            }
            "/partial" => {
                req.send_response(200)?;
                req.send_header("Content-Length", "10")?;
                req.end_headers()?;
                if !head {
                    req.wfile().write_all(b"01234")?;
                }
                fail(route)
            }
            "/no-length" => {
                req.send_response(200)?;
                req.send_header("Content-Type", "text/plain")?;
                req.end_headers()?;
                if !head {
                    req.wfile().write_all(b"no length\n")?;
                }
                Ok(())
            }
            _ => Ok(req.send_error(404)?),
        }
    }

    fn post(&mut self, req: &mut Request) -> HandlerResult {
        let route = req.path.split('?').next().unwrap_or("").to_owned();
        if route != "/echo" {
            return Ok(req.send_error(404)?);
        }
        if req.class().profile == Profile::Rfc9112 {
            return Self::echo_framed(req);
        }
        if req.headers.contains("Transfer-Encoding") {
            return Ok(req.send_error_message(501, "Transfer-Encoding not supported")?);
        }
        let lengths: Vec<String> = req.headers.get_all("Content-Length").map(str::to_owned).collect();
        let n: u64 = match lengths.as_slice() {
            [] => return Ok(req.send_error(411)?),
            [v] if (1..=9).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit()) => v.parse()?,
            [_] => return Ok(req.send_error_message(400, "Invalid Content-Length")?),
            _ => return Ok(req.send_error_message(400, "Multiple Content-Length headers")?),
        };
        if n > 1_000_000 {
            return Ok(req.send_error(413)?);
        }
        let mut body = Vec::new();
        req.rfile().take(n).read_to_end(&mut body)?;
        Self::echo(req, &body)
    }

    /// The echo's answer: the body back as `application/octet-stream`.
    fn echo(req: &mut Request, body: &[u8]) -> HandlerResult {
        req.send_response(200)?;
        req.send_header("Content-Type", "application/octet-stream")?;
        req.send_header("Content-Length", body.len())?;
        req.end_headers()?;
        req.wfile().write_all(body)?;
        Ok(())
    }

    /// `--rfc9112`: echo whatever body the runtime framed (Content-Length or
    /// chunked), up to 1 MB.
    fn echo_framed(req: &mut Request) -> HandlerResult {
        if !req.headers.contains("Content-Length") && !req.headers.contains("Transfer-Encoding") {
            return Ok(req.send_error(411)?);
        }
        let declared = req.headers.get("Content-Length").and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > 1_000_000) {
            return Ok(req.send_error(413)?);
        }
        let mut body = Vec::new();
        req.rfile().take(1_000_001).read_to_end(&mut body)?;
        if body.len() > 1_000_000 {
            return Ok(req.send_error(413)?);
        }
        Self::echo(req, &body)
    }
}

/// The contract's three methods; `#[http_handler]` generates the dispatch
/// and CPython's 501 for every other method.
#[http_handler]
impl Contract {
    fn do_GET(&mut self, req: &mut Request) -> HandlerResult {
        self.get(req, false)
    }

    fn do_HEAD(&mut self, req: &mut Request) -> HandlerResult {
        self.get(req, true)
    }

    fn do_POST(&mut self, req: &mut Request) -> HandlerResult {
        self.post(req)
    }
}

fn main() {
    let mut port = 8000u16;
    let mut protocol = None;
    let mut default_version = None;
    let mut strict = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().unwrap_or_else(|| CLI.usage_error(format!("{flag} expects a value")));
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{}", CLI.usage);
                return;
            }
            "--port" => {
                let text = value("--port");
                port = text.parse().unwrap_or_else(|_| CLI.usage_error(format!("invalid port: {text:?}")));
            }
            "--protocol" => protocol = Some(value("--protocol")),
            "--default-request-version" => default_version = Some(value("--default-request-version")),
            "--strict" => {}
            "--rfc9112" => strict = true,
            other => CLI.usage_error(format!("unrecognized argument: {other:?}")),
        }
    }
    basehttp::log_to_stderr();
    let mut server =
        CLI.listen(format_args!("127.0.0.1:{port}"), HTTPServer::new(("127.0.0.1", port), Contract::default));
    if let Some(p) = protocol {
        server.class_mut().protocol_version = p;
    }
    if let Some(v) = default_version {
        server.class_mut().default_request_version = v;
    }
    if strict {
        server.class_mut().profile = Profile::Rfc9112;
    }
    if let Err(e) = server.serve_forever() {
        eprintln!("conformance: error: {e}");
        std::process::exit(1);
    }
}
