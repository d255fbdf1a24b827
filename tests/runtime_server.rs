//! Issue 2, item 1: the server (`HTTPServer` / `ThreadingHTTPServer`):
//! binding, `server_name`/`server_port`, concurrency and its caps, the
//! listen backlog, `handle_request` with a timeout, `shutdown` from another
//! thread, `server_close`, a fresh handler per connection and shared state.

mod support;

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use basehttp::{BaseHTTPRequestHandler, HTTPServer, HandlerResult, Request, ServerConfig, ThreadingHTTPServer};
use support::{http11, reply, serve_fn, serve_fn_with, Client, FnHandler, Gate, TestServer};

/// Answers with `server_name`, `server_port` and `client_address` as the
/// handler sees them.
#[derive(Default)]
struct WhoAmI;

impl BaseHTTPRequestHandler for WhoAmI {
    fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
        let body = format!(
            "{} {} {} {}",
            req.server().server_name,
            req.server().server_port,
            req.client_address,
            req.address_string()
        );
        reply(req, body.as_bytes())
    }
}

fn body_of(response: &[u8]) -> String {
    let text = support::latin1(response);
    text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default()
}

#[test]
fn bind_to_an_ephemeral_port_exposes_the_real_port() {
    let server = HTTPServer::new(("127.0.0.1", 0), WhoAmI::default).unwrap();
    let port = server.server_port();
    assert_ne!(port, 0);
    assert_eq!(server.server_address(), SocketAddr::from(([127, 0, 0, 1], port)));
    assert_eq!(server.server_name(), "127.0.0.1");
    assert_eq!(server.info().server_port, port);
    let server = TestServer::spawn(server);
    let mut c = server.connect();
    c.send(b"GET / HTTP/1.0\r\n\r\n");
    let body = body_of(&c.read_to_end());
    let local = c.stream.local_addr().unwrap();
    assert_eq!(body, format!("127.0.0.1 {port} {local} 127.0.0.1"));
}

#[test]
fn bind_to_all_interfaces_with_an_empty_host() {
    // Python's ("", 8000): every IPv4 interface; server_name is the host name.
    let server = HTTPServer::new(("", 0), WhoAmI::default).unwrap();
    let port = server.server_port();
    assert_ne!(port, 0);
    assert_eq!(server.server_address(), SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)));
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").ok().map(|s| s.trim().to_owned());
    if let Some(hostname) = hostname.filter(|h| !h.is_empty()) {
        assert_eq!(server.server_name(), hostname);
    } else {
        assert!(!server.server_name().is_empty());
    }
    let name = server.server_name().to_owned();
    let server = TestServer::spawn(server);
    let response = server.exchange(b"GET / HTTP/1.0\r\n\r\n");
    assert!(body_of(&response).starts_with(&format!("{name} {port} 127.0.0.1:")), "{}", body_of(&response));
}

#[test]
fn bind_to_ipv6_loopback_when_available() {
    if TcpListener::bind("[::1]:0").is_err() {
        eprintln!("skipped: no IPv6 loopback on this machine");
        return;
    }
    let server = HTTPServer::new(("::1", 0), WhoAmI::default).unwrap();
    let port = server.server_port();
    assert_ne!(port, 0);
    assert_eq!(
        server.server_address(),
        "[::1]:0".parse::<SocketAddr>().map(|a| SocketAddr::new(a.ip(), port)).unwrap()
    );
    assert_eq!(server.server_name(), "::1");
    let server = TestServer::spawn(server);
    let mut c = Client::connect_addr(server.addr);
    c.send(b"GET / HTTP/1.0\r\n\r\n");
    let body = body_of(&c.read_to_end());
    let local = c.stream.local_addr().unwrap();
    // client_address is the IPv6 peer; address_string() its bare IP.
    assert_eq!(body, format!("::1 {port} {local} ::1"));
}

