//! Helpers for the CGI tests: a served tree with scripts written by the
//! test (readable by `nobody`, whom scripts run as when the tests run as
//! root), the interpreters found the way `.ci/run` installs them, and a
//! server over the tree.
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use basehttp::{CGIHTTPRequestHandler, HTTPServer, ServerConfig};

#[path = "../support/mod.rs"]
mod base;
pub use base::*;

/// A temporary directory served by the tests; removed when dropped.
pub struct CgiTree {
    pub root: PathBuf,
}

impl CgiTree {
    /// A fresh tree with an empty `cgi-bin/`.
    pub fn new() -> CgiTree {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let root = std::env::temp_dir().join(format!("basehttp-cgi-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let tree = CgiTree { root };
        tree.dir("cgi-bin");
        tree
    }

    /// A directory (and its parents) under the root, mode 0755.
    pub fn dir(&self, rel: &str) -> PathBuf {
        let path = self.root.join(rel);
        fs::create_dir_all(&path).unwrap();
        let mut at = path.clone();
        while at.starts_with(&self.root) {
            fs::set_permissions(&at, fs::Permissions::from_mode(0o755)).unwrap();
            if !at.pop() {
                break;
            }
        }
        path
    }

    /// A file with `mode` (0755 for a script, 0644 for a plain file).
    pub fn file_mode(&self, rel: &str, content: &[u8], mode: u32) -> PathBuf {
        let path = self.root.join(rel);
        if let Some(parent) = Path::new(rel).parent().filter(|p| !p.as_os_str().is_empty()) {
            self.dir(parent.to_str().unwrap());
        }
        fs::write(&path, content).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    /// An executable script (mode 0755).
    pub fn script(&self, rel: &str, content: &str) -> PathBuf {
        self.file_mode(rel, content.as_bytes(), 0o755)
    }

    /// A plain file (mode 0644).
    pub fn file(&self, rel: &str, content: &[u8]) -> PathBuf {
        self.file_mode(rel, content, 0o644)
    }

    /// The CGI handler over this tree, with `python3()` as the interpreter.
    pub fn handler(&self) -> CGIHTTPRequestHandler {
        CGIHTTPRequestHandler::new(&self.root).with_interpreter([python3().into_os_string(), "-u".into()])
    }
}

impl Drop for CgiTree {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// A Python 3 that `nobody` may run (scripts run as `nobody` when the
/// tests run as root, and a pyenv under /root is out of its reach):
/// Debian's, which `.ci/run` installs. Panics when there is none: a test
/// that needs it must not pass without it.
pub fn python3() -> PathBuf {
    for candidate in ["/usr/bin/python3", "/usr/local/bin/python3"] {
        if Path::new(candidate).exists() {
            return PathBuf::from(candidate);
        }
    }
    panic!("no /usr/bin/python3: install it (apt-get install python3; .ci/run does)")
}

/// A server over `handler` on 127.0.0.1:0, HTTP/1.1 (`http11 == true`) or
/// HTTP/1.0, the default configuration otherwise.
pub fn serve(handler: CGIHTTPRequestHandler, http11: bool) -> TestServer {
    serve_with(handler, http11, ServerConfig::default())
}

/// [`serve`] with a configuration.
pub fn serve_with(handler: CGIHTTPRequestHandler, http11: bool, config: ServerConfig) -> TestServer {
    TestServer::start_with(
        move || handler.clone(),
        config,
        |s: &mut HTTPServer<CGIHTTPRequestHandler>| {
            if http11 {
                s.class_mut().protocol_version = "HTTP/1.1".to_owned();
            }
        },
    )
}
