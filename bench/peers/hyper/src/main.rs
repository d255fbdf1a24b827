//! `peer-hyper PORT`: answers every request with 200 and `Hello, world!`.
//!
//! hyper's HTTP/1 connection driver on a multi-threaded tokio runtime. The
//! runtime sizes its worker pool from the CPUs this process may use, so
//! under `taskset -c 1` it runs one worker. `pipeline_flush` lets hyper
//! answer a batch of pipelined requests with one write, which is how it is
//! meant to be configured for pipelined clients.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

const BODY: &[u8] = b"Hello, world!";

async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(BODY))))
}

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).expect("usage: peer-hyper PORT");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_io().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
        loop {
            let (socket, _) = match listener.accept().await {
                Ok(pair) => pair,
                Err(_) => continue,
            };
            socket.set_nodelay(true)?;
            tokio::spawn(async move {
                let conn = http1::Builder::new()
                    .pipeline_flush(true)
                    .serve_connection(TokioIo::new(socket), service_fn(hello));
                let _ = conn.await;
            });
        }
    })
}