#[test]
fn other_address_forms_bind() {
    let a = HTTPServer::new(SocketAddr::from(([127, 0, 0, 1], 0)), WhoAmI::default).unwrap();
    assert_ne!(a.server_port(), 0);
    let b = HTTPServer::new("127.0.0.1:0", WhoAmI::default).unwrap();
    assert_eq!(b.server_name(), "127.0.0.1");
    let c = HTTPServer::new((Ipv4Addr::LOCALHOST, 0), WhoAmI::default).unwrap();
    assert_eq!(c.server_address().ip(), Ipv4Addr::LOCALHOST);
    let d = HTTPServer::new((String::from("localhost"), 0), WhoAmI::default).unwrap();
    assert!(d.server_address().ip().is_loopback());
}

#[test]
fn binding_a_port_in_use_fails() {
    let first = HTTPServer::new(("127.0.0.1", 0), WhoAmI::default).unwrap();
    let err = HTTPServer::new(("127.0.0.1", first.server_port()), WhoAmI::default).err().expect("port is taken");
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
}

#[test]
fn threading_http_server_is_the_threaded_server() {
    let server: ThreadingHTTPServer<WhoAmI> = ThreadingHTTPServer::new(("127.0.0.1", 0), WhoAmI::default).unwrap();
    let server = TestServer::spawn(server);
    assert!(body_of(&server.exchange(b"GET / HTTP/1.0\r\n\r\n")).starts_with("127.0.0.1 "));
}

/// `/slow` waits (bounded) for the test's "release"; anything else answers.
fn slow_and_fast(gate: Arc<Gate>, config: ServerConfig) -> TestServer {
    slow_and_fast_with(gate, config, |_| {})
}

fn slow_and_fast_with(gate: Arc<Gate>, config: ServerConfig, setup: fn(&mut HTTPServer<FnHandler>)) -> TestServer {
    serve_fn_with(config, setup, move |req| {
        if req.path == "/slow" {
            gate.signal("slow entered");
            let released = gate.wait("release", Duration::from_secs(10));
            return reply(req, if released { b"slow done" } else { b"slow timed out" });
        }
        reply(req, b"fast")
    })
}

/// A connection that sent `request` for `/slow`, once its handler is
/// inside (blocked until the gate's "release").
fn enter_slow(server: &TestServer, gate: &Gate, request: &[u8]) -> Client {
    let mut slow = server.connect();
    slow.send(request);
    assert!(gate.wait("slow entered", Duration::from_secs(10)));
    slow
}

#[test]
fn a_slow_handler_never_blocks_another_connection() {
    let gate = Gate::new();
    let server = slow_and_fast(gate.clone(), ServerConfig::default());
    let mut slow = enter_slow(&server, &gate, b"GET /slow HTTP/1.0\r\n\r\n");
    let started = Instant::now();
    assert_eq!(body_of(&server.exchange(b"GET /fast HTTP/1.0\r\n\r\n")), "fast");
    assert!(started.elapsed() < Duration::from_secs(3), "the fast request waited {:?}", started.elapsed());
    gate.signal("release");
    assert_eq!(body_of(&slow.read_to_end()), "slow done");
}

