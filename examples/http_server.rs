//! `python -m http.server`, in Rust: serves the files of a folder over HTTP.
//!
//! ```text
//! cargo run --release --example http_server -- [--cgi] [--bind ADDR] [--directory DIR] [--protocol HTTP/1.1] [PORT]
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
//!
//! With `--cgi`, as `python -m http.server --cgi`, the executable scripts
//! under `cgi-bin/` and `htbin/` run as CGI scripts (examples/README.md has
//! a shell and a Python one):
//!
//! ```text
//! cargo run --release --example http_server -- --cgi --protocol HTTP/1.1
//! curl -i http://127.0.0.1:8000/cgi-bin/hello.sh/some/path?x=1
//! ```
//!
//! HTTPS, as Python 3.14's `--tls-cert` (build with `--features tls`):
//!
//! ```text
//! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
//!     -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout key.pem -out cert.pem
//! cargo run --release --features tls --example http_server -- --tls-cert cert.pem --tls-key key.pem 8443
//! curl --cacert cert.pem https://localhost:8443/
//! ```

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use basehttp::{BaseHTTPRequestHandler, CGIHTTPRequestHandler, HTTPServer, SimpleHTTPRequestHandler};

mod cli;

/// One-line errors and exit statuses (see `cli/mod.rs`); the options are
/// parsed below, as Python's `http.server` defines them.
const CLI: cli::Cli = cli::Cli::new(
    "http_server",
    "usage: http_server [-h] [--cgi] [--bind ADDRESS] [--directory DIRECTORY] [--protocol VERSION] \
     [--tls-cert PATH] [--tls-key PATH] [--tls-password-file PATH] [--reuse-port] \
     [--forwarded-allow-ips LIST] [port]",
);

const USAGE: &str = "\
usage: http_server [-h] [--cgi] [--bind ADDRESS] [--directory DIRECTORY] [--protocol VERSION]
                   [--tls-cert PATH] [--tls-key PATH] [--tls-password-file PATH]
                   [--reuse-port] [--forwarded-allow-ips LIST] [port]

positional arguments:
  port                  bind to this port (default: 8000)

options:
  -h, --help            show this help message and exit
  --cgi                 run as CGI server: executable files under /cgi-bin and
                        /htbin run as CGI scripts
  -b, --bind ADDRESS    bind to this address (default: all interfaces)
  -d, --directory DIRECTORY
                        serve this directory (default: current directory)
  -p, --protocol VERSION
                        conform to this HTTP version (default: HTTP/1.0)
  --tls-cert PATH       path to the TLS certificate chain file (PEM); serves HTTPS
  --tls-key PATH        path to the TLS private key file (default: in the certificate file)
  --tls-password-file PATH
                        path to the password of an encrypted private key
  --reuse-port          listen with SO_REUSEPORT: several processes share the port
  --forwarded-allow-ips LIST
                        trusted proxies, comma-separated addresses or networks
                        (127.0.0.1,10.0.0.0/8; * for any): their Forwarded or
                        X-Forwarded-For names the client in the log";

/// The command line, with Python's defaults.
struct Options {
    /// `--cgi`: `CGIHTTPRequestHandler` instead of `SimpleHTTPRequestHandler`.
    cgi: bool,
    bind: String,
    directory: std::path::PathBuf,
    protocol: String,
    port: u16,
    /// `--tls-cert`, `--tls-key`, `--tls-password-file` (Python 3.14).
    tls_cert: Option<std::path::PathBuf>,
    tls_key: Option<std::path::PathBuf>,
    tls_password_file: Option<std::path::PathBuf>,
    /// `--reuse-port`, `--forwarded-allow-ips` (gunicorn's and uvicorn's).
    reuse_port: bool,
    forwarded_allow_ips: Vec<basehttp::IpNet>,
}

