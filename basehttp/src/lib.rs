#![doc = include_str!("../../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod address;
mod blocking;
mod body;
mod chunked;
mod config;
mod connection;
mod date;
mod framing;
mod handler;
mod headers;
mod io;
mod linger;
mod logging;
mod memory;
mod poller;
mod profile;
mod pyrepr;
mod reactor;
mod request;
mod response;
mod server;
mod shutdown;
mod simple;
mod status;
mod swar;
mod workers;

pub use address::ServerAddress;
pub use basehttp_macros::http_handler;
pub use blocking::will_block;
pub use body::{RFile, WFile};
pub use chunked::{encode_chunked, ChunkedDecoder, MAX_CHUNK_LINE, MAX_TRAILER_BYTES, MAX_TRAILER_LINES};
pub use config::ServerConfig;
pub use connection::{handle, handle_one_request};
pub use date::{date_time_string, log_date_time_string};
pub use handler::{
    BaseHTTPRequestHandler, HandlerClass, HandlerError, HandlerResult, IntoHandlerResult, DEFAULT_ERROR_CONTENT_TYPE,
    DEFAULT_ERROR_MESSAGE, SYS_VERSION,
};
pub use headers::{HTTPMessage, MessageClass};
pub use logging::{escape_log_text, log_to_stderr, StderrLogger, LOG_TARGET};
pub use memory::{serve_bytes, HeadParser, MemoryConnection};
pub use profile::{Profile, STRICT_MAX_HEAD};
pub use pyrepr::repr;
pub use request::{Request, MAX_HEADERS, MAX_LINE};
pub use response::format_error_page;
pub use server::{HTTPServer, ServerInfo, ThreadingHTTPServer};
pub use shutdown::ShutdownHandle;
pub use simple::{guess_type, SimpleHTTPRequestHandler};
pub use status::{responses, RESPONSES};
