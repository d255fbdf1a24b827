//! A generated download: a CSV file made row by row while it is sent, never
//! held in memory, so a million rows cost no more memory than ten.
//!
//! ```text
//! cargo run --release --example csv_download
//! curl -o data.csv http://127.0.0.1:8000/data.csv            # 1,000,000 rows (25 MB)
//! curl 'http://127.0.0.1:8000/data.csv?rows=5'               # 5 rows, printed
//! curl -OJ 'http://127.0.0.1:8000/data.csv?rows=100000'      # -J: the file name from Content-Disposition
//! ```
//!
//! Its length is not known when the head is sent, so the body is chunked
//! (`send_chunked`) on HTTP/1.1 and close-delimited on HTTP/1.0.

use std::io::{self, Write};

use basehttp::{http_handler, HTTPServer, Request};

mod cli;

/// The command line: an optional port, `-h` for help (see `cli/mod.rs`).
const CLI: cli::Cli = cli::Cli::new("csv_download", "usage: csv_download [-h] [PORT]");

const DEFAULT_ROWS: u64 = 1_000_000;
const MAX_ROWS: u64 = 10_000_000;

#[derive(Default)]
struct Download;

#[http_handler]
impl Download {
    // Chunked responses need HTTP/1.1 on both sides.
    const PROTOCOL_VERSION: &'static str = "HTTP/1.1";

    fn do_GET(&mut self, req: &mut Request) -> io::Result<()> {
        let (path, query) = req.path.split_once('?').unwrap_or((&req.path, ""));
        if path != "/data.csv" {
            return req.send_error(404);
        }
        let rows = match rows_asked(query) {
            Ok(rows) => rows,
            Err(why) => return req.send_error_explain(400, None, Some(&why)),
        };
        send_csv(req, rows)
    }
}

/// `rows=N` from the query string (other parameters are ignored).
fn rows_asked(query: &str) -> Result<u64, String> {
    let Some(value) = query.split('&').find_map(|pair| pair.strip_prefix("rows=")) else {
        return Ok(DEFAULT_ROWS);
    };
    match value.parse::<u64>() {
        Ok(rows) if rows <= MAX_ROWS => Ok(rows),
        _ => Err(format!("rows must be a number from 0 to {MAX_ROWS}, not {value:?}")),
    }
}

fn send_csv(req: &mut Request, rows: u64) -> io::Result<()> {
    req.send_response(200)?;
    req.send_header("Content-Type", "text/csv; charset=utf-8")?;
    // "Save as data.csv" rather than showing it in the browser.
    req.send_header("Content-Disposition", "attachment; filename=\"data.csv\"")?;
    // No Content-Length: chunked on HTTP/1.1; on HTTP/1.0 (`Unsupported`)
    // the body ends when the connection closes.
    match req.send_chunked() {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::Unsupported => req.close_connection = true,
        Err(e) => return Err(e),
    }
    req.end_headers()?;

    // One small write per row is fine: wfile gathers small writes into
    // chunks of up to 16 KiB and sends them as they fill, so no BufWriter
    // is needed, and memory stays at one chunk however many rows there are.
    // A client that goes away makes a write fail, which ends the loop.
    let mut out = req.wfile();
    out.write_all(b"id,name,value\n")?;
    for id in 1..=rows {
        // Any made-up data will do: here a value from 0.00 to 99.99.
        let cents = id * 7919 % 10_000;
        writeln!(out, "{id},item-{id},{}.{:02}", cents / 100, cents % 100)?;
    }
    // Returning ends the body (the runtime writes the last chunk).
    Ok(())
}

fn main() -> io::Result<()> {
    let port = CLI.port(8000);
    basehttp::log_to_stderr();
    let mut httpd =
        CLI.listen(format_args!("127.0.0.1:{port}"), HTTPServer::new(("127.0.0.1", port), Download::default));
    println!("Serving on http://127.0.0.1:{}/data.csv?rows=N", httpd.server_port());
    httpd.serve_forever()
}
