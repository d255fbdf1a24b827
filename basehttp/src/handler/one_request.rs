//! One request on a connection, the way CPython's `handle_one_request`
//! does it (B8-B10, B45, B49, B50), with the port's rules around the
//! `do_*` call: timeouts, DEV-4 (never parse an unread body as a request)
//! and DEV-5 (a failing handler answers 500). The generic entry points are
//! in `base.rs`; the transport calls [`finish`] and [`request_timed_out`].

use std::any::Any;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crate::handler::io::Framing;
use crate::handler::logging::LOG_TARGET;
use crate::handler::request::Request;
use crate::handler::result::HandlerResult;

/// Reads, parses and dispatches one request; `call` runs the `do_*`
/// method (the handler's `dispatch`).
pub(crate) fn handle_one(req: &mut Request, call: impl FnOnce(&mut Request) -> HandlerResult) {
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
    req.apply_forwarded();
    dispatch(req, call);
}

/// Ends the connection after its last response; drains what the client
/// may still be sending when the response was an error or the body was
/// left unread, so the response is not lost to a reset.
pub(crate) fn finish(req: &mut Request) {
    let linger = req.errored || !req.io.body.complete() || !req.io.buffered().is_empty();
    req.io.close(linger);
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
pub(crate) fn request_timed_out(req: &mut Request) {
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
fn dispatch(req: &mut Request, call: impl FnOnce(&mut Request) -> HandlerResult) {
    req.io.deadline = None;
    req.io.deadline_after = None;
    req.io.per_read = req.shared.class.timeout.or(req.shared.config.read_timeout);
    req.io.sent = false;
    let outcome = catch_unwind(AssertUnwindSafe(|| call(req)));
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
        log::log!(target: LOG_TARGET, level, "error while handling a request from {}: {}", req.client_address, why);
        return;
    }
    if req.upgraded {
        // The handler took the connection: nothing more goes through here.
        req.close_connection = true;
        return;
    }
    // A chunked body ends with its last chunk (and trailers).
    if req.io.framing == Framing::Chunked && req.finish_chunked().is_err() {
        req.close_connection = true;
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
