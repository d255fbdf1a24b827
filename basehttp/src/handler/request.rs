//! [`Request`]: the state Python keeps on a `BaseHTTPRequestHandler`
//! instance (what was parsed, the connection's files, the server), and
//! `parse_request` with CPython 3.11's request-line and header rules.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::BorrowedFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::handler::body::{RFile, WFile};
use crate::handler::config::ServerConfig;
use crate::handler::io::{Framing, Io, TlsInfo};
use crate::handler::server_info::ServerInfo;
use crate::handler::shutdown::{Control, ShutdownHandle, SlotGuard};
use crate::protocol::forwarded::{client_of, forwarded_hops};
use crate::protocol::headers::HTTPMessage;
use crate::protocol::profile::Profile;
use crate::protocol::response_head::plain_ascii;
use crate::protocol::swar::same_bytes;

/// One request on a connection, and the connection itself: what Python's
/// handler instance holds (`command`, `path`, `headers`, `rfile`, `wfile`,
/// …) and the methods it offers (`send_response`, `send_error`, …).
///
/// The runtime makes one per connection and reuses it for every request on
/// that connection. Parsed values are fields; the files and the server are
/// methods ([`rfile`](Self::rfile), [`wfile`](Self::wfile),
/// [`server`](Self::server)) because they borrow the connection.
///
/// Text fields hold the request bytes decoded as ISO-8859-1, one char per
/// byte, exactly as CPython decodes them (B12, B26, B31).
pub struct Request {
    /// `client_address`: the peer's address (Python's `(host, port)`), or
    /// behind a trusted proxy the client's (`ServerConfig::forwarded_allow_ips`;
    /// port 0 when the proxy did not say).
    pub client_address: SocketAddr,
    /// `command`: the method, e.g. `GET`: case-sensitive, not validated
    /// (B26). Empty before a request line was parsed.
    pub command: String,
    /// `path`: the request target as sent, leading `//` collapsed to `/`
    /// (B26, B27); no percent-decoding.
    pub path: String,
    /// `request_version`: the version word as sent (`HTTP/1.1`), or
    /// `default_request_version` for an HTTP/0.9 request (B21).
    pub request_version: String,
    /// `requestline`: the request line without its line ending (B12).
    pub requestline: String,
    /// The request-target exactly as sent (before the `//` collapse; in the
    /// strict profile, before an absolute-form target is reduced to its
    /// path). Not in CPython.
    pub target: String,
    /// `raw_requestline`: the request line's bytes as read, line ending included.
    pub raw_requestline: Vec<u8>,
    /// `headers`: the header fields, in order (B31-B37).
    pub headers: HTTPMessage,
    /// `close_connection`: whether the connection closes after this
    /// response (B4, B19, B39-B43). Writable.
    pub close_connection: bool,
    pub(crate) shared: Arc<Shared>,
    pub(crate) io: Io,
    /// Python's `_headers_buffer`: the head being built, sent by `end_headers`.
    pub(crate) head: Vec<u8>,
    /// DEV-4: the request's framing was ambiguous (see `framing`).
    pub(crate) ambiguous_framing: bool,
    /// Whether this response is a `send_error` page (the close then drains
    /// what the client may still be sending).
    pub(crate) errored: bool,
    /// Requests started on this connection.
    pub(crate) requests: u64,
    /// When the first byte of a request head that is still incomplete
    /// arrived (its deadline runs from there).
    pub(crate) head_started: Option<Instant>,
    /// The connection's entry in the server's registry (shutdown).
    pub(crate) slot: SlotGuard,
    /// `protocol_version >= "HTTP/1.1"` (the class is fixed per server).
    pub(crate) http11: bool,
    /// The socket's peer (a proxy, when `client_address` came from one).
    pub(crate) peer: SocketAddr,
    /// The scheme a trusted proxy said the client used.
    pub(crate) forwarded_proto: Option<String>,
    /// The status code of the response being sent (0 before one).
    pub(crate) status: u16,
    /// Whether this response's head has a `Content-Length` field.
    pub(crate) content_length_sent: bool,
    /// Trailer fields of a chunked response, as sent after the last chunk.
    pub(crate) trailers: Vec<u8>,
    /// The handler took the connection ([`upgrade`](Self::upgrade)): the
    /// runtime forgets it once the handler returns.
    pub(crate) upgraded: bool,
}