#[test]
fn a_slow_handler_never_blocks_the_connections_that_share_its_poller() {
    // Connections are spread round-robin over one poller per core, each
    // served by one thread; whichever poller `/slow` landed on, some of
    // these connections share it, and its thread is blocked in the handler
    // until another takes the poller over.
    let gate = Gate::new();
    let server = slow_and_fast_with(gate.clone(), ServerConfig::default(), http11);
    let ask = |c: &mut Client| {
        c.send(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
        body_of(&c.read_response())
    };
    let mut parked: Vec<Client> = (0..4).map(|_| server.connect()).collect();
    for c in parked.iter_mut() {
        assert_eq!(ask(c), "fast");
    }
    let mut slow = enter_slow(&server, &gate, b"GET /slow HTTP/1.0\r\n\r\n");
    let started = Instant::now();
    for c in parked.iter_mut() {
        assert_eq!(ask(c), "fast", "a keep-alive connection parked before the slow request");
    }
    for _ in 0..4 {
        assert_eq!(body_of(&server.exchange(b"GET /fast HTTP/1.0\r\n\r\n")), "fast");
    }
    assert!(started.elapsed() < Duration::from_secs(3), "the fast requests waited {:?}", started.elapsed());
    gate.signal("release");
    assert_eq!(body_of(&slow.read_to_end()), "slow done");
}

#[test]
fn a_request_that_arrives_while_its_connection_is_blocked_is_not_lost() {
    // The second request arrives while the first is still in its handler
    // and the poller has been handed to another thread: that thread sees
    // the event first, and the connection must be served again once the
    // blocked thread parks it.
    let gate = Gate::new();
    let server = slow_and_fast_with(gate.clone(), ServerConfig::default(), http11);
    let mut c = enter_slow(&server, &gate, b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    thread::sleep(Duration::from_millis(100));
    c.send(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
    thread::sleep(Duration::from_millis(50));
    gate.signal("release");
    assert_eq!(body_of(&c.read_response()), "slow done");
    assert_eq!(body_of(&c.read_response()), "fast");
}

#[test]
fn a_slow_client_never_blocks_another_even_with_one_worker() {
    // A client that trickles its head (slowloris) holds no worker.
    let config = ServerConfig { max_workers: 1, ..ServerConfig::default() };
    let server = serve_fn_with(config, |_| {}, |req| reply(req, b"served"));
    let mut slow = server.connect();
    slow.send(b"GET / HTTP/1.1\r\nHost: x\r\n");
    thread::sleep(Duration::from_millis(100));
    for _ in 0..3 {
        assert_eq!(body_of(&server.exchange(b"GET / HTTP/1.0\r\n\r\n")), "served");
    }
    slow.send(b"\r\n");
    slow.half_close();
    assert_eq!(body_of(&slow.read_to_end()), "served");
}

#[test]
fn connections_are_served_concurrently() {
    // Eight handlers must all be inside do_GET at the same time before any
    // of them may answer.
    const N: usize = 8;
    let inside = Arc::new(AtomicUsize::new(0));
    let gate = Gate::new();
    let (i, g) = (inside.clone(), gate.clone());
    let server = serve_fn(move |req| {
        if i.fetch_add(1, Ordering::SeqCst) + 1 == N {
            g.signal("all inside");
        }
        let all = g.wait("all inside", Duration::from_secs(10));
        reply(req, if all { b"together" } else { b"alone" })
    });
    let clients: Vec<_> = (0..N)
        .map(|_| {
            let mut c = server.connect();
            c.send(b"GET / HTTP/1.0\r\n\r\n");
            c
        })
        .collect();
    for mut c in clients {
        assert_eq!(body_of(&c.read_to_end()), "together");
    }
}

#[test]
fn max_connections_applies_back_pressure() {
    let config = ServerConfig { max_connections: 1, ..ServerConfig::default() };
    let server = serve_fn_with(config, support::http11, |req| reply(req, b"hi"));
    let mut first = server.connect();
    first.send(b"GET / HTTP/1.1\r\n\r\n");
    assert_eq!(body_of(&first.read_response()), "hi");
    // The first connection stays open (HTTP/1.1): the second one waits in
    // the backlog, unanswered, until it closes.
    let mut second = server.connect();
    second.send(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
    second.assert_silent(Duration::from_millis(500));
    first.half_close();
    first.assert_closed();
    assert_eq!(body_of(&second.read_to_end()), "hi");
}

#[test]
fn max_workers_caps_requests_in_progress() {
    let gate = Gate::new();
    let config = ServerConfig { max_workers: 1, ..ServerConfig::default() };
    let server = slow_and_fast(gate.clone(), config);
    let mut slow = enter_slow(&server, &gate, b"GET /slow HTTP/1.0\r\n\r\n");
    let mut fast = server.connect();
    fast.send(b"GET /fast HTTP/1.0\r\n\r\n");
    fast.assert_silent(Duration::from_millis(500));
    gate.signal("release");
    assert_eq!(body_of(&slow.read_to_end()), "slow done");
    assert_eq!(body_of(&fast.read_to_end()), "fast");
}

#[test]
fn request_queue_size_defaults_to_at_least_1024() {
    assert!(ServerConfig::default().request_queue_size >= 1024);
    // A burst of connections made while nobody accepts all wait in the
    // backlog (CPython's 5 drops most of them), then all get served.
    let somaxconn: u32 =
        std::fs::read_to_string("/proc/sys/net/core/somaxconn").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0);
    const BURST: usize = 200;
    if somaxconn < BURST as u32 {
        eprintln!("skipped the burst: net.core.somaxconn = {somaxconn}");
        return;
    }
    let server = HTTPServer::new(("127.0.0.1", 0), WhoAmI::default).unwrap();
    let addr = server.server_address();
    let started = Instant::now();
    let clients: Vec<TcpStream> = (0..BURST)
        .map(|i| {
            TcpStream::connect_timeout(&addr, Duration::from_secs(2))
                .unwrap_or_else(|e| panic!("connection {i} of the burst failed: {e}"))
        })
        .collect();
    assert!(started.elapsed() < Duration::from_secs(5), "the burst was throttled: {:?}", started.elapsed());
    let server = TestServer::spawn(server);
    for stream in clients {
        let mut c = Client { stream, buf: Vec::new(), eof: false };
        c.send(b"GET / HTTP/1.0\r\n\r\n");
        assert!(body_of(&c.read_to_end()).starts_with("127.0.0.1 "));
    }
    drop(server);
}

#[test]
fn handle_request_times_out_then_runs_handle_timeout() {
    let mut server = HTTPServer::new(("127.0.0.1", 0), WhoAmI::default).unwrap();
    let timeouts = Arc::new(AtomicUsize::new(0));
    let t = timeouts.clone();
    server.set_handle_timeout(move || {
        t.fetch_add(1, Ordering::SeqCst);
    });
    server.timeout = Some(Duration::from_millis(200));
    let started = Instant::now();
    assert!(!server.handle_request().unwrap(), "no connection came");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(190) && waited < Duration::from_secs(5), "waited {waited:?}");
    assert_eq!(timeouts.load(Ordering::SeqCst), 1);
    // handle_timeout() can be called directly too (Python's hook).
    server.handle_timeout();
    assert_eq!(timeouts.load(Ordering::SeqCst), 2);

    // A connection within the timeout is served on the calling thread.
    server.timeout = Some(Duration::from_secs(10));
    let port = server.server_port();
    let client = thread::spawn(move || {
        let mut c = Client::connect(port);
        c.send(b"GET / HTTP/1.0\r\n\r\n");
        body_of(&c.read_to_end())
    });
    assert!(server.handle_request().unwrap());
    assert!(client.join().unwrap().starts_with(&format!("127.0.0.1 {port} ")));
    assert_eq!(timeouts.load(Ordering::SeqCst), 2, "no timeout when a connection came");
}

#[test]
fn handle_request_serves_all_keep_alive_requests_of_its_connection() {
    let mut server = HTTPServer::new(("127.0.0.1", 0), WhoAmI::default).unwrap();
    server.class_mut().protocol_version = "HTTP/1.1".into();
    server.timeout = Some(Duration::from_secs(10));
    let port = server.server_port();
    let client = thread::spawn(move || {
        let mut c = Client::connect(port);
        c.send(b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n");
        let (a, b) = (c.read_response(), c.read_response());
        c.half_close();
        c.assert_closed();
        (body_of(&a), body_of(&b))
    });
    assert!(server.handle_request().unwrap());
    let (a, b) = client.join().unwrap();
    assert!(a.starts_with("127.0.0.1 ") && a == b, "{a:?} {b:?}");
}

#[test]
fn run_while_true_from_the_seed() {
    // def run_while_true(...): while keep_running(): httpd.handle_request()
    let mut httpd = HTTPServer::new(("127.0.0.1", 0), WhoAmI::default).unwrap();
    httpd.timeout = Some(Duration::from_secs(10));
    let port = httpd.server_port();
    let served = Arc::new(AtomicUsize::new(0));
    let clients = thread::spawn(move || {
        (0..3)
            .map(|_| {
                let mut c = Client::connect(port);
                c.send(b"GET / HTTP/1.0\r\n\r\n");
                body_of(&c.read_to_end())
            })
            .collect::<Vec<_>>()
    });
    let keep_running = || served.load(Ordering::SeqCst) < 3;
    while keep_running() {
        if httpd.handle_request().unwrap() {
            served.fetch_add(1, Ordering::SeqCst);
        }
    }
    let bodies = clients.join().unwrap();
    assert_eq!(bodies.len(), 3);
    assert!(bodies.iter().all(|b| b.starts_with(&format!("127.0.0.1 {port} "))), "{bodies:?}");
}

#[test]
fn shutdown_from_another_thread_lets_the_request_in_flight_finish() {
    let gate = Gate::new();
    let server = slow_and_fast(gate.clone(), ServerConfig::default());
    let handle = server.shutdown_handle();
    let mut slow = enter_slow(&server, &gate, b"GET /slow HTTP/1.0\r\n\r\n");
    let shutdown = thread::spawn(move || {
        handle.shutdown();
        Instant::now()
    });
    thread::sleep(Duration::from_millis(300));
    assert!(!shutdown.is_finished(), "shutdown() must wait for the request in flight");
    let released = Instant::now();
    gate.signal("release");
    // The in-flight request completes normally.
    assert_eq!(body_of(&slow.read_to_end()), "slow done");
    let returned = shutdown.join().unwrap();
    assert!(returned >= released && returned - released < Duration::from_secs(3));
    // serve_forever has returned.
    let port = server.port;
    server.stop().unwrap();
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "the socket is released");
}

#[test]
fn shutdown_closes_idle_keep_alive_connections_promptly() {
    let server = serve_fn_with(ServerConfig::default(), support::http11, |req| reply(req, b"hi"));
    let mut idle = server.connect();
    idle.send(b"GET / HTTP/1.1\r\n\r\n");
    assert_eq!(body_of(&idle.read_response()), "hi");
    let started = Instant::now();
    server.shutdown_handle().shutdown();
    assert!(started.elapsed() < Duration::from_secs(3), "shutdown took {:?}", started.elapsed());
    idle.assert_closed();
    server.stop().unwrap();
}

#[test]
fn shutdown_grace_bounds_the_wait_for_stuck_handlers() {
    let gate = Gate::new();
    let config = ServerConfig { shutdown_grace: Duration::from_millis(300), ..ServerConfig::default() };
    let server = slow_and_fast(gate.clone(), config);
    let stuck = enter_slow(&server, &gate, b"GET /slow HTTP/1.0\r\n\r\n");
    let started = Instant::now();
    server.shutdown_handle().shutdown();
    assert!(started.elapsed() < Duration::from_secs(4), "shutdown took {:?}", started.elapsed());
    gate.signal("release");
    drop(stuck);
    server.stop().unwrap();
}

#[test]
fn shutdown_requested_before_serve_forever_starts_is_not_lost() {
    // Python's serve_forever returns at once if shutdown() was already
    // requested; the usual `spawn(serve_forever); handle.shutdown()` races
    // otherwise.
    let mut server = HTTPServer::new(("127.0.0.1", 0), WhoAmI::default).unwrap();
    let handle = server.shutdown_handle();
    handle.request_shutdown();
    let t = thread::spawn(move || server.serve_forever());
    let deadline = Instant::now() + Duration::from_secs(5);
    while !t.is_finished() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    let finished = t.is_finished();
    if !finished {
        handle.request_shutdown(); // let the thread end
    }
    assert!(finished, "serve_forever ignored a shutdown requested before it started");
}

#[test]
fn serve_forever_runs_again_after_a_shutdown() {
    let server = HTTPServer::new(("127.0.0.1", 0), WhoAmI::default).unwrap();
    let port = server.server_port();
    let handle = server.shutdown_handle();
    let run = |mut server: HTTPServer<WhoAmI>| {
        thread::spawn(move || {
            let r = server.serve_forever();
            (server, r)
        })
    };
    let mut server = server;
    for round in 0..2 {
        let t = run(server);
        let mut c = Client::connect(port);
        c.send(b"GET / HTTP/1.0\r\n\r\n");
        assert!(body_of(&c.read_to_end()).starts_with("127.0.0.1 "), "round {round}");
        // shutdown() may run before serve_forever started: repeat it.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !t.is_finished() && Instant::now() < deadline {
            handle.shutdown();
            thread::sleep(Duration::from_millis(20));
        }
        let (s, result) = t.join().unwrap();
        result.unwrap();
        server = s;
    }
}

#[test]
fn server_close_releases_the_socket() {
    let mut server = HTTPServer::new(("127.0.0.1", 0), WhoAmI::default).unwrap();
    let port = server.server_port();
    server.server_close();
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "nothing listens any more");
    TcpListener::bind(("127.0.0.1", port)).expect("the port is free again");
    assert!(server.handle_request().is_err(), "a closed server cannot serve");
    // Dropping does the same.
    let server = HTTPServer::new(("127.0.0.1", 0), WhoAmI::default).unwrap();
    let port = server.server_port();
    drop(server);
    TcpListener::bind(("127.0.0.1", port)).expect("the port is free after drop");
}

