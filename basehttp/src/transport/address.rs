//! Addresses to bind, written the way Python writes them (`("", 8000)`).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

/// An address to bind, written the Python way: `("", 8000)` (all IPv4
/// interfaces), `("127.0.0.1", 0)` (an ephemeral port), `("::1", 8080)`,
/// or as a `SocketAddr` / `"host:port"` string.
pub trait ServerAddress {
    /// The host as written (for `server_name`) and the socket address.
    fn resolve(&self) -> io::Result<(String, SocketAddr)>;
}

fn resolve_host(host: &str, port: u16) -> io::Result<(String, SocketAddr)> {
    if host.is_empty() {
        return Ok((String::new(), SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)));
    }
    let host_only = host.trim_start_matches('[').trim_end_matches(']');
    let addr = (host_only, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no address for {host}")))?;
    Ok((host_only.to_owned(), addr))
}

impl ServerAddress for (&str, u16) {
    fn resolve(&self) -> io::Result<(String, SocketAddr)> {
        resolve_host(self.0, self.1)
    }
}

impl ServerAddress for (String, u16) {
    fn resolve(&self) -> io::Result<(String, SocketAddr)> {
        resolve_host(&self.0, self.1)
    }
}

impl ServerAddress for (IpAddr, u16) {
    fn resolve(&self) -> io::Result<(String, SocketAddr)> {
        Ok((self.0.to_string(), SocketAddr::new(self.0, self.1)))
    }
}

impl ServerAddress for (Ipv4Addr, u16) {
    fn resolve(&self) -> io::Result<(String, SocketAddr)> {
        (IpAddr::V4(self.0), self.1).resolve()
    }
}

impl ServerAddress for (Ipv6Addr, u16) {
    fn resolve(&self) -> io::Result<(String, SocketAddr)> {
        (IpAddr::V6(self.0), self.1).resolve()
    }
}

impl ServerAddress for SocketAddr {
    fn resolve(&self) -> io::Result<(String, SocketAddr)> {
        Ok((self.ip().to_string(), *self))
    }
}

impl ServerAddress for &str {
    fn resolve(&self) -> io::Result<(String, SocketAddr)> {
        let addr = self
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no address for {self}")))?;
        let host = self.rsplit_once(':').map_or(*self, |(h, _)| h);
        Ok((host.trim_start_matches('[').trim_end_matches(']').to_owned(), addr))
    }
}

/// The machine's host name (Python's `getfqdn('')` without DNS).
pub(crate) fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}
