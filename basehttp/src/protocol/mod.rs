//! The protocol layer: HTTP/1.x as bytes, with no sockets and no threads.
//! Request-line and header parsing rules, framing and chunked coding, the
//! status table, response heads and error pages, dates, Python's `repr`.
//! Nothing here imports the layers above.

pub(crate) mod chunked;
pub(crate) mod date;
pub(crate) mod forwarded;
pub(crate) mod framing;
pub(crate) mod headers;
pub(crate) mod profile;
pub(crate) mod pyrepr;
pub(crate) mod request_line;
pub(crate) mod response_head;
pub(crate) mod status;
pub(crate) mod swar;
