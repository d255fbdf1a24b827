#![doc = include_str!("../../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

// Three layers; imports point down only (README, "How it works"):
// `protocol` (bytes, no I/O) <- `handler` (the API a handler sees) <-
// `transport` (sockets, pollers, threads), with `simple` (the file server)
// on the handler API, and `cgi` (the CGI handler) on top of the file server.
mod cgi;
mod handler;
mod protocol;
mod simple;
mod transport;

pub use basehttp_macros::http_handler;
pub use cgi::CGIHTTPRequestHandler;
pub use handler::base::{handle, handle_one_request, BaseHTTPRequestHandler, SYS_VERSION};
pub use handler::body::{RFile, WFile};
pub use handler::config::ServerConfig;
pub use handler::io::TlsInfo;
pub use handler::logging::{escape_log_text, log_to_stderr, StderrLogger, LOG_TARGET};
pub use handler::request::{HandlerClass, Request};
pub use handler::result::{HandlerError, HandlerResult, IntoHandlerResult};
pub use handler::server_info::ServerInfo;
pub use handler::shutdown::ShutdownHandle;
pub use handler::upgrade::Upgraded;
pub use protocol::chunked::{encode_chunked, ChunkedDecoder, MAX_CHUNK_LINE, MAX_TRAILER_BYTES, MAX_TRAILER_LINES};
pub use protocol::date::{date_time_string, log_date_time_string};
pub use protocol::forwarded::IpNet;
pub use protocol::headers::{HTTPMessage, MessageClass};
pub use protocol::profile::{Profile, STRICT_MAX_HEAD};
pub use protocol::pyrepr::repr;
pub use protocol::request_line::{MAX_HEADERS, MAX_LINE};
pub use protocol::response_head::{format_error_page, DEFAULT_ERROR_CONTENT_TYPE, DEFAULT_ERROR_MESSAGE};
pub use protocol::status::{responses, RESPONSES};
pub use simple::{guess_type, SimpleHTTPRequestHandler};
pub use transport::address::ServerAddress;
pub use transport::blocking::will_block;
pub use transport::memory::{serve_bytes, HeadParser, MemoryConnection};
#[cfg(feature = "tls")]
pub use transport::server::{HTTPSServer, ThreadingHTTPSServer};
pub use transport::server::{HTTPServer, ThreadingHTTPServer};
#[cfg(feature = "tls")]
pub use transport::tls::TlsConfig;
