//! [`ServerConfig`]: a server's limits and timeouts, with their defaults.

use crate::protocol::forwarded::IpNet;
use std::time::Duration;

/// Limits and timeouts of a server. Every default is listed in the README.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// `request_queue_size`: the listen backlog. Default 1024 (CPython: 5,
    /// which drops bursts of connections). The kernel caps it at
    /// `net.core.somaxconn`.
    pub request_queue_size: u32,
    /// Most connections open at once, idle ones included; beyond it the
    /// server stops accepting until one closes (new clients wait in the
    /// listen backlog: back-pressure). Default 16384.
    pub max_connections: usize,
    /// Most requests that may block at once. Quick requests are served by
    /// the thread that owns their connection's poller (one per core); a
    /// request that blocks (a slow database call, a slow body) holds a
    /// thread of its own, and the poller goes on with another thread (the
    /// thread also waits up to 10 ms for its connection's next request
    /// before it lets go). At this many such threads, new requests that are
    /// expected to block wait until one is free (back-pressure; none is
    /// lost), so the server runs at most this many threads plus one per
    /// core. Default 512.
    pub max_workers: usize,
    /// The most bytes of a request head (request line and header section,
    /// line endings included); beyond it, `431` and close (DEV-8). CPython
    /// bounds each line (64 KiB) and the lines (100) but not their sum, so
    /// one head could hold 6.5 MB. Default 1 MiB; the strict profile allows
    /// 64 KiB at most.
    pub max_head_bytes: usize,
    /// A request head (request line and headers) must arrive within this
    /// time of its first byte, and a new connection must send its first
    /// byte within it; otherwise 408 (or a silent close if nothing came).
    /// Default 10 s.
    pub header_timeout: Duration,
    /// How long a kept-alive connection may sit idle between requests
    /// before it is closed silently. Default 5 s.
    pub keep_alive_timeout: Duration,
    /// The limit of one read while a handler reads the body, unless the
    /// handler type sets `TIMEOUT`. Default 30 s.
    pub read_timeout: Option<Duration>,
    /// The limit of one write to a client that does not read. Default 30 s.
    pub write_timeout: Option<Duration>,
    /// How long a worker thread with nothing to do waits for work before
    /// it exits (threads are added as handlers block, and go away again
    /// this long after the load). Default 10 s.
    pub worker_idle_timeout: Duration,
    /// How long `shutdown` waits for connections in flight before closing
    /// them. Default 5 s.
    pub shutdown_grace: Duration,
    /// Trusted proxies (uvicorn's and gunicorn's `--forwarded-allow-ips`):
    /// from a peer in one of these networks, `Forwarded` (RFC 7239) or else
    /// `X-Forwarded-For` and `X-Forwarded-Proto` are believed, and
    /// [`Request::client_address`](crate::Request::client_address) (so
    /// `address_string()` and the access log) becomes the right-most hop
    /// that is not a trusted proxy; from any other peer they are ignored.
    /// [`Request::peer_address`](crate::Request::peer_address) keeps the
    /// socket's peer. Empty (the default): nobody is trusted.
    pub forwarded_allow_ips: Vec<IpNet>,
    /// `SO_REUSEPORT` on the listening socket, so that several processes
    /// (each with this set) can listen on the same port and the kernel
    /// deals new connections among them: a process per core, or a rolling
    /// restart (start the new process, then stop the old one). Set before
    /// binding (`HTTPServer::with_config`). With it, a shutdown also shuts
    /// the listening socket at once (the other processes get the new
    /// connections; with the Linux sysctl `net.ipv4.tcp_migrate_req = 1`
    /// the ones already queued move to them too), so `serve_forever`
    /// cannot run again. Default `false`.
    pub reuse_port: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            request_queue_size: 1024,
            max_connections: 16384,
            max_workers: 512,
            max_head_bytes: 1024 * 1024,
            header_timeout: Duration::from_secs(10),
            keep_alive_timeout: Duration::from_secs(5),
            read_timeout: Some(Duration::from_secs(30)),
            write_timeout: Some(Duration::from_secs(30)),
            worker_idle_timeout: Duration::from_secs(10),
            forwarded_allow_ips: Vec::new(),
            reuse_port: false,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}
