//! HTTPS (feature `tls`): a connection's socket under rustls, as a
//! [`Channel`]. The handshake advances in the poller like a request head
//! does (non-blocking reads; a silent client is closed at the head
//! deadline and holds no thread); keep-alive, pipelining, chunked bodies
//! and upgrades work as on plain HTTP; every close sends `close_notify`.

use std::any::Any;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConnection;

use crate::handler::io::{Channel, TlsInfo};
use crate::transport::channel::wait_socket;

/// A server's TLS settings: its certificate chain and private key, or a
/// whole rustls `ServerConfig` (client certificates, SNI resolvers,
/// protocol versions). Used by [`HTTPServer::new_https`](crate::HTTPServer::new_https).
#[derive(Clone)]
pub struct TlsConfig(pub(crate) Arc<rustls::ServerConfig>);

impl TlsConfig {
    /// From PEM files: `cert_chain` holds the server's certificate first,
    /// then its intermediates; `key` an unencrypted PKCS#8, PKCS#1 or SEC1
    /// private key. ALPN offers `http/1.1`. An encrypted key is refused
    /// with an error that says how to decrypt it.
    pub fn from_pem_files(cert_chain: impl AsRef<Path>, key: impl AsRef<Path>) -> io::Result<TlsConfig> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|e| io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display())))
        };
        Self::from_pem(&read(cert_chain.as_ref())?, &read(key.as_ref())?)
    }

    /// [`from_pem_files`](Self::from_pem_files) with the files' contents.
    pub fn from_pem(cert_chain: &[u8], key: &[u8]) -> io::Result<TlsConfig> {
        let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidInput, what);
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_chain)
            .collect::<Result<_, _>>()
            .map_err(|e| invalid(format!("bad certificate PEM: {e}")))?;
        if certs.is_empty() {
            return Err(invalid("no certificate in the certificate file".into()));
        }
        if key.windows(b"ENCRYPTED PRIVATE KEY".len()).any(|w| w == b"ENCRYPTED PRIVATE KEY")
            || key.windows(b"Proc-Type: 4,ENCRYPTED".len()).any(|w| w == b"Proc-Type: 4,ENCRYPTED")
        {
            return Err(invalid(
                "the private key is encrypted, which rustls does not read: decrypt it once with \
                 `openssl pkey -in KEY.pem -out KEY-plain.pem` (it asks for the password) and use that file"
                    .into(),
            ));
        }
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| invalid(format!("no usable private key: {e}")))?;
        // rustls 0.23.48 deprecates ring's provider because it has no
        // post-quantum key exchange (that needs aws-lc-rs, which needs
        // cmake to build); ring builds anywhere cargo does (README, "HTTPS").
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| invalid(format!("certificate and key do not go together: {e}")))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsConfig(Arc::new(config)))
    }

    /// A rustls configuration built by the caller (client authentication,
    /// several certificates, session storage…). Give its ALPN list
    /// `http/1.1` for browsers that ask.
    pub fn from_rustls(config: Arc<rustls::ServerConfig>) -> TlsConfig {
        TlsConfig(config)
    }
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig").field("alpn_protocols", &self.0.alpn_protocols).finish_non_exhaustive()
    }
}

/// What a plain-HTTP request to the TLS port gets before the close (as
/// nginx answers it): a readable reason instead of a TLS alert.
const PLAIN_HTTP_ANSWER: &[u8] = b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\n\
Content-Length: 41\r\nConnection: close\r\n\r\nThis port speaks HTTPS, not plain HTTP.\r\n";

/// A TCP socket under a rustls server session.
pub(crate) struct TlsChannel {
    stream: Arc<TcpStream>,
    conn: ServerConnection,
    /// The socket's end of input was read.
    eof: bool,
    /// The last socket read found nothing more (`EAGAIN`).
    drained: bool,
    /// Decrypted bytes not yet read.
    plain_left: usize,
    /// Nothing was read from the socket yet.
    first: bool,
}

