//! [`CGIHTTPRequestHandler`]: Python's `http.server.CGIHTTPRequestHandler`
//! (`python -m http.server --cgi`), files served as by
//! [`SimpleHTTPRequestHandler`] and scripts under the CGI directories run
//! the RFC 3875 way.
//!
//! The pieces, one file each: `locate` (request path → script, CPython's
//! path collapsing), `environ` (the meta-variables), `process` (starting,
//! killing and reaping a script), `script_head` (the head a script prints)
//! and `pump` (the bytes between client and script while it runs).

mod environ;
mod locate;
mod process;
mod pump;
mod script_head;

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::handler::base::BaseHTTPRequestHandler;
use crate::handler::request::Request;
use crate::handler::result::HandlerResult;
use crate::protocol::pyrepr::repr;
use crate::simple::path::{os_component, target_bytes};
use crate::simple::SimpleHTTPRequestHandler;
use crate::transport::blocking::will_block;
use environ::{EnvConfig, Located, DEFAULT_PASS_ENV};
use process::{Launch, Script};
use pump::{Outcome, Pump};

/// A `do_*` method of the file server.
type FileMethod = fn(&mut SimpleHTTPRequestHandler, &mut Request) -> HandlerResult;

/// How many local redirects (RFC 3875 §6.2.2) one request may follow.
const MAX_LOCAL_REDIRECTS: usize = 10;

/// Python's `CGIHTTPRequestHandler`: a [`SimpleHTTPRequestHandler`] that
/// runs the scripts under its CGI directories (`/cgi-bin` and `/htbin`
/// by default) for `GET`, `HEAD` and `POST`.
///
/// As CPython does: the request path is collapsed (`_url_collapse_path`:
/// percent-decoded, `.` and `..` resolved) and is a CGI request when one of
/// its leading directories is in [`cgi_directories`](Self::cgi_directories);
/// the script is the first segment after the deepest directory on that
/// path, what follows it is `PATH_INFO`, and the query is what follows the
/// first `?`. A missing script is `404 No such CGI script ('/cgi-bin/x')`,
/// one that is not a regular file or not executable is a `403`; `POST`
/// anywhere else is `501 Can only POST to CGI scripts`. A `.py` or `.pyw`
/// script runs under the [interpreter](Self::with_interpreter) (default
/// `python3 -u`), any other is executed itself; when the server runs as
/// root, scripts run as `nobody`.
///
/// Done the way RFC 3875 asks, where CPython does not (README,
/// "Differences from CPython"):
/// - the script's head is read and checked: `Status:` is the status line,
///   `Location:` alone a redirect (`302`, or for a local path the response
///   to a `GET` of that path), header fields pass through the same checks
///   as any response head, and a script whose head is invalid (no
///   `Content-Type`, `Location` or `Status`, a line that is no field,
///   control bytes, over 64 KiB or 100 fields) gets `502`. Hop-by-hop fields
///   and `Server`/`Date` from the script are dropped;
/// - the body is streamed as the script writes it: with the script's
///   `Content-Length`, else chunked on HTTP/1.1 (the connection stays
///   open), else ended by closing the connection; `nph-` scripts write the
///   whole response themselves, unchanged (the connection then closes);
/// - the request body (`Content-Length` or chunked) streams to the script's
///   stdin as it arrives. A chunked body has no `CONTENT_LENGTH`: the
///   script reads stdin to its end (RFC 3875 §4.2);
/// - the environment is built, not inherited: the RFC 3875 §4.1
///   meta-variables, `HTTP_*` for every request header except `Proxy`
///   (httpoxy), `Authorization` (§4.1.18; see
///   [`with_pass_authorization`](Self::with_pass_authorization)) and the
///   ones with a variable of their own, `PATH`, `LANG`, `LC_ALL`,
///   `LC_CTYPE` and `TZ` from the server's environment
///   ([`with_pass_env`](Self::with_pass_env)) and the fixed values given
///   with [`with_env`](Self::with_env); no command-line arguments;
/// - the script's stderr goes to the server's error log, line by line;
/// - a script silent for longer than the [timeout](Self::with_timeout)
///   (default 60 s) is killed with its whole process group, and answered
///   `504` if the client has nothing yet; a client that closes its
///   connection kills its script (once its request is read: as nginx
///   does, a client that shuts down only its sending side counts as gone,
///   since the two look the same from here); every script is waited for;
/// - a script is only ever a regular, executable file inside a CGI
///   directory: a symlink out of it is a `404`, and the files under a CGI
///   directory are never served as files.
///
/// ```no_run
/// use basehttp::{CGIHTTPRequestHandler, ThreadingHTTPServer};
///
/// // python -m http.server --cgi 8000
/// let handler = CGIHTTPRequestHandler::new(".").with_timeout(std::time::Duration::from_secs(30));
/// let mut httpd = ThreadingHTTPServer::new(("0.0.0.0", 8000), move || handler.clone()).unwrap();
/// httpd.serve_forever().unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct CGIHTTPRequestHandler {
    files: SimpleHTTPRequestHandler,
    config: Arc<Config>,
}

