#![cfg(feature = "tls")]
//! HTTPS over real sockets (feature `tls`, issue 12): servers made with
//! `HTTPServer::new_https` or `set_tls`, certificates generated at test
//! time with rcgen, and three clients: rustls (in this process), Python's
//! `ssl` + `http.client`, and curl (each skipped with a note when missing).
//!
//! `cargo test --features tls --test runtime_tls`. The tests that measure
//! the process (thread count, RSS) run alone: every test holds [`SERIAL`]
//! shared, those hold it exclusively.

mod support;

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use basehttp::{HTTPServer, HandlerResult, Request, ServerConfig, TlsConfig};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use support::{
    find, header_value, http11, latin1, reply, serve_fn_with, wait_or_kill, FnHandler, TestServer, IO_TIMEOUT,
};

// ---------------------------------------------------------------------------
// Serialising the tests that measure the whole process
// ---------------------------------------------------------------------------

static SERIAL: RwLock<()> = RwLock::new(());

/// Every test: runs alongside the others, but not alongside a measurement.
fn shared() -> RwLockReadGuard<'static, ()> {
    SERIAL.read().unwrap_or_else(|e| e.into_inner())
}

/// A test that reads the process's thread count or RSS: runs alone.
fn exclusive() -> RwLockWriteGuard<'static, ()> {
    SERIAL.write().unwrap_or_else(|e| e.into_inner())
}

/// A field of `/proc/self/status` (`Threads`, `VmRSS` in KiB), as a number.
fn proc_status(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with(&format!("{field}:"))).expect("field in /proc/self/status");
    line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("a number")
}

// ---------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------

/// The ring provider (rustls 0.23.48 deprecates it only for its lack of
/// post-quantum key exchange; basehttp uses it too).
#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A folder under the system's temporary folder, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("basehttp-tls-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a temporary folder");
        TempDir(dir)
    }

    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("write a PEM file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A self-signed server certificate for `localhost` and `127.0.0.1`, as
/// `openssl req -x509` makes one, in PEM files (`cert.pem`, `key.pem`).
struct SelfSigned {
    dir: TempDir,
    cert: PathBuf,
    key: PathBuf,
    der: CertificateDer<'static>,
}

impl SelfSigned {
    fn new() -> SelfSigned {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("rcgen: self-signed certificate");
        let dir = TempDir::new();
        let cert = dir.write("cert.pem", &made.cert.pem());
        let key = dir.write("key.pem", &made.signing_key.serialize_pem());
        SelfSigned { dir, cert, key, der: made.cert.der().clone() }
    }

    fn tls_config(&self) -> TlsConfig {
        TlsConfig::from_pem_files(&self.cert, &self.key).expect("TlsConfig::from_pem_files")
    }

    /// A rustls client that trusts this certificate and nothing else;
    /// offers ALPN `http/1.1` when `alpn`.
    fn client(&self, alpn: bool) -> Arc<ClientConfig> {
        client_config(std::slice::from_ref(&self.der), alpn, None, None)
    }
}

/// A certificate authority and certificates it signs: the server's
/// (`localhost`, `127.0.0.1`) and clients'.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).expect("rcgen: CA");
        Ca { issuer }
    }

    fn der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// A leaf certificate and its key, for `names`, usable for `purpose`.
    fn sign(
        &self,
        names: &[&str],
        purpose: ExtendedKeyUsagePurpose,
    ) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let mut params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
        params.distinguished_name.push(DnType::CommonName, names.first().copied().unwrap_or("client"));
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![purpose];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).expect("rcgen: signed certificate");
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        (vec![cert.der().clone()], key)
    }
}

type ClientCert = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