impl TlsChannel {
    pub(crate) fn new(stream: Arc<TcpStream>, config: &TlsConfig) -> io::Result<TlsChannel> {
        let conn = ServerConnection::new(config.0.clone()).map_err(io::Error::other)?;
        Ok(TlsChannel { stream, conn, eof: false, drained: false, plain_left: 0, first: true })
    }

    /// Writes the session's pending records to the socket.
    fn push(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut &*self.stream) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// A client that speaks plain HTTP to this port gets a plain answer.
    fn refuse_plain_http(&mut self) -> io::Result<()> {
        let mut first = [0u8; 1];
        match self.stream.peek(&mut first) {
            Ok(_) => self.first = false,
            Err(_) => return Ok(()), // nothing yet: look at the next read
        }
        if first[0].is_ascii_uppercase() {
            let _ = (&*self.stream).write_all(PLAIN_HTTP_ANSWER);
            let _ = self.stream.shutdown(Shutdown::Write);
            return Err(io::Error::new(io::ErrorKind::InvalidData, "plain HTTP on the TLS port"));
        }
        Ok(())
    }
}

/// A session dropped without [`Channel::finish`] (the parked keep-alive
/// connections that a server shutdown drops) still ends with
/// `close_notify`, so the client sees a clean end rather than a
/// truncation. Nothing is sent twice (rustls sends one `close_notify`),
/// nothing during a handshake or after a fatal alert, and nothing waits:
/// the socket is non-blocking.
impl Drop for TlsChannel {
    fn drop(&mut self) {
        self.finish();
    }
}

impl Channel for TlsChannel {
    fn read(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.plain_left > 0 || self.eof {
                match self.conn.reader().read(dst) {
                    Ok(n) => {
                        self.plain_left = self.plain_left.saturating_sub(n);
                        return Ok(n);
                    }
                    // The peer closed without close_notify: the end, as on
                    // plain HTTP (framing decides whether a body is whole).
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock && !self.eof => self.plain_left = 0,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(0),
                    Err(e) => return Err(e),
                }
            }
            if self.first {
                self.refuse_plain_http()?;
            }
            match self.conn.read_tls(&mut &*self.stream) {
                Ok(0) => self.eof = true,
                Ok(_) => self.drained = false,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.drained = true;
                    // Handshake replies and alerts go out before waiting.
                    match self.push() {
                        Ok(()) => return Err(e),
                        Err(w) if w.kind() == io::ErrorKind::WouldBlock => return Err(e),
                        Err(w) => return Err(w),
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            match self.conn.process_new_packets() {
                Ok(state) => {
                    self.plain_left = state.plaintext_bytes_to_read();
                    if state.peer_has_closed() {
                        self.eof = true;
                    }
                }
                Err(e) => {
                    // The alert explaining it, then the error.
                    let _ = self.push();
                    return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                }
            }
            match self.push() {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        // Records already made go first: backpressure from the socket.
        self.push()?;
        let n = self.conn.writer().write(data)?;
        if n == 0 && !data.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        match self.push() {
            Ok(()) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(n),
            Err(e) => Err(e),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.push()
    }

    fn handshaking(&self) -> bool {
        !self.first && self.conn.is_handshaking()
    }

    fn more_buffered(&self) -> bool {
        self.plain_left > 0 || !self.drained
    }

    fn wait(&self, writable: bool, timeout: Option<Duration>) -> io::Result<bool> {
        wait_socket(&self.stream, writable, timeout)
    }

    fn finish(&mut self) {
        if !self.conn.is_handshaking() {
            self.conn.send_close_notify();
        }
        let _ = self.push();
    }

    fn shutdown_write(&mut self) {
        self.finish();
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    fn tls(&self) -> Option<TlsInfo> {
        Some(TlsInfo {
            server_name: self.conn.server_name().map(str::to_owned),
            alpn_protocol: self.conn.alpn_protocol().map(<[u8]>::to_vec),
        })
    }

    fn socket(&self) -> Option<BorrowedFd<'_>> {
        Some(self.stream.as_fd())
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
