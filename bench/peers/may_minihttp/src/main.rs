//! `peer-may-minihttp PORT`: answers every request with 200 and `Hello, world!`.
//!
//! may_minihttp serves each connection on a coroutine of the `may` runtime,
//! whose worker count follows the CPUs this process may use.

use may_minihttp::{HttpServer, HttpService, Request, Response};

#[derive(Clone)]
struct Hello;

impl HttpService for Hello {
    fn call(&mut self, _req: Request, rsp: &mut Response) -> std::io::Result<()> {
        rsp.header("Content-Type: text/plain").body("Hello, world!");
        Ok(())
    }
}

fn main() {
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).expect("usage: peer-may-minihttp PORT");
    let server = HttpServer(Hello).start(("127.0.0.1", port)).expect("bind");
    server.join().expect("server thread");
}
