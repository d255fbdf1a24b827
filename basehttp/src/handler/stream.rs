//! Chunked responses: a body of unknown length on a connection that stays
//! open. [`Request::send_chunked`] sets `Transfer-Encoding: chunked`; from
//! then on every `wfile` write is framed as (part of) a chunk, small writes
//! coalesced into one chunk until `flush()`, 16 KiB, or the end; trailers go
//! after the last chunk, which the runtime writes when the handler returns
//! (or [`Request::finish_chunked`] writes earlier).

use std::fmt;
use std::io;

use crate::handler::io::{Framing, Io};
use crate::handler::request::Request;
use crate::protocol::response_head::{has_forbidden, injection};

/// Pending chunk data is framed once it reaches this size; a larger write
/// becomes a chunk of its own without being copied.
const CHUNK: usize = 16 * 1024;

impl Io {
    /// Queues `data` as chunked body bytes.
    pub(crate) fn write_chunk(&mut self, data: &[u8]) -> io::Result<()> {
        if self.chunk.len() + data.len() <= CHUNK {
            self.chunk.extend_from_slice(data);
            return Ok(());
        }
        self.emit_chunk()?;
        if data.len() >= CHUNK {
            return self.write_frame(data);
        }
        self.chunk.extend_from_slice(data);
        Ok(())
    }

    /// Frames the pending chunk data (if any) into the output.
    pub(crate) fn emit_chunk(&mut self) -> io::Result<()> {
        if self.chunk.is_empty() {
            return Ok(());
        }
        let data = std::mem::take(&mut self.chunk);
        let result = self.write_frame(&data);
        self.chunk = data;
        self.chunk.clear();
        result
    }

    /// One chunk into the output: its size line, `data`, CRLF.
    fn write_frame(&mut self, data: &[u8]) -> io::Result<()> {
        self.write_out(format!("{:X}\r\n", data.len()).as_bytes())?;
        self.write_out(data)?;
        self.write_out(b"\r\n")
    }
}