#[derive(Clone, Debug)]
struct Config {
    cgi_directories: Vec<String>,
    interpreter: Vec<OsString>,
    timeout: Duration,
    env: EnvConfig,
}

impl Default for CGIHTTPRequestHandler {
    /// Serves the current directory.
    fn default() -> Self {
        Self::from_files(SimpleHTTPRequestHandler::default())
    }
}

impl CGIHTTPRequestHandler {
    /// `CGIHTTPRequestHandler(directory=...)`: serves the files under
    /// `directory` and runs the scripts in its CGI directories.
    pub fn new(directory: impl Into<PathBuf>) -> Self {
        Self::from_files(SimpleHTTPRequestHandler::new(directory))
    }

    /// The CGI handler over a configured file server (extensions added).
    pub fn from_files(files: SimpleHTTPRequestHandler) -> Self {
        let config = Config {
            cgi_directories: vec!["/cgi-bin".to_owned(), "/htbin".to_owned()],
            interpreter: vec!["python3".into(), "-u".into()],
            timeout: Duration::from_secs(60),
            env: EnvConfig {
                pass_env: DEFAULT_PASS_ENV.iter().map(|s| (*s).to_owned()).collect(),
                fixed: Vec::new(),
                pass_authorization: false,
            },
        };
        CGIHTTPRequestHandler { files, config: Arc::new(config) }
    }

    /// The directory being served.
    pub fn directory(&self) -> &Path {
        self.files.directory()
    }

    /// `cgi_directories`: the URL paths whose scripts run (`/cgi-bin`,
    /// `/htbin` unless changed), each a path from the root without a
    /// trailing slash.
    pub fn cgi_directories(&self) -> &[String] {
        &self.config.cgi_directories
    }

    /// Replaces `cgi_directories`.
    ///
    /// ```
    /// let h = basehttp::CGIHTTPRequestHandler::new(".").with_cgi_directories(["/scripts", "/sub/dir/cgi-bin"]);
    /// assert_eq!(h.is_cgi("/sub/dir/cgi-bin/x.py/more?q"), Some(("/sub/dir/cgi-bin".into(), "x.py/more?q".into())));
    /// assert_eq!(h.is_cgi("/cgi-bin/x.py"), None);
    /// ```
    pub fn with_cgi_directories<S: Into<String>>(mut self, directories: impl IntoIterator<Item = S>) -> Self {
        Arc::make_mut(&mut self.config).cgi_directories = directories.into_iter().map(Into::into).collect();
        self
    }

    /// The program and arguments that run a `.py` script (its path is
    /// appended); default `python3 -u`, looked up on the scripts' `PATH`.
    pub fn with_interpreter<S: Into<OsString>>(mut self, argv: impl IntoIterator<Item = S>) -> Self {
        Arc::make_mut(&mut self.config).interpreter = argv.into_iter().map(Into::into).collect();
        self
    }

