//! [`SimpleHTTPRequestHandler`]: Python's `http.server.SimpleHTTPRequestHandler`,
//! a handler that serves the files under one directory, with ranges,
//! entity tags and bounded memory on top of CPython's behaviour.
//!
//! The pieces, one file each: `path` (request target → file, the
//! containment rules), `mime` (the extension table), `listing` (the
//! directory page), `range` (`Range`) and `validators` (`ETag`,
//! `Last-Modified` and the conditional headers).

mod listing;
mod mime;
pub(crate) mod path;
mod range;
mod validators;

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use mime::guess_type;

use crate::handler::base::BaseHTTPRequestHandler;
use crate::handler::request::Request;
use crate::handler::result::HandlerResult;
use range::Ranged;
use validators::Validators;

/// File bodies are read and written in pieces of this size, so serving a
/// file of any size holds one buffer of memory per connection (the
/// connection's write buffer sends pieces this large straight to the socket).
const CHUNK: usize = 64 * 1024;

/// Python's `SimpleHTTPRequestHandler`: serves the files and folders under
/// one directory for `GET` and `HEAD` (other methods get CPython's 501).
///
/// As CPython does: a path is resolved under the directory with its query
/// and fragment dropped, percent-decoded, and `.` / `..` resolved without
/// ever going above the directory; a folder without its trailing slash is
/// redirected (`301`, `Location` with the slash, query kept); a folder is
/// answered with its `index.html` or `index.htm`, else with an HTML listing
/// (`Directory listing for /x/`, names sorted case-insensitively, `/` after
/// folders, `@` after symlinks); a file gets a `Content-type` from its
/// extension ([`guess_type`]), `Content-Length` and `Last-Modified`, and
/// `If-Modified-Since` answers `304` unless `If-None-Match` is present.
/// Missing files are `404 File not found`.
///
/// Beyond CPython:
/// - an `ETag` (`"<size hex>-<mtime ns hex>"`) with `If-None-Match` → `304`
///   (weak comparison, `*` and lists), and `Accept-Ranges: bytes`;
/// - `Range` on `GET`: one range (`bytes=a-b`, `a-`, `-n`) → `206` with
///   `Content-Range` and exactly those bytes; an unsatisfiable one → `416`
///   with `Content-Range: bytes */SIZE`; several ranges, or an invalid one,
///   → the whole file with `200` (RFC 9110 lets a server ignore `Range`;
///   no `multipart/byteranges`); `If-Range` with this `ETag` or the exact
///   `Last-Modified` date. `HEAD` ignores `Range` (RFC 9110 §14.2: only
///   `GET` defines it);
/// - files are streamed in 64 KiB pieces, never read whole into memory;
/// - containment: a path component holding `\`, NUL or a drive (`C:`) is
///   refused, and the file (or folder) reached after following every
///   symlink must lie inside the canonical directory. Refusals are the same
///   `404 File not found` as a missing file, so a response never tells
///   whether something exists outside the directory, and error pages never
///   show a file-system path. Symlinks inside the directory that point
///   outside it are still listed (with `@`), as CPython lists them, but
///   following them gives `404`;
/// - only regular files are served (a FIFO or device is a `404`, where
///   CPython would block or stream it).
///
/// The handler is cheap to clone (the directory is shared), so one value
/// serves every connection through `move || handler.clone()`:
///
/// ```
/// use basehttp::{HTTPServer, SimpleHTTPRequestHandler};
/// use std::io::{Read, Write};
///
/// let root = std::env::temp_dir().join(format!("basehttp-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&root).unwrap();
/// std::fs::write(root.join("hello.txt"), "hello, files\n").unwrap();
///
/// // httpd = HTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=root))
/// let handler = SimpleHTTPRequestHandler::new(&root);
/// let mut httpd = HTTPServer::new(("127.0.0.1", 0), move || handler.clone()).unwrap();
/// let port = httpd.server_port();
/// let stop = httpd.shutdown_handle();
/// let serving = std::thread::spawn(move || httpd.serve_forever());
///
/// let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
/// conn.write_all(b"GET /hello.txt HTTP/1.0\r\nRange: bytes=7-11\r\n\r\n").unwrap();
/// let mut response = String::new();
/// conn.read_to_string(&mut response).unwrap();
/// assert!(response.starts_with("HTTP/1.0 206 Partial Content\r\n"));
/// assert!(response.contains("\r\nContent-Range: bytes 7-11/13\r\n"));
/// assert!(response.ends_with("\r\n\r\nfiles"));
///
/// stop.shutdown();
/// serving.join().unwrap().unwrap();
/// std::fs::remove_dir_all(&root).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct SimpleHTTPRequestHandler {
    directory: Arc<PathBuf>,
    /// `extensions_map` additions, looked up before the built-in table.
    extensions: Arc<Vec<(String, String)>>,
}