/// Reads the arguments the way Python's `argparse` setup in `http.server`
/// does: `-b/--bind`, `-d/--directory`, `-p/--protocol` (also written
/// `--bind=ADDR`), and an optional port.
fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        cgi: false,
        bind: String::new(), // "" means every interface, as in Python's ('', 8000)
        directory: std::env::current_dir().map_err(|e| format!("no current directory: {e}"))?,
        protocol: "HTTP/1.0".to_owned(),
        port: 8000,
        tls_cert: None,
        tls_key: None,
        tls_password_file: None,
        reuse_port: false,
        forwarded_allow_ips: Vec::new(),
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
            "--cgi" => options.cgi = true,
            "-b" | "--bind" => options.bind = value("--bind")?,
            "-d" | "--directory" => options.directory = value("--directory")?.into(),
            "-p" | "--protocol" => options.protocol = value("--protocol")?,
            "--tls-cert" => options.tls_cert = Some(value("--tls-cert")?.into()),
            "--tls-key" => options.tls_key = Some(value("--tls-key")?.into()),
            "--tls-password-file" => options.tls_password_file = Some(value("--tls-password-file")?.into()),
            "--reuse-port" => options.reuse_port = true,
            "--forwarded-allow-ips" => {
                for net in value("--forwarded-allow-ips")?.split(',').filter(|n| !n.trim().is_empty()) {
                    options.forwarded_allow_ips.push(net.parse()?);
                }
            }
            _ if port.is_none() && !arg.starts_with('-') => {
                port = Some(arg.parse::<u16>().map_err(|_| format!("invalid port: {arg:?}"))?);
            }
            _ => return Err(format!("unrecognized argument: {arg}")),
        }
    }
    options.port = port.unwrap_or(8000);
    if options.tls_cert.is_none() && (options.tls_key.is_some() || options.tls_password_file.is_some()) {
        return Err("--tls-key and --tls-password-file require --tls-cert".to_owned());
    }
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
    if options.cgi {
        serve(CGIHTTPRequestHandler::new(&options.directory), options)
    } else {
        serve(SimpleHTTPRequestHandler::new(&options.directory), options)
    }
}

/// Serves with `handler` (the file server, or the CGI one) until Ctrl-C.
fn serve<H: BaseHTTPRequestHandler + Clone + Send + Sync + 'static>(handler: H, options: Options) -> ExitCode {
    let address = format!("{}:{}", if options.bind.is_empty() { "0.0.0.0" } else { &options.bind }, options.port);
    let config = basehttp::ServerConfig {
        reuse_port: options.reuse_port,
        forwarded_allow_ips: options.forwarded_allow_ips.clone(),
        ..Default::default()
    };
    let bound = HTTPServer::with_config((options.bind.as_str(), options.port), move || handler.clone(), config);
    let mut httpd = CLI.listen(address, bound);
    // HTTPS: the certificate and key, as Python 3.14's `--tls-cert`.
    let https = options.tls_cert.is_some();
    if let Some(cert) = &options.tls_cert {
        if let Err(e) = use_tls(&mut httpd, cert, &options) {
            eprintln!("http_server: error: {e}");
            return ExitCode::FAILURE;
        }
    }
    // Python: `HandlerClass.protocol_version = args.protocol`. With
    // HTTP/1.1 a client may send several requests on one connection.
    httpd.class_mut().protocol_version = options.protocol;

    // Ctrl-C, or SIGTERM (what `kill` and service managers send; ctrlc's
    // `termination` feature), asks the server to stop: `serve_forever`
    // stops accepting, closes idle keep-alive connections, lets the requests
    // in flight finish and returns. A second signal exits at once. (Without
    // a handler, the signal would kill the process mid-response.)
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
    let (name, scheme) = if https { ("HTTPS", "https") } else { ("HTTP", "http") };
    println!("Serving {name} on {host} port {} ({scheme}://{url_host}:{}/) ...", addr.port(), addr.port());

    if let Err(e) = httpd.serve_forever() {
        eprintln!("http_server: {e}");
        return ExitCode::FAILURE;
    }
    println!("\nKeyboard interrupt received, exiting.");
    ExitCode::SUCCESS
}

/// Serves HTTPS with the certificate chain `cert` and the key
/// (`--tls-key`, or the certificate file itself, as in Python).
#[cfg(feature = "tls")]
fn use_tls<H: BaseHTTPRequestHandler>(
    httpd: &mut HTTPServer<H>,
    cert: &std::path::Path,
    options: &Options,
) -> Result<(), String> {
    let key = options.tls_key.as_deref().unwrap_or(cert);
    // rustls reads only unencrypted keys: with a password file, an
    // encrypted key is refused with the command that decrypts it.
    let tls = basehttp::TlsConfig::from_pem_files(cert, key).map_err(|e| e.to_string())?;
    httpd.set_tls(tls);
    Ok(())
}

/// Without the `tls` feature there is no HTTPS: say how to get it.
#[cfg(not(feature = "tls"))]
fn use_tls<H: BaseHTTPRequestHandler>(_: &mut HTTPServer<H>, _: &std::path::Path, _: &Options) -> Result<(), String> {
    Err("this build has no TLS support: build with `--features tls` (cargo run --features tls --example http_server -- ...)".into())
}