    /// How long a script may stay silent (no output, no input read)
    /// before it is killed: default 60 s, as Apache's and nginx's CGI and
    /// FastCGI read timeouts. A script that keeps writing runs as long as
    /// it writes. `Duration::MAX` sets no limit.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        Arc::make_mut(&mut self.config).timeout = timeout;
        self
    }

    /// Passes the server's own value of the environment variable `name`
    /// to scripts (besides `PATH`, `LANG`, `LC_ALL`, `LC_CTYPE` and `TZ`).
    pub fn with_pass_env(mut self, name: &str) -> Self {
        Arc::make_mut(&mut self.config).env.pass_env.push(name.to_owned());
        self
    }

    /// Gives every script the variable `name` with `value` (set last, so
    /// it overrides a meta-variable of the same name).
    ///
    /// ```
    /// // git's smart HTTP: the repositories to serve.
    /// let h = basehttp::CGIHTTPRequestHandler::new("/srv/www")
    ///     .with_env("GIT_PROJECT_ROOT", "/srv/git")
    ///     .with_env("GIT_HTTP_EXPORT_ALL", "1");
    /// ```
    pub fn with_env(mut self, name: &str, value: impl Into<OsString>) -> Self {
        Arc::make_mut(&mut self.config).env.fixed.push((name.to_owned(), value.into()));
        self
    }

    /// Whether scripts see the `Authorization` header as
    /// `HTTP_AUTHORIZATION` (default no: RFC 3875 §4.1.18 says credentials
    /// should not reach scripts; `AUTH_TYPE` and, for `Basic`,
    /// `REMOTE_USER` are always set). Turn it on for scripts that check
    /// credentials themselves (a bearer token), as Apache's `CGIPassAuth`.
    pub fn with_pass_authorization(mut self, pass: bool) -> Self {
        Arc::make_mut(&mut self.config).env.pass_authorization = pass;
        self
    }

    /// `is_cgi()`: the request path's CGI directory and the rest, after
    /// CPython's path collapsing, or `None` when the path is not under a
    /// CGI directory.
    ///
    /// ```
    /// let h = basehttp::CGIHTTPRequestHandler::new(".");
    /// assert_eq!(h.is_cgi("/cgi-bin%2ffile1.py?a=b?c"), Some(("/cgi-bin".into(), "file1.py?a=b?c".into())));
    /// assert_eq!(h.is_cgi("/x/../htbin/y.sh"), Some(("/htbin".into(), "y.sh".into())));
    /// assert_eq!(h.is_cgi("/cgi-bin/../secret.sh"), None);
    /// ```
    pub fn is_cgi(&self, path: &str) -> Option<(String, String)> {
        locate::split_cgi(path, &self.config.cgi_directories)
    }

    /// `is_executable(path)`: a file with any execute bit set.
    pub fn is_executable(path: impl AsRef<Path>) -> bool {
        fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }

    /// `is_python(path)`: the name ends in `.py` or `.pyw` (any case).
    pub fn is_python(path: impl AsRef<Path>) -> bool {
        path.as_ref().extension().is_some_and(|e| e.eq_ignore_ascii_case("py") || e.eq_ignore_ascii_case("pyw"))
    }

    /// `do_GET()`: runs the script, or serves the file.
    #[allow(non_snake_case)]
    pub fn do_GET(&mut self, req: &mut Request) -> HandlerResult {
        self.script_or_file(req, SimpleHTTPRequestHandler::do_GET)
    }

    /// `do_HEAD()`: runs the script (its body is not sent), or the file's head.
    #[allow(non_snake_case)]
    pub fn do_HEAD(&mut self, req: &mut Request) -> HandlerResult {
        self.script_or_file(req, SimpleHTTPRequestHandler::do_HEAD)
    }

    /// CPython's `send_head` choice: the script for a CGI path, `404` for
    /// anything else inside a CGI directory, else `serve` (the file server).
    fn script_or_file(&mut self, req: &mut Request, serve: FileMethod) -> HandlerResult {
        match self.is_cgi(&req.path) {
            Some((dir, rest)) => self.run_cgi(req, &dir, &rest),
            None if self.inside_cgi_directory(&req.path) => Ok(req.send_error_message(404, "File not found")?),
            None => serve(&mut self.files, req),
        }
    }

    /// `do_POST()`: runs the script; `501` for anything but a CGI path.
    #[allow(non_snake_case)]
    pub fn do_POST(&mut self, req: &mut Request) -> HandlerResult {
        match self.is_cgi(&req.path) {
            Some((dir, rest)) => self.run_cgi(req, &dir, &rest),
            None => Ok(req.send_error_message(501, "Can only POST to CGI scripts")?),
        }
    }

    /// `run_cgi()`: one script run, and the local redirects it asks for.
    fn run_cgi(&mut self, req: &mut Request, dir: &str, rest: &str) -> HandlerResult {
        let (mut dir, mut rest) = (dir.to_owned(), rest.to_owned());
        for hop in 0..=MAX_LOCAL_REDIRECTS {
            let Outcome::LocalRedirect(path) = self.run_script(req, &dir, &rest, hop == 0)? else { return Ok(()) };
            req.log_message(format_args!("CGI local redirect to {}", repr(&path)));
            // RFC 3875 §6.2.2: the response to a GET of that path (a HEAD
            // stays a HEAD: the client asked for no body).
            if req.command != "HEAD" {
                req.command = "GET".to_owned();
            }
            req.path = path;
            match self.is_cgi(&req.path) {
                Some((d, r)) => (dir, rest) = (d, r),
                None if req.command == "HEAD" => return self.script_or_file(req, SimpleHTTPRequestHandler::do_HEAD),
                None => return self.script_or_file(req, SimpleHTTPRequestHandler::do_GET),
            }
        }
        req.log_error(format_args!("CGI script redirected more than {MAX_LOCAL_REDIRECTS} times"));
        Ok(req.send_error_explain(500, None, Some("The CGI script's local redirects went round in a loop."))?)
    }

    /// Finds, checks, starts and pumps one script.
    fn run_script(&self, req: &mut Request, dir: &str, rest: &str, first: bool) -> io::Result<Outcome> {
        let Ok(root) = fs::canonicalize(self.directory()) else { return missing(req, &format!("{dir}/")) };
        let lookup = |url: &str| self.files.translate_path(url).and_then(|p| fs::canonicalize(p).ok());
        let at = locate::split_script(dir, rest, |p| lookup(p).is_some_and(|p| p.starts_with(&root) && p.is_dir()));
        let name = at.script_name.clone();
        // The script must lie inside the CGI directory, however reached.
        let Some(cgi_root) = lookup(dir).filter(|d| d.starts_with(&root)) else { return missing(req, &name) };
        let Some(script) = lookup(&name).filter(|p| p.starts_with(&cgi_root)) else { return missing(req, &name) };
        let Ok(meta) = fs::metadata(&script) else { return missing(req, &name) };
        if !meta.is_file() {
            req.send_error_message(403, &format!("CGI script is not a plain file ({})", repr(&name)))?;
            return Ok(Outcome::Answered);
        }
        if meta.permissions().mode() & 0o111 == 0 {
            req.send_error_message(403, &format!("CGI script is not executable ({})", repr(&name)))?;
            return Ok(Outcome::Answered);
        }
        let python = Self::is_python(&script);
        if !python && !process::kernel_runs(&script).unwrap_or(false) {
            let why = "has no #! line and is no ELF executable: not run (a shell would run it)";
            return not_started(req, &name, format_args!("{why}"));
        }
        let path_translated = (!at.path_info.is_empty()).then(|| under(&root, &at.path_info));
        let located = Located {
            script: &at,
            script_file: &script,
            path_translated: path_translated.as_deref(),
            document_root: &root,
            body: first,
        };
        let env = environ::environ(req, &located, &self.config.env);
        let has_body = first && (req.headers.contains("Transfer-Encoding") || req.headers.contains("Content-Length"));
        warn_inheritable_descriptors(req);
        let launch = Launch {
            script: &script,
            interpreter: if python { &self.config.interpreter } else { &[] },
            env,
            stdin: has_body,
        };
        // Announced, so the poller serving other connections moves on.
        will_block();
        let mut child = match Script::start(launch) {
            Ok(child) => child,
            Err(e) => return not_started(req, &name, format_args!("could not be started: {e}")),
        };
        let nph = script.file_name().is_some_and(|n| n.as_encoded_bytes().starts_with(b"nph-"));
        let outcome = Pump::new(req, &mut child, &name, nph, self.config.timeout).run()?;
        // The response is whole once the output ended: its last chunk goes
        // out now, not after the script's exit (a script may linger).
        req.finish_chunked()?;
        req.wfile().flush()?;
        match child.finish(Instant::now().checked_add(self.config.timeout))? {
            Some(status) if !status.success() => {
                req.log_error(format_args!("CGI script {} exited with {status}", repr(&name)));
            }
            Some(_) => {}
            None => {
                req.log_error(format_args!("CGI script {} closed its output but did not exit: killed", repr(&name)))
            }
        }
        Ok(outcome)
    }

    /// Whether `path` names something inside a CGI directory by another
    /// way (a symlink, another name): script sources are never served.
    fn inside_cgi_directory(&self, path: &str) -> bool {
        let canonical = |url: &str| self.files.translate_path(url).and_then(|p| fs::canonicalize(p).ok());
        let Some(target) = canonical(path) else { return false };
        self.config.cgi_directories.iter().filter_map(|d| canonical(d)).any(|d| target.starts_with(d))
    }
}

