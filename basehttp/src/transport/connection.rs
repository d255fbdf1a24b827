//! A connection under the server: opened from an accepted socket, driven
//! request by request as the poller reports it readable (never waiting
//! for a request head on a thread), parked between requests, expired at
//! its deadline.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::handler::base::BaseHTTPRequestHandler;
use crate::handler::io::Channel;
use crate::handler::io::Io;
use crate::handler::logging::LOG_TARGET;
use crate::handler::one_request::{finish, request_timed_out};
use crate::handler::request::{Request, Shared};
use crate::protocol::profile::Profile;
use crate::protocol::request_line::{is_py_space, MAX_LINE};
use crate::protocol::swar::find_byte;
use crate::transport::channel::TcpChannel;
#[cfg(feature = "tls")]
use crate::transport::tls::{TlsChannel, TlsConfig};

/// How the server turns an accepted socket into a [`Channel`]: as it is,
/// or under TLS (feature `tls`).
#[derive(Clone, Default)]
pub(crate) struct Wrap {
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<TlsConfig>,
}

impl Wrap {
    pub(crate) fn channel(&self, stream: Arc<TcpStream>) -> io::Result<Box<dyn Channel>> {
        #[cfg(feature = "tls")]
        if let Some(config) = &self.tls {
            return Ok(Box::new(TlsChannel::new(stream, config)?));
        }
        Ok(Box::new(TcpChannel(stream)))
    }
}

/// What a connection needs after [`drive`] returns.
pub(crate) enum Next {
    /// Wait in the poller for more bytes.
    Park,
    /// It is closed.
    Close,
}

/// Builds the per-connection state of a freshly accepted socket: the
/// handler value (Python instantiates the handler class per connection)
/// and the `Request`, and the socket, which the poller watches. `None` if
/// the factory panicked (the socket closes).
pub(crate) fn open<H: BaseHTTPRequestHandler>(
    stream: TcpStream,
    peer: SocketAddr,
    shared: &Arc<Shared>,
    factory: &(dyn Fn() -> H + Send + Sync),
    wrap: &Wrap,
) -> Option<(H, Request, Arc<TcpStream>)> {
    let _ = stream.set_nodelay(true);
    stream.set_nonblocking(true).ok()?;
    let stream = Arc::new(stream);
    let guard = shared.control.register(Some(stream.clone()));
    let Ok(handler) = catch_unwind(AssertUnwindSafe(factory)) else {
        log::error!(target: LOG_TARGET, "the handler factory panicked; closing the connection from {peer}");
        return None;
    };
    let channel = match wrap.channel(stream.clone()) {
        Ok(channel) => channel,
        Err(e) => {
            log::error!(target: LOG_TARGET, "cannot set up the connection from {peer}: {e}");
            return None;
        }
    };
    let mut io = Io::new(channel);
    io.write_timeout = shared.config.write_timeout;
    Some((handler, Request::new(io, peer, shared.clone(), guard), stream))
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
        let strict = req.class().profile == Profile::Rfc9112;
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
    // A TLS handshake under way counts as a request head begun: a client
    // that trickles its ClientHello is closed at the head deadline too.
    if (!req.io.buffered().is_empty() || req.io.stream.handshaking()) && req.head_started.is_none() {
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
    let words = first.split(|&b| is_py_space(b)).filter(|w| !w.is_empty()).take(4).count();
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
