//! The connection's buffered I/O: one read buffer (read-ahead for pipelined
//! requests, CPython's buffered `rfile`, B3) and one write buffer (the
//! response goes out in as few `write` calls as possible). Pending output is
//! always flushed before the connection blocks on a read, so a client never
//! waits for bytes the server already produced.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::body::Body;

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

pub(crate) struct Io {
    pub(crate) stream: Arc<TcpStream>,
    pub(crate) buf: Vec<u8>,
    pub(crate) pos: usize,
    pub(crate) end: usize,
    pub(crate) out: Vec<u8>,
    /// DEV-5: whether any byte of the current response was handed to `wfile`
    /// (or written by `end_headers`) while the `do_*` method ran.
    pub(crate) sent: bool,
    /// The socket's current `SO_RCVTIMEO`, cached to avoid a syscall per read.
    socket_timeout: Option<Duration>,
    /// When the current phase (head, body) must be over, if it is bounded.
    pub(crate) deadline: Option<Instant>,
    /// The timeout of a single read, if any (CPython's `timeout`).
    pub(crate) per_read: Option<Duration>,
    /// Whether the peer closed its side.
    pub(crate) eof: bool,
    /// Whether a read timed out (B7).
    pub(crate) timed_out: bool,
    pub(crate) body: Body,
    /// HEAD semantics for a `do_GET` reused as `do_HEAD`: body bytes
    /// written through `wfile` are counted but not transmitted.
    pub(crate) discard_body: bool,
}

impl Io {
    pub(crate) fn new(stream: Arc<TcpStream>) -> Self {
        Io {
            stream,
            buf: vec![0; READ_BUF],
            pos: 0,
            end: 0,
            out: Vec::with_capacity(4096),
            sent: false,
            socket_timeout: None,
            deadline: None,
            per_read: None,
            eof: false,
            timed_out: false,
            body: Body::default(),
            discard_body: false,
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
    /// at least `want` bytes fit. Returns how many arrived (0 at EOF).
    pub(crate) fn fill(&mut self, want: usize) -> io::Result<usize> {
        self.flush()?;
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
        let n = {
            let end = self.end;
            let mut dst = std::mem::take(&mut self.buf);
            let r = self.read_socket(&mut dst[end..]);
            self.buf = dst;
            r?
        };
        self.end += n;
        Ok(n)
    }

    /// One `read` from the socket under the current deadline / per-read
    /// timeout. A timeout is `ErrorKind::TimedOut`.
    pub(crate) fn read_socket(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        if self.eof {
            return Ok(0);
        }
        let mut timeout = self.per_read;
        if let Some(deadline) = self.deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                self.timed_out = true;
                return Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"));
            }
            // Round up to whole milliseconds so the cached value rarely changes.
            let left = Duration::from_millis(left.as_millis() as u64 + 1);
            timeout = Some(timeout.map_or(left, |t| t.min(left)));
        }
        if timeout != self.socket_timeout {
            self.stream.set_read_timeout(timeout)?;
            self.socket_timeout = timeout;
        }
        loop {
            match (&*self.stream).read(dst) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(0);
                }
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    self.timed_out = true;
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Python's `rfile.readline(limit)`: up to and including the first LF, at
    /// most `limit` bytes, or what is left at EOF (maybe nothing).
    pub(crate) fn read_line(&mut self, limit: usize) -> io::Result<Line> {
        let mut scanned = 0;
        loop {
            let avail = &self.buf[self.pos..self.end];
            let window = &avail[..avail.len().min(limit)];
            if let Some(i) = window[scanned..].iter().position(|&b| b == b'\n') {
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
                return (&*self.stream).write_all(data);
            }
        }
        self.out.extend_from_slice(data);
        Ok(())
    }

    /// Writes every queued response byte to the socket.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let r = (&*self.stream).write_all(&self.out);
        self.out.clear();
        r
    }

    /// Ends the connection the way a careful server does: flush, send FIN,
    /// and when the client may still be sending (unread request bytes), read
    /// and discard for a short while so that the kernel does not answer
    /// those bytes with an RST that would destroy the response in flight.
    pub(crate) fn close(&mut self, linger: bool) {
        let _ = self.flush();
        let _ = self.stream.shutdown(Shutdown::Write);
        if linger && !self.eof {
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