/// A rustls client configuration trusting `roots`; ALPN `http/1.1` when
/// `alpn`; a client certificate if given; TLS 1.2 and 1.3 unless `only`.
fn client_config(
    roots: &[CertificateDer<'static>],
    alpn: bool,
    cert: Option<ClientCert>,
    only: Option<&'static rustls::SupportedProtocolVersion>,
) -> Arc<ClientConfig> {
    let mut store = RootCertStore::empty();
    for root in roots {
        store.add(root.clone()).expect("a trust anchor");
    }
    let builder = ClientConfig::builder_with_provider(provider());
    let builder = match only {
        Some(version) => builder.with_protocol_versions(&[version]),
        None => builder.with_safe_default_protocol_versions(),
    }
    .expect("protocol versions")
    .with_root_certificates(store);
    let mut config = match cert {
        Some((chain, key)) => builder.with_client_auth_cert(chain, key).expect("client certificate"),
        None => builder.with_no_client_auth(),
    };
    if alpn {
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
    }
    Arc::new(config)
}

// ---------------------------------------------------------------------------
// The server under test
// ---------------------------------------------------------------------------

/// What every test server answers:
/// - `/chunked`: a chunked body of five flushed pieces (`send_chunked`);
/// - `POST /echo` (any `POST`): the request body;
/// - anything else: one line describing the request and its TLS session.
fn app(req: &mut Request) -> HandlerResult {
    if req.path == "/chunked" {
        req.send_response(200)?;
        req.send_chunked()?;
        req.end_headers()?;
        for i in 0..5 {
            writeln!(req.wfile(), "piece {i}")?;
            req.wfile().flush()?;
        }
        return Ok(());
    }
    if req.command == "POST" {
        let mut body = Vec::new();
        req.rfile().read_to_end(&mut body)?;
        return reply(req, &body);
    }
    let line = describe(req);
    reply(req, line.as_bytes())
}

/// `GET /path port=N sni=NAME alpn=PROTO` (`-` when absent; `plain`
/// instead of the TLS fields on a connection without TLS).
fn describe(req: &Request) -> String {
    let tls = match req.tls() {
        None => "plain".to_owned(),
        Some(info) => format!(
            "sni={} alpn={}",
            info.server_name.as_deref().unwrap_or("-"),
            info.alpn_protocol.as_deref().map_or("-".to_owned(), latin1)
        ),
    };
    format!("{} {} port={} {tls}\n", req.command, req.path, req.client_address.port())
}

/// An HTTP/1.1 TLS server with `config`, answering with `handler`.
fn tls_server_with(
    tls: TlsConfig,
    config: ServerConfig,
    handler: impl Fn(&mut Request) -> HandlerResult + Send + Sync + 'static,
) -> TestServer {
    serve_fn_with(
        config,
        move |s| {
            http11(s);
            s.set_tls(tls);
            assert!(s.is_https());
        },
        handler,
    )
}

fn tls_server(tls: TlsConfig) -> TestServer {
    tls_server_with(tls, ServerConfig::default(), app)
}

// ---------------------------------------------------------------------------
// A rustls client over a std TcpStream
// ---------------------------------------------------------------------------

/// A response as the client read it.
#[derive(Debug)]
struct Response {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<String> {
        header_value(self.head.as_bytes(), name)
    }

    fn text(&self) -> String {
        latin1(&self.body)
    }
}

/// A TLS client connection (`rustls::StreamOwned`); every socket read is
/// bounded by [`IO_TIMEOUT`].
struct TlsClient {
    s: StreamOwned<ClientConnection, TcpStream>,
    /// Decrypted and not yet consumed.
    buf: Vec<u8>,
}

impl TlsClient {
    /// Connects to `127.0.0.1:port`, verifying the server as `name` (a
    /// DNS name sends SNI; an IP address does not). No I/O yet.
    fn connect(port: u16, config: Arc<ClientConfig>, name: &str) -> TlsClient {
        let sock = TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), Duration::from_secs(5))
            .expect("connect");
        sock.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        sock.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        let name = ServerName::try_from(name.to_owned()).expect("server name");
        let conn = ClientConnection::new(config, name).expect("ClientConnection");
        TlsClient { s: StreamOwned::new(conn, sock), buf: Vec::new() }
    }

    /// Connects and completes the handshake (panics if it fails).
    fn open(port: u16, config: Arc<ClientConfig>, name: &str) -> TlsClient {
        let mut c = Self::connect(port, config, name);
        c.handshake().expect("TLS handshake");
        c
    }

    fn handshake(&mut self) -> io::Result<()> {
        let deadline = Instant::now() + IO_TIMEOUT;
        while self.s.conn.is_handshaking() {
            assert!(Instant::now() < deadline, "handshake not done within {IO_TIMEOUT:?}");
            self.s.conn.complete_io(&mut self.s.sock)?;
        }
        Ok(())
    }

    fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).expect("TLS write");
        self.s.flush().expect("TLS flush");
    }

    /// One read of decrypted bytes into the buffer: `Ok(0)` at a clean
    /// close (close_notify).
    fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 16384];
        let n = self.s.read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    fn take_until(&mut self, pattern: &[u8]) -> Vec<u8> {
        loop {
            if let Some(i) = find(&self.buf, pattern) {
                let rest = self.buf.split_off(i + pattern.len());
                return std::mem::replace(&mut self.buf, rest);
            }
            match self.fill() {
                Ok(0) => panic!("closed before {:?}; got {:?}", latin1(pattern), latin1(&self.buf)),
                Ok(_) => {}
                Err(e) => panic!("read failed before {:?}: {e}; got {:?}", latin1(pattern), latin1(&self.buf)),
            }
        }
    }

    fn take_exact(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            match self.fill() {
                Ok(0) => panic!("closed after {} of {n} bytes", self.buf.len()),
                Ok(_) => {}
                Err(e) => panic!("read failed after {} of {n} bytes: {e}", self.buf.len()),
            }
        }
        let rest = self.buf.split_off(n);
        std::mem::replace(&mut self.buf, rest)
    }

    /// One response: the head, then a `Content-Length` or chunked body
    /// (none for a 101).
    fn read_response(&mut self) -> Response {
        let head = latin1(&self.take_until(b"\r\n\r\n"));
        let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("status line: {head:?}"));
        let chunked = header_value(head.as_bytes(), "Transfer-Encoding").is_some_and(|v| v.contains("chunked"));
        let body = if status == 101 {
            Vec::new()
        } else if chunked {
            let mut body = Vec::new();
            loop {
                let line = latin1(&self.take_until(b"\r\n"));
                let size = usize::from_str_radix(line.trim_end().split(';').next().unwrap(), 16)
                    .unwrap_or_else(|_| panic!("chunk size line {line:?}"));
                if size == 0 {
                    // Trailers (none expected) up to the blank line.
                    while self.take_until(b"\r\n") != b"\r\n" {}
                    break;
                }
                body.extend_from_slice(&self.take_exact(size));
                assert_eq!(self.take_exact(2), b"\r\n", "chunk data ends with CRLF");
            }
            body
        } else {
            let length = header_value(head.as_bytes(), "Content-Length").map_or(0, |v| v.trim().parse().unwrap());
            self.take_exact(length)
        };
        Response { status, head, body }
    }

    /// `GET path` on this connection (keep-alive).
    fn get(&mut self, path: &str) -> Response {
        self.send(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes());
        self.read_response()
    }

    /// Asserts that the server ends the session cleanly: the next read
    /// returns `Ok(0)` (close_notify received), not `UnexpectedEof` (TCP
    /// closed without it) or more data.
    fn assert_clean_close(&mut self) {
        assert!(self.buf.is_empty(), "unread bytes: {:?}", latin1(&self.buf));
        match self.fill() {
            Ok(0) => {}
            Ok(_) => panic!("expected the end; got {:?}", latin1(&self.buf)),
            Err(e) => panic!("expected close_notify, got the error {e} ({:?})", e.kind()),
        }
    }
}

// ---------------------------------------------------------------------------
// Raw TCP helpers
// ---------------------------------------------------------------------------

fn tcp(port: u16) -> TcpStream {
    let s =
        TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), Duration::from_secs(5)).expect("connect");
    s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    s
}

/// Reads until the server closes (EOF or reset) or `limit` passes:
/// the bytes, whether it closed, and when.
fn read_until_closed(s: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool, Duration) {
    let start = Instant::now();
    let mut out = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        let left = limit.saturating_sub(start.elapsed());
        if left.is_zero() {
            return (out, false, start.elapsed());
        }
        s.set_read_timeout(Some(left.max(Duration::from_millis(1)))).unwrap();
        match s.read(&mut chunk) {
            Ok(0) => return (out, true, start.elapsed()),
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return (out, true, start.elapsed()),
        }
    }
}

