//! The connection's buffered I/O: one read buffer (read-ahead for pipelined
//! requests, CPython's buffered `rfile`, B3) and one write buffer (the
//! response goes out in as few `write` calls as possible). Pending output is
//! always flushed before the connection blocks on a read, so a client never
//! waits for bytes the server already produced.

use std::any::Any;
use std::cell::RefCell;
use std::io;
use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use crate::protocol::swar::find_byte;

thread_local! {
    /// Read and write buffers of parked connections, reused by whichever
    /// connection this thread serves next.
    static POOL: RefCell<Vec<(Vec<u8>, Vec<u8>)>> = const { RefCell::new(Vec::new()) };
}

/// Initial read-buffer size; it grows only for long lines (up to the line
/// limit) and shrinks back after such a request.
const READ_BUF: usize = 16 * 1024;
/// Output is written to the socket once this much is buffered.
pub(crate) const WRITE_HIGH_WATER: usize = 64 * 1024;

/// What a line read produced.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// `buf[start..end]`, ending in LF, or shorter than the limit at EOF.
    Ok(usize, usize),
    /// `limit` bytes without an LF: the line is too long.
    TooLong,
}

/// Where a connection's bytes come from and go to: a socket
/// (`transport/channel.rs`) or memory (`transport/memory.rs`). The
/// transport implements it; the buffers above it are the handler's
/// `rfile` and `wfile`, so the request code never names a socket.
pub(crate) trait Channel: Send {
    /// One `read`: `Err(WouldBlock)` when nothing is there yet.
    fn read(&mut self, dst: &mut [u8]) -> io::Result<usize>;
    /// One `write`: `Err(WouldBlock)` when the peer's window is full.
    fn write(&mut self, data: &[u8]) -> io::Result<usize>;
    /// Waits until a read (`writable == false`) or a write could make
    /// progress, at most `timeout`: `Ok(false)` when it passed.
    fn wait(&self, writable: bool, timeout: Option<Duration>) -> io::Result<bool>;
    /// Writes out what the channel itself still holds (TLS records
    /// encrypted but not yet sent): `Err(WouldBlock)` while the peer's
    /// window is full. Plain sockets hold nothing.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
    /// Whether a read may return more bytes without the socket becoming
    /// readable again (TLS: decrypted bytes not yet read, or a socket not
    /// read to its end), so an edge-triggered poller must not wait yet.
    fn more_buffered(&self) -> bool {
        false
    }
    /// Whether the channel is still setting itself up after the client's
    /// first bytes (a TLS handshake under way): bytes that count toward
    /// the request head's deadline, though none can be read yet.
    fn handshaking(&self) -> bool {
        false
    }
    /// The connection ends: a TLS channel sends its `close_notify`.
    fn finish(&mut self) {}
    /// Sends the end of the output (a socket's FIN); reads go on.
    fn shutdown_write(&mut self) {}
    /// The TLS session, if the channel is encrypted.
    fn tls(&self) -> Option<TlsInfo> {
        None
    }
    /// The socket under the channel, for a handler that waits on other
    /// files too and must notice the client leaving (a CGI script's
    /// pipes); memory has none.
    fn socket(&self) -> Option<BorrowedFd<'_>> {
        None
    }
    /// The concrete channel, for the transport that made it.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

pub(crate) struct Io {
    pub(crate) stream: Box<dyn Channel>,
    pub(crate) buf: Vec<u8>,
    pub(crate) pos: usize,
    pub(crate) end: usize,
    pub(crate) out: Vec<u8>,
    /// DEV-5: whether any byte of the current response was handed to `wfile`
    /// (or written by `end_headers`) while the `do_*` method ran.
    pub(crate) sent: bool,
    /// The limit of one wait for the client to accept response bytes.
    pub(crate) write_timeout: Option<Duration>,
    /// When the current phase (head, body) must be over, if it is bounded.
    pub(crate) deadline: Option<Instant>,
    /// A deadline that starts at the first read that has to wait (the
    /// head of a request whose bytes are already buffered usually never
    /// waits, so the clock is not read for it).
    pub(crate) deadline_after: Option<Duration>,
    /// The timeout of a single read, if any (CPython's `timeout`).
    pub(crate) per_read: Option<Duration>,
    /// Whether the peer closed its side.
    pub(crate) eof: bool,
    /// Whether the last read filled all the room it was given, so the
    /// socket may hold more: a connection parked in the edge-triggered
    /// poller must be read until this is false (a short read or `EAGAIN`
    /// empties the socket; bytes arriving later raise a new event).
    pub(crate) maybe_more: bool,
    /// Whether a read timed out (B7).
    pub(crate) timed_out: bool,
    pub(crate) body: Body,
    /// HEAD semantics for a `do_GET` reused as `do_HEAD`: body bytes
    /// written through `wfile` are counted but not transmitted.
    pub(crate) discard_body: bool,
    /// Strict profile: a `Content-Length` body cut short is an error.
    pub(crate) strict: bool,
    /// How `wfile` bytes are framed (`Request::send_chunked`).
    pub(crate) framing: Framing,
    /// Chunked framing: bytes written and not yet framed as a chunk
    /// (small writes are coalesced; see `stream.rs`).
    pub(crate) chunk: Vec<u8>,
}