impl Request {
    pub(crate) fn new(io: Io, client_address: SocketAddr, shared: Arc<Shared>, slot: SlotGuard) -> Self {
        let default_version = shared.class.default_request_version.clone();
        let http11 = shared.class.protocol_version.as_str() >= "HTTP/1.1";
        Request {
            client_address,
            command: String::new(),
            path: String::new(),
            target: String::new(),
            request_version: default_version,
            requestline: String::new(),
            raw_requestline: Vec::new(),
            headers: HTTPMessage::new(),
            close_connection: true,
            shared,
            io,
            head: Vec::with_capacity(256),
            ambiguous_framing: false,
            errored: false,
            requests: 0,
            head_started: None,
            slot,
            http11,
            peer: client_address,
            forwarded_proto: None,
            status: 0,
            content_length_sent: false,
            trailers: Vec::new(),
            upgraded: false,
        }
    }

    /// [`path`](Self::path) as the bytes the client sent (its chars are
    /// ISO-8859-1), e.g. to percent-decode a file name.
    ///
    /// ```
    /// let mut parser = basehttp::HeadParser::new();
    /// assert!(parser.parse(b"GET /caf\xe9 HTTP/1.1\r\nHost: h\r\n\r\n"));
    /// assert_eq!(parser.request().path, "/café");
    /// assert_eq!(parser.request().path_bytes(), b"/caf\xe9");
    /// ```
    pub fn path_bytes(&self) -> Vec<u8> {
        self.path.chars().map(|c| c as u32 as u8).collect()
    }

    /// `server`: the server this connection belongs to (name, port, shared
    /// state, shutdown).
    pub fn server(&self) -> &ServerInfo {
        &self.shared.info
    }

    /// `rfile`: the request body (see [`RFile`]).
    pub fn rfile(&mut self) -> RFile<'_> {
        RFile { io: &mut self.io }
    }

    /// `wfile`: the response stream (see [`WFile`]).
    pub fn wfile(&mut self) -> WFile<'_> {
        WFile { io: &mut self.io }
    }

    /// The class variables and hooks in force (`self.protocol_version`, …).
    pub fn class(&self) -> &HandlerClass {
        &self.shared.class
    }

    /// `protocol_version` in force for this server.
    pub fn protocol_version(&self) -> &str {
        &self.shared.class.protocol_version
    }

    /// Whether responses are written in HTTP/0.9 mode: body only, no status
    /// line or headers (B25).
    pub fn is_http09(&self) -> bool {
        self.request_version == "HTTP/0.9"
    }

    /// Gives this response `HEAD` semantics: from now on, bytes written to
    /// [`wfile`](Self::wfile) are dropped (the head still goes out), so a
    /// `do_GET` can answer a `HEAD` request with the same headers and no
    /// body (RFC 9110 §9.3.2). Reset for every request. `#[http_handler(auto_head)]`
    /// uses it.
    pub fn discard_body(&mut self, discard: bool) {
        self.io.discard_body = discard;
    }

    /// Clears the per-request state before the next request line (B11).
    pub(crate) fn begin(&mut self) {
        self.command.clear();
        self.path.clear();
        self.target.clear();
        self.requestline.clear();
        self.raw_requestline.clear();
        self.headers.clear();
        set_text(&mut self.request_version, &self.shared.class.default_request_version);
        self.head.clear();
        self.io.body = Default::default();
        self.io.sent = false;
        self.io.discard_body = false;
        self.io.framing = Framing::Raw;
        self.io.chunk.clear();
        self.trailers.clear();
        self.status = 0;
        self.content_length_sent = false;
        self.io.strict = self.strict();
        self.io.timed_out = false;
        self.ambiguous_framing = false;
        self.errored = false;
        self.requests += 1;
        self.head_started = None;
    }

    /// The TLS session of an HTTPS connection (SNI name, ALPN protocol),
    /// `None` on plain HTTP: e.g. to build absolute URLs with the right
    /// scheme.
    pub fn tls(&self) -> Option<TlsInfo> {
        self.io.stream.tls()
    }

    /// The connection's socket, if it has one (not for
    /// [`serve_bytes`](crate::serve_bytes)): for a handler that waits on
    /// other files (a CGI script's pipes) and must notice the client leave.
    pub(crate) fn client_socket(&self) -> Option<BorrowedFd<'_>> {
        self.io.stream.socket()
    }

    /// The address of the socket's peer: the same as
    /// [`client_address`](Self::client_address) unless a trusted proxy
    /// named the client (`ServerConfig::forwarded_allow_ips`).
    pub fn peer_address(&self) -> SocketAddr {
        self.peer
    }

    /// The scheme (`https`) a trusted proxy said the client used
    /// (`Forwarded: proto=` or `X-Forwarded-Proto`), if any.
    pub fn forwarded_proto(&self) -> Option<&str> {
        self.forwarded_proto.as_deref()
    }

    /// Believes a trusted proxy's `Forwarded` (else `X-Forwarded-For` /
    /// `X-Forwarded-Proto`) for this request; from any other peer, or with
    /// no trusted proxies, the socket's peer stays the client.
    pub(crate) fn apply_forwarded(&mut self) {
        let trusted = &self.shared.config.forwarded_allow_ips;
        if trusted.is_empty() {
            return;
        }
        self.client_address = self.peer;
        self.forwarded_proto = None;
        if !trusted.iter().any(|net| net.contains(self.peer.ip())) {
            return;
        }
        let found = if self.headers.contains("forwarded") {
            client_of(&forwarded_hops(self.headers.get_all("forwarded")), trusted)
                .map(|(a, p)| (a, p.map(str::to_owned)))
        } else {
            let hops: Vec<_> =
                self.headers.get_all("x-forwarded-for").flat_map(|v| v.split(',')).map(|n| (Some(n), None)).collect();
            let proto = self.headers.get_all("x-forwarded-proto").last().map(|p| p.trim().to_owned());
            client_of(&hops, trusted).map(|(a, _)| (a, proto))
        };
        if let Some((client, proto)) = found {
            self.client_address = client;
            self.forwarded_proto = proto;
        }
    }

    /// Whether the strict profile (RFC 9112) is in force.
    pub(crate) fn strict(&self) -> bool {
        self.shared.class.profile == Profile::Rfc9112
    }

    pub(crate) fn set_head_deadline(&mut self, deadline: Option<Instant>) {
        self.io.deadline = deadline;
        self.io.per_read = None;
    }
}

