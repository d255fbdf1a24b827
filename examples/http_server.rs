//! `python -m http.server`, in Rust: serves the files of a folder over HTTP.
//!
//! ```text
//! cargo run --release --example http_server -- [--bind ADDR] [--directory DIR] [--protocol HTTP/1.1] [PORT]
//! ```
//!
//! With no arguments it serves the current directory on port 8000 of every
//! interface, like Python. Then try, from another terminal:
//!
//! ```text
//! curl -i http://127.0.0.1:8000/                          # the folder's listing (or its index.html)
//! curl -i -H 'Range: bytes=0-99' http://127.0.0.1:8000/Cargo.toml   # 206 and the first 100 bytes
//! ```
//!
//! Each request is logged on stderr the way Python logs it; Ctrl-C stops
//! the server after the requests in flight.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use basehttp::{HTTPServer, SimpleHTTPRequestHandler};

mod cli;

/// One-line errors and exit statuses (see `cli/mod.rs`); the options are
/// parsed below, as Python's `http.server` defines them.
const CLI: cli::Cli = cli::Cli::new(
    "http_server",
    "usage: http_server [-h] [--bind ADDRESS] [--directory DIRECTORY] [--protocol VERSION] [port]",
);

const USAGE: &str = "\
usage: http_server [-h] [--bind ADDRESS] [--directory DIRECTORY] [--protocol VERSION] [port]

positional arguments:
  port                  bind to this port (default: 8000)

options:
  -h, --help            show this help message and exit
  -b, --bind ADDRESS    bind to this address (default: all interfaces)
  -d, --directory DIRECTORY
                        serve this directory (default: current directory)
  -p, --protocol VERSION
                        conform to this HTTP version (default: HTTP/1.0)";

/// The command line, with Python's defaults.
struct Options {
    bind: String,
    directory: std::path::PathBuf,
    protocol: String,
    port: u16,
}

/// Reads the arguments the way Python's `argparse` setup in `http.server`
/// does: `-b/--bind`, `-d/--directory`, `-p/--protocol` (also written
/// `--bind=ADDR`), and an optional port.
fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        bind: String::new(), // "" means every interface, as in Python's ('', 8000)
        directory: std::env::current_dir().map_err(|e| format!("no current directory: {e}"))?,
        protocol: "HTTP/1.0".to_owned(),
        port: 8000,
    };
    let mut port = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        // Split `--name=value` into the flag and its value.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| inline.clone().or_else(|| args.next()).ok_or(format!("{name} expects a value"));
        match flag.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "-b" | "--bind" => options.bind = value("--bind")?,
            "-d" | "--directory" => options.directory = value("--directory")?.into(),
            "-p" | "--protocol" => options.protocol = value("--protocol")?,
            _ if port.is_none() && !arg.starts_with('-') => {
                port = Some(arg.parse::<u16>().map_err(|_| format!("invalid port: {arg:?}"))?);
            }
            _ => return Err(format!("unrecognized argument: {arg}")),
        }
    }
    options.port = port.unwrap_or(8000);
    Ok(options)
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(o) => o,
        Err(e) => CLI.usage_error(e), // one line, exit status 2 (argparse's)
    };

    // The access log: every request becomes a line on stderr, as in Python
    // (`127.0.0.1 - - [25/Nov/2026 12:00:00] "GET / HTTP/1.1" 200 -`).
    basehttp::log_to_stderr();

    // One handler value knows the folder; the server clones it for each
    // connection (cheap: the folder's path is shared, not copied).
    let handler = SimpleHTTPRequestHandler::new(&options.directory);
    let address = format!("{}:{}", if options.bind.is_empty() { "0.0.0.0" } else { &options.bind }, options.port);
    let mut httpd =
        CLI.listen(address, HTTPServer::new((options.bind.as_str(), options.port), move || handler.clone()));
    // Python: `HandlerClass.protocol_version = args.protocol`. With
    // HTTP/1.1 a client may send several requests on one connection.
    httpd.class_mut().protocol_version = options.protocol;

    // Ctrl-C asks the server to stop: `serve_forever` then lets the requests
    // in flight finish and returns. A second Ctrl-C exits at once. (Without
    // a handler, SIGINT would kill the process mid-response.)
    let stop = httpd.shutdown_handle();
    let interrupted = AtomicBool::new(false);
    let installed = ctrlc::set_handler(move || {
        if interrupted.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        stop.request_shutdown();
    });
    if let Err(e) = installed {
        eprintln!("http_server: Ctrl-C will kill the server abruptly ({e})");
    }

    // The address actually bound: `0.0.0.0` for every interface, the real
    // port when 0 was asked for. IPv6 hosts go in brackets inside a URL.
    let addr = httpd.server_address();
    let host = addr.ip().to_string();
    let url_host = if addr.is_ipv6() { format!("[{host}]") } else { host.clone() };
    println!("Serving HTTP on {host} port {} (http://{url_host}:{}/) ...", addr.port(), addr.port());

    if let Err(e) = httpd.serve_forever() {
        eprintln!("http_server: {e}");
        return ExitCode::FAILURE;
    }
    println!("\nKeyboard interrupt received, exiting.");
    ExitCode::SUCCESS
}