/// A small xorshift generator (no `rand` needed), seeded from the clock.
struct XorShift(u64);

impl XorShift {
    fn seeded() -> XorShift {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
        XorShift(nanos | 1)
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// Asserts that the server still answers a TLS request, within `limit`.
fn assert_serving(server: &TestServer, certs: &SelfSigned, limit: Duration) {
    let start = Instant::now();
    let mut c = TlsClient::open(server.port, certs.client(true), "localhost");
    let r = c.get("/still-there");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.text().starts_with("GET /still-there "), "{r:?}");
    assert!(start.elapsed() < limit, "a TLS request took {:?}", start.elapsed());
}

// ---------------------------------------------------------------------------
// 1. GET, keep-alive, POST, chunked, SNI and ALPN through rustls
// ---------------------------------------------------------------------------

#[test]
fn get_over_tls_reports_sni_and_alpn() {
    let _g = shared();
    let certs = SelfSigned::new();
    let server = tls_server(certs.tls_config());

    let mut c = TlsClient::open(server.port, certs.client(true), "localhost");
    assert_eq!(c.s.conn.alpn_protocol(), Some(&b"http/1.1"[..]), "the server agreed to http/1.1");
    let r = c.get("/hello?x=1");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.head.starts_with("HTTP/1.1 200 OK\r\n"), "{r:?}");
    let port = c.s.sock.local_addr().unwrap().port();
    assert_eq!(r.text(), format!("GET /hello?x=1 port={port} sni=localhost alpn=http/1.1\n"));

    // No ALPN offered: none agreed.
    let mut c = TlsClient::open(server.port, certs.client(false), "localhost");
    assert_eq!(c.s.conn.alpn_protocol(), None);
    let r = c.get("/");
    let port = c.s.sock.local_addr().unwrap().port();
    assert_eq!(r.text(), format!("GET / port={port} sni=localhost alpn=-\n"));

    // By IP address: the certificate's IP entry is checked, and rustls
    // sends no SNI for an address.
    let mut c = TlsClient::open(server.port, certs.client(true), "127.0.0.1");
    let r = c.get("/ip");
    let port = c.s.sock.local_addr().unwrap().port();
    assert_eq!(r.text(), format!("GET /ip port={port} sni=- alpn=http/1.1\n"));
}

#[test]
fn keep_alive_sequence_on_one_tls_connection() {
    let _g = shared();
    let certs = SelfSigned::new();
    let server = tls_server(certs.tls_config());
    let mut c = TlsClient::open(server.port, certs.client(true), "localhost");
    let port = c.s.sock.local_addr().unwrap().port();

    let r = c.get("/one");
    assert_eq!(r.text(), format!("GET /one port={port} sni=localhost alpn=http/1.1\n"));
    assert_eq!(r.header("Connection"), None, "kept alive: {r:?}");

    // A POST whose body spans several TLS records.
    let body: Vec<u8> = (0..100_000u32).map(|i| b"0123456789abcdef"[(i % 16) as usize]).collect();
    let mut request = format!(
        "POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    c.send(&request);
    let r = c.read_response();
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.body.len(), body.len());
    assert!(r.body == body, "the echoed body differs");

    let r = c.get("/chunked");
    assert_eq!(r.header("Transfer-Encoding").as_deref(), Some("chunked"), "{r:?}");
    assert_eq!(r.text(), "piece 0\npiece 1\npiece 2\npiece 3\npiece 4\n");

    let r = c.get("/four");
    assert_eq!(r.text(), format!("GET /four port={port} sni=localhost alpn=http/1.1\n"), "same connection");
}

#[test]
fn new_https_from_pem_files() {
    let _g = shared();
    let certs = SelfSigned::new();
    let tls = TlsConfig::from_pem_files(&certs.cert, &certs.key).unwrap();
    let handler = FnHandler(Arc::new(app));
    let mut server = HTTPServer::new_https(("127.0.0.1", 0), move || handler.clone(), tls).expect("new_https");
    assert!(server.is_https());
    http11(&mut server);
    let server = TestServer::spawn(server);
    let mut c = TlsClient::open(server.port, certs.client(true), "localhost");
    assert!(c.get("/x").text().starts_with("GET /x "));

    // A plain server is not HTTPS.
    assert!(!HTTPServer::new(("127.0.0.1", 0), || FnHandler(Arc::new(app))).unwrap().is_https());
}

#[test]
fn tls_config_refuses_bad_pem_with_a_reason() {
    let _g = shared();
    let certs = SelfSigned::new();
    let cert = std::fs::read(&certs.cert).unwrap();
    let key = std::fs::read(&certs.key).unwrap();
    assert!(TlsConfig::from_pem(&cert, &key).is_ok());

    let e = TlsConfig::from_pem(b"", &key).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("no certificate"), "{e}");

    let e = TlsConfig::from_pem(&cert, b"").unwrap_err();
    assert!(e.to_string().contains("private key"), "{e}");

    let encrypted = b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n";
    let e = TlsConfig::from_pem(&cert, encrypted).unwrap_err();
    assert!(e.to_string().contains("openssl pkey"), "{e}");

    // Another certificate's key.
    let other = SelfSigned::new();
    let e = TlsConfig::from_pem(&cert, &std::fs::read(&other.key).unwrap()).unwrap_err();
    assert!(e.to_string().contains("do not go together"), "{e}");

    let missing = certs.dir.0.join("missing.pem");
    let e = TlsConfig::from_pem_files(&missing, &certs.key).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::NotFound);
    assert!(e.to_string().contains("missing.pem"), "{e}");
}

// ---------------------------------------------------------------------------
// 2. Python's ssl and curl
// ---------------------------------------------------------------------------

/// Runs `cmd` with a time limit: `None` if the program is missing, else
/// its exit status success, stdout and stderr.
fn run(cmd: &mut Command, limit: Duration) -> Option<(bool, String, String)> {
    let mut child = match cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn() {
        Ok(child) => child,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
        Err(e) => panic!("cannot start {cmd:?}: {e}"),
    };
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let status = wait_or_kill(&mut child, limit).unwrap_or_else(|| panic!("{cmd:?} did not finish within {limit:?}"));
    Some((status.success(), out.join().unwrap(), err.join().unwrap()))
}

