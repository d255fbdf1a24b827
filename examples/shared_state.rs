//! State shared by every connection: a hit counter behind an `Arc`. Each
//! connection gets a fresh handler from the factory; the factory clones the
//! `Arc` into it. (`HTTPServer::set_state` + `req.server().state::<T>()` is
//! the other way, shown for the total.)
//!
//! ```text
//! cargo run --example shared_state
//! curl http://127.0.0.1:8000/ ; curl http://127.0.0.1:8000/    # hit 1, hit 2
//! ```

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use basehttp::{http_handler, HTTPServer, Request};

mod cli;

/// The command line: an optional port, `-h` for help (see `cli/mod.rs`).
const CLI: cli::Cli = cli::Cli::new("shared_state", "usage: shared_state [-h] [PORT]");

struct Counter {
    hits: Arc<AtomicU64>,
}

#[http_handler]
impl Counter {
    fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
        let hit = self.hits.fetch_add(1, Ordering::SeqCst) + 1;
        let started = req.server().state::<Instant>().map_or(0, |t| t.elapsed().as_secs());
        let body = format!("hit {hit} (server up {started} s)\n");
        req.send_response(200)?;
        req.send_header("Content-Length", body.len())?;
        req.end_headers()?;
        req.wfile().write_all(body.as_bytes())
    }
}

fn main() -> std::io::Result<()> {
    let port = CLI.port(8000);
    basehttp::log_to_stderr();
    let hits = Arc::new(AtomicU64::new(0));
    let mut httpd = CLI.listen(
        format_args!("127.0.0.1:{port}"),
        HTTPServer::new(("127.0.0.1", port), move || Counter { hits: hits.clone() }),
    );
    httpd.set_state(Instant::now());
    println!("Serving on http://127.0.0.1:{}/ (a shared hit counter)", httpd.server_port());
    httpd.serve_forever()
}
