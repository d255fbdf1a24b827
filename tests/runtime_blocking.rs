//! Handlers that block (a database call, a slow upload) hold a thread each,
//! as with one thread per connection, without holding up the requests of
//! other connections; at `max_workers` blocked handlers new requests wait
//! and none is lost. Real sockets, real threads; the bounds are loose
//! enough for a busy CI machine and far below what serialising the
//! handlers on one thread per core would take.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use basehttp::{HandlerResult, Request, ServerConfig};
use support::{reply, serve_fn, serve_fn_with, Client, Gate, TestServer};

fn body_of(response: &[u8]) -> String {
    let at = support::find(response, b"\r\n\r\n").expect("a whole head") + 4;
    String::from_utf8_lossy(&response[at..]).into_owned()
}

/// How many handlers are inside at once, and the most seen.
#[derive(Default)]
struct Inside {
    now: AtomicUsize,
    peak: AtomicUsize,
    total: AtomicUsize,
}

impl Inside {
    fn enter(&self) -> usize {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        self.total.fetch_add(1, Ordering::SeqCst);
        now
    }

    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }

    /// Waits (bounded) until `n` handlers are inside.
    fn wait_for(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.now.load(Ordering::SeqCst) < n {
            assert!(Instant::now() < deadline, "only {} of {n} handlers got inside", self.now.load(Ordering::SeqCst));
            thread::sleep(Duration::from_millis(2));
        }
    }
}

/// `/block` waits for the gate's "release" (bounded) and counts itself in
/// `inside`; any other path answers at once.
fn gated(gate: Arc<Gate>, inside: Arc<Inside>, config: ServerConfig) -> TestServer {
    serve_fn_with(
        config,
        |_| {},
        move |req| {
            if req.path == "/block" {
                inside.enter();
                let released = gate.wait("release", Duration::from_secs(10));
                inside.leave();
                return reply(req, if released { b"released" } else { b"timed out" });
            }
            reply(req, b"quick")
        },
    )
}

fn send_all(server: &TestServer, n: usize, request: &[u8]) -> Vec<Client> {
    (0..n)
        .map(|_| {
            let mut c = server.connect();
            c.send(request);
            c
        })
        .collect()
}

#[test]
fn sixty_four_sleeping_handlers_overlap_like_threads_per_connection() {
    // 64 × 50 ms one after another on one thread per core would take at
    // least 64 × 50 / cores ms (1.6 s on two cores).
    const N: usize = 64;
    let server = serve_fn(|req: &mut Request| -> HandlerResult {
        thread::sleep(Duration::from_millis(50));
        reply(req, b"slept")
    });
    let started = Instant::now();
    let clients = send_all(&server, N, b"GET /sleep HTTP/1.0\r\n\r\n");
    for mut c in clients {
        assert_eq!(body_of(&c.read_to_end()), "slept");
    }
    let took = started.elapsed();
    assert!(took < Duration::from_millis(400), "{N} handlers sleeping 50 ms took {took:?}");
}

#[test]
fn a_quick_request_is_answered_while_max_workers_minus_one_handlers_block() {
    const MAX: usize = 4;
    let (gate, inside) = (Gate::new(), Arc::new(Inside::default()));
    let config = ServerConfig { max_workers: MAX, ..ServerConfig::default() };
    let server = gated(gate.clone(), inside.clone(), config);
    let blocked = send_all(&server, MAX - 1, b"GET /block HTTP/1.0\r\n\r\n");
    inside.wait_for(MAX - 1);
    // Several connections, so that every poller (one per core) gets one.
    for _ in 0..4 {
        let asked = Instant::now();
        assert_eq!(body_of(&server.exchange(b"GET /quick HTTP/1.0\r\n\r\n")), "quick");
        let took = asked.elapsed();
        assert!(took < Duration::from_millis(250), "a quick request waited {took:?}");
    }
    gate.signal("release");
    for mut c in blocked {
        assert_eq!(body_of(&c.read_to_end()), "released");
    }
}

#[test]
fn at_max_workers_blocked_handlers_new_requests_wait_and_none_is_lost() {
    const MAX: usize = 2;
    const N: usize = 10;
    let (gate, inside) = (Gate::new(), Arc::new(Inside::default()));
    let config = ServerConfig { max_workers: MAX, ..ServerConfig::default() };
    let server = gated(gate.clone(), inside.clone(), config);
    let clients = send_all(&server, N, b"GET /block HTTP/1.0\r\n\r\n");
    inside.wait_for(MAX);
    thread::sleep(Duration::from_millis(300));
    // Each poller (one per core, at most max_workers of them) may also be
    // stuck with one request that blocked before it knew; the rest wait.
    let pollers = thread::available_parallelism().map_or(1, |n| n.get()).min(MAX);
    let peak = inside.peak.load(Ordering::SeqCst);
    assert!(peak <= MAX + pollers, "{peak} handlers inside at once with max_workers = {MAX}");
    assert!(peak < N, "no back-pressure: all {N} requests started");
    gate.signal("release");
    for mut c in clients {
        assert_eq!(body_of(&c.read_to_end()), "released");
    }
    assert_eq!(inside.total.load(Ordering::SeqCst), N, "every request was handled once");
}

