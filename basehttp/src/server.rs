//! The server: Python's `HTTPServer` / `ThreadingHTTPServer`. It binds the
//! listening socket, accepts connections and serves each one on its own
//! worker thread, under a cap, with graceful shutdown.

use std::any::Any;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::handler::{BaseHTTPRequestHandler, HandlerClass};
use crate::reactor::Reactor;

/// Limits and timeouts of a server. Every default is listed in the README.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// `request_queue_size`: the listen backlog. Default 1024 (CPython: 5,
    /// which drops bursts of connections). The kernel caps it at
    /// `net.core.somaxconn`.
    pub request_queue_size: u32,
    /// Most connections open at once, idle ones included; the accept loop
    /// waits for a free slot beyond it (back-pressure). Default 16384.
    pub max_connections: usize,
    /// Most worker threads, i.e. requests in progress at once; a connection
    /// holds a worker only while one of its requests is being read,
    /// handled or written. Default 512.
    pub max_workers: usize,
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
    /// How long `shutdown` waits for connections in flight before closing
    /// them. Default 5 s.
    pub shutdown_grace: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            request_queue_size: 1024,
            max_connections: 16384,
            max_workers: 512,
            header_timeout: Duration::from_secs(10),
            keep_alive_timeout: Duration::from_secs(5),
            read_timeout: Some(Duration::from_secs(30)),
            write_timeout: Some(Duration::from_secs(30)),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

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

/// One live connection, as the shutdown logic sees it.
pub(crate) struct ConnSlot {
    stream: Option<Arc<TcpStream>>,
    /// Waiting for the next request (nothing in flight).
    pub(crate) idle: AtomicBool,
}

/// State shared by the server, its connections and shutdown handles.
#[derive(Default)]
pub(crate) struct Control {
    shutting_down: AtomicBool,
    serving: Mutex<bool>,
    serving_changed: Condvar,
    active: Mutex<usize>,
    active_changed: Condvar,
    conns: Mutex<HashMap<u64, Arc<ConnSlot>>>,
    next_id: AtomicU64,
}

impl Control {
    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    pub(crate) fn register(self: &Arc<Self>, stream: Option<Arc<TcpStream>>) -> SlotGuard {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let slot = Arc::new(ConnSlot { stream, idle: AtomicBool::new(false) });
        self.conns.lock().unwrap_or_else(|e| e.into_inner()).insert(id, slot.clone());
        self.add_active(1);
        SlotGuard { control: self.clone(), id, slot }
    }

    /// Marks a connection idle or busy. Returns `false` if it went idle
    /// while the server is shutting down (it must close instead of waiting).
    pub(crate) fn set_idle(&self, slot: &ConnSlot, idle: bool) -> bool {
        slot.idle.store(idle, Ordering::SeqCst);
        !(idle && self.is_shutting_down())
    }

    /// Ends idle connections (their blocked read returns EOF); with `all`,
    /// every connection.
    fn close_connections(&self, all: bool) {
        let conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        for slot in conns.values() {
            let Some(stream) = &slot.stream else { continue };
            if all {
                let _ = stream.shutdown(Shutdown::Both);
            } else if slot.idle.load(Ordering::SeqCst) {
                let _ = stream.shutdown(Shutdown::Read);
            }
        }
    }

    fn add_active(&self, delta: isize) {
        let mut active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        *active = active.saturating_add_signed(delta);
        self.active_changed.notify_all();
    }

    /// Waits until fewer than `max` connections are active (or shutdown).
    fn wait_below(&self, max: usize) {
        let mut active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        while *active >= max && !self.is_shutting_down() {
            active = self
                .active_changed
                .wait_timeout(active, Duration::from_millis(100))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Waits until no connection is active or `deadline` passes.
    fn wait_idle(&self, deadline: Instant) -> usize {
        let mut active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        while *active > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            active = self.active_changed.wait_timeout(active, left).unwrap_or_else(|e| e.into_inner()).0;
        }
        *active
    }

    fn set_serving(&self, serving: bool) {
        *self.serving.lock().unwrap_or_else(|e| e.into_inner()) = serving;
        self.serving_changed.notify_all();
    }
}

/// Unregisters a connection when its thread ends, however it ends.
pub(crate) struct SlotGuard {
    control: Arc<Control>,
    id: u64,
    pub(crate) slot: Arc<ConnSlot>,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.control.conns.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.id);
        self.control.add_active(-1);
    }
}

/// Stops a running [`HTTPServer`] from any thread (cloneable).
#[derive(Clone)]
pub struct ShutdownHandle {
    control: Arc<Control>,
    wake: SocketAddr,
    grace: Duration,
}

