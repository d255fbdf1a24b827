//! The threads added for blocked handlers go away after the load. Alone in
//! its test binary: it counts the threads of the whole process.

mod support;

use std::thread;
use std::time::{Duration, Instant};

use basehttp::{HandlerResult, Request, ServerConfig};
use support::{reply, serve_fn_with, Client};

fn threads() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with("Threads:")).expect("a Threads line");
    line["Threads:".len()..].trim().parse().unwrap()
}

#[test]
fn worker_threads_return_to_the_idle_count_after_the_load() {
    let config = ServerConfig { worker_idle_timeout: Duration::from_millis(200), ..ServerConfig::default() };
    let server = serve_fn_with(
        config,
        |_| {},
        |req: &mut Request| -> HandlerResult {
            if req.path == "/sleep" {
                thread::sleep(Duration::from_millis(20));
            }
            reply(req, b"ok")
        },
    );
    // The idle count: the server answered once and has settled.
    assert!(server.exchange(b"GET / HTTP/1.0\r\n\r\n").ends_with(b"ok"));
    thread::sleep(Duration::from_millis(500));
    let idle = threads();

    let mut most = idle;
    for _ in 0..3 {
        let clients: Vec<Client> = (0..32)
            .map(|_| {
                let mut c = server.connect();
                c.send(b"GET /sleep HTTP/1.0\r\n\r\n");
                c
            })
            .collect();
        most = most.max(threads());
        for mut c in clients {
            assert!(c.read_to_end().ends_with(b"ok"));
        }
    }
    assert!(most > idle + 8, "the blocked handlers ran on threads of their own ({most} threads, {idle} idle)");

    let deadline = Instant::now() + Duration::from_secs(10);
    while threads() > idle {
        assert!(Instant::now() < deadline, "{} threads 10 s after the load; {idle} before it", threads());
        thread::sleep(Duration::from_millis(50));
    }
}
