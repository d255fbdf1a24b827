//! The handler layer: what a `BaseHTTPRequestHandler` sees. [`Request`]
//! (request state, `parse_request`, the response methods, `rfile` and
//! `wfile` over buffers), the trait and its class variables, logging, and
//! `handle_one_request`. It reads and writes through the [`Channel`] trait
//! (`io.rs`), which the transport implements; it imports only the protocol
//! layer.
//!
//! [`Request`]: request::Request
//! [`Channel`]: io::Channel

pub(crate) mod base;
pub(crate) mod body;
pub(crate) mod config;
pub(crate) mod io;
pub(crate) mod logging;
pub(crate) mod one_request;
pub(crate) mod parse;
pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod result;
pub(crate) mod server_info;
pub(crate) mod shutdown;
pub(crate) mod stream;
pub(crate) mod upgrade;
