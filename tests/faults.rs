//! Faults: a handler that panics on every request under load, clients that
//! reset mid-response, and a shutdown with 500 connections open. Each leaves
//! the server alive (or stopped cleanly) and leaks no thread or socket. One test runs the scenarios in turn, so that thread and
//! descriptor counts of this process are not disturbed by other tests.
//! (Running out of descriptors is covered by
//! `runtime_server::accept_errors_never_end_serve_forever`.)

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use basehttp::{BaseHTTPRequestHandler, HTTPServer, HandlerResult, Request, ServerConfig};
use support::Client;

/// What this process's descriptors point at.
fn fds() -> Vec<String> {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .map(|l| l.display().to_string())
        .collect()
}

/// Open sockets of this process (connections, listeners).
fn sockets() -> usize {
    fds().iter().filter(|f| f.starts_with("socket:")).count()
}

/// Threads of this process whose name starts with `basehttp-`.
fn runtime_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("basehttp-"))
        .count()
}

/// Waits (bounded) until `f` holds; returns whether it did.
fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    f()
}

/// Panics on `/panic`, streams 8 MiB on `/big`, sleeps on `/slow`, else 200.
#[derive(Default)]
struct Faulty;

impl BaseHTTPRequestHandler for Faulty {
    const PROTOCOL_VERSION: &'static str = "HTTP/1.1";

    fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
        match req.path.as_str() {
            "/panic" => panic!("this handler always fails"),
            "/big" => {
                let chunk = vec![b'x'; 64 * 1024];
                req.send_response(200)?;
                req.send_header("Content-Length", 128 * chunk.len())?;
                req.end_headers()?;
                for _ in 0..128 {
                    req.wfile().write_all(&chunk)?;
                }
                Ok(())
            }
            "/slow" => {
                thread::sleep(Duration::from_millis(300));
                support::reply(req, b"slow")
            }
            _ => support::reply(req, b"ok"),
        }
    }
}

fn start(config: ServerConfig) -> (basehttp::ShutdownHandle, u16, thread::JoinHandle<()>) {
    let mut server = HTTPServer::with_config(("127.0.0.1", 0), Faulty::default, config).unwrap();
    let (handle, port) = (server.shutdown_handle(), server.server_port());
    let thread = thread::spawn(move || server.serve_forever().unwrap());
    assert!(eventually(Duration::from_secs(5), || TcpStream::connect(("127.0.0.1", port)).is_ok()));
    (handle, port, thread)
}

fn get(port: u16, path: &str) -> Vec<u8> {
    let mut c = Client::connect(port);
    c.send(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes());
    c.read_to_end()
}

fn panics_under_load_leave_the_server_alive(port: u16, sockets_before: usize) {
    let clients: Vec<_> = (0..8)
        .map(|_| {
            thread::spawn(move || {
                (0..40).filter(|_| get(port, "/panic").starts_with(b"HTTP/1.1 500 Internal Server Error\r\n")).count()
            })
        })
        .collect();
    let answered: usize = clients.into_iter().map(|c| c.join().unwrap()).sum();
    assert_eq!(answered, 320, "every panicking request gets its 500");
    assert!(get(port, "/").ends_with(b"\r\n\r\nok"), "the server still serves");
    assert!(
        eventually(Duration::from_secs(5), || sockets() <= sockets_before),
        "sockets leaked: {:?} open, {} before",
        fds(),
        sockets_before
    );
}

fn resets_mid_response_leave_the_server_alive(port: u16, sockets_before: usize) {
    for _ in 0..20 {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut first = [0u8; 4096];
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert!(s.read(&mut first).unwrap() > 0);
        // Closing with unread data makes the kernel send RST.
        drop(s);
    }
    assert!(get(port, "/").ends_with(b"\r\n\r\nok"), "the server still serves");
    assert!(
        eventually(Duration::from_secs(10), || sockets() <= sockets_before),
        "sockets leaked after resets: {:?} open, {} before",
        fds(),
        sockets_before
    );
}

#[test]
fn faults_leave_no_leaks() {
    // The panics are expected: keep their messages out of the test output.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<&str>() != Some(&"this handler always fails") {
            default_hook(info);
        }
    }));
    let sockets_before = sockets();
    let config = ServerConfig { shutdown_grace: Duration::from_secs(2), ..ServerConfig::default() };
    let (handle, port, server) = start(config);
    let sockets_serving = sockets();
    panics_under_load_leave_the_server_alive(port, sockets_serving);
    resets_mid_response_leave_the_server_alive(port, sockets_serving);

    // 500 open connections (idle keep-alive after one request each) and a
    // few requests in flight, then shutdown from another thread.
    let mut idle: Vec<Client> = (0..500)
        .map(|_| {
            let mut c = Client::connect(port);
            c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            assert!(c.read_response().ends_with(b"ok"));
            c
        })
        .collect();
    let in_flight: Vec<_> = (0..4).map(|_| thread::spawn(move || get(port, "/slow"))).collect();
    thread::sleep(Duration::from_millis(50));
    let started = Instant::now();
    handle.shutdown();
    let took = started.elapsed();
    server.join().unwrap();
    assert!(took < Duration::from_secs(3), "shutdown took {took:?} (grace 2 s)");
    for r in in_flight {
        assert!(r.join().unwrap().ends_with(b"slow"), "requests in flight finish");
    }
    for c in idle.iter_mut() {
        c.assert_closed();
    }
    drop(idle);
    assert!(
        eventually(Duration::from_secs(5), || runtime_threads() == 0),
        "{} runtime threads left",
        runtime_threads()
    );
    assert!(
        eventually(Duration::from_secs(5), || sockets() <= sockets_before),
        "sockets left after shutdown: {:?} open, {} before",
        fds(),
        sockets_before
    );
}
