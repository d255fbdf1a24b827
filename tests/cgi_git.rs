//! A real-world CGI program that nobody here wrote: git's smart HTTP
//! server, `git-http-backend`, run by `basehttp::CGIHTTPRequestHandler`
//! (HTTP/1.1) and driven by the real `git` client.
//!
//! The backend binary is copied (not linked: a symlink out of the CGI
//! directory is refused on purpose) into the served tree's `cgi-bin/`, and
//! serves a bare repository under `GIT_PROJECT_ROOT`, given to the script
//! with `with_env`. The script runs as `nobody` (the tests run as root), so
//! git's `safe.directory` check is relaxed through `GIT_CONFIG_*`, and for
//! the push the repository belongs to `nobody` and has
//! `http.receivepack true`.
//!
//! Covered: `git clone` (the `info/refs` GET and the `git-upload-pack`
//! POST, with the `Git-Protocol` header passed as `HTTP_GIT_PROTOCOL`),
//! `git push` of a 3 MB commit with `http.postBuffer=65536` so that the
//! `git-receive-pack` POST body is sent chunked (no `CONTENT_LENGTH`: the
//! backend reads its stdin to the end), a second clone that gets the pushed
//! bytes back, and `git ls-remote` of a repository that does not exist.
//!
//! Every `git` run is bounded (killed with its process group on overrun).
//! Without `git` the tests fail, saying so.

#[path = "cgi/support.rs"]
mod support;

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use support::*;

/// The longest one `git` command may run.
const GIT_TIMEOUT: Duration = Duration::from_secs(120);

/// `nobody`'s ids (`nobody`/`nogroup` on Debian), whom the scripts run as.
const NOBODY: u32 = 65534;

/// What one bounded command printed.
struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs `cmd` with its output in files under `logs`, at most `limit`;
/// on overrun its whole process group is killed and the test fails.
fn run_bounded(mut cmd: Command, logs: &Path, limit: Duration) -> Run {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let out_path = logs.join(format!("cmd-{n}.out"));
    let err_path = logs.join(format!("cmd-{n}.err"));
    let shown = format!("{cmd:?}");
    cmd.stdin(Stdio::null())
        .stdout(fs::File::create(&out_path).unwrap())
        .stderr(fs::File::create(&err_path).unwrap())
        .process_group(0);
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    // On overrun the group goes too: git starts helpers (git-remote-http,
    // index-pack).
    let status = wait_or_kill(&mut child, limit);
    let read = |p: &Path| {
        let mut text = String::new();
        let _ = fs::File::open(p).and_then(|mut f| f.read_to_string(&mut text));
        text
    };
    let (stdout, stderr) = (read(&out_path), read(&err_path));
    let Some(status) = status else {
        panic!("{shown} did not finish within {limit:?}\nstdout: {stdout}\nstderr: {stderr}");
    };
    Run { status, stdout, stderr }
}

/// [`run_bounded`] that must succeed; returns its stdout.
fn run_ok(cmd: Command, logs: &Path) -> String {
    let shown = format!("{cmd:?}");
    let run = run_bounded(cmd, logs, GIT_TIMEOUT);
    assert!(run.status.success(), "{shown} failed ({})\nstdout: {}\nstderr: {}", run.status, run.stdout, run.stderr);
    run.stdout
}

/// The client: `git` with no system or user configuration, no prompt, no
/// proxy, a fixed identity, in `dir`.
fn git(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", "CGI Test")
        .env("GIT_AUTHOR_EMAIL", "cgi@example.invalid")
        .env("GIT_COMMITTER_NAME", "CGI Test")
        .env("GIT_COMMITTER_EMAIL", "cgi@example.invalid")
        .env("LC_ALL", "C");
    for name in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_CONFIG",
        "GIT_CONFIG_COUNT",
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ] {
        cmd.env_remove(name);
    }
    cmd
}

/// `git` with `args` in `dir`.
fn git_args(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = git(dir);
    cmd.args(args);
    cmd
}

/// Fails the test, clearly, when there is no `git`.
fn require_git() {
    let spawned = Command::new("git").arg("--version").stdin(Stdio::null()).stdout(Stdio::null()).spawn();
    let mut child = spawned.unwrap_or_else(|e| {
        panic!(
            "these tests need the `git` command (with git-http-backend), which cannot be run here ({e}): install git"
        )
    });
    let status = wait_or_kill(&mut child, Duration::from_secs(30))
        .unwrap_or_else(|| panic!("`git --version` did not finish within 30 s"));
    assert!(status.success(), "`git --version` failed ({status}): these tests need a working git");
}