impl ShutdownHandle {
    /// Python's `shutdown()`: tells `serve_forever` to stop accepting and
    /// waits until it has returned, which it does once connections in
    /// flight have finished (or the grace period ran out and they were
    /// closed). Do not call it from a handler of the same server: use
    /// [`request_shutdown`](Self::request_shutdown) there.
    pub fn shutdown(&self) {
        self.request_shutdown();
        let limit = Instant::now() + self.grace + Duration::from_secs(2);
        let mut serving = self.control.serving.lock().unwrap_or_else(|e| e.into_inner());
        while *serving {
            let left = limit.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            serving = self.control.serving_changed.wait_timeout(serving, left).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    /// Asks the server to stop and returns at once: no new connections,
    /// idle keep-alive connections closed, requests in flight finish.
    pub fn request_shutdown(&self) {
        self.control.shutting_down.store(true, Ordering::SeqCst);
        self.control.close_connections(false);
        // Wake the accept loop, blocked in accept(2).
        let _ = TcpStream::connect_timeout(&self.wake, Duration::from_millis(500));
    }

    /// Whether a shutdown was requested.
    pub fn is_shutting_down(&self) -> bool {
        self.control.is_shutting_down()
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
        let shutdown = ShutdownHandle { control: control.clone(), wake: address, grace: Duration::ZERO };
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
/// factory, each connection on its own thread.
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
    listener: Option<TcpListener>,
    shared: Arc<Shared>,
    factory: Factory<H>,
    handle_timeout: Option<Box<dyn FnMut() + Send>>,
    /// Python's `timeout`: how long [`handle_request`](Self::handle_request)
    /// waits for a connection before calling `handle_timeout`; `None` waits
    /// forever.
    pub timeout: Option<Duration>,
}

/// Python's `ThreadingHTTPServer`: the same type, since [`HTTPServer`]
/// already serves each connection on its own thread.
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
        let wake_ip = match local.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let control = Arc::new(Control::default());
        let shutdown = ShutdownHandle {
            control: control.clone(),
            wake: SocketAddr::new(wake_ip, local.port()),
            grace: config.shutdown_grace,
        };
        let info = ServerInfo { server_name, server_port: local.port(), server_address: local, state: None, shutdown };
        let shared = Arc::new(Shared { info, class: HandlerClass::of::<H>(), config, control });
        Ok(HTTPServer {
            listener: Some(listener),
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

    fn listener(&self) -> io::Result<&TcpListener> {
        self.listener.as_ref().ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "the server socket is closed"))
    }

    fn shared(&mut self) -> Arc<Shared> {
        if let Some(class) = Arc::get_mut(&mut self.shared).map(|s| &mut s.class) {
            class.refresh();
        } else {
            Arc::make_mut(&mut self.shared).class.refresh();
        }
        self.shared.clone()
    }

    /// `serve_forever()`: accepts connections until a shutdown is
    /// requested, serving each on its own thread, at most
    /// `max_connections` at once. Accept errors (such as running out of
    /// file descriptors) are logged and retried with a back-off; they never
    /// end the loop. After a shutdown it waits up to `shutdown_grace` for
    /// connections in flight, closes what is left and returns.
    pub fn serve_forever(&mut self) -> io::Result<()> {
        let shared = self.shared();
        let control = shared.control.clone();
        // A shutdown requested before this call is honoured (the loop below
        // returns at once); the flag is cleared on the way out, as Python
        // clears its shutdown request at the end of serve_forever.
        let reactor = Reactor::start(shared.clone(), self.factory.clone())?;
        control.set_serving(true);
        let result = self.accept_loop(&shared, &reactor);
        reactor.stop();
        let grace = Instant::now() + shared.config.shutdown_grace;
        control.close_connections(false);
        if control.wait_idle(grace) > 0 {
            control.close_connections(true);
            control.wait_idle(Instant::now() + Duration::from_secs(1));
        }
        control.shutting_down.store(false, Ordering::SeqCst);
        control.set_serving(false);
        result
    }

    fn accept_loop(&self, shared: &Arc<Shared>, reactor: &Reactor<H>) -> io::Result<()> {
        let listener = self.listener()?;
        let control = &shared.control;
        let mut backoff = Duration::from_millis(5);
        loop {
            control.wait_below(shared.config.max_connections.max(1));
            if control.is_shutting_down() {
                return Ok(());
            }
            let (stream, peer) = match listener.accept() {
                Ok(conn) => conn,
                Err(_) if control.is_shutting_down() => return Ok(()),
                Err(e) if matches!(e.kind(), io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted) => continue,
                Err(e) => {
                    // EMFILE and friends: log, wait for descriptors to free up.
                    log::error!(target: crate::logging::LOG_TARGET, "accept failed: {e}; retrying in {backoff:?}");
                    thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                    continue;
                }
            };
            backoff = Duration::from_millis(5);
            if control.is_shutting_down() {
                return Ok(());
            }
            reactor.admit(stream, peer);
        }
    }

    /// `handle_request()`: waits for one connection (at most
    /// [`timeout`](Self::timeout), then runs `handle_timeout` and returns
    /// `Ok(false)`) and serves it on the calling thread, all its keep-alive
    /// requests included. Returns `Ok(true)` when a connection was served.
    pub fn handle_request(&mut self) -> io::Result<bool> {
        let shared = self.shared();
        let listener = self.listener()?;
        let accepted = match self.timeout {
            None => listener.accept()?,
            Some(timeout) => {
                listener.set_nonblocking(true)?;
                let deadline = Instant::now() + timeout;
                let result = loop {
                    match listener.accept() {
                        Ok(conn) => break Ok(Some(conn)),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            let left = deadline.saturating_duration_since(Instant::now());
                            if left.is_zero() {
                                break Ok(None);
                            }
                            thread::sleep(left.min(Duration::from_millis(2)));
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => break Err(e),
                    }
                };
                listener.set_nonblocking(false)?;
                match result? {
                    Some(conn) => conn,
                    None => {
                        self.handle_timeout();
                        return Ok(false);
                    }
                }
            }
        };
        let (stream, peer) = accepted;
        stream.set_nonblocking(false)?;
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

/// The machine's host name (Python's `getfqdn('')` without DNS).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}