const PYTHON_CLIENT: &str = r#"
import http.client, ssl, sys
port, cafile = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=cafile)
ctx.set_alpn_protocols(["http/1.1"])
conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=10)
conn.request("GET", "/py")
r = conn.getresponse()
print(r.status, r.read().decode(), end="")
sock = conn.sock
conn.request("POST", "/echo", body=b"posted by python", headers={"Content-Type": "text/plain"})
r = conn.getresponse()
print(r.status, r.read().decode())
print("same socket:", conn.sock is sock)
print("version:", sock.version())
print("alpn:", sock.selected_alpn_protocol())
conn.close()
"#;

#[test]
fn python_ssl_client_two_requests_on_one_connection() {
    let _g = shared();
    let certs = SelfSigned::new();
    let server = tls_server(certs.tls_config());
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(PYTHON_CLIENT).arg(server.port.to_string()).arg(&certs.cert);
    let Some((ok, out, err)) = run(&mut cmd, Duration::from_secs(30)) else {
        eprintln!("note: python3 is not installed; skipping the Python ssl client test");
        return;
    };
    assert!(ok, "python3 failed:\n{out}\n{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    let first = lines[0].strip_prefix("200 GET /py port=").unwrap_or_else(|| panic!("{out}"));
    assert!(first.ends_with(" sni=localhost alpn=http/1.1"), "{out}");
    assert_eq!(lines[1], "200 posted by python");
    assert_eq!(lines[2], "same socket: True", "{out}");
    assert!(lines[3] == "version: TLSv1.3" || lines[3] == "version: TLSv1.2", "{out}");
    assert_eq!(lines[4], "alpn: http/1.1");
}

#[test]
fn curl_two_urls_on_one_connection() {
    let _g = shared();
    let certs = SelfSigned::new();
    let server = tls_server(certs.tls_config());
    let port = server.port;
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "20", "--cacert"])
        .arg(&certs.cert)
        .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
        .arg(format!("https://localhost:{port}/"))
        .arg(format!("https://localhost:{port}/x"));
    let Some((ok, out, err)) = run(&mut cmd, Duration::from_secs(30)) else {
        eprintln!("note: curl is not installed; skipping the curl test");
        return;
    };
    assert!(ok, "curl failed:\n{out}\n{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    let port_of = |line: &str| line.split(' ').find_map(|w| w.strip_prefix("port=")).unwrap().to_owned();
    assert!(lines[0].starts_with("GET / port="), "{out}");
    assert!(lines[1].starts_with("GET /x port="), "{out}");
    // curl offers h2 and http/1.1; the server picks http/1.1.
    assert!(lines[0].ends_with(" sni=localhost alpn=http/1.1"), "{out}");
    assert_eq!(port_of(lines[0]), port_of(lines[1]), "one connection for both URLs: {out}");
}

// ---------------------------------------------------------------------------
// 3. Clients that never send a ClientHello
// ---------------------------------------------------------------------------

#[test]
fn silent_client_is_closed_at_the_head_deadline() {
    let _g = shared();
    let certs = SelfSigned::new();
    let config = ServerConfig { header_timeout: Duration::from_millis(500), ..ServerConfig::default() };
    let server = tls_server_with(certs.tls_config(), config, app);
    let mut s = tcp(server.port);
    let (data, closed, after) = read_until_closed(&mut s, Duration::from_secs(10));
    assert!(closed, "a silent client was not closed within 10 s");
    assert!(data.is_empty(), "a silent client got {:?}", latin1(&data));
    assert!(after >= Duration::from_millis(400), "closed after {after:?}, before the 500 ms deadline");
    assert!(after < Duration::from_secs(3), "closed only after {after:?} (head deadline 500 ms)");

    // One that finished the handshake and sends no request: the same
    // deadline, and the session ends with close_notify.
    let start = Instant::now();
    let mut c = TlsClient::open(server.port, certs.client(true), "localhost");
    c.assert_clean_close();
    let after = start.elapsed();
    assert!(after >= Duration::from_millis(400) && after < Duration::from_secs(3), "closed after {after:?}");
    assert_serving(&server, &certs, Duration::from_secs(5));
}

#[test]
fn fifty_silent_clients_hold_no_threads() {
    let _g = exclusive();
    let certs = SelfSigned::new();
    let server = tls_server(certs.tls_config());
    // Warm up: the pollers' threads exist.
    assert_serving(&server, &certs, Duration::from_secs(5));
    thread::sleep(Duration::from_millis(100));
    let before = proc_status("Threads");

    let silent: Vec<TcpStream> = (0..50).map(|_| tcp(server.port)).collect();
    // Give the server time to accept them all.
    thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    assert_serving(&server, &certs, Duration::from_secs(2));
    let took = start.elapsed();
    let during = proc_status("Threads");
    // The silent clients are still connected (none was answered or closed).
    for mut s in silent {
        s.set_read_timeout(Some(Duration::from_millis(1))).unwrap();
        let mut b = [0u8; 1];
        match s.read(&mut b) {
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
            other => panic!("a silent client was answered or closed: {other:?}"),
        }
    }
    eprintln!("50 silent TLS clients: threads {before} -> {during}; a TLS request meanwhile took {took:?}");
    assert!(during <= before + 4, "threads grew from {before} to {during} with 50 silent clients");
}

/// A ClientHello, as a real client would send it.
fn client_hello(certs: &SelfSigned) -> Vec<u8> {
    let mut conn = ClientConnection::new(certs.client(true), ServerName::try_from("localhost").unwrap()).unwrap();
    let mut hello = Vec::new();
    while conn.wants_write() {
        conn.write_tls(&mut hello).unwrap();
    }
    assert_eq!(hello[0], 0x16, "a handshake record");
    hello
}

/// Sends `bytes` one at a time, 300 ms apart, until the server closes:
/// when it did (`None`: still open after 40 bytes, 12 s).
fn trickle(port: u16, bytes: &[u8]) -> Option<Duration> {
    let mut s = tcp(port);
    let start = Instant::now();
    for &byte in bytes.iter().take(40) {
        if s.write_all(&[byte]).is_err() {
            return Some(start.elapsed());
        }
        if let (_, true, _) = read_until_closed(&mut s, Duration::from_millis(300)) {
            return Some(start.elapsed());
        }
    }
    None
}