/// `chown -R nobody:nogroup path` (no symlinks are followed).
fn chown_nobody(path: &Path) {
    std::os::unix::fs::lchown(path, Some(NOBODY), Some(NOBODY))
        .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
    let meta = fs::symlink_metadata(path).unwrap();
    if meta.is_dir() {
        for entry in fs::read_dir(path).unwrap() {
            chown_nobody(&entry.unwrap().path());
        }
    }
}

/// `n` random bytes (from the kernel: incompressible, so the pack is as
/// big as the file).
fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0; n];
    fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)).expect("read /dev/urandom");
    bytes
}

/// The served tree with `git-http-backend` copied into `cgi-bin/`, a bare
/// repository `repo.git` (branch `main`, one commit with two files) under
/// `scratch/projects`, and a server (HTTP/1.1) whose scripts serve it.
struct GitSite {
    server: TestServer,
    _tree: CgiTree,
    scratch: Scratch,
    bare: PathBuf,
}

const README: &str = "Served by git-http-backend through basehttp.\n";
const HELLO: &str = "hello from the seed commit\n";

impl GitSite {
    fn new(tag: &str, writable: bool) -> GitSite {
        require_git();
        let scratch = Scratch::new(&format!("git-{tag}"));
        let logs = scratch.path("logs");
        fs::create_dir(&logs).unwrap();

        // The backend, copied into cgi-bin.
        let exec_path = run_ok(git_args(&scratch.root, &["--exec-path"]), &logs);
        let backend = Path::new(exec_path.trim()).join("git-http-backend");
        assert!(backend.is_file(), "no git-http-backend at {} (git --exec-path)", backend.display());
        let tree = CgiTree::new();
        let copied = tree.root.join("cgi-bin/git-http-backend");
        fs::copy(&backend, &copied).unwrap();
        fs::set_permissions(&copied, fs::Permissions::from_mode(0o755)).unwrap();

        // The bare repository, seeded from a work tree by a local push.
        let projects = scratch.path("projects");
        fs::create_dir(&projects).unwrap();
        fs::set_permissions(&projects, fs::Permissions::from_mode(0o755)).unwrap();
        let bare = projects.join("repo.git");
        run_ok(git_args(&projects, &["init", "--quiet", "--bare", "--initial-branch=main", "repo.git"]), &logs);
        let seed = scratch.path("seed");
        run_ok(git_args(&scratch.root, &["init", "--quiet", "--initial-branch=main", "seed"]), &logs);
        fs::write(seed.join("README.md"), README).unwrap();
        fs::create_dir(seed.join("src")).unwrap();
        fs::write(seed.join("src/hello.txt"), HELLO).unwrap();
        run_ok(git_args(&seed, &["add", "."]), &logs);
        run_ok(git_args(&seed, &["commit", "--quiet", "-m", "seed"]), &logs);
        run_ok(git_args(&seed, &["push", "--quiet", bare.to_str().unwrap(), "main"]), &logs);
        if writable {
            run_ok(git_args(&bare, &["config", "http.receivepack", "true"]), &logs);
            chown_nobody(&bare);
        }

        let handler = tree
            .handler()
            .with_env("GIT_PROJECT_ROOT", projects.as_os_str())
            .with_env("GIT_HTTP_EXPORT_ALL", "1")
            .with_env("GIT_CONFIG_COUNT", "1")
            .with_env("GIT_CONFIG_KEY_0", "safe.directory")
            .with_env("GIT_CONFIG_VALUE_0", "*");
        let server = serve(handler, true);
        GitSite { server, _tree: tree, scratch, bare }
    }

    fn url(&self, repo: &str) -> String {
        format!("http://127.0.0.1:{}/cgi-bin/git-http-backend/{repo}", self.server.port)
    }

    fn logs(&self) -> PathBuf {
        self.scratch.path("logs")
    }

    /// `git clone URL DIR` into the scratch directory; the clone's path.
    fn clone_into(&self, dir: &str) -> PathBuf {
        let url = self.url("repo.git");
        run_ok(git_args(&self.scratch.root, &["clone", "--quiet", &url, dir]), &self.logs());
        self.scratch.path(dir)
    }

