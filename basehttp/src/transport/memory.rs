//! Serving a connection from memory: the bytes a client would send go in,
//! the bytes the server would write come out. The same code as on a socket
//! runs (parsing, dispatch, DEV rules, logging), so handlers can be unit
//! tested without a network, and the parser can be fuzzed and benchmarked.

use std::any::Any;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use crate::handler::base::BaseHTTPRequestHandler;
use crate::handler::io::{Channel, Io};
use crate::handler::request::{HandlerClass, Request, Shared};
use crate::handler::result::HandlerResult;

/// An in-memory peer: `input` is what the client sends, handed out at most
/// `segment` bytes per read; `output` collects what the server writes.
struct Memory {
    input: Vec<u8>,
    pos: usize,
    segment: usize,
    output: Vec<u8>,
}

impl Channel for Memory {
    fn read(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        let n = dst.len().min(self.input.len() - self.pos).min(self.segment.max(1));
        dst[..n].copy_from_slice(&self.input[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }

    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(data);
        Ok(data.len())
    }

    /// Memory is always ready.
    fn wait(&self, _writable: bool, _timeout: Option<Duration>) -> io::Result<bool> {
        Ok(true)
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

fn memory_request(shared: &Arc<Shared>, input: &[u8], segment: usize) -> Request {
    let stream = Box::new(Memory { input: input.to_vec(), pos: 0, segment, output: Vec::new() });
    let slot = shared.control.register(None);
    let client = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    Request::new(Io::new(stream), client, shared.clone(), slot)
}

/// The memory peer of a request made by [`memory_request`].
fn memory(req: &mut Request) -> &mut Memory {
    req.io.stream.as_any_mut().downcast_mut().expect("a memory connection")
}

fn output_of(req: &mut Request) -> Vec<u8> {
    let _ = req.io.flush();
    std::mem::take(&mut memory(req).output)
}

/// Runs `handler` on one connection whose client sent `input` and then
/// closed its side; returns every byte the server wrote.
///
/// ```
/// use basehttp::{BaseHTTPRequestHandler, HandlerResult, Request};
///
/// struct NoMethods;
/// impl BaseHTTPRequestHandler for NoMethods {
///     fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
///         Ok(req.send_unsupported_method()?)
///     }
/// }
///
/// let out = basehttp::serve_bytes(&mut NoMethods, b"SPAM / HTTP/1.0\r\n\r\n");
/// assert!(out.starts_with(b"HTTP/1.0 501 Unsupported method ('SPAM')\r\n"));
/// ```
pub fn serve_bytes<H: BaseHTTPRequestHandler>(handler: &mut H, input: &[u8]) -> Vec<u8> {
    MemoryConnection::new(HandlerClass::of::<H>()).serve(handler, input)
}

/// A server without a socket, for [`serve`](Self::serve)ing connections
/// from memory with chosen class variables and read sizes.
pub struct MemoryConnection {
    shared: Arc<Shared>,
    segment: usize,
}

impl MemoryConnection {
    /// A memory server with these class variables (e.g.
    /// `HandlerClass::of::<MyHandler>()` with `protocol_version` changed).
    pub fn new(class: HandlerClass) -> Self {
        MemoryConnection { shared: Shared::detached(class), segment: usize::MAX }
    }

    /// Hands the input to the parser at most `bytes` per read, as a client
    /// that sends in small pieces would (1 = one byte at a time).
    pub fn segment(mut self, bytes: usize) -> Self {
        self.segment = bytes.max(1);
        self
    }

    /// Runs `handler.handle()` on a connection whose client sent `input` and
    /// closed; returns what the server wrote.
    pub fn serve<H: BaseHTTPRequestHandler>(&self, handler: &mut H, input: &[u8]) -> Vec<u8> {
        let mut req = memory_request(&self.shared, input, self.segment);
        handler.handle(&mut req);
        output_of(&mut req)
    }
}

/// A handler that answers nothing: the parser's error responses are the
/// only output.
struct ParseOnly;

impl BaseHTTPRequestHandler for ParseOnly {
    const PROTOCOL_VERSION: &'static str = "HTTP/1.1";
    fn dispatch(&mut self, _req: &mut Request) -> HandlerResult {
        Ok(())
    }
}

/// Parses request heads from memory exactly as a connection does
/// (`read_request_line` + `parse_request`), reusing its buffers: for
/// property tests, fuzzing and the parser's microbenchmarks.
///
/// ```
/// let mut parser = basehttp::HeadParser::new();
/// assert!(parser.parse(b"GET /a//b?x HTTP/1.1\r\nHost: h\r\nX: 1\r\n\r\n"));
/// assert_eq!(parser.request().path, "/a//b?x");
/// assert_eq!(parser.request().headers.get("host"), Some("h"));
/// assert!(!parser.parse(b"GET /a b HTTP/1.1\r\n\r\n"));
/// assert!(parser.response().starts_with(b"HTTP/1.1 400 Bad request syntax ('GET /a b HTTP/1.1')\r\n"));
/// ```
pub struct HeadParser {
    req: Request,
    response: Vec<u8>,
}

impl Default for HeadParser {
    fn default() -> Self {
        Self::new()
    }
}

impl HeadParser {
    /// A parser with `protocol_version = "HTTP/1.1"` and the other class
    /// variables at CPython's defaults.
    pub fn new() -> Self {
        Self::with_class(HandlerClass::of::<ParseOnly>())
    }

    /// A parser with these class variables.
    pub fn with_class(class: HandlerClass) -> Self {
        let shared = Shared::detached(class);
        HeadParser { req: memory_request(&shared, b"", usize::MAX), response: Vec::new() }
    }

    /// Parses one request head from `input` (read in one piece, then EOF).
    /// `true` if the request would be dispatched to a `do_*` method; `false`
    /// if the parser answered it (see [`response`](Self::response)) or
    /// closed silently.
    ///
    /// `input` goes straight into the connection's read buffer, where a
    /// socket read would have put it: the parse then runs as on a server
    /// connection whose request head has arrived, with the buffers of the
    /// previous parse reused as on a keep-alive connection.
    pub fn parse(&mut self, input: &[u8]) -> bool {
        self.parse_in_pieces(input, usize::MAX)
    }

    /// [`parse`](Self::parse) with the input handed over at most `segment`
    /// bytes per read (`usize::MAX`: all of it already buffered).
    pub fn parse_in_pieces(&mut self, input: &[u8], segment: usize) -> bool {
        let req = &mut self.req;
        let buffered = segment == usize::MAX;
        let m = memory(req);
        m.input.clear();
        if !buffered {
            m.input.extend_from_slice(input);
        }
        m.pos = 0;
        m.segment = segment.max(1);
        m.output.clear();
        let io = &mut req.io;
        io.pos = 0;
        io.end = 0;
        io.eof = false;
        if buffered {
            if io.buf.len() < input.len() {
                io.buf.resize(input.len(), 0);
            }
            io.buf[..input.len()].copy_from_slice(input);
            io.end = input.len();
        }
        req.begin();
        let ok = matches!(req.read_request_line(), Ok(true)) && matches!(req.parse_request(), Ok(true));
        self.response = output_of(req);
        ok
    }

    /// The request as parsed (fields are valid after a `true` parse).
    pub fn request(&self) -> &Request {
        &self.req
    }

    /// What the parser wrote for the last input (an error response, or a
    /// `100 Continue`), empty if nothing.
    pub fn response(&self) -> &[u8] {
        &self.response
    }
}
