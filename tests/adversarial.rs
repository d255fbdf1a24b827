//! The hostile-client suite (`attack.py` of the project's shared material)
//! against the `conformance` example, in both profiles. Ignored by default:
//! it needs `python3` and the suite, and takes about 80 s. Run it with
//!
//! ```text
//! cargo test --release --test adversarial -- --ignored --nocapture
//! ```
//!
//! (`ATTACK_PY=/path/to/attack.py` overrides where the suite is looked for;
//! by default `../shared/adversarial/attack.py` from the repository root.)
//! The default profile must fail exactly the scenarios listed in
//! `CPYTHON_PINNED` (each contradicts a CPython behaviour the oracle pins;
//! README.md, "Hardening"), the strict profile none.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Scenarios whose pass rule contradicts CPython behaviour that the oracle
/// pins, so the default profile fails them on purpose.
const CPYTHON_PINNED: &[u32] = &[34, 48, 49, 50, 56, 58, 59, 60, 62, 63, 70, 78];

fn attack_py() -> Option<PathBuf> {
    let path = std::env::var_os("ATTACK_PY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/adversarial/attack.py"));
    path.exists().then_some(path)
}

fn conformance() -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    exe.parent().and_then(|d| d.parent()).expect("target dir").join("examples/conformance")
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(strict: bool) -> (Server, u16) {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut args = vec!["--port".to_owned(), port.to_string(), "--protocol".into(), "HTTP/1.1".into()];
    args.extend(["--default-request-version".into(), "HTTP/1.1".into()]);
    if strict {
        args.push("--rfc9112".into());
    }
    let child = Command::new(conformance()).args(&args).stderr(Stdio::null()).spawn().expect("start conformance");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "conformance did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (Server(child), port)
}

/// Runs the `--skip-long` suite; returns the numbers of failed scenarios.
fn failed_scenarios(strict: bool) -> Vec<u32> {
    let attack = attack_py().expect("attack.py not found: set ATTACK_PY");
    let (_server, port) = start(strict);
    let out = Command::new("python3")
        .arg(attack)
        .args(["127.0.0.1", &port.to_string(), "--skip-long"])
        .output()
        .expect("run python3");
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}");
    let last = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
    assert!(last.contains(" passed, "), "the suite did not finish: {last}");
    text.lines().filter(|l| l.contains(" FAIL ")).filter_map(|l| l.split_whitespace().next()?.parse().ok()).collect()
}

#[test]
#[ignore = "needs python3 and attack.py; about 80 s"]
fn strict_profile_passes_every_scenario() {
    assert_eq!(failed_scenarios(true), Vec::<u32>::new());
}

#[test]
#[ignore = "needs python3 and attack.py; about 40 s"]
fn default_profile_fails_only_the_cpython_pinned_scenarios() {
    assert_eq!(failed_scenarios(false), CPYTHON_PINNED);
}
