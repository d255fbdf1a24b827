//! The example binary `http_server --cgi` (examples/http_server.rs), run as
//! a separate process (`--cgi --protocol HTTP/1.1 --bind 127.0.0.1
//! --directory TREE PORT`) and driven by the real `curl`:
//!
//! - a shell script's `Status: 201 Created` and its own header field reach
//!   the client, with the body;
//! - two CGI URLs in one `curl` invocation share one connection (the
//!   script's output, of unknown length, is sent chunked on HTTP/1.1 and
//!   the connection stays open);
//! - a ~5 MB chunked upload streams to a script's stdin intact (the script
//!   prints `sha256sum` of what it read).
//!
//! The server is killed when the test ends, also on a panic (a guard).
//! Every wait is bounded; without `curl` the tests fail, saying so.

#[path = "cgi/support.rs"]
mod support;

use std::fs;
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use support::*;

/// The longest one `curl` run may take.
const CURL_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the server may take to accept its first connection.
const STARTUP: Duration = Duration::from_secs(30);

/// `http_server --cgi` running on `port`; killed (and reaped) when dropped.
struct ExampleServer {
    child: Child,
    port: u16,
    stderr_path: PathBuf,
}

impl ExampleServer {
    /// Starts the example over `dir` on a free port (picked by binding
    /// 127.0.0.1:0; tried again with another if the bind then fails).
    fn start(dir: &Path, logs: &Path) -> ExampleServer {
        let bin = example_binary("http_server");
        let mut failures = Vec::new();
        for attempt in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let stderr_path = logs.join(format!("server-{attempt}.err"));
            let child = Command::new(&bin)
                .args(["--cgi", "--protocol", "HTTP/1.1", "--bind", "127.0.0.1", "--directory"])
                .arg(dir)
                .arg(port.to_string())
                .stdin(Stdio::null())
                .stdout(fs::File::create(logs.join(format!("server-{attempt}.out"))).unwrap())
                .stderr(fs::File::create(&stderr_path).unwrap())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
            // The guard owns the child from here: a panic below kills it.
            let mut server = ExampleServer { child, port, stderr_path };
            match server.wait_accepting() {
                Ok(()) => return server,
                Err(why) => failures.push(why),
            }
        }
        panic!("http_server --cgi did not start: {failures:#?}");
    }

    /// Waits until the port accepts; `Err` if the process exited first
    /// (the port was taken in between) or it takes too long.
    fn wait_accepting(&mut self) -> Result<(), String> {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + STARTUP;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Err(format!("exited with {status}: {}", self.stderr()));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("not accepting on {addr} after {STARTUP:?}: {}", self.stderr()));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// What the server logged so far.
    fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for ExampleServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one `curl` run printed.
struct Run {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: String,
}

/// Runs `curl ARGS` (with `--max-time` and without any proxy), at most
/// [`CURL_TIMEOUT`] plus a margin; output goes through files under `logs`.
fn curl(args: &[&str], logs: &Path) -> Run {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let (out_path, err_path) = (logs.join(format!("curl-{n}.out")), logs.join(format!("curl-{n}.err")));
    let mut cmd = Command::new("curl");
    cmd.args(["--max-time", &CURL_TIMEOUT.as_secs().to_string(), "--noproxy", "*"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out_path).unwrap())
        .stderr(fs::File::create(&err_path).unwrap());
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => panic!("these tests need the `curl` command, which cannot be run here ({e}): apt-get install curl"),
    };
    let status = wait_or_kill(&mut child, CURL_TIMEOUT + Duration::from_secs(10)).unwrap_or_else(|| {
        panic!("curl {args:?} did not finish; stderr: {}", fs::read_to_string(&err_path).unwrap_or_default())
    });
    let stdout = fs::read(&out_path).unwrap();
    let stderr = String::from_utf8_lossy(&fs::read(&err_path).unwrap()).into_owned();
    Run { status, stdout, stderr }
}

/// A served tree, a directory for logs and files outside it, and the
/// server; the server is declared first so that it dies first.
struct Site {
    server: ExampleServer,
    _tree: CgiTree,
    logs: Scratch,
}

impl Site {
    fn new(scripts: &[(&str, &str)]) -> Site {
        let tree = CgiTree::new();
        for (rel, text) in scripts {
            tree.script(rel, text);
        }
        let logs = Scratch::new("example");
        let server = ExampleServer::start(&tree.root, &logs.root);
        Site { server, _tree: tree, logs }
    }

    fn curl(&self, args: &[&str]) -> Run {
        curl(args, &self.logs.root)
    }
}