/// The control for the next test: a plain-HTTP request head sent a byte
/// every 300 ms is cut off at the 1 s head deadline (counted from its
/// first byte), not kept open by each new byte.
#[test]
fn trickled_plain_head_is_closed_at_the_head_deadline() {
    let _g = shared();
    let config = ServerConfig { header_timeout: Duration::from_millis(1000), ..ServerConfig::default() };
    let server = serve_fn_with(config, http11, app);
    let head = b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let closed = trickle(server.port, head).expect("a trickled plain head was never closed");
    assert!(closed < Duration::from_secs(3), "closed only after {closed:?} (head deadline 1 s)");
}

/// A ClientHello sent a byte at a time, each byte within the head timeout
/// of the one before, must be cut off once the handshake has taken longer
/// than the head timeout, as a plain-HTTP head is (the test above):
/// otherwise a client holds a connection (and a `max_connections` place)
/// for as long as it likes, a byte per `header_timeout`.
#[test]
fn trickled_client_hello_is_closed_at_the_head_deadline() {
    // `connection::park` starts the head clock when the channel is still
    // handshaking (`Channel::handshaking`), as it does for buffered bytes;
    // before that, every handshake byte moved the deadline.
    let _g = shared();
    let certs = SelfSigned::new();
    let config = ServerConfig { header_timeout: Duration::from_millis(1000), ..ServerConfig::default() };
    let server = tls_server_with(certs.tls_config(), config, app);
    let closed = trickle(server.port, &client_hello(&certs)).expect("a trickled ClientHello was never closed");
    assert!(closed < Duration::from_secs(3), "closed only after {closed:?} (head deadline 1 s)");
}

// ---------------------------------------------------------------------------
// 4. Garbage instead of a ClientHello
// ---------------------------------------------------------------------------

#[test]
fn garbage_instead_of_client_hello_is_closed() {
    let _g = shared();
    let certs = SelfSigned::new();
    let server = tls_server(certs.tls_config());
    let mut rng = XorShift::seeded();
    for first in [Some(0x16u8), Some(0x80), None] {
        let mut garbage = rng.bytes(4096);
        match first {
            Some(b) => garbage[0] = b,
            // Random, but not an uppercase letter (plain HTTP, test 5).
            None => garbage[0] = garbage[0].to_ascii_lowercase() | 0x01,
        }
        let mut s = tcp(server.port);
        let _ = s.write_all(&garbage);
        let (data, closed, after) = read_until_closed(&mut s, IO_TIMEOUT);
        assert!(closed, "garbage {:02x?}…: not closed within {IO_TIMEOUT:?}", &garbage[..4]);
        assert!(after < Duration::from_secs(5), "closed after {after:?}");
        // At most a TLS alert record (content type 21).
        assert!(data.is_empty() || data[0] == 0x15, "garbage {:02x?}… got {:02x?}", &garbage[..4], &data);
        assert!(find(&data, b"HTTP/").is_none());
    }
    // Half a ClientHello, then the client's FIN: closed at once.
    let hello = client_hello(&certs);
    let mut s = tcp(server.port);
    s.write_all(&hello[..hello.len() / 2]).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let (_, closed, after) = read_until_closed(&mut s, IO_TIMEOUT);
    assert!(closed && after < Duration::from_secs(5), "a half ClientHello then EOF: closed {closed} after {after:?}");
    assert_serving(&server, &certs, Duration::from_secs(5));
}

// ---------------------------------------------------------------------------
// 5. Plain HTTP to the TLS port
// ---------------------------------------------------------------------------

#[test]
fn plain_http_gets_a_plain_400() {
    let _g = shared();
    let certs = SelfSigned::new();
    let server = tls_server(certs.tls_config());
    for request in
        [&b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"[..], b"POST /x HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc"]
    {
        let mut s = tcp(server.port);
        s.write_all(request).unwrap();
        // Read only once the server has surely closed: the answer must
        // still be there, and then a clean end of input (FIN), not a reset.
        thread::sleep(Duration::from_millis(300));
        s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let mut data = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            match s.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => data.extend_from_slice(&chunk[..n]),
                Err(e) => panic!("after {:?}: {e} ({:?})", latin1(&data), e.kind()),
            }
        }
        let text = latin1(&data);
        assert!(text.starts_with("HTTP/1.0 400 Bad Request\r\n"), "{text:?}");
        let (head, body) = text.split_once("\r\n\r\n").expect("a head");
        let length: usize = header_value(head.as_bytes(), "Content-Length").unwrap().parse().unwrap();
        assert_eq!(body.len(), length, "{text:?}");
        assert!(body.contains("HTTPS"), "the body says the port speaks HTTPS: {body:?}");
        assert_eq!(header_value(head.as_bytes(), "Connection").as_deref(), Some("close"));
    }
    assert_serving(&server, &certs, Duration::from_secs(5));
}

// ---------------------------------------------------------------------------
// 6. Client certificates
// ---------------------------------------------------------------------------

/// A server requiring a client certificate signed by `client_ca`.
fn mtls_server(ca: &Ca, client_ca: &Ca, served: Arc<AtomicUsize>) -> TestServer {
    let mut roots = RootCertStore::empty();
    roots.add(client_ca.der()).unwrap();
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider()).build().unwrap();
    let (chain, key) = ca.sign(&["localhost", "127.0.0.1"], ExtendedKeyUsagePurpose::ServerAuth);
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    tls_server_with(TlsConfig::from_rustls(Arc::new(config)), ServerConfig::default(), move |req| {
        served.fetch_add(1, Ordering::SeqCst);
        app(req)
    })
}

/// What a client gets for `GET /` once its handshake seems done: the
/// response, or the error the connection failed with.
fn try_get(c: &mut TlsClient) -> Result<Response, String> {
    if let Err(e) = c.handshake() {
        return Err(format!("handshake: {e}"));
    }
    if c.s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").and_then(|()| c.s.flush()).is_err() {
        return Err("write failed".into());
    }
    loop {
        if find(&c.buf, b"\r\n\r\n").is_some() {
            return Ok(c.read_response());
        }
        match c.fill() {
            Ok(0) => return Err("closed".into()),
            Ok(_) => {}
            Err(e) => return Err(format!("read: {e}")),
        }
    }
}

