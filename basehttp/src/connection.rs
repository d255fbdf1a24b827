//! The per-connection loop: `handle` and `handle_one_request` (B4, B8-B10,
//! B45, B49, B50), with the port's rules around the `do_*` call: timeouts,
//! DEV-4 (never parse an unread body as a request) and DEV-5 (a failing
//! handler answers 500).

use std::any::Any;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::handler::BaseHTTPRequestHandler;
use crate::io::{find_byte, Io};
use crate::request::{Request, MAX_LINE};
use crate::server::Shared;

/// What a connection needs after [`drive`] returns.
pub(crate) enum Next {
    /// Wait in the poller for more bytes.
    Park,
    /// It is closed.
    Close,
}

/// Builds the per-connection state of a freshly accepted socket: the
/// handler value (Python instantiates the handler class per connection)
/// and the `Request`. `None` if the factory panicked (the socket closes).
pub(crate) fn open<H: BaseHTTPRequestHandler>(
    stream: TcpStream,
    peer: SocketAddr,
    shared: &Arc<Shared>,
    factory: &(dyn Fn() -> H + Send + Sync),
) -> Option<(H, Request)> {
    let _ = stream.set_nodelay(true);
    stream.set_nonblocking(true).ok()?;
    let stream = Arc::new(stream);
    let guard = shared.control.register(Some(stream.clone()));
    let Ok(handler) = catch_unwind(AssertUnwindSafe(factory)) else {
        log::error!(target: crate::logging::LOG_TARGET, "the handler factory panicked; closing the connection from {peer}");
        return None;
    };
    let mut io = Io::new(crate::io::Stream::Tcp(stream));
    io.write_timeout = shared.config.write_timeout;
    Some((handler, Request::new(io, peer, shared.clone(), guard)))
}

/// Serves the requests of a connection that the poller reported readable:
/// every request whose head is complete in the buffer (pipelining
/// included), reading until the socket is empty, then parks it again,
/// without ever waiting for a request head on this thread. After a
/// `hangup` event it reads until `EAGAIN` or the end of input, since a
/// short read then does not mean that nothing is left to see.
pub(crate) fn drive<H: BaseHTTPRequestHandler>(handler: &mut H, req: &mut Request, hangup: bool) -> Next {
    req.io.acquire_buffers();
    // The event says new bytes arrived.
    req.io.maybe_more = true;
    loop {
        let strict = req.class().profile == crate::Profile::Rfc9112;
        if !req.io.eof && !head_ready(req.io.buffered(), strict) {
            if !req.io.maybe_more && !hangup {
                return park(req);
            }
            match req.io.try_fill() {
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return park(req),
                Err(_) => {
                    req.io.close(false);
                    return Next::Close;
                }
            }
        }
        handler.handle_one_request(req);
        if req.close_connection || req.shared.control.is_shutting_down() {
            finish(req);
            return Next::Close;
        }
        if req.io.buffered().is_empty() && !req.io.maybe_more && !hangup {
            // The response is flushed (B50); wait for the next request.
            return Next::Park;
        }
    }
}

/// Waits in the poller for the rest of a request head (or the next one),
/// after sending the responses queued behind pipelined requests.
fn park(req: &mut Request) -> Next {
    if req.io.flush().is_err() {
        req.io.close(false);
        return Next::Close;
    }
    if !req.io.buffered().is_empty() && req.head_started.is_none() {
        req.head_started = Some(Instant::now());
    }
    Next::Park
}

/// Whether `buf` holds a whole request head (or enough to answer it: a
/// blank first line, B14; more than a line's limit), so that parsing it
/// cannot wait for the client. A head ends with an empty line (`\n\r\n`
/// or `\n\n`, B30).
fn head_ready(buf: &[u8], strict: bool) -> bool {
    if buf.len() > MAX_LINE {
        return true;
    }
    // The common case, one or more whole heads: the buffer ends with an
    // empty line, so the first head is complete (unless the strict profile
    // is skipping blank lines at the start).
    if (buf.ends_with(b"\n\r\n") || buf.ends_with(b"\n\n")) && !(strict && matches!(buf[0], b'\r' | b'\n')) {
        return true;
    }
    let Some(first_end) = find_byte(buf, b'\n') else { return false };
    let first = &buf[..first_end];
    let words = first.split(|&b| crate::request::is_py_space(b)).filter(|w| !w.is_empty()).take(4).count();
    // A blank line (B14) is answered at once; so is, in the strict profile,
    // a line that cannot be a request line (it is refused before any
    // header is read). Strict skips blank lines first.
    if (words == 0 && !strict) || (strict && words != 0 && words != 3) {
        return true;
    }
    if strict && words == 0 {
        return head_ready(&buf[first_end + 1..], strict);
    }
    // The head ends at the first empty line: LF followed by LF or CRLF.
    let mut at = first_end + 1;
    while let Some(i) = find_byte(&buf[at..], b'\n') {
        let line = &buf[at..at + i];
        if line.is_empty() || line == b"\r" {
            return true;
        }
        at += i + 1;
    }
    false
}

/// A parked connection whose deadline passed: 408 if a request head was
/// incomplete (logged), else a silent close.
pub(crate) fn expire(req: &mut Request) {
    if !req.io.buffered().is_empty() {
        req.begin();
        req.io.write_timeout = Some(Duration::from_millis(100));
        request_timed_out(req);
    }
    req.io.close(false);
}

fn finish(req: &mut Request) {
    let linger = req.errored || !req.io.body.complete() || !req.io.buffered().is_empty();
    req.io.close(linger);
}