/// What a handler can learn of a TLS connection ([`Request::tls`](crate::Request::tls)).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsInfo {
    /// The host name the client asked for (SNI), if it sent one.
    pub server_name: Option<String>,
    /// The protocol agreed with ALPN (`http/1.1`), if any.
    pub alpn_protocol: Option<Vec<u8>>,
}

/// How the response body written through `wfile` is framed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Framing {
    /// As written (CPython's way): `Content-Length` or the close ends it.
    #[default]
    Raw,
    /// Each write is (part of) a chunk of a chunked body.
    Chunked,
    /// The chunked body was ended (last chunk sent); more bytes are refused.
    Finished,
}

impl Io {
    pub(crate) fn new(stream: Box<dyn Channel>) -> Self {
        Io {
            stream,
            buf: vec![0; READ_BUF],
            pos: 0,
            end: 0,
            out: Vec::with_capacity(4096),
            sent: false,
            write_timeout: None,
            deadline: None,
            deadline_after: None,
            per_read: None,
            eof: false,
            maybe_more: true,
            timed_out: false,
            body: Body::default(),
            discard_body: false,
            strict: false,
            framing: Framing::Raw,
            chunk: Vec::new(),
        }
    }

    /// Bytes read from the socket and not yet consumed.
    pub(crate) fn buffered(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    pub(crate) fn consume(&mut self, n: usize) {
        self.pos += n;
        debug_assert!(self.pos <= self.end);
    }

    /// Reads more bytes into the buffer, keeping the unconsumed ones, so that
    /// at least `want` bytes fit; pending output is flushed first, since this
    /// may wait. Returns how many arrived (0 at EOF).
    pub(crate) fn fill(&mut self, want: usize) -> io::Result<usize> {
        self.flush()?;
        self.read_into_buffer(want, true)
    }

    /// One read into the buffer that never waits: `Err(WouldBlock)` when
    /// nothing is there (a connection driven by the server's poller).
    pub(crate) fn try_fill(&mut self) -> io::Result<usize> {
        self.read_into_buffer(4096, false)
    }

    fn read_into_buffer(&mut self, want: usize, wait: bool) -> io::Result<usize> {
        if self.pos == self.end {
            self.pos = 0;
            self.end = 0;
            if self.buf.len() > READ_BUF * 4 {
                self.buf.truncate(READ_BUF);
                self.buf.shrink_to(READ_BUF);
            }
        } else if self.pos > 0 && self.buf.len() - self.end < want {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.buf.len() - self.end < want {
            self.buf.resize(self.end + want, 0);
        }
        let end = self.end;
        let mut dst = std::mem::take(&mut self.buf);
        let read = self.read_stream(&mut dst[end..], wait);
        self.buf = dst;
        let n = read?;
        self.end += n;
        Ok(n)
    }

    /// One `read` from the socket, waiting (with `poll(2)`) under the
    /// current deadline / per-read timeout. The socket itself is
    /// non-blocking, so the same connection can also be parked in the
    /// server's poller between requests. A timeout is `ErrorKind::TimedOut`.
    pub(crate) fn read_socket(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        self.read_stream(dst, true)
    }

    /// One `read`; on `WouldBlock`, waits for input if `wait`, else returns it.
    fn read_stream(&mut self, dst: &mut [u8], wait: bool) -> io::Result<usize> {
        if self.eof {
            return Ok(0);
        }
        loop {
            match self.stream.read(dst) {
                Ok(0) => {
                    self.eof = true;
                    self.maybe_more = false;
                    return Ok(0);
                }
                Ok(n) => {
                    self.maybe_more = n == dst.len() || self.stream.more_buffered();
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if !wait {
                        self.maybe_more = false;
                        return Err(e);
                    }
                    if let Some(after) = self.deadline_after.take() {
                        self.deadline = Some(self.deadline.unwrap_or_else(|| Instant::now() + after));
                    }
                    let mut timeout = self.per_read;
                    if let Some(deadline) = self.deadline {
                        let left = deadline.saturating_duration_since(Instant::now());
                        timeout = Some(timeout.map_or(left, |t| t.min(left)));
                    }
                    if !self.stream.wait(false, timeout)? {
                        self.timed_out = true;
                        return Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"));
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes all of `data`, waiting (up to the write timeout) while the
    /// client's receive window is full.
    fn send(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            match self.stream.write(data) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => data = &data[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.wait_writable()?,
                Err(e) => return Err(e),
            }
        }
        // What the channel holds of its own (TLS records) goes out too.
        loop {
            match self.stream.flush() {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.wait_writable()?,
                Err(e) => return Err(e),
            }
        }
    }

    /// Waits (up to the write timeout) until the client accepts more bytes.
    fn wait_writable(&self) -> io::Result<()> {
        if self.stream.wait(true, self.write_timeout)? {
            Ok(())
        } else {
            Err(io::Error::new(io::ErrorKind::TimedOut, "the client stopped reading"))
        }
    }

    /// Gives the connection's buffers back to this thread's pool while it
    /// waits for its next request (an idle connection then costs a few
    /// hundred bytes, not 20 KiB).
    pub(crate) fn release_buffers(&mut self) {
        if self.pos == self.end && self.out.is_empty() {
            let buf = std::mem::take(&mut self.buf);
            let out = std::mem::take(&mut self.out);
            self.pos = 0;
            self.end = 0;
            POOL.with(|pool| {
                let mut pool = pool.borrow_mut();
                if pool.len() < 64 && buf.len() == READ_BUF {
                    pool.push((buf, out));
                }
            });
        }
    }

    /// Takes buffers from this thread's pool (or allocates) after
    /// [`release_buffers`](Self::release_buffers).
    pub(crate) fn acquire_buffers(&mut self) {
        if self.buf.is_empty() {
            let (buf, out) = POOL
                .with(|pool| pool.borrow_mut().pop())
                .unwrap_or_else(|| (vec![0; READ_BUF], Vec::with_capacity(4096)));
            self.buf = buf;
            self.out = out;
        }
    }

    /// Python's `rfile.readline(limit)`: up to and including the first LF, at
    /// most `limit` bytes, or what is left at EOF (maybe nothing).
    pub(crate) fn read_line(&mut self, limit: usize) -> io::Result<Line> {
        let mut scanned = 0;
        loop {
            let avail = &self.buf[self.pos..self.end];
            let window = &avail[..avail.len().min(limit)];
            if let Some(i) = find_byte(&window[scanned..], b'\n') {
                let start = self.pos;
                self.pos += scanned + i + 1;
                return Ok(Line::Ok(start, self.pos));
            }
            scanned = window.len();
            if window.len() == limit {
                return Ok(Line::TooLong);
            }
            let wanted = (limit - window.len()).min(READ_BUF);
            if self.fill(wanted)? == 0 {
                let start = self.pos;
                self.pos = self.end;
                return Ok(Line::Ok(start, self.end));
            }
        }
    }

    /// Queues response bytes; writes them out past the high-water mark.
    pub(crate) fn write_out(&mut self, data: &[u8]) -> io::Result<()> {
        if self.out.len() + data.len() > WRITE_HIGH_WATER {
            self.flush()?;
            if data.len() >= WRITE_HIGH_WATER {
                return self.send(data);
            }
        }
        self.out.extend_from_slice(data);
        Ok(())
    }

    /// Writes every queued response byte to the socket.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        if !self.chunk.is_empty() {
            self.emit_chunk()?;
        }
        if self.out.is_empty() {
            return Ok(());
        }
        let out = std::mem::take(&mut self.out);
        let r = self.send(&out);
        self.out = out;
        self.out.clear();
        r
    }

    /// Ends the connection the way a careful server does: flush, send FIN,
    /// and when the client may still be sending (unread request bytes), read
    /// and discard for a short while so that the kernel does not answer
    /// those bytes with an RST that would destroy the response in flight.
    /// Without `linger` the FIN goes out when the connection is dropped
    /// (its socket closed), so no `shutdown` call is made.
    pub(crate) fn close(&mut self, linger: bool) {
        let _ = self.flush();
        self.stream.finish();
        if linger && !self.eof {
            self.stream.shutdown_write();
            self.per_read = None;
            self.deadline = Some(Instant::now() + Duration::from_secs(2));
            let mut scratch = [0u8; 8192];
            for _ in 0..64 {
                match self.read_socket(&mut scratch) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Body {
    pub(crate) kind: crate::protocol::framing::BodyKind,
    /// The error a body read failed with: malformed chunked framing
    /// (`InvalidData`) or a client gone mid-body (`UnexpectedEof`). Every
    /// later read fails the same way.
    pub(crate) error: Option<io::ErrorKind>,
}

impl Body {
    /// Whether the handler read the body to its end (or there was none).
    pub(crate) fn complete(&self) -> bool {
        match &self.kind {
            crate::protocol::framing::BodyKind::Empty => true,
            crate::protocol::framing::BodyKind::Length(left) => *left == 0,
            crate::protocol::framing::BodyKind::Chunked(d) => d.is_done(),
        }
    }
}