#[test]
fn client_certificate_required() {
    let _g = shared();
    let ca = Ca::new("basehttp test CA");
    let served = Arc::new(AtomicUsize::new(0));
    let server = mtls_server(&ca, &ca, served.clone());

    // No certificate, TLS 1.3: the client's side of the handshake ends
    // before the server has checked, so the failure comes as an alert.
    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        let config = client_config(&[ca.der()], true, None, Some(version));
        let mut c = TlsClient::connect(server.port, config, "localhost");
        let got = try_get(&mut c);
        let err = got.expect_err("served without a client certificate");
        assert!(
            err.contains("CertificateRequired") || err.contains("HandshakeFailure") || err.contains("closed"),
            "{version:?}: {err}"
        );
        if *version == rustls::version::TLS12 {
            assert!(err.starts_with("handshake"), "TLS 1.2: the handshake itself fails: {err}");
        }
    }

    // A certificate from another CA: refused too.
    let stranger = Ca::new("someone else's CA");
    let cert = stranger.sign(&["client"], ExtendedKeyUsagePurpose::ClientAuth);
    let mut c = TlsClient::connect(server.port, client_config(&[ca.der()], true, Some(cert), None), "localhost");
    let err = try_get(&mut c).expect_err("served with a certificate from an unknown CA");
    assert!(err.contains("UnknownCA") || err.contains("BadCertificate") || err.contains("closed"), "{err}");
    assert_eq!(served.load(Ordering::SeqCst), 0, "no request reached the handler");

    // A certificate signed by the CA: served, over both versions.
    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        let cert = ca.sign(&["client"], ExtendedKeyUsagePurpose::ClientAuth);
        let config = client_config(&[ca.der()], true, Some(cert), Some(version));
        let mut c = TlsClient::connect(server.port, config, "localhost");
        let r = try_get(&mut c).unwrap_or_else(|e| panic!("{version:?} with a valid client certificate: {e}"));
        assert_eq!(r.status, 200);
        assert!(r.text().ends_with(" sni=localhost alpn=http/1.1\n"), "{r:?}");
        assert_eq!(c.s.conn.protocol_version(), Some(version.version));
    }
    assert_eq!(served.load(Ordering::SeqCst), 2);
}

// ---------------------------------------------------------------------------
// 7. close_notify
// ---------------------------------------------------------------------------