impl Request {
    /// Sends this response's body chunked (RFC 9112 §7.1): adds
    /// `Transfer-Encoding: chunked` to the head, so call it after
    /// `send_response` and before `end_headers`. Every later `wfile` write
    /// is sent as chunk data (small writes are coalesced; `flush()` sends
    /// what is buffered now, the way to push an event to the client), and
    /// the last chunk, with any [trailers](Self::send_trailer), goes out
    /// when the handler returns or at [`finish_chunked`](Self::finish_chunked).
    /// The connection can then carry the next request.
    ///
    /// Refused with an `Unsupported` error, nothing sent, when the request
    /// or the server speaks HTTP/1.0 (a 1.0 client cannot decode it): send
    /// the body close-delimited instead, that is set
    /// [`close_connection`](Self::close_connection) and send no
    /// `Content-Length`, the body then ends when the connection closes.
    /// Refused with an `InvalidInput` error after a `Content-Length`
    /// header (and a `Content-Length` after it is refused too).
    ///
    /// A `HEAD` request, or a `204`/`304` status, has no body: the head
    /// says `chunked`, and whatever the handler writes is dropped (as with
    /// [`discard_body`](Self::discard_body)), so a `do_GET` can answer
    /// `HEAD` unchanged.
    ///
    /// ```
    /// use basehttp::{BaseHTTPRequestHandler, HandlerResult, Request};
    /// use std::io::Write;
    ///
    /// struct Numbers;
    /// impl BaseHTTPRequestHandler for Numbers {
    ///     const PROTOCOL_VERSION: &'static str = "HTTP/1.1";
    ///     fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
    ///         req.send_response(200)?;
    ///         match req.send_chunked() {
    ///             Ok(()) => {}
    ///             // HTTP/1.0: the body ends when the connection closes.
    ///             Err(e) if e.kind() == std::io::ErrorKind::Unsupported => req.close_connection = true,
    ///             Err(e) => return Err(e.into()),
    ///         }
    ///         req.end_headers()?;
    ///         for i in 1..=3 {
    ///             writeln!(req.wfile(), "line {i}")?;
    ///         }
    ///         req.send_trailer("X-Lines", 3)?;
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let out = basehttp::serve_bytes(&mut Numbers, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    /// let out = String::from_utf8(out).unwrap();
    /// assert!(out.contains("Transfer-Encoding: chunked\r\n"));
    /// assert!(out.ends_with("\r\n\r\n15\r\nline 1\nline 2\nline 3\n\r\n0\r\nX-Lines: 3\r\n\r\n"));
    /// ```
    pub fn send_chunked(&mut self) -> io::Result<()> {
        if self.io.framing == Framing::Chunked {
            return Ok(());
        }
        if !self.http11 || self.request_version.as_str() < "HTTP/1.1" || self.is_http09() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "chunked transfer coding needs an HTTP/1.1 request to an HTTP/1.1 server: \
                 send the body close-delimited (close_connection = true, no Content-Length)",
            ));
        }
        if self.content_length_sent {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a Content-Length was already sent: a body has one framing",
            ));
        }
        // A 1xx or 204 never carries Transfer-Encoding (RFC 9112 §6.1).
        if self.status >= 200 && self.status != 204 {
            self.send_header("Transfer-Encoding", "chunked")?;
        }
        self.io.framing = Framing::Chunked;
        // No body on the wire for HEAD or a 204/304 (RFC 9110 §9.3.2,
        // §15.3.5, §15.4.5), so no last chunk either (`finish_chunked`):
        // every chunk byte is dropped, flushed or not, or a handler that
        // writes its GET body would put chunks without an end in front of
        // the connection's next response.
        if self.command == "HEAD" || self.status < 200 || matches!(self.status, 204 | 304) {
            self.io.discard_body = true;
        }
        Ok(())
    }

    /// Adds a trailer field to a chunked response, sent after the last
    /// chunk (announce it with a `Trailer` header if the client should
    /// expect it). Checked like [`send_header`](Self::send_header): CR, LF
    /// or NUL are refused (`InvalidInput`). An error before
    /// [`send_chunked`](Self::send_chunked) or after the body ended.
    pub fn send_trailer(&mut self, keyword: &str, value: impl fmt::Display) -> io::Result<()> {
        if self.io.framing != Framing::Chunked {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "trailers need a chunked response in progress"));
        }
        let value = value.to_string();
        if has_forbidden(keyword) || keyword.is_empty() || keyword.contains(':') {
            return Err(injection("trailer name", keyword));
        }
        if has_forbidden(&value) {
            return Err(injection("trailer value", &value));
        }
        for text in [keyword, ": ", &value, "\r\n"] {
            self.trailers.extend(text.chars().map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')));
        }
        Ok(())
    }

    /// Ends a chunked body now: the pending data, the last chunk and the
    /// trailers (none for `HEAD` or a 204/304, which have no body). Later
    /// `wfile` writes fail. Nothing to do if the response is not chunked;
    /// the runtime calls it when the handler returns.
    pub fn finish_chunked(&mut self) -> io::Result<()> {
        if self.io.framing != Framing::Chunked {
            return Ok(());
        }
        self.io.framing = Framing::Finished;
        let trailers = std::mem::take(&mut self.trailers);
        let no_body = self.io.discard_body || self.command == "HEAD" || matches!(self.status, 204 | 304);
        let result = if no_body {
            self.io.chunk.clear();
            Ok(())
        } else {
            self.io.emit_chunk().and_then(|()| {
                self.io.write_out(b"0\r\n")?;
                self.io.write_out(&trailers)?;
                self.io.write_out(b"\r\n")
            })
        };
        self.trailers = trailers;
        self.trailers.clear();
        result
    }

    /// Refuses a `Content-Length` header in a chunked response (a body has
    /// one framing; two would let a proxy and the client disagree), and
    /// records one otherwise.
    pub(crate) fn check_content_length(&mut self) -> io::Result<()> {
        if self.io.framing != Framing::Raw {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "a chunked response has no Content-Length"));
        }
        self.content_length_sent = true;
        Ok(())
    }

    /// Back to raw framing, dropping an unsent chunked body's state.
    pub(crate) fn reset_framing(&mut self) {
        self.io.framing = Framing::Raw;
        self.io.chunk.clear();
        self.trailers.clear();
    }
}
