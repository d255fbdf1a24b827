//! The request body: `rfile` reads exactly the body the framing declared
//! (`Content-Length` bytes or a decoded chunked body) and then EOF; `wfile`
//! queues response bytes and records that the response has started (DEV-5).

use std::io::{self, Read, Write};

use crate::handler::io::{Framing, Io};
use crate::protocol::framing::BodyKind;

impl Io {
    pub(crate) fn read_body(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if let Some(kind) = self.body.error {
            return Err(io::Error::new(kind, "the request body could not be read"));
        }
        if out.is_empty() {
            return Ok(0);
        }
        let result = match self.body.kind {
            BodyKind::Empty => Ok(0),
            BodyKind::Length(left) => self.read_length(out, left),
            BodyKind::Chunked(_) => self.read_chunked(out),
        };
        if let Err(e) = &result {
            self.body.error = Some(e.kind());
        }
        result
    }

    fn read_length(&mut self, out: &mut [u8], left: u64) -> io::Result<usize> {
        if left == 0 {
            return Ok(0);
        }
        let want = out.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = if !self.buffered().is_empty() {
            let n = want.min(self.buffered().len());
            out[..n].copy_from_slice(&self.buffered()[..n]);
            self.consume(n);
            n
        } else if want >= 8192 {
            // Large reads bypass the buffer.
            self.flush()?;
            self.read_socket(&mut out[..want])?
        } else {
            let got = self.fill(want)?;
            let n = want.min(got);
            out[..n].copy_from_slice(&self.buffered()[..n]);
            self.consume(n);
            n
        };
        // A premature EOF reads as a short body, like Python's `rfile.read(n)`;
        // the connection then closes because the body is incomplete (DEV-4).
        // The strict profile makes it an error: an incomplete message must not
        // be processed as if it were whole (RFC 9112 §8).
        if n == 0 && self.strict {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "client closed the connection inside the body"));
        }
        self.body.kind = BodyKind::Length(left - n as u64);
        Ok(n)
    }

    fn read_chunked(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            let BodyKind::Chunked(decoder) = &mut self.body.kind else { return Ok(0) };
            if decoder.is_done() {
                return Ok(0);
            }
            let (used, produced) = decoder.decode(&self.buf[self.pos..self.end], out)?;
            let done = decoder.is_done();
            self.consume(used);
            if produced > 0 || done {
                return Ok(produced);
            }
            if self.fill(1)? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "client closed the connection inside a chunked body",
                ));
            }
        }
    }
}

/// `rfile`: the request body as a byte stream (`std::io::Read`).
///
/// It yields exactly the body the request's framing declared: the
/// `Content-Length` bytes, or the decoded chunks of a chunked body
/// (extensions ignored, trailers consumed), then EOF. A request without a
/// body reads as empty. Malformed chunked framing is an `InvalidData` error;
/// a client that disconnects inside a `Content-Length` body gives a short
/// read (like Python's `rfile.read(n)`), inside a chunked body an
/// `UnexpectedEof` error.
pub struct RFile<'a> {
    pub(crate) io: &'a mut Io,
}

impl Read for RFile<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.read_body(buf)
    }
}

/// `wfile`: the response byte stream (`std::io::Write`).
///
/// Bytes are queued and written to the socket when the handler returns,
/// when 64 KiB are pending, before the connection blocks on a read, or on
/// [`flush`](Write::flush). Everything written is delivered before the
/// connection closes. Call `flush()` to push a partial response out early
/// (streaming).
pub struct WFile<'a> {
    pub(crate) io: &'a mut Io,
}

impl Write for WFile<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !buf.is_empty() {
            self.io.sent = true;
            if !self.io.discard_body {
                match self.io.framing {
                    Framing::Raw => self.io.write_out(buf)?,
                    Framing::Chunked => self.io.write_chunk(buf)?,
                    Framing::Finished => {
                        return Err(io::Error::other("the chunked response body was already finished"))
                    }
                }
            }
        }
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.write(buf).map(drop)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.io.flush()
    }
}