impl Default for SimpleHTTPRequestHandler {
    /// Serves the current directory (CPython's `directory=None`).
    fn default() -> Self {
        Self::new(std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")))
    }
}

/// What `send_head` leaves for `do_GET` to send: CPython returns an open
/// file (or a `BytesIO` for listings).
enum Body {
    File { file: File, start: u64, len: u64 },
    Page(Vec<u8>),
}

impl SimpleHTTPRequestHandler {
    /// `SimpleHTTPRequestHandler(directory=...)`: serves the files under
    /// `directory`. A relative directory is made absolute now, so a later
    /// change of the working directory does not move the served tree. The
    /// directory need not exist yet; while it does not, every request is a
    /// 404.
    pub fn new(directory: impl Into<PathBuf>) -> Self {
        let directory = directory.into();
        let directory = std::path::absolute(&directory).unwrap_or(directory);
        SimpleHTTPRequestHandler { directory: Arc::new(directory), extensions: Arc::new(Vec::new()) }
    }

    /// The directory being served (`self.directory`).
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// Adds to `extensions_map`: files ending in `extension` (with or
    /// without its dot) get `content_type`, before the built-in table is
    /// consulted.
    ///
    /// ```
    /// let h = basehttp::SimpleHTTPRequestHandler::new(".").with_extension(".log", "text/plain; charset=utf-8");
    /// assert_eq!(h.guess_type("server.log"), "text/plain; charset=utf-8");
    /// assert_eq!(h.guess_type("app.js"), "text/javascript");
    /// ```
    pub fn with_extension(mut self, extension: &str, content_type: &str) -> Self {
        let ext = extension.strip_prefix('.').unwrap_or(extension).to_owned();
        Arc::make_mut(&mut self.extensions).push((ext, content_type.to_owned()));
        self
    }

    /// `guess_type(path)`: the `Content-type` for a file name, from the
    /// extensions added with [`with_extension`](Self::with_extension), then
    /// from [`guess_type`].
    pub fn guess_type(&self, path: impl AsRef<Path>) -> &str {
        mime::lookup(&self.extensions[..], path.as_ref()).unwrap_or_else(|| guess_type(path))
    }

    /// `translate_path(path)`: the file-system path a request target names
    /// under the directory, without touching the file system (symlinks are
    /// checked when serving). `None` when the target is refused (a
    /// component with `\`, NUL or a drive).
    ///
    /// ```
    /// # use std::path::Path;
    /// let h = basehttp::SimpleHTTPRequestHandler::new("/srv/www");
    /// assert_eq!(h.translate_path("/a/../../b%20c.txt?q#f").unwrap(), Path::new("/srv/www/b c.txt"));
    /// assert_eq!(h.translate_path("/..%5c..%5cetc/passwd"), None);
    /// ```
    pub fn translate_path(&self, path: &str) -> Option<PathBuf> {
        path::join(&self.directory, &path::translate(path)?)
    }

    /// `do_GET()`: the head from `send_head`, then the file (or listing).
    #[allow(non_snake_case)]
    pub fn do_GET(&mut self, req: &mut Request) -> HandlerResult {
        match self.send_head(req)? {
            Some(Body::File { file, start, len }) => copy_file(file, start, len, &mut req.wfile())?,
            Some(Body::Page(page)) => req.wfile().write_all(&page)?,
            None => {}
        }
        Ok(())
    }

    /// `do_HEAD()`: the same head as `do_GET`, no body.
    #[allow(non_snake_case)]
    pub fn do_HEAD(&mut self, req: &mut Request) -> HandlerResult {
        self.send_head(req)?;
        Ok(())
    }

    /// `send_head()`: answers everything but the body, and returns the
    /// body to send, if any.
    fn send_head(&self, req: &mut Request) -> io::Result<Option<Body>> {
        let Some(target) = path::translate(&req.path) else { return not_found(req) };
        // Canonical every time: the directory may be created, replaced or
        // be a symlink whose target changes while the server runs.
        let Ok(root) = fs::canonicalize(&*self.directory) else { return not_found(req) };
        let Some(found) = path::join(&root, &target).and_then(|p| path::contained(&root, &p)) else {
            return not_found(req);
        };
        let Ok(meta) = fs::metadata(&found) else { return not_found(req) };
        let file_path = if meta.is_dir() {
            if !target.raw_path.ends_with(b"/") {
                return redirect_to_folder(req);
            }
            match index_file(&root, &found) {
                Some(index) => index,
                None => return list_directory(req, &found, &target.raw_path),
            }
        } else if target.trailing_slash {
            // CPython (issue 17324): `/file.txt/` is not the file.
            return not_found(req);
        } else {
            found
        };
        let ctype = self.guess_type(&file_path).to_owned();
        serve_file(req, &file_path, &ctype)
    }
}

impl BaseHTTPRequestHandler for SimpleHTTPRequestHandler {
    /// CPython's `"SimpleHTTP/" + __version__`.
    const SERVER_VERSION: &'static str = "SimpleHTTP/0.6";
    const METHODS: &'static [&'static str] = &["GET", "HEAD"];

    fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
        match req.command.as_str() {
            "GET" => self.do_GET(req),
            "HEAD" => self.do_HEAD(req),
            _ => Ok(req.send_unsupported_method()?),
        }
    }
}

fn not_found<T>(req: &mut Request) -> io::Result<Option<T>> {
    req.send_error_message(404, "File not found")?;
    Ok(None)
}