/// Counts its requests: a fresh value per connection starts at zero.
struct PerConnection {
    id: usize,
    requests: usize,
}

impl BaseHTTPRequestHandler for PerConnection {
    const PROTOCOL_VERSION: &'static str = "HTTP/1.1";

    fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
        self.requests += 1;
        let body = format!("handler {} request {}", self.id, self.requests);
        reply(req, body.as_bytes())
    }
}

#[test]
fn a_fresh_handler_per_connection() {
    let made = Arc::new(AtomicUsize::new(0));
    let m = made.clone();
    let server = TestServer::start(move || PerConnection { id: m.fetch_add(1, Ordering::SeqCst) + 1, requests: 0 });
    let mut a = server.connect();
    a.send(b"GET / HTTP/1.1\r\n\r\n");
    let first = body_of(&a.read_response());
    a.send(b"GET / HTTP/1.1\r\n\r\n");
    let second = body_of(&a.read_response());
    let mut b = server.connect();
    b.send(b"GET / HTTP/1.1\r\n\r\n");
    let third = body_of(&b.read_response());
    // The same value serves every request of a connection, a new value each
    // new connection.
    let id_a: usize = first.split(' ').nth(1).unwrap().parse().unwrap();
    assert_eq!(first, format!("handler {id_a} request 1"));
    assert_eq!(second, format!("handler {id_a} request 2"));
    assert!(third.ends_with(" request 1") && !third.starts_with(&format!("handler {id_a} ")), "{third}");
    assert_eq!(made.load(Ordering::SeqCst), 2, "one handler per connection");
}

