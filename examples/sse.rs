//! Server-Sent Events: a response that never says how long it is, sent a
//! piece at a time as things happen. `GET /events` sends a numbered event
//! every 100 ms, 20 of them; `GET /` is a page that shows them as they
//! arrive.
//!
//! ```text
//! cargo run --example sse
//! curl -N http://127.0.0.1:8000/events            # -N: print each event as it arrives
//! curl -N --http1.0 http://127.0.0.1:8000/events  # the HTTP/1.0 fallback (close-delimited)
//! # or open http://127.0.0.1:8000/ in a browser
//! ```
//!
//! On HTTP/1.1 the body is chunked (`send_chunked`): every `wfile` write is
//! framed as a chunk, `flush()` pushes what was written so far to the
//! client, and the runtime sends the last chunk when `do_GET` returns, so
//! the connection can carry the next request. An HTTP/1.0 client cannot
//! decode chunks: there the body simply ends when the connection closes.

use std::io::{self, Write};
use std::thread;
use std::time::Duration;

use basehttp::{http_handler, HTTPServer, Request};

mod cli;

/// The command line: an optional port, `-h` for help (see `cli/mod.rs`).
const CLI: cli::Cli = cli::Cli::new("sse", "usage: sse [-h] [PORT]");

/// How many events one stream carries, and the pause between two.
const EVENTS: u32 = 20;
const INTERVAL: Duration = Duration::from_millis(100);

/// The page: `EventSource` opens `/events` and calls `onmessage` for each
/// event. It would reconnect by itself when the stream ends, so the page
/// closes it after the last event.
const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Server-Sent Events</title></head>
<body>
<h1>Server-Sent Events</h1>
<p id="status">connecting…</p>
<ol id="events"></ol>
<script>
const list = document.getElementById('events');
const status = document.getElementById('status');
const source = new EventSource('/events');
source.onopen = () => { status.textContent = 'streaming'; };
source.onmessage = (e) => {
  const item = document.createElement('li');
  item.textContent = e.data + ' (id ' + e.lastEventId + ')';
  list.appendChild(item);
  if (e.lastEventId === '20') {
    source.close(); // the last one: do not reconnect
    status.textContent = 'done';
  }
};
</script>
</body>
</html>
"#;

#[derive(Default)]
struct Events;

#[http_handler]
impl Events {
    // Chunked responses need HTTP/1.1 on both sides.
    const PROTOCOL_VERSION: &'static str = "HTTP/1.1";

    fn do_GET(&mut self, req: &mut Request) -> io::Result<()> {
        match req.path.split('?').next() {
            Some("/") => page(req),
            Some("/events") => events(req),
            _ => req.send_error(404),
        }
    }
}

/// An ordinary response with a `Content-Length`.
fn page(req: &mut Request) -> io::Result<()> {
    req.send_response(200)?;
    req.send_header("Content-Type", "text/html; charset=utf-8")?;
    req.send_header("Content-Length", PAGE.len())?;
    req.end_headers()?;
    req.wfile().write_all(PAGE.as_bytes())
}

/// The event stream (the format: <https://html.spec.whatwg.org/multipage/server-sent-events.html>):
/// `field: value` lines, an empty line ends an event.
fn events(req: &mut Request) -> io::Result<()> {
    // A browser that lost the stream reconnects and says which event it
    // saw last: carry on after it.
    let first = req.headers.get("Last-Event-ID").and_then(|id| id.trim().parse::<u32>().ok()).map_or(1, |id| id + 1);
    if first > EVENTS {
        // 204 No Content tells an EventSource to stop reconnecting.
        req.send_response(204)?;
        return req.end_headers();
    }
    req.send_response(200)?;
    req.send_header("Content-Type", "text/event-stream")?;
    // Proxies and the browser must not cache (or buffer) the stream.
    req.send_header("Cache-Control", "no-cache")?;
    // Between send_response and end_headers: adds `Transfer-Encoding:
    // chunked`. An HTTP/1.0 request gets an `Unsupported` error and nothing
    // is sent; then the body is close-delimited: no Content-Length, and the
    // connection closes after it.
    match req.send_chunked() {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::Unsupported => req.close_connection = true,
        Err(e) => return Err(e),
    }
    req.end_headers()?;

    // This handler sleeps for 2 s: tell the server now, so that the other
    // connections this thread serves move to another thread at once.
    basehttp::will_block();
    let mut out = req.wfile();
    // `retry:` sets how long (ms) a browser waits before it reconnects.
    out.write_all(b"retry: 2000\n\n")?;
    for n in first..=EVENTS {
        if n > first {
            thread::sleep(INTERVAL);
        }
        write!(out, "id: {n}\ndata: event {n}\n\n")?;
        // Small writes wait in a buffer (coalesced into one chunk); flush
        // sends this event to the client now. If the client went away, the
        // write fails and `?` ends the handler.
        out.flush()?;
    }
    // Returning ends the body: the runtime writes the last chunk (`0`).
    Ok(())
}

fn main() -> io::Result<()> {
    let port = CLI.port(8000);
    basehttp::log_to_stderr();
    let mut httpd = CLI.listen(format_args!("127.0.0.1:{port}"), HTTPServer::new(("127.0.0.1", port), Events::default));
    println!("Serving on http://127.0.0.1:{}/ (events at /events)", httpd.server_port());
    httpd.serve_forever()
}