/// The default `handle()` (Python's `super().handle()`): one request after
/// another until `close_connection` (B4), then the close. Call it from an
/// override of [`BaseHTTPRequestHandler::handle`].
pub fn handle<H: BaseHTTPRequestHandler>(handler: &mut H, req: &mut Request) {
    req.close_connection = true;
    loop {
        handler.handle_one_request(req);
        if req.close_connection || req.shared.control.is_shutting_down() {
            break;
        }
    }
    finish(req);
}

/// The default `handle_one_request()` (Python's
/// `super().handle_one_request()`): read, parse, dispatch, then decide
/// whether the connection can carry another request. Call it from an
/// override of [`BaseHTTPRequestHandler::handle_one_request`].
///
/// ```
/// use basehttp::{BaseHTTPRequestHandler, HandlerResult, Request};
/// struct Timed;
/// impl BaseHTTPRequestHandler for Timed {
///     fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
///         Ok(req.send_error(404)?)
///     }
///     fn handle_one_request(&mut self, req: &mut Request) {
///         let start = std::time::Instant::now();
///         basehttp::handle_one_request(self, req);
///         let _took = start.elapsed();
///     }
/// }
/// let out = basehttp::serve_bytes(&mut Timed, b"GET / HTTP/1.0\r\n\r\n");
/// assert!(out.starts_with(b"HTTP/1.0 404 Not Found\r\n"));
/// ```
pub fn handle_one_request<H: BaseHTTPRequestHandler>(handler: &mut H, req: &mut Request) {
    req.begin();
    if let Err(e) = read_and_parse(req) {
        req.close_connection = true;
        if e.kind() == io::ErrorKind::TimedOut && req.io.timed_out {
            request_timed_out(req);
        }
        return;
    }
    if req.command.is_empty() {
        return;
    }
    dispatch(handler, req);
}

/// Reads the request line and head. On return with `Ok`, `req.command` is
/// set only if the request is to be dispatched.
fn read_and_parse(req: &mut Request) -> io::Result<()> {
    let config = &req.shared.config;
    // Waiting for the first byte: the idle (keep-alive) timeout, or the head
    // deadline for a connection's first request.
    if req.io.buffered().is_empty() {
        let idle = if req.requests > 1 { config.keep_alive_timeout } else { config.header_timeout };
        req.set_head_deadline(Some(Instant::now() + idle));
        let got = if req.shared.control.set_idle(&req.slot.slot, true) { req.io.fill(1) } else { Ok(0) };
        req.shared.control.set_idle(&req.slot.slot, false);
        match got {
            Ok(0) => {
                req.close_connection = true; // B10
                return Ok(());
            }
            Ok(_) => {}
            Err(e) => {
                req.close_connection = true;
                // An idle connection that expires is closed silently.
                return if e.kind() == io::ErrorKind::TimedOut { Ok(()) } else { Err(e) };
            }
        }
    }
    req.set_head_deadline(None);
    req.io.deadline_after = Some(req.shared.config.header_timeout);
    if !req.read_request_line()? {
        req.command.clear();
        return Ok(());
    }
    if !req.parse_request()? {
        req.command.clear();
        return Ok(());
    }
    Ok(())
}

/// A request head that did not arrive in time: 408 and close (logged).
fn request_timed_out(req: &mut Request) {
    if req.requestline.is_empty() {
        // As for 414 (B9): no request line, so answer with a status line.
        req.request_version.clear();
        req.command.clear();
    }
    req.head.clear();
    req.io.timed_out = false;
    req.io.deadline = Some(Instant::now() + Duration::from_secs(1));
    let _ = req.send_error(408);
}

/// Calls the `do_*` method (through `dispatch`) and applies DEV-4/DEV-5.
fn dispatch<H: BaseHTTPRequestHandler>(handler: &mut H, req: &mut Request) {
    req.io.deadline = None;
    req.io.deadline_after = None;
    req.io.per_read = req.shared.class.timeout.or(req.shared.config.read_timeout);
    req.io.sent = false;
    let outcome = catch_unwind(AssertUnwindSafe(|| handler.dispatch(req)));
    let mut client_gone = false;
    let failure = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(e)) => {
            client_gone = e.downcast_ref::<io::Error>().is_some_and(|e| {
                matches!(
                    e.kind(),
                    io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                )
            });
            Some(e.to_string())
        }
        Err(panic) => Some(panic_message(&*panic)),
    };
    if let Some(why) = failure {
        req.close_connection = true;
        if req.io.timed_out {
            // B7: a timed-out read ends the connection without a response.
            req.log_error(format_args!("Request timed out: TimeoutError('timed out')"));
            return;
        }
        if !req.io.sent {
            // DEV-5: nothing was sent, so the client gets a real answer: 400
            // if the handler failed on a malformed or truncated body, 500
            // otherwise.
            req.head.clear();
            let code = if req.io.body.error.is_some() { 400 } else { 500 };
            let _ = req.send_error(code);
        }
        // A client that hung up is routine; anything else is a handler error.
        let level = if client_gone { log::Level::Debug } else { log::Level::Error };
        log::log!(target: crate::logging::LOG_TARGET, level, "error while handling a request from {}: {}", req.client_address, why);
        return;
    }
    // DEV-4: an unread or ambiguously framed body is never parsed as the
    // next request.
    if !req.close_connection && (req.ambiguous_framing || !req.io.body.complete()) {
        req.close_connection = true;
    }
    // B50: flush after the method, unless more pipelined requests are already
    // buffered (their responses then share the write).
    if (req.close_connection || req.io.buffered().is_empty()) && req.io.flush().is_err() {
        req.close_connection = true;
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        format!("panic: {s}")
    } else if let Some(s) = panic.downcast_ref::<String>() {
        format!("panic: {s}")
    } else {
        "panic".to_owned()
    }
}