#[test]
fn shared_state_through_an_arc_in_the_factory() {
    struct Hits(Arc<Mutex<Vec<String>>>);
    impl BaseHTTPRequestHandler for Hits {
        fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
            let n = {
                let mut hits = self.0.lock().unwrap();
                hits.push(req.path.clone());
                hits.len()
            };
            reply(req, n.to_string().as_bytes())
        }
    }
    let hits = Arc::new(Mutex::new(Vec::new()));
    let h = hits.clone();
    let server = TestServer::start(move || Hits(h.clone()));
    for (i, path) in ["/a", "/b", "/c"].iter().enumerate() {
        let response = server.exchange(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes());
        assert_eq!(body_of(&response), (i + 1).to_string());
    }
    assert_eq!(*hits.lock().unwrap(), ["/a", "/b", "/c"]);
}

#[test]
fn shared_state_through_set_state() {
    struct Counter(AtomicUsize);
    let mut server = HTTPServer::new(("127.0.0.1", 0), || {
        support::FnHandler(Arc::new(|req: &mut Request| {
            let n = req.server().state::<Counter>().map(|c| c.0.fetch_add(1, Ordering::SeqCst) + 1);
            let wrong_type = req.server().state::<String>().is_some();
            reply(req, format!("{n:?} {wrong_type}").as_bytes())
        }))
    })
    .unwrap();
    server.set_state(Counter(AtomicUsize::new(0)));
    let server = TestServer::spawn(server);
    assert_eq!(body_of(&server.exchange(b"GET / HTTP/1.0\r\n\r\n")), "Some(1) false");
    assert_eq!(body_of(&server.exchange(b"GET / HTTP/1.0\r\n\r\n")), "Some(2) false");
    // Without set_state there is no state.
    let bare = serve_fn(|req| {
        let none = req.server().state::<Counter>().is_none();
        reply(req, none.to_string().as_bytes())
    });
    assert_eq!(body_of(&bare.exchange(b"GET / HTTP/1.0\r\n\r\n")), "true");
}

