//! The transport layer: sockets, pollers and threads. The listener and
//! `HTTPServer`, the reactor (pollers, supervisor, worker pool, the
//! adaptive dispatch of blocking handlers), the per-connection driving
//! between pollers and threads, the socket [`Channel`](crate::handler::io::Channel),
//! and connections served from memory.

pub(crate) mod address;
pub(crate) mod blocking;
pub(crate) mod channel;
pub(crate) mod connection;
pub(crate) mod linger;
pub(crate) mod memory;
pub(crate) mod poller;
pub(crate) mod reactor;
pub(crate) mod server;
#[cfg(feature = "tls")]
pub(crate) mod tls;
pub(crate) mod workers;
