//! `self.server` as a handler sees it: [`ServerInfo`].

use std::any::Any;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::handler::shutdown::ShutdownHandle;

/// What a handler sees of its server (`self.server` in Python): name,
/// port, address, the shared state and a shutdown handle.
#[derive(Clone)]
pub struct ServerInfo {
    /// `server_name`: the host the server was bound to, or the machine's
    /// host name when bound to all interfaces (Python: `getfqdn(host)`).
    pub server_name: String,
    /// `server_port`: the bound port (the real one after binding port 0).
    pub server_port: u16,
    /// `server_address`: the bound socket address.
    pub server_address: SocketAddr,
    pub(crate) state: Option<Arc<dyn Any + Send + Sync>>,
    pub(crate) shutdown: ShutdownHandle,
}

impl ServerInfo {
    /// The state given to [`HTTPServer::set_state`](crate::HTTPServer::set_state), if it has type `T`.
    pub fn state<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.state.as_deref().and_then(|s| s.downcast_ref())
    }

    /// A handle that stops the server (from a handler: use
    /// [`ShutdownHandle::request_shutdown`], which does not wait).
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }
}

impl std::fmt::Debug for ServerInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerInfo")
            .field("server_name", &self.server_name)
            .field("server_port", &self.server_port)
            .field("server_address", &self.server_address)
            .finish_non_exhaustive()
    }
}
