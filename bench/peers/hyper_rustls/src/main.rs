//! `peer-hyper-rustls PORT CERT KEY`: answers every request with 200 and
//! `Hello, world!` over HTTPS (the TLS section, `bench/run.sh --tls`).
//!
//! The hyper peer (`bench/peers/hyper`: hyper 1 `http1` connections on a
//! multi-threaded tokio runtime, `pipeline_flush`, TCP_NODELAY) with each
//! accepted socket under tokio-rustls. The rustls configuration is the one
//! basehttp builds in `TlsConfig::from_pem_files` (basehttp/src/transport/tls.rs),
//! so both servers offer the same protocol versions, cipher suites, key
//! exchange groups, ALPN and session resumption: rustls' ring provider as it
//! comes, `with_safe_default_protocol_versions` (TLS 1.3 and 1.2), no client
//! authentication, one certificate, ALPN `http/1.1`, and rustls' defaults for
//! the rest (a 256-entry in-memory session cache, two TLS 1.3 tickets per
//! handshake). CERT is a PEM certificate chain, KEY an unencrypted PEM key.
//! The handshake runs in the connection's own task, so one slow client does
//! not hold up the accept loop. Under `taskset -c 1` the runtime has one
//! worker.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

const BODY: &[u8] = b"Hello, world!";
const USAGE: &str = "usage: peer-hyper-rustls PORT CERT KEY";

async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(BODY))))
}

/// basehttp's `TlsConfig::from_pem_files`, step for step.
fn server_config(cert: &str, key: &str) -> Result<rustls::ServerConfig, String> {
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(cert).and_then(|certs| certs.collect()).map_err(|e| format!("{cert}: {e}"))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{key}: {e}"))?;
    // rustls 0.23.48 deprecates ring's provider (no post-quantum key
    // exchange); basehttp uses it all the same, and so must this peer.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [port, cert, key] = args.as_slice() else {
        eprintln!("{USAGE}");
        std::process::exit(2)
    };
    let port: u16 = port.parse().unwrap_or_else(|_| {
        eprintln!("{USAGE}");
        std::process::exit(2)
    });
    let config = server_config(cert, key).unwrap_or_else(|e| {
        eprintln!("peer-hyper-rustls: {e}");
        std::process::exit(1)
    });
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_io().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
        loop {
            let (socket, _) = match listener.accept().await {
                Ok(pair) => pair,
                Err(_) => continue,
            };
            socket.set_nodelay(true)?;
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(socket).await else { return };
                let conn =
                    http1::Builder::new().pipeline_flush(true).serve_connection(TokioIo::new(tls), service_fn(hello));
                let _ = conn.await;
            });
        }
    })
}