/// `dst.clone_from(src)`, skipped when `dst` already holds it (the default
/// version, reset twice per request).
#[inline]
pub(crate) fn set_text(dst: &mut String, src: &str) {
    if !same_bytes(dst.as_bytes(), src.as_bytes()) {
        dst.clear();
        dst.push_str(src);
    }
}

/// The runtime's copy of a handler type's class variables and hooks.
///
/// Made from the trait with [`HandlerClass::of`]; a server keeps one and
/// lets you change the variables at run time, the way a Python program may
/// assign `Handler.protocol_version` before serving
/// ([`HTTPServer::class_mut`](crate::HTTPServer::class_mut)).
#[derive(Clone, Debug)]
pub struct HandlerClass {
    /// `protocol_version`.
    pub protocol_version: String,
    /// `default_request_version`.
    pub default_request_version: String,
    /// `server_version`.
    pub server_version: String,
    /// `sys_version`.
    pub sys_version: String,
    /// `error_message_format`.
    pub error_message_format: String,
    /// `error_content_type`.
    pub error_content_type: String,
    /// `timeout`.
    pub timeout: Option<Duration>,
    /// The rules requests are held to.
    pub profile: Profile,
    pub(crate) log_message: for<'a> fn(&Request, fmt::Arguments<'a>),
    pub(crate) log_error: for<'a> fn(&Request, fmt::Arguments<'a>),
    pub(crate) log_request: fn(&Request, Option<u16>, Option<u64>),
    pub(crate) handle_expect_100: fn(&mut Request) -> io::Result<bool>,
    /// `server_version + " " + sys_version`, built once.
    pub(crate) version_string: String,
    /// `Server: <version_string>\r\n` as sent, when the version string
    /// is plain (printable ASCII, as `send_header` would pass it through);
    /// otherwise `send_header` writes it, or refuses it (DEV-1).
    pub(crate) server_line: Option<Vec<u8>>,
}

impl HandlerClass {
    /// Recomputes derived values after a field changed.
    pub(crate) fn refresh(&mut self) {
        self.version_string = format!("{} {}", self.server_version, self.sys_version);
        let plain = plain_ascii(self.version_string.as_bytes());
        self.server_line = plain.then(|| format!("Server: {}\r\n", self.version_string).into_bytes());
    }
}

/// The part of a server every connection shares.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) info: ServerInfo,
    pub(crate) class: HandlerClass,
    pub(crate) config: ServerConfig,
    pub(crate) control: Arc<Control>,
}

impl Shared {
    /// The state of a server that has no socket: for connections served
    /// from memory (`MemoryConnection`).
    pub(crate) fn detached(class: HandlerClass) -> Arc<Shared> {
        let address = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
        let control = Arc::new(Control::default());
        let shutdown = ShutdownHandle { control: control.clone(), grace: Duration::ZERO };
        let info = ServerInfo {
            server_name: "localhost".to_owned(),
            server_port: 0,
            server_address: address,
            state: None,
            shutdown,
        };
        Arc::new(Shared { info, class, config: ServerConfig::default(), control })
    }
}