#[test]
fn a_panicking_factory_closes_only_that_connection() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let server = TestServer::start(move || {
        if c.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("factory failure (expected by the test)");
        }
        WhoAmI
    });
    let mut first = server.connect();
    first.send(b"GET / HTTP/1.0\r\n\r\n");
    first.assert_closed();
    assert!(body_of(&server.exchange(b"GET / HTTP/1.0\r\n\r\n")).starts_with("127.0.0.1 "));
}

#[test]
fn accept_errors_never_end_serve_forever() {
    // Runs the conformance example with a tiny descriptor limit, exhausts
    // it (accept fails with EMFILE), frees it, and checks the server still
    // answers.
    let bin = support::conformance_binary();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("ulimit -n 24 && exec '{}' --port {port}", bin.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sh");
    let stderr = child.stderr.take().unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let sink = log.clone();
    thread::spawn(move || {
        use std::io::Read;
        let mut s = String::new();
        let mut stderr = stderr;
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            s.push_str(&String::from_utf8_lossy(&buf[..n]));
            *sink.lock().unwrap() = s.clone();
        }
    });
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Kill(child);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err() {
        assert!(Instant::now() < deadline, "the conformance server did not start");
        thread::sleep(Duration::from_millis(50));
    }
    let hello = || {
        let mut c = Client::connect(port);
        c.send(b"GET /hello HTTP/1.0\r\n\r\n");
        body_of(&c.read_to_end())
    };
    assert_eq!(hello(), "Hello, world!");
    // Hold more connections than the server has descriptors left.
    let hogs: Vec<TcpStream> =
        (0..40).filter_map(|_| TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()).collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !log.lock().unwrap().contains("accept failed") && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
    assert!(log.lock().unwrap().contains("accept failed"), "EMFILE was not hit: {}", log.lock().unwrap());
    drop(hogs);
    // The server recovers once descriptors are free again.
    thread::sleep(Duration::from_millis(200));
    assert_eq!(hello(), "Hello, world!");
    assert!(matches!(child.0.try_wait(), Ok(None)), "the server process must still run");
}