    /// A revision of the bare repository, read directly (it may belong to
    /// `nobody` now, hence `safe.directory`).
    fn bare_rev(&self, rev: &str) -> String {
        let mut cmd = git(&self.scratch.root);
        cmd.args(["-c", "safe.directory=*", "--git-dir"]).arg(&self.bare).args(["rev-parse", rev]);
        run_ok(cmd, &self.logs()).trim().to_owned()
    }
}

#[test]
fn clone_push_and_clone_again_through_git_http_backend() {
    let site = GitSite::new("push", true);
    let logs = site.logs();

    // Clone: GET info/refs?service=git-upload-pack, POST git-upload-pack.
    let first = site.clone_into("clone1");
    assert_eq!(fs::read_to_string(first.join("README.md")).unwrap(), README);
    assert_eq!(fs::read_to_string(first.join("src/hello.txt")).unwrap(), HELLO);
    let head = run_ok(git_args(&first, &["rev-parse", "HEAD"]), &logs).trim().to_owned();
    assert_eq!(head, site.bare_rev("main"), "the clone's HEAD is not the served main");

    // A commit whose pack (3 MB of incompressible bytes) is far over the
    // 64 KiB post buffer: git sends the receive-pack POST chunked.
    let big = random_bytes(3 * 1024 * 1024);
    fs::write(first.join("big.bin"), &big).unwrap();
    fs::write(first.join("src/hello.txt"), "changed by the push\n").unwrap();
    run_ok(git_args(&first, &["add", "."]), &logs);
    run_ok(git_args(&first, &["commit", "--quiet", "-m", "a big file"]), &logs);
    let pushed = run_ok(git_args(&first, &["rev-parse", "HEAD"]), &logs).trim().to_owned();
    let mut push = git_args(&first, &["-c", "http.postBuffer=65536", "push", "origin", "main"]);
    // The request heads git sends and gets, on stderr (no bodies).
    push.env("GIT_TRACE_CURL", "1").env("GIT_TRACE_CURL_NO_DATA", "1");
    let run = run_bounded(push, &logs, GIT_TIMEOUT);
    assert!(run.status.success(), "git push failed ({})\nstderr: {}", run.status, run.stderr);
    let trace = &run.stderr;
    assert!(
        trace.contains("POST /cgi-bin/git-http-backend/repo.git/git-receive-pack HTTP/1.1"),
        "no receive-pack POST in the trace:\n{trace}"
    );
    assert!(
        trace.contains("Send header: Transfer-Encoding: chunked"),
        "the push was not sent chunked; trace:\n{trace}"
    );
    assert!(trace.contains("Recv header: HTTP/1.1 200"), "trace:\n{trace}");
    assert_eq!(site.bare_rev("main"), pushed, "the served repository did not get the pushed commit");

    // A fresh clone gets the pushed bytes back.
    let second = site.clone_into("clone2");
    assert_eq!(run_ok(git_args(&second, &["rev-parse", "HEAD"]), &logs).trim(), pushed);
    let got = fs::read(second.join("big.bin")).unwrap();
    assert!(got == big, "big.bin differs after push and clone ({} bytes, want {})", got.len(), big.len());
    assert_eq!(fs::read_to_string(second.join("src/hello.txt")).unwrap(), "changed by the push\n");
    assert_eq!(fs::read_to_string(second.join("README.md")).unwrap(), README);
}

#[test]
fn ls_remote_of_the_served_and_of_a_missing_repository() {
    let site = GitSite::new("lsremote", false);
    let logs = site.logs();

    let refs = run_ok(git_args(&site.scratch.root, &["ls-remote", &site.url("repo.git")]), &logs);
    let main = site.bare_rev("main");
    assert!(refs.lines().any(|l| l == format!("{main}\trefs/heads/main")), "ls-remote: {refs:?}");

    // The backend answers 404 for a repository it does not have; git says so.
    let run = run_bounded(git_args(&site.scratch.root, &["ls-remote", &site.url("nothere.git")]), &logs, GIT_TIMEOUT);
    assert!(!run.status.success(), "ls-remote of a missing repository succeeded: {}", run.stdout);
    assert!(run.stderr.contains("not found"), "git's message: {}", run.stderr);
}
