//! The server: Python's `HTTPServer` / `ThreadingHTTPServer`. It binds the
//! listening socket and starts the reactor, whose worker threads accept
//! and serve connections concurrently (`serve_forever`); or serves one
//! connection on the calling thread (`handle_request`).

use std::any::Any;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::event::PollFlags;

use crate::handler::base::BaseHTTPRequestHandler;
use crate::handler::config::ServerConfig;
use crate::handler::request::{HandlerClass, Shared};
use crate::handler::server_info::ServerInfo;
use crate::handler::shutdown::{Control, ShutdownHandle};
use crate::transport::address::{host_name, ServerAddress};
use crate::transport::channel::wait_for;
use crate::transport::connection::{self, Wrap};
use crate::transport::reactor::Reactor;
#[cfg(feature = "tls")]
use crate::transport::tls::TlsConfig;

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
    /// Plain TCP, or TLS (`new_https`).
    wrap: Wrap,
    handle_timeout: Option<Box<dyn FnMut() + Send>>,
    /// Python's `timeout`: how long [`handle_request`](Self::handle_request)
    /// waits for a connection before calling `handle_timeout`; `None` waits
    /// forever.
    pub timeout: Option<Duration>,
}

/// Python's `ThreadingHTTPServer`: the same type, since [`HTTPServer`]
/// already serves connections concurrently.
pub type ThreadingHTTPServer<H> = HTTPServer<H>;

/// Python 3.14's `HTTPSServer`: an [`HTTPServer`] made with
/// [`new_https`](HTTPServer::new_https) (feature `tls`).
#[cfg(feature = "tls")]
pub type HTTPSServer<H> = HTTPServer<H>;

/// Python 3.14's `ThreadingHTTPSServer`: the same type.
#[cfg(feature = "tls")]
pub type ThreadingHTTPSServer<H> = HTTPServer<H>;

#[cfg(feature = "tls")]
impl<H: BaseHTTPRequestHandler> HTTPServer<H> {
    /// `HTTPSServer(server_address, RequestHandlerClass, certfile=…,
    /// keyfile=…)`: an [`HTTPServer`] whose connections speak TLS; handlers,
    /// `serve_forever`, `shutdown`, logging and limits are unchanged.
    /// (Feature `tls`.)
    ///
    /// ```no_run
    /// use basehttp::{HTTPServer, SimpleHTTPRequestHandler, TlsConfig};
    ///
    /// let tls = TlsConfig::from_pem_files("cert.pem", "key.pem").unwrap();
    /// let handler = SimpleHTTPRequestHandler::new(".");
    /// let mut httpd = HTTPServer::new_https(("", 8443), move || handler.clone(), tls).unwrap();
    /// httpd.serve_forever().unwrap();
    /// ```
    pub fn new_https<F>(server_address: impl ServerAddress, factory: F, tls: TlsConfig) -> io::Result<Self>
    where
        F: Fn() -> H + Send + Sync + 'static,
    {
        let mut server = Self::new(server_address, factory)?;
        server.set_tls(tls);
        Ok(server)
    }

    /// Serves connections accepted from now on over TLS.
    pub fn set_tls(&mut self, tls: TlsConfig) {
        self.wrap.tls = Some(tls);
    }

    /// Whether connections are served over TLS.
    pub fn is_https(&self) -> bool {
        self.wrap.tls.is_some()
    }
}

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
        // Several processes on one port (the kernel spreads new
        // connections among them): rolling restarts, a process per core.
        if config.reuse_port {
            socket.set_reuse_port(true)?;
        }
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
            wrap: Wrap::default(),
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
        let reactor =
            Reactor::start(self.listener()?.clone(), shared.clone(), self.factory.clone(), self.wrap.clone())?;
        control.set_serving(true);
        control.wait_shutdown();
        if shared.config.reuse_port {
            // Another process shares the port: shut the listening socket at
            // once, so the kernel sends new connections to it (and, with
            // `net.ipv4.tcp_migrate_req = 1`, moves the ones already queued
            // here instead of resetting them). The server cannot serve again.
            reactor.stop_accepting();
            if let Some(listener) = self.listener.take() {
                let _ = socket2::SockRef::from(&*listener).shutdown(std::net::Shutdown::Both);
            }
        }
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
        serve_connection(stream, peer, shared, &*self.factory, &self.wrap);
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
    wrap: &Wrap,
) {
    if let Some((mut handler, mut req, _)) = connection::open(stream, peer, &shared, factory, wrap) {
        handler.handle(&mut req);
    }
}