#[test]
fn a_connection_accepted_just_before_a_shutdown_gets_its_first_request_answered() {
    // Closing a connection the client has only just opened would reset the
    // request it is sending (clients retry on an idle keep-alive
    // connection, not on a new one): the stop serves that first request.
    let server = serve_fn(|req| reply(req, b"served"));
    let mut c = server.connect();
    thread::sleep(Duration::from_millis(100)); // accepted and parked, nothing sent yet
    server.shutdown_handle().request_shutdown();
    thread::sleep(Duration::from_millis(10));
    c.send(b"GET / HTTP/1.0\r\n\r\n");
    let out = String::from_utf8_lossy(&c.read_to_end()).into_owned();
    assert!(out.starts_with("HTTP/1.0 200 OK\r\n") && out.ends_with("served"), "{out:?}");
}

#[test]
fn with_reuse_port_a_second_server_shares_the_port_and_a_shutdown_hands_it_over() {
    let config = || ServerConfig { reuse_port: true, ..ServerConfig::default() };
    let get = |port: u16| {
        let mut c = Client::connect(port);
        c.send(b"GET / HTTP/1.0\r\n\r\n");
        c.read_to_end()
    };
    let first = HTTPServer::with_config(("127.0.0.1", 0), WhoAmI::default, config()).unwrap();
    let port = first.server_port();
    let mut second = HTTPServer::with_config(("127.0.0.1", port), WhoAmI::default, config()).expect("SO_REUSEPORT");
    let (handle1, handle2) = (first.shutdown_handle(), second.shutdown_handle());
    let t1 = thread::spawn(move || {
        let mut first = first;
        let r = first.serve_forever();
        (first, r)
    });
    let t2 = thread::spawn(move || second.serve_forever());
    for _ in 0..20 {
        assert!(get(port).starts_with(b"HTTP/1.0 200"), "both serving");
    }
    handle1.shutdown();
    let (mut first, r) = t1.join().unwrap();
    assert!(r.is_ok());
    // The first server shut its listening socket: it cannot serve again,
    // and every new connection goes to the second one.
    assert!(first.serve_forever().is_err(), "the listener was closed");
    for _ in 0..20 {
        assert!(get(port).starts_with(b"HTTP/1.0 200"), "the second alone");
    }
    handle2.shutdown();
    assert!(t2.join().unwrap().is_ok());
}
