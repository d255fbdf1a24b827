//! The server: Python's `HTTPServer` / `ThreadingHTTPServer`. It binds the
//! listening socket and starts the reactor, whose worker threads accept
//! and serve connections concurrently (`serve_forever`); or serves one
//! connection on the calling thread (`handle_request`).

use std::any::Any;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::event::PollFlags;

use crate::address::{host_name, ServerAddress};
use crate::config::ServerConfig;
use crate::handler::{BaseHTTPRequestHandler, HandlerClass};
use crate::io::wait_for;
use crate::reactor::Reactor;
use crate::shutdown::{Control, ShutdownHandle};

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
    state: Option<Arc<dyn Any + Send + Sync>>,
    shutdown: ShutdownHandle,
}

impl ServerInfo {
    /// The state given to [`HTTPServer::set_state`], if it has type `T`.
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
    /// from memory (`crate::memory`).
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

type Factory<H> = Arc<dyn Fn() -> H + Send + Sync>;

/// Python's `HTTPServer` (and `ThreadingHTTPServer`): listens on an
/// address and serves every connection with a fresh handler made by the
/// factory. Connections are served concurrently: a slow one never holds up
/// another (README.md, "How it works").
///
/// ```no_run
/// use basehttp::{http_handler, HTTPServer, Request};
///
/// #[derive(Default)]
/// struct Handler;
///
/// #[http_handler]
/// impl Handler {
///     fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
///         req.send_response(204)?;
///         req.end_headers()
///     }
/// }
///
/// // def run(server_class=HTTPServer, handler_class=BaseHTTPRequestHandler):
/// let mut httpd = HTTPServer::new(("", 8000), Handler::default).unwrap();
/// httpd.serve_forever().unwrap();
/// ```
pub struct HTTPServer<H> {
    listener: Option<Arc<TcpListener>>,
    shared: Arc<Shared>,
    factory: Factory<H>,
    handle_timeout: Option<Box<dyn FnMut() + Send>>,
    /// Python's `timeout`: how long [`handle_request`](Self::handle_request)
    /// waits for a connection before calling `handle_timeout`; `None` waits
    /// forever.
    pub timeout: Option<Duration>,
}

/// Python's `ThreadingHTTPServer`: the same type, since [`HTTPServer`]
/// already serves connections concurrently.
pub type ThreadingHTTPServer<H> = HTTPServer<H>;

impl<H: BaseHTTPRequestHandler> HTTPServer<H> {
    /// `HTTPServer(server_address, RequestHandlerClass)`: binds and listens
    /// with [`ServerConfig::default`]. `factory` makes the handler of each
    /// connection (`Handler::default`, or a closure that clones shared state
    /// into it).
    pub fn new<F>(server_address: impl ServerAddress, factory: F) -> io::Result<Self>
    where
        F: Fn() -> H + Send + Sync + 'static,
    {
        Self::with_config(server_address, factory, ServerConfig::default())
    }

    /// Like [`new`](Self::new) with explicit limits and timeouts.
    pub fn with_config<F>(server_address: impl ServerAddress, factory: F, config: ServerConfig) -> io::Result<Self>
    where
        F: Fn() -> H + Send + Sync + 'static,
    {
        let (host, addr) = server_address.resolve()?;
        let socket = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::STREAM, None)?;
        // B1: allow_reuse_address = 1.
        socket.set_reuse_address(true)?;
        socket.bind(&addr.into())?;
        socket.listen(config.request_queue_size.min(i32::MAX as u32) as i32)?;
        let listener: TcpListener = socket.into();
        let local = listener.local_addr()?;
        let server_name = if host.is_empty() || local.ip().is_unspecified() { host_name() } else { host };
        let control = Arc::new(Control::default());
        let shutdown = ShutdownHandle { control: control.clone(), grace: config.shutdown_grace };
        let info = ServerInfo { server_name, server_port: local.port(), server_address: local, state: None, shutdown };
        let shared = Arc::new(Shared { info, class: HandlerClass::of::<H>(), config, control });
        Ok(HTTPServer {
            listener: Some(Arc::new(listener)),
            shared,
            factory: Arc::new(factory),
            handle_timeout: None,
            timeout: None,
        })
    }
}

impl<H: BaseHTTPRequestHandler> HTTPServer<H> {
    /// `server_name` (see [`ServerInfo::server_name`]).
    pub fn server_name(&self) -> &str {
        &self.shared.info.server_name
    }

    /// `server_port`: the bound port, the real one after binding port 0.
    pub fn server_port(&self) -> u16 {
        self.shared.info.server_port
    }

    /// `server_address`: the bound address.
    pub fn server_address(&self) -> SocketAddr {
        self.shared.info.server_address
    }

    /// What handlers see as `req.server()`.
    pub fn info(&self) -> &ServerInfo {
        &self.shared.info
    }