#[test]
fn every_close_sends_close_notify() {
    let _g = shared();
    let certs = SelfSigned::new();
    let config = ServerConfig { keep_alive_timeout: Duration::from_millis(300), ..ServerConfig::default() };
    let server = tls_server_with(certs.tls_config(), config, app);

    // `Connection: close`.
    let mut c = TlsClient::open(server.port, certs.client(true), "localhost");
    c.send(b"GET /bye HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    assert_eq!(c.read_response().status, 200);
    c.assert_clean_close();

    // HTTP/1.0 (closes by default).
    let mut c = TlsClient::open(server.port, certs.client(true), "localhost");
    c.send(b"GET /old HTTP/1.0\r\n\r\n");
    assert_eq!(c.read_response().status, 200);
    c.assert_clean_close();

    // An error response from the runtime (431 for a header line over
    // 64 KiB), which closes the connection.
    let mut c = TlsClient::open(server.port, certs.client(true), "localhost");
    let long = "a".repeat(70_000);
    c.send(format!("GET / HTTP/1.1\r\nHost: localhost\r\nX-Long: {long}\r\n\r\n").as_bytes());
    let r = c.read_response();
    assert_eq!(r.status, 431, "{}", r.head);
    assert_eq!(r.header("Connection").as_deref(), Some("close"));
    c.assert_clean_close();

    // The keep-alive timeout.
    let mut c = TlsClient::open(server.port, certs.client(true), "localhost");
    assert_eq!(c.get("/idle").status, 200);
    let start = Instant::now();
    c.assert_clean_close();
    assert!(start.elapsed() < Duration::from_secs(5), "idle close after {:?}", start.elapsed());

    // The client sends a request, its close_notify and FIN at once: the
    // response still comes, then the server's close_notify.
    let mut c = TlsClient::open(server.port, certs.client(true), "localhost");
    c.s.write_all(b"GET /last HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    c.s.conn.send_close_notify();
    c.s.conn.complete_io(&mut c.s.sock).unwrap();
    c.s.sock.shutdown(Shutdown::Write).unwrap();
    let r = c.read_response();
    assert!(r.text().starts_with("GET /last "), "{r:?}");
    c.assert_clean_close();

    // The client ends an idle keep-alive session: the server answers with
    // its own close_notify.
    let mut c = TlsClient::open(server.port, certs.client(true), "localhost");
    assert_eq!(c.get("/then-bye").status, 200);
    c.s.conn.send_close_notify();
    c.s.conn.complete_io(&mut c.s.sock).unwrap();
    c.assert_clean_close();
}

/// A server shutdown closes idle keep-alive sessions with close_notify too.
#[test]
fn shutdown_closes_idle_sessions_with_close_notify() {
    let _g = shared();
    let certs = SelfSigned::new();
    let server = tls_server(certs.tls_config());
    let mut c = TlsClient::open(server.port, certs.client(true), "localhost");
    assert_eq!(c.get("/idle").status, 200);
    server.stop().unwrap();
    c.assert_clean_close();
}

// ---------------------------------------------------------------------------
// 8. A large body with bounded memory
// ---------------------------------------------------------------------------

/// Bytes the large-body test sends: 1 GiB (a few seconds on a 2-core
/// machine, debug build included: ring's AES-GCM is assembly).
const BIG: u64 = 1 << 30;

#[test]
fn large_body_over_tls_in_bounded_memory() {
    let _g = exclusive();
    let certs = SelfSigned::new();
    let big = tls_server_with(certs.tls_config(), ServerConfig::default(), |req| {
        if req.path != "/big" {
            return app(req);
        }
        let piece = vec![b'x'; 64 * 1024];
        req.send_response(200)?;
        req.send_header("Content-Length", BIG)?;
        req.end_headers()?;
        let mut wfile = req.wfile();
        for _ in 0..BIG / piece.len() as u64 {
            wfile.write_all(&piece)?;
        }
        Ok(())
    });
    assert_serving(&big, &certs, Duration::from_secs(5));

    let rss_start = proc_status("VmRSS");
    let peak = Arc::new(AtomicU64::new(rss_start));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, stop) = (peak.clone(), stop.clone());
        thread::spawn(move || {
            let mut samples = 0u32;
            while !stop.load(Ordering::SeqCst) {
                peak.fetch_max(proc_status("VmRSS"), Ordering::SeqCst);
                samples += 1;
                thread::sleep(Duration::from_millis(20));
            }
            samples
        })
    };

    let start = Instant::now();
    let mut c = TlsClient::open(big.port, certs.client(true), "localhost");
    c.send(b"GET /big HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let head = latin1(&c.take_until(b"\r\n\r\n"));
    assert!(head.starts_with("HTTP/1.1 200 "), "{head:?}");
    assert_eq!(header_value(head.as_bytes(), "Content-Length"), Some(BIG.to_string()));
    let mut received = c.buf.len() as u64;
    c.buf.clear();
    let mut chunk = vec![0u8; 64 * 1024];
    let deadline = Instant::now() + Duration::from_secs(300);
    while received < BIG {
        assert!(Instant::now() < deadline, "{received} of {BIG} bytes after 300 s");
        let n = c.s.read(&mut chunk).expect("read the body");
        assert!(n > 0, "closed after {received} of {BIG} bytes");
        assert!(chunk[..n].iter().all(|&b| b == b'x'), "body bytes");
        received += n as u64;
    }
    let took = start.elapsed();
    stop.store(true, Ordering::SeqCst);
    let samples = sampler.join().unwrap();
    assert_eq!(received, BIG);
    // The connection is still good for another request.
    assert!(c.get("/after").text().starts_with("GET /after "));

    let peak = peak.load(Ordering::SeqCst);
    let grew = peak.saturating_sub(rss_start);
    let mib = BIG as f64 / (1 << 20) as f64;
    eprintln!(
        "large body over TLS: {mib:.0} MiB in {took:.2?} ({:.0} MiB/s, client and server in one process); \
         VmRSS {rss_start} KiB at the start, peak {peak} KiB (+{grew} KiB) over {samples} samples",
        mib / took.as_secs_f64()
    );
    assert!(samples >= 5, "too few RSS samples ({samples})");
    assert!(grew < 64 * 1024, "RSS grew by {grew} KiB while streaming {mib:.0} MiB");
}

/// A client that stops reading a large TLS response: the server's write
/// gives up at `write_timeout` and the handler gets the error (the
/// encrypted records waiting for the socket are bounded, so it does not
/// buffer the body instead).
#[test]
fn client_that_stops_reading_hits_the_write_timeout() {
    let _g = shared();
    let certs = SelfSigned::new();
    let outcome = Arc::new(std::sync::Mutex::new(None::<(u64, String)>));
    let config = ServerConfig { write_timeout: Some(Duration::from_millis(500)), ..ServerConfig::default() };
    let seen = outcome.clone();
    let server = tls_server_with(certs.tls_config(), config, move |req| {
        if req.path != "/flood" {
            return app(req);
        }
        let piece = vec![b'y'; 64 * 1024];
        req.send_response(200)?;
        req.send_header("Content-Length", 1u64 << 30)?;
        req.end_headers()?;
        let mut written = 0u64;
        let result = loop {
            if let Err(e) = req.wfile().write_all(&piece) {
                break format!("{:?}", e.kind());
            }
            written += piece.len() as u64;
            if written >= 1 << 30 {
                break "all written".to_owned();
            }
        };
        *seen.lock().unwrap() = Some((written, result));
        Ok(())
    });
    let mut c = TlsClient::open(server.port, certs.client(true), "localhost");
    c.send(b"GET /flood HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let start = Instant::now();
    let deadline = start + Duration::from_secs(10);
    let (written, result) = loop {
        if let Some(done) = outcome.lock().unwrap().clone() {
            break done;
        }
        assert!(Instant::now() < deadline, "the handler still writes after 10 s to a client that reads nothing");
        thread::sleep(Duration::from_millis(20));
    };
    eprintln!(
        "a client that reads nothing: the handler's write failed ({result}) after {written} bytes, {:?}",
        start.elapsed()
    );
    assert_eq!(result, "TimedOut", "after {written} bytes");
    assert!(written < 64 << 20, "{written} bytes accepted for a client that reads nothing");
    assert_serving(&server, &certs, Duration::from_secs(5));
}

/// Many TLS clients at once, each with a few keep-alive requests.
#[test]
fn concurrent_tls_clients() {
    let _g = shared();
    let certs = Arc::new(SelfSigned::new());
    let server = tls_server(certs.tls_config());
    let port = server.port;
    let clients: Vec<_> = (0..16)
        .map(|i| {
            let certs = certs.clone();
            thread::spawn(move || {
                let mut c = TlsClient::open(port, certs.client(true), "localhost");
                for j in 0..5 {
                    let r = c.get(&format!("/c{i}/r{j}"));
                    assert!(r.text().starts_with(&format!("GET /c{i}/r{j} port=")), "{r:?}");
                }
            })
        })
        .collect();
    for client in clients {
        client.join().expect("a client failed");
    }
}

// ---------------------------------------------------------------------------
// 9. Pipelining
// ---------------------------------------------------------------------------

#[test]
fn pipelined_requests_in_one_tls_write() {
    let _g = shared();
    let certs = SelfSigned::new();
    let server = tls_server(certs.tls_config());
    let mut c = TlsClient::open(server.port, certs.client(true), "localhost");
    let port = c.s.sock.local_addr().unwrap().port();
    // One write_all: one TLS record holding both requests (and a body).
    c.send(
        b"GET /first HTTP/1.1\r\nHost: localhost\r\n\r\n\
          POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 6\r\n\r\nsecond\
          GET /third HTTP/1.1\r\nHost: localhost\r\n\r\n",
    );
    assert_eq!(c.read_response().text(), format!("GET /first port={port} sni=localhost alpn=http/1.1\n"));
    assert_eq!(c.read_response().text(), "second");
    assert_eq!(c.read_response().text(), format!("GET /third port={port} sni=localhost alpn=http/1.1\n"));
    // Nothing more comes, and the connection stays usable.
    assert!(c.buf.is_empty());
    assert!(c.get("/fourth").text().starts_with("GET /fourth "));
}

// ---------------------------------------------------------------------------
// 10. Upgrade
// ---------------------------------------------------------------------------

#[test]
fn upgrade_over_tls_echoes() {
    let _g = shared();
    let certs = SelfSigned::new();
    let server = tls_server_with(certs.tls_config(), ServerConfig::default(), |req| {
        if req.headers.get("Upgrade") != Some("echo") {
            return app(req);
        }
        req.send_response(101)?;
        req.send_header("Upgrade", "echo")?;
        req.send_header("Connection", "Upgrade")?;
        req.end_headers()?;
        let mut conn = req.upgrade()?;
        conn.set_read_timeout(Some(IO_TIMEOUT));
        let mut buf = [0u8; 4096];
        loop {
            let n = conn.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            conn.write_all(b"echo:")?;
            conn.write_all(&buf[..n])?;
            conn.flush()?;
        }
    });
    let mut c = TlsClient::open(server.port, certs.client(true), "localhost");
    assert!(c.get("/before").text().starts_with("GET /before "), "a request before the upgrade");
    // The head and the first bytes of the new protocol in one record.
    c.send(b"GET /up HTTP/1.1\r\nHost: localhost\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nearly");
    let r = c.read_response();
    assert_eq!(r.status, 101, "{r:?}");
    assert_eq!(c.take_exact(10), b"echo:early");
    for word in ["one", "two", "three"] {
        c.send(word.as_bytes());
        assert_eq!(latin1(&c.take_exact(5 + word.len())), format!("echo:{word}"));
    }
    // The client ends the session: the handler reads the end, returns,
    // and the server's side closes with close_notify too.
    c.s.conn.send_close_notify();
    c.s.conn.complete_io(&mut c.s.sock).unwrap();
    c.assert_clean_close();
    assert_serving(&server, &certs, Duration::from_secs(5));
}

/// Issue 12, item 4: `http_server --tls-cert --tls-key` streams a 1 GiB
/// file over TLS with bounded memory (the file is sparse: no disk used).
#[test]
fn http_server_streams_a_1_gib_file_over_tls_with_bounded_memory() {
    let _g = shared();
    let certs = SelfSigned::new();
    let dir = TempDir::new();
    const SIZE: u64 = 1 << 30;
    std::fs::File::create(dir.0.join("big.bin")).and_then(|f| f.set_len(SIZE)).expect("a sparse 1 GiB file");
    let mut child = std::process::Command::new(support::example_binary("http_server"))
        .args(["--bind", "127.0.0.1", "--protocol", "HTTP/1.1", "--directory"])
        .arg(&dir.0)
        .arg("--tls-cert")
        .arg(&certs.cert)
        .arg("--tls-key")
        .arg(&certs.key)
        .arg("0")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start http_server");
    let mut first = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut first)
        .expect("http_server's first line");
    assert!(first.starts_with("Serving HTTPS on 127.0.0.1 port "), "{first:?}");
    let port: u16 = first.split_whitespace().nth(5).and_then(|p| p.parse().ok()).expect("the port");
    let rss = || {
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
        status.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
    };

    let mut client = TlsClient::open(port, certs.client(true), "localhost");
    client.send(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let head = latin1(&client.take_until(b"\r\n\r\n"));
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains(&format!("Content-Length: {SIZE}\r\n")), "{head}");
    let start_rss = rss().expect("the server's RSS");
    let mut peak = start_rss;
    let mut got = client.buf.len() as u64;
    client.buf.clear();
    let mut chunk = vec![0u8; 1 << 16];
    let started = Instant::now();
    let mut next_sample = 0;
    while got < SIZE {
        let n = client.s.read(&mut chunk).expect("read the body");
        assert!(n > 0, "closed after {got} of {SIZE} bytes");
        assert!(chunk[..n].iter().all(|&b| b == 0), "the sparse file reads as zeros");
        got += n as u64;
        if got >= next_sample {
            peak = peak.max(rss().unwrap_or(0));
            next_sample = got + (16 << 20);
        }
        assert!(started.elapsed() < Duration::from_secs(120), "1 GiB took over 2 minutes ({got} bytes)");
    }
    assert_eq!(got, SIZE);
    // The same connection carries the next request.
    client.send(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\nRange: bytes=0-9\r\n\r\n");
    let head = latin1(&client.take_until(b"\r\n\r\n"));
    assert!(head.starts_with("HTTP/1.1 206 Partial Content\r\n"), "{head}");
    let _ = child.kill();
    let _ = child.wait();
    eprintln!("1 GiB over TLS in {:?}; server RSS {start_rss} KiB at the start, peak {peak} KiB", started.elapsed());
    assert!(peak < start_rss + 64 * 1024, "RSS grew from {start_rss} KiB to {peak} KiB");
}

/// A CGI script over HTTPS: it is told so (`HTTPS=on`,
/// `REQUEST_SCHEME=https`), its output is chunked inside TLS records, and
/// the TLS connection carries a second CGI request.
#[test]
fn cgi_script_over_https() {
    use std::os::unix::fs::PermissionsExt;
    let _g = shared();
    let certs = SelfSigned::new();
    let root = std::env::temp_dir().join(format!("basehttp-tls-cgi-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("cgi-bin")).unwrap();
    for dir in [&root, &root.join("cgi-bin")] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let script = root.join("cgi-bin/scheme.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\necho \"https=$HTTPS scheme=$REQUEST_SCHEME path=$PATH_INFO\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();

    let handler = basehttp::CGIHTTPRequestHandler::new(&root);
    let mut server = HTTPServer::new_https(("127.0.0.1", 0), move || handler.clone(), certs.tls_config()).unwrap();
    server.class_mut().protocol_version = "HTTP/1.1".to_owned();
    let server = TestServer::spawn(server);
    let mut c = TlsClient::open(server.port, certs.client(true), "localhost");
    for path in ["/one", "/two"] {
        let r = c.get(&format!("/cgi-bin/scheme.sh{path}"));
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.header("Transfer-Encoding").as_deref(), Some("chunked"), "{r:?}");
        assert_eq!(r.text(), format!("https=on scheme=https path={path}\n"));
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&root);
}