/// `301` to the same target with `/` added to its path, query and fragment
/// kept (CPython: "redirect browser - doing basically what apache does").
/// The `Location` is CPython's `urlunsplit(urlsplit(path))` with the slash
/// added, so an empty query or fragment is dropped with its `?` or `#`
/// (`/dir?` → `/dir/`).
fn redirect_to_folder(req: &mut Request) -> io::Result<Option<Body>> {
    // urlsplit: the fragment follows the first `#`, the query the first `?` before it.
    let (rest, fragment) = req.path.split_once('#').unwrap_or((&req.path, ""));
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut location = format!("{path}/");
    for (mark, part) in [('?', query), ('#', fragment)] {
        if !part.is_empty() {
            location.push(mark);
            location.push_str(part);
        }
    }
    req.send_response(301)?;
    req.send_header("Location", location)?;
    req.send_header("Content-Length", "0")?;
    req.end_headers()?;
    Ok(None)
}

/// The folder's `index.html` or `index.htm`, if it is a file inside the root.
fn index_file(root: &Path, dir: &Path) -> Option<PathBuf> {
    ["index.html", "index.htm"]
        .into_iter()
        .find_map(|name| path::contained(root, &dir.join(name)).filter(|p| fs::metadata(p).is_ok_and(|m| m.is_file())))
}

/// `list_directory()`: the HTML listing, or `404 No permission to list
/// directory` when the folder cannot be read.
fn list_directory(req: &mut Request, dir: &Path, raw_path: &[u8]) -> io::Result<Option<Body>> {
    let display = String::from_utf8_lossy(&path::percent_decode(raw_path)).into_owned();
    let Ok(page) = listing::render(dir, &display) else {
        req.send_error_message(404, "No permission to list directory")?;
        return Ok(None);
    };
    req.send_response(200)?;
    req.send_header("Content-type", "text/html; charset=utf-8")?;
    req.send_header("Content-Length", page.len())?;
    req.end_headers()?;
    Ok(Some(Body::Page(page.into_bytes())))
}

/// The head of a file response (`304`, `200`, `206` or `416`) and the part
/// of the file to send.
fn serve_file(req: &mut Request, file_path: &Path, ctype: &str) -> io::Result<Option<Body>> {
    let Ok(file) = File::open(file_path) else { return not_found(req) };
    // The open file's own metadata: what is sent is what was measured.
    let Ok(meta) = file.metadata() else { return not_found(req) };
    if !meta.is_file() {
        return not_found(req);
    }
    let validators = Validators::of(&meta);
    let last_modified = validators.last_modified.map(|t| req.date_time_string(Some(t)));
    if validators.not_modified(&req.headers) {
        req.send_response(304)?;
        req.send_header("ETag", &validators.etag)?;
        if let Some(date) = &last_modified {
            req.send_header("Last-Modified", date)?;
        }
        req.end_headers()?;
        return Ok(None);
    }
    let size = meta.len();
    let (start, len) = match requested_range(req, &validators, size) {
        Ranged::Unsatisfiable => {
            let content_range = format!("bytes */{size}");
            req.send_error_with_headers(416, None, None, &[("Content-Range", &content_range)])?;
            return Ok(None);
        }
        Ranged::Whole => {
            req.send_response(200)?;
            (0, size)
        }
        Ranged::Part { start, end } => {
            req.send_response(206)?;
            req.send_header("Content-Range", format_args!("bytes {start}-{end}/{size}"))?;
            (start, end - start + 1)
        }
    };
    req.send_header("Content-type", ctype)?;
    req.send_header("Content-Length", len)?;
    if let Some(date) = &last_modified {
        req.send_header("Last-Modified", date)?;
    }
    req.send_header("ETag", &validators.etag)?;
    req.send_header("Accept-Ranges", "bytes")?;
    req.end_headers()?;
    Ok(Some(Body::File { file, start, len }))
}

/// What the request's `Range` asks for: only on `GET`, only when `If-Range`
/// (if any) matches, and only with one `Range` field.
fn requested_range(req: &Request, validators: &Validators, size: u64) -> Ranged {
    let mut fields = req.headers.get_all("Range");
    match (fields.next(), fields.next()) {
        (Some(value), None) if req.command == "GET" && validators.range_applies(&req.headers) => {
            range::parse(value, size)
        }
        _ => Ranged::Whole,
    }
}

/// `copyfile()`, bounded: `len` bytes from `start`, one 64 KiB piece at a
/// time. A file that shrinks meanwhile is an error (the promised
/// `Content-Length` cannot be met, so the connection closes).
fn copy_file(mut file: File, start: u64, len: u64, out: &mut impl Write) -> io::Result<()> {
    file.seek(SeekFrom::Start(start))?;
    let mut buf = vec![0u8; CHUNK.min(usize::try_from(len).unwrap_or(CHUNK))];
    let mut left = len;
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = match file.read(&mut buf[..want]) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the file shrank while it was sent")),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        out.write_all(&buf[..n])?;
        left -= n as u64;
    }
    Ok(())
}
