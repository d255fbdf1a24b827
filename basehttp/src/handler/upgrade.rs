//! Taking the connection: after a `101 Switching Protocols` (WebSocket,
//! h2c) or the `200` of a `CONNECT` tunnel, [`Request::upgrade`] hands the
//! handler the connection as a blocking [`Upgraded`] stream, with the bytes
//! the runtime had already read past the request head.

use std::any::Any;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use crate::handler::io::{Channel, Framing, Io};
use crate::handler::request::Request;
use crate::handler::shutdown::SlotGuard;

/// What is left in a [`Request`] whose connection was taken: no input,
/// and nowhere to write.
struct Detached;

impl Channel for Detached {
    fn read(&mut self, _dst: &mut [u8]) -> io::Result<usize> {
        Ok(0)
    }

    fn write(&mut self, _data: &[u8]) -> io::Result<usize> {
        Err(io::Error::new(io::ErrorKind::BrokenPipe, "the connection was upgraded"))
    }

    fn wait(&self, _writable: bool, _timeout: Option<Duration>) -> io::Result<bool> {
        Ok(true)
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// A connection the handler took with [`Request::upgrade`]: a blocking
/// `Read + Write` byte stream, `Send`, for as long as the handler wants it
/// (on the handler's thread or another one). The runtime forgets it: no
/// head or idle deadline, no keep-alive, no request parsing. It still
/// counts toward `max_connections`, and a server shutdown waits for it
/// during the grace period, then shuts its socket down (reads see the end
/// of input, writes fail).
///
/// Reads first return the bytes the client sent after the request head
/// (pipelined with it), then wait for more; no timeout unless
/// [`set_read_timeout`](Self::set_read_timeout). Writes are buffered (up
/// to 64 KiB) until [`flush`](Write::flush) or the next read that has to
/// wait. Dropping it flushes and sends FIN.
pub struct Upgraded {
    io: Io,
    peer: SocketAddr,
    _slot: SlotGuard,
}

impl Upgraded {
    /// The client's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// The longest a read waits for bytes (`None`: forever, the default);
    /// past it the read fails with `TimedOut`.
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) {
        self.io.per_read = timeout;
    }

    /// The longest a write waits for the client to accept bytes (`None`:
    /// forever, the default); past it the write fails with `TimedOut`.
    pub fn set_write_timeout(&mut self, timeout: Option<Duration>) {
        self.io.write_timeout = timeout;
    }
}

impl Read for Upgraded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let buffered = self.io.buffered();
        if !buffered.is_empty() {
            let n = buffered.len().min(buf.len());
            buf[..n].copy_from_slice(&buffered[..n]);
            self.io.consume(n);
            return Ok(n);
        }
        // Never wait for the client with our own bytes still queued.
        self.io.flush()?;
        self.io.timed_out = false;
        self.io.read_socket(buf)
    }
}

impl Write for Upgraded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.io.write_out(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.io.flush()
    }
}

impl Drop for Upgraded {
    fn drop(&mut self) {
        let _ = self.io.flush();
        self.io.stream.shutdown_write();
    }
}

impl std::fmt::Debug for Upgraded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upgraded").field("peer", &self.peer).finish_non_exhaustive()
    }
}

impl Request {
    /// Takes the connection from the runtime, after the response head of a
    /// `101 Switching Protocols` (or the `200` answering a `CONNECT`) was
    /// sent with [`end_headers`](Self::end_headers). The returned stream
    /// starts with any bytes the client sent after this request's head.
    /// Once the `do_*` method returns, the runtime closes nothing and reads
    /// nothing more of this connection: it belongs to the [`Upgraded`]
    /// value (dropping it closes the connection).
    ///
    /// An `InvalidInput` error, the connection unchanged, if no response
    /// head was sent yet, if one is still being built, or if the body is
    /// chunked.
    ///
    /// ```no_run
    /// use basehttp::{http_handler, Request};
    /// use std::io::{Read, Write};
    ///
    /// #[derive(Default)]
    /// struct Echo;
    ///
    /// #[http_handler]
    /// impl Echo {
    ///     fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
    ///         req.send_response(101)?;
    ///         req.send_header("Upgrade", "echo")?;
    ///         req.send_header("Connection", "Upgrade")?;
    ///         req.end_headers()?;
    ///         let mut conn = req.upgrade()?;
    ///         let mut buf = [0; 4096];
    ///         loop {
    ///             let n = conn.read(&mut buf)?;
    ///             if n == 0 {
    ///                 return Ok(());
    ///             }
    ///             conn.write_all(&buf[..n])?;
    ///             conn.flush()?;
    ///         }
    ///     }
    /// }
    /// ```
    pub fn upgrade(&mut self) -> io::Result<Upgraded> {
        if self.upgraded {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "the connection was already taken"));
        }
        if self.status == 0 || !self.head.is_empty() || self.is_http09() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "send the response head (send_response(101), headers, end_headers) before taking the connection",
            ));
        }
        if self.io.framing != Framing::Raw {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "a chunked response cannot be upgraded"));
        }
        self.io.flush()?;
        let channel = std::mem::replace(&mut self.io.stream, Box::new(Detached));
        let mut io = Io::new(channel);
        io.write_timeout = None;
        let early = self.io.buffered();
        if io.buf.len() < early.len() {
            io.buf.resize(early.len(), 0);
        }
        io.buf[..early.len()].copy_from_slice(early);
        io.end = early.len();
        io.eof = self.io.eof;
        let consumed = early.len();
        self.io.consume(consumed);
        self.io.eof = true;
        // The connection's registration (max_connections, shutdown) moves
        // to the `Upgraded` and lasts as long as it does.
        let slot = self.slot.take();
        self.upgraded = true;
        self.close_connection = true;
        Ok(Upgraded { io, peer: self.client_address, _slot: slot })
    }
}
