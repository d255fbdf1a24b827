//! `peer-tiny-http PORT`: answers every request with 200 and `Hello, world!`.
//!
//! tiny_http as its documentation suggests for a multi-threaded server: a few
//! threads share the `Server` and each takes the next request with `recv`.
//! tiny_http itself reads connections on threads of its own.

use std::sync::Arc;
use std::thread;

const HANDLER_THREADS: usize = 4;

fn main() {
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).expect("usage: peer-tiny-http PORT");
    let server = Arc::new(tiny_http::Server::http(("127.0.0.1", port)).expect("bind"));
    let handlers: Vec<_> = (0..HANDLER_THREADS)
        .map(|_| {
            let server = Arc::clone(&server);
            thread::spawn(move || {
                while let Ok(request) = server.recv() {
                    let _ = request.respond(tiny_http::Response::from_string("Hello, world!"));
                }
            })
        })
        .collect();
    for handler in handlers {
        let _ = handler.join();
    }
}