#[test]
fn handlers_blocked_reading_slow_bodies_do_not_hold_up_others() {
    // Each upload sends its head and half its body, then stalls: its
    // handler waits in rfile.read. On one thread per core, with a stuck
    // thread replaced only after a while, the quick request would wait
    // behind every one of them.
    const UPLOADS: usize = 48;
    let server = serve_fn(|req: &mut Request| -> HandlerResult {
        let length: usize = req.headers.get("Content-Length").map_or(0, |v| v.parse().unwrap());
        let mut body = vec![0; length];
        std::io::Read::read_exact(&mut req.rfile(), &mut body)?;
        let text = format!("got {} bytes", body.len());
        reply(req, text.as_bytes())
    });
    let mut uploads = send_all(&server, UPLOADS, b"POST /up HTTP/1.0\r\nContent-Length: 10\r\n\r\nhello");
    thread::sleep(Duration::from_millis(50));
    let asked = Instant::now();
    assert_eq!(body_of(&server.exchange(b"GET /quick HTTP/1.0\r\n\r\n")), "got 0 bytes");
    let took = asked.elapsed();
    assert!(took < Duration::from_millis(250), "a quick request waited {took:?} behind {UPLOADS} slow uploads");
    for c in &mut uploads {
        c.send(b"world");
    }
    for mut c in uploads {
        assert_eq!(body_of(&c.read_to_end()), "got 10 bytes");
    }
}

#[test]
fn quick_keep_alive_requests_beside_blocked_ones_are_all_answered_in_order() {
    // Connections whose handlers block and connections whose handlers do
    // not, on the same pollers: every response arrives, on its own
    // connection, in order.
    let server = serve_fn_with(ServerConfig::default(), support::http11, |req: &mut Request| -> HandlerResult {
        if let Some(ms) = req.path.strip_prefix("/sleep/") {
            thread::sleep(Duration::from_millis(ms.parse().unwrap()));
        }
        let path = req.path.clone();
        reply(req, path.as_bytes())
    });
    let mut slow: Vec<Client> = (0..8).map(|_| server.connect()).collect();
    let mut quick: Vec<Client> = (0..4).map(|_| server.connect()).collect();
    for round in 0..5 {
        for c in slow.iter_mut() {
            c.send(format!("GET /sleep/{} HTTP/1.1\r\nHost: x\r\n\r\n", 10 + round).as_bytes());
        }
        for (i, c) in quick.iter_mut().enumerate() {
            c.send(format!("GET /q{round}-{i} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
        }
        for (i, c) in quick.iter_mut().enumerate() {
            assert_eq!(body_of(&c.read_response()), format!("/q{round}-{i}"));
        }
        for c in slow.iter_mut() {
            assert_eq!(body_of(&c.read_response()), format!("/sleep/{}", 10 + round));
        }
    }
}

#[test]
fn a_client_trickling_a_head_on_a_blocking_servers_connection_still_meets_the_head_deadline() {
    // While handlers block, a thread that served a connection waits for its
    // next request itself for a moment; a partial head must not keep it
    // (or the connection) there past the head deadline, even when the
    // bytes come faster than that moment and other requests keep blocking.
    let config = ServerConfig { header_timeout: Duration::from_millis(300), ..ServerConfig::default() };
    let server = Arc::new(serve_fn_with(config, support::http11, |req: &mut Request| -> HandlerResult {
        thread::sleep(Duration::from_millis(5));
        reply(req, b"slept")
    }));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let background = {
        let (server, stop) = (server.clone(), stop.clone());
        thread::spawn(move || {
            let mut others: Vec<Client> = (0..4).map(|_| server.connect()).collect();
            while !stop.load(Ordering::SeqCst) {
                for o in others.iter_mut() {
                    o.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
                    assert_eq!(body_of(&o.read_response()), "slept");
                }
            }
        })
    };
    let mut c = server.connect();
    for _ in 0..3 {
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(body_of(&c.read_response()), "slept");
    }
    let started = Instant::now();
    c.send(b"GET / HTTP/1.1\r\n");
    let mut answer = None;
    while started.elapsed() < Duration::from_secs(3) {
        c.send(b"X");
        if let Some(head) = c.try_read_until(b"\r\n\r\n", Duration::from_millis(3)) {
            answer = Some(head);
            break;
        }
    }
    let took = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    background.join().unwrap();
    let head = answer.expect("no answer to a head trickled for 3 s");
    assert!(head.starts_with(b"HTTP/1.1 408 "), "{:?}", support::latin1(&head));
    assert!(took < Duration::from_millis(1500), "408 after {took:?}");
}