/// Logs, once per process, the descriptors every script would inherit
/// (see `process::inheritable_descriptors`).
fn warn_inheritable_descriptors(req: &Request) {
    static CHECKED: std::sync::Once = std::sync::Once::new();
    CHECKED.call_once(|| {
        let fds = process::inheritable_descriptors();
        if !fds.is_empty() {
            req.log_error(format_args!(
                "file descriptors {fds:?} of this process are not close-on-exec: every CGI script inherits them \
                 (start the server without them)"
            ));
        }
    });
}

/// `500`: the script cannot run; `why` goes to the log only.
fn not_started(req: &mut Request, name: &str, why: std::fmt::Arguments<'_>) -> io::Result<Outcome> {
    req.log_error(format_args!("CGI script {} {why}", repr(name)));
    req.send_error_explain(500, None, Some("The CGI script could not be started."))?;
    Ok(Outcome::Answered)
}

/// `404 No such CGI script ('/cgi-bin/x')`: missing, or not somewhere a
/// script may be (the answer does not tell which).
fn missing(req: &mut Request, name: &str) -> io::Result<Outcome> {
    req.send_error_message(404, &format!("No such CGI script ({})", repr(name)))?;
    Ok(Outcome::Answered)
}

/// `PATH_TRANSLATED`: the decoded `PATH_INFO` (already collapsed) under `root`.
fn under(root: &Path, path_info: &str) -> PathBuf {
    let mut path = root.to_path_buf();
    for part in target_bytes(path_info).split(|&b| b == b'/').filter(|p| !p.is_empty()) {
        if let Some(part) = os_component(part) {
            path.push(part);
        }
    }
    path
}

impl BaseHTTPRequestHandler for CGIHTTPRequestHandler {
    /// CPython's, inherited from `SimpleHTTPRequestHandler`.
    const SERVER_VERSION: &'static str = "SimpleHTTP/0.6";
    const METHODS: &'static [&'static str] = &["GET", "HEAD", "POST"];

    fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
        match req.command.as_str() {
            "GET" => self.do_GET(req),
            "HEAD" => self.do_HEAD(req),
            "POST" => self.do_POST(req),
            _ => Ok(req.send_unsupported_method()?),
        }
    }
}
