//! A WebSocket echo server: the handshake is an ordinary `GET` answered in
//! `do_GET` with `101 Switching Protocols`; then `req.upgrade()` hands over
//! the connection, and the `tungstenite` crate speaks WebSocket on it.
//!
//! ```text
//! cargo run --example websocket_echo
//! # open http://127.0.0.1:8000/ in a browser: it sends "hello" and shows the echo
//! ```
//!
//! The server echoes every text and binary message. The handler owns the
//! connection for as long as the client stays (its thread is blocked in
//! reads meanwhile: the server moves its other connections to another
//! thread by itself).

use std::io::{self, Write};

use basehttp::{http_handler, HTTPServer, HandlerResult, Request};
use tungstenite::handshake::derive_accept_key;
use tungstenite::protocol::Role;
use tungstenite::{Message, WebSocket};

mod cli;

/// The command line: an optional port, `-h` for help (see `cli/mod.rs`).
const CLI: cli::Cli = cli::Cli::new("websocket_echo", "usage: websocket_echo [-h] [PORT]");

/// The page: connects to `/ws`, sends "hello" once open, and prints each
/// message that comes back; a text box sends more.
const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>WebSocket echo</title></head>
<body>
<h1>WebSocket echo</h1>
<form id="form"><input id="text" value="ping?" autocomplete="off"> <button>Send</button></form>
<pre id="log"></pre>
<script>
const log = (line) => { document.getElementById('log').textContent += line + '\n'; };
const ws = new WebSocket('ws://' + location.host + '/ws');
ws.onopen = () => { log('open'); ws.send('hello'); };
ws.onmessage = (e) => log('echo: ' + e.data);
ws.onclose = (e) => log('closed (' + e.code + ')');
document.getElementById('form').onsubmit = (e) => {
  e.preventDefault();
  ws.send(document.getElementById('text').value);
};
</script>
</body>
</html>
"#;

#[derive(Default)]
struct Echo;

#[http_handler]
impl Echo {
    // A `101` answers an HTTP/1.1 request with an HTTP/1.1 status line.
    const PROTOCOL_VERSION: &'static str = "HTTP/1.1";

    fn do_GET(&mut self, req: &mut Request) -> HandlerResult {
        match req.path.split('?').next() {
            Some("/") => Ok(page(req)?),
            Some("/ws") => echo(req),
            _ => Ok(req.send_error(404)?),
        }
    }
}

fn page(req: &mut Request) -> io::Result<()> {
    req.send_response(200)?;
    req.send_header("Content-Type", "text/html; charset=utf-8")?;
    req.send_header("Content-Length", PAGE.len())?;
    req.end_headers()?;
    req.wfile().write_all(PAGE.as_bytes())
}

/// Whether a header (all its fields) lists `token`, ignoring case:
/// `Connection: keep-alive, Upgrade` lists `upgrade`.
fn lists(req: &Request, name: &str, token: &str) -> bool {
    req.headers.get_all(name).flat_map(|v| v.split(',')).any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// The opening handshake's checks (RFC 6455, section 4.2.1): the
/// client's `Sec-WebSocket-Key`, or what is wrong.
fn websocket_key(req: &Request) -> Result<String, &'static str> {
    if req.request_version != "HTTP/1.1" {
        return Err("A WebSocket handshake is an HTTP/1.1 request");
    }
    if !lists(req, "Upgrade", "websocket") {
        return Err("Expected the header Upgrade: websocket");
    }
    if !lists(req, "Connection", "upgrade") {
        return Err("Expected the header Connection: Upgrade");
    }
    if req.headers.get("Sec-WebSocket-Version").map(str::trim) != Some("13") {
        return Err("Only Sec-WebSocket-Version: 13 is spoken here");
    }
    match req.headers.get("Sec-WebSocket-Key") {
        Some(key) if !key.trim().is_empty() => Ok(key.trim().to_owned()),
        _ => Err("Expected a Sec-WebSocket-Key header"),
    }
}

fn echo(req: &mut Request) -> HandlerResult {
    let key = match websocket_key(req) {
        Ok(key) => key,
        // An ordinary HTTP error page; the connection stays HTTP.
        Err(why) => return Ok(req.send_error_explain(400, None, Some(why))?),
    };
    // 101 Switching Protocols: after this head the bytes are WebSocket
    // frames. The accept value proves we read the client's key (base64 of
    // SHA-1 of the key and a fixed GUID).
    req.send_response(101)?;
    req.send_header("Upgrade", "websocket")?;
    req.send_header("Connection", "Upgrade")?;
    req.send_header("Sec-WebSocket-Accept", derive_accept_key(key.as_bytes()))?;
    req.end_headers()?;
    // Take the connection from the runtime: a blocking Read + Write stream
    // (`basehttp::Upgraded`) that starts with any bytes the client already
    // sent after its request. The runtime reads no more requests from it;
    // dropping it closes the connection.
    let conn = req.upgrade()?;

    // tungstenite takes any Read + Write stream whose handshake is done.
    let mut ws = WebSocket::from_raw_socket(conn, Role::Server, None);
    loop {
        match ws.read() {
            // `send` writes and flushes the frame.
            Ok(msg @ (Message::Text(_) | Message::Binary(_))) => ws.send(msg)?,
            // A ping is answered by tungstenite itself (the pong goes out
            // on the next read); a close is answered the same way, and the
            // next read then ends with ConnectionClosed.
            Ok(_) => {}
            Err(tungstenite::Error::ConnectionClosed) => return Ok(()),
            // The client vanished without a close frame: nothing to answer.
            Err(tungstenite::Error::Protocol(tungstenite::error::ProtocolError::ResetWithoutClosingHandshake)) => {
                return Ok(())
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn main() -> io::Result<()> {
    let port = CLI.port(8000);
    basehttp::log_to_stderr();
    let mut httpd = CLI.listen(format_args!("127.0.0.1:{port}"), HTTPServer::new(("127.0.0.1", port), Echo::default));
    println!("Serving on http://127.0.0.1:{}/ (WebSocket echo at /ws)", httpd.server_port());
    httpd.serve_forever()
}