const STATUS_SH: &str = "#!/bin/sh
echo 'Status: 201 Created'
echo 'Content-Type: text/plain'
echo 'X-Script: yes'
echo
echo 'created by a script'
";

const SECOND_SH: &str = "#!/bin/sh
echo 'Content-Type: text/plain'
echo
echo \"second: $QUERY_STRING\"
";

const SHA_SH: &str = "#!/bin/sh
echo 'Content-Type: text/plain'
echo
sha256sum | cut -d ' ' -f 1
";

#[test]
fn script_status_and_header_reach_curl() {
    let site = Site::new(&[("cgi-bin/status.sh", STATUS_SH)]);
    let run = site.curl(&["-si", &site.server.url("/cgi-bin/status.sh")]);
    assert!(run.status.success(), "curl failed ({}): {}", run.status, run.stderr);
    let out = String::from_utf8_lossy(&run.stdout).into_owned();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no head in {out:?}"));
    let mut lines = head.split("\r\n");
    assert_eq!(lines.next(), Some("HTTP/1.1 201 Created"), "{out:?}");
    let fields: Vec<&str> = lines.collect();
    assert!(fields.contains(&"X-Script: yes"), "{out:?}");
    assert!(fields.contains(&"Content-Type: text/plain"), "{out:?}");
    assert_eq!(body, "created by a script\n", "{out:?}");
}

#[test]
fn two_cgi_urls_share_one_connection() {
    let site = Site::new(&[("cgi-bin/status.sh", STATUS_SH), ("cgi-bin/second.sh", SECOND_SH)]);
    let first = site.server.url("/cgi-bin/status.sh");
    let second = site.server.url("/cgi-bin/second.sh?n=2");
    let run = site.curl(&["-sv", &first, &second]);
    assert!(run.status.success(), "curl failed ({}): {}", run.status, run.stderr);
    assert_eq!(String::from_utf8_lossy(&run.stdout), "created by a script\nsecond: n=2\n", "stderr: {}", run.stderr);
    assert!(
        run.stderr.contains("Re-using existing connection") || run.stderr.contains("Reusing existing connection"),
        "curl opened a second connection:\n{}",
        run.stderr
    );
    // One connection only.
    assert_eq!(run.stderr.matches("Connected to").count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("< HTTP/1.1 201 Created"), "{}", run.stderr);
    assert!(run.stderr.contains("< HTTP/1.1 200 OK"), "{}", run.stderr);
}

#[test]
fn chunked_upload_streams_to_the_script_intact() {
    let site = Site::new(&[("cgi-bin/sha.sh", SHA_SH)]);
    // ~5 MB of random bytes, outside the served tree.
    let upload = site.logs.root.join("upload.bin");
    let mut data = vec![0; 5 * 1024 * 1024 + 12345];
    fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut data)).expect("read /dev/urandom");
    fs::write(&upload, &data).unwrap();
    let expected = sha256_file(&upload, &site.logs.root);

    let data_arg = format!("@{}", upload.display());
    let run = site.curl(&[
        "-sv",
        "-H",
        "Transfer-Encoding: chunked",
        "-H",
        "Content-Type: application/octet-stream",
        "--data-binary",
        &data_arg,
        &site.server.url("/cgi-bin/sha.sh"),
    ]);
    assert!(run.status.success(), "curl failed ({}): {}", run.status, run.stderr);
    assert!(run.stderr.contains("> Transfer-Encoding: chunked"), "curl did not send chunked:\n{}", run.stderr);
    assert!(run.stderr.contains("< HTTP/1.1 200 OK"), "{}", run.stderr);
    let got = String::from_utf8_lossy(&run.stdout).into_owned();
    assert_eq!(
        got.trim_end(),
        expected,
        "the script read other bytes than were sent; server log: {}",
        site.server.stderr()
    );
}

/// `sha256sum FILE`'s digest (coreutils), run bounded.
fn sha256_file(path: &Path, logs: &Path) -> String {
    let out_path = logs.join("sha256sum.out");
    let mut child = Command::new("sha256sum")
        .arg(path)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out_path).unwrap())
        .spawn()
        .expect("sha256sum (coreutils) is needed");
    let status =
        wait_or_kill(&mut child, Duration::from_secs(60)).unwrap_or_else(|| panic!("sha256sum did not finish"));
    assert!(status.success(), "sha256sum failed: {status}");
    let out = fs::read_to_string(&out_path).unwrap();
    let digest = out.split_whitespace().next().unwrap_or_default().to_owned();
    assert_eq!(digest.len(), 64, "sha256sum printed {out:?}");
    digest
}