    /// The limits and timeouts in force.
    pub fn config(&self) -> &ServerConfig {
        &self.shared.config
    }

    /// Changes limits and timeouts for connections accepted from now on
    /// (`request_queue_size` is fixed at bind time).
    pub fn config_mut(&mut self) -> &mut ServerConfig {
        &mut Arc::make_mut(&mut self.shared).config
    }

    /// Changes the handler's class variables for this server, the way a
    /// Python program assigns `Handler.protocol_version = "HTTP/1.1"`.
    pub fn class_mut(&mut self) -> &mut HandlerClass {
        &mut Arc::make_mut(&mut self.shared).class
    }

    /// Sets the per-read body timeout (see [`ServerConfig::read_timeout`]).
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) {
        self.config_mut().read_timeout = timeout;
    }

    /// Makes `state` reachable from handlers as `req.server().state::<T>()`.
    pub fn set_state<T: Any + Send + Sync>(&mut self, state: T) {
        Arc::make_mut(&mut self.shared).info.state = Some(Arc::new(state));
    }

    /// Sets the `handle_timeout` hook, run when `handle_request` times out.
    pub fn set_handle_timeout(&mut self, hook: impl FnMut() + Send + 'static) {
        self.handle_timeout = Some(Box::new(hook));
    }

    /// Python's `handle_timeout()`: runs the hook set with
    /// [`set_handle_timeout`](Self::set_handle_timeout) (by default nothing).
    pub fn handle_timeout(&mut self) {
        if let Some(hook) = self.handle_timeout.as_mut() {
            hook();
        }
    }

    /// A cloneable handle whose `shutdown()` stops `serve_forever` from
    /// another thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shared.info.shutdown.clone()
    }

    fn listener(&self) -> io::Result<&Arc<TcpListener>> {
        self.listener.as_ref().ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "the server socket is closed"))
    }

    /// The shared state for new connections, with the class's derived
    /// values brought up to date after `class_mut` changes.
    fn shared(&mut self) -> Arc<Shared> {
        Arc::make_mut(&mut self.shared).class.refresh();
        self.shared.clone()
    }

    /// `serve_forever()`: serves connections until a shutdown is
    /// requested, concurrently on the reactor's threads, at most
    /// `max_connections` at once (the rest wait in the listen backlog).
    /// Accept errors (such as running out of file descriptors) are logged
    /// and retried with a back-off; they never end the loop. After a
    /// shutdown it waits up to `shutdown_grace` for connections in flight,
    /// closes what is left and returns.
    pub fn serve_forever(&mut self) -> io::Result<()> {
        let shared = self.shared();
        let control = shared.control.clone();
        // A shutdown requested before this call is honoured (it returns at
        // once); the flag is cleared on the way out, as Python clears its
        // shutdown request at the end of serve_forever.
        let reactor = Reactor::start(self.listener()?.clone(), shared.clone(), self.factory.clone())?;
        control.set_serving(true);
        control.wait_shutdown();
        reactor.stop();
        let grace = Instant::now() + shared.config.shutdown_grace;
        control.close_connections(false);
        if control.wait_idle(grace) > 0 {
            control.close_connections(true);
            control.wait_idle(Instant::now() + Duration::from_secs(1));
        }
        control.shutting_down.store(false, Ordering::SeqCst);
        control.set_serving(false);
        Ok(())
    }

    /// `handle_request()`: waits for one connection (at most
    /// [`timeout`](Self::timeout), then runs `handle_timeout` and returns
    /// `Ok(false)`) and serves it on the calling thread, all its keep-alive
    /// requests included. Returns `Ok(true)` when a connection was served.
    pub fn handle_request(&mut self) -> io::Result<bool> {
        let shared = self.shared();
        let listener = self.listener()?;
        // Python waits in select() for at most `timeout`, then accepts.
        // The socket is non-blocking once serve_forever has run, so a
        // connection another process took first means waiting again, for
        // what is left of the timeout.
        let deadline = self.timeout.map(|t| Instant::now() + t);
        let (stream, peer) = loop {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if !wait_for(&**listener, PollFlags::IN, left)? {
                self.handle_timeout();
                return Ok(false);
            }
            match listener.accept() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                accepted => break accepted?,
            }
        };
        serve_connection(stream, peer, shared, &*self.factory);
        Ok(true)
    }

    /// `server_close()`: closes the listening socket. Dropping the server
    /// does the same.
    pub fn server_close(&mut self) {
        self.listener = None;
    }
}

/// Serves one accepted connection on the current thread (`handle_request`).
fn serve_connection<H: BaseHTTPRequestHandler>(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    factory: &(dyn Fn() -> H + Send + Sync),
) {
    if let Some((mut handler, mut req)) = crate::connection::open(stream, peer, &shared, factory) {
        handler.handle(&mut req);
    }
}
