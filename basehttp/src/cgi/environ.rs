//! The script's environment (RFC 3875 §4.1): the meta-variables, one
//! `HTTP_*` variable per request header, the variables the server passes
//! through from its own environment, and the fixed ones it was given.
//! Nothing else: the server's environment does not leak into scripts.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::Path;

use crate::cgi::locate::ScriptPath;
use crate::handler::request::Request;
use crate::simple::path::target_bytes;

/// Variables passed through from the server's environment unless the
/// handler says otherwise ([`with_pass_env`](crate::CGIHTTPRequestHandler::with_pass_env)):
/// what finds programs and prints text, nothing that configures the server.
pub(crate) const DEFAULT_PASS_ENV: [&str; 5] = ["PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ"];

/// `PATH` when the server has none.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Request headers that never become `HTTP_*` variables: `Proxy` (a
/// client could set a script's HTTP proxy: "httpoxy", CVE-2016-5385), and
/// the ones with a variable of their own (§4.1.18).
const NOT_PASSED: [&str; 3] = ["PROXY", "CONTENT_TYPE", "CONTENT_LENGTH"];

/// What the handler was configured with.
#[derive(Debug, Clone)]
pub(crate) struct EnvConfig {
    pub(crate) pass_env: Vec<String>,
    pub(crate) fixed: Vec<(String, OsString)>,
    pub(crate) pass_authorization: bool,
}

/// Where the request points on disk.
pub(crate) struct Located<'a> {
    pub(crate) script: &'a ScriptPath,
    /// The script file (canonical).
    pub(crate) script_file: &'a Path,
    /// `PATH_TRANSLATED`: `PATH_INFO` mapped under the root, if any.
    pub(crate) path_translated: Option<&'a Path>,
    pub(crate) document_root: &'a Path,
    /// Whether the script gets the request body: not after a local
    /// redirect, which is answered as a `GET` (RFC 3875 §6.2.2), so the
    /// body's variables go too.
    pub(crate) body: bool,
}

/// The whole environment of one script run, in a stable order.
pub(crate) fn environ(req: &Request, at: &Located<'_>, config: &EnvConfig) -> Vec<(OsString, OsString)> {
    let mut env = Env::default();
    for name in &config.pass_env {
        match std::env::var_os(name) {
            Some(value) => env.set_os(name, value),
            None if name == "PATH" => env.set("PATH", DEFAULT_PATH),
            None => {}
        }
    }
    let server = req.server();
    let tls = req.tls().is_some() || req.forwarded_proto() == Some("https");
    env.set("SERVER_SOFTWARE", req.version_string());
    env.set("SERVER_NAME", &host_name(req.headers.get("Host")).unwrap_or_else(|| server.server_name.clone()));
    env.set("SERVER_PORT", &server.server_port.to_string());
    env.set("SERVER_ADDR", &server.server_address.ip().to_string());
    env.set("SERVER_PROTOCOL", if req.is_http09() { "HTTP/0.9" } else { &req.request_version });
    env.set("GATEWAY_INTERFACE", "CGI/1.1");
    env.set("REQUEST_METHOD", &req.command);
    env.set("REQUEST_URI", &req.path);
    env.set("REQUEST_SCHEME", if tls { "https" } else { "http" });
    if tls {
        env.set("HTTPS", "on");
    }
    env.set("SCRIPT_NAME", &at.script.script_name);
    env.set("PATH_INFO", &at.script.path_info);
    if let Some(translated) = at.path_translated {
        env.set_os("PATH_TRANSLATED", translated.as_os_str().to_owned());
    }
    env.set("QUERY_STRING", &at.script.query);
    env.set_os("SCRIPT_FILENAME", at.script_file.as_os_str().to_owned());
    env.set_os("DOCUMENT_ROOT", at.document_root.as_os_str().to_owned());
    // No name lookup: REMOTE_HOST is the address (§4.1.9), as `address_string()`.
    let address = req.address_string();
    env.set("REMOTE_ADDR", &address);
    env.set("REMOTE_HOST", &address);
    env.set("REMOTE_PORT", &req.client_address.port().to_string());
    if let Some((auth_type, user)) = req.headers.get("Authorization").and_then(authorization) {
        env.set("AUTH_TYPE", &auth_type);
        if let Some(user) = user {
            env.set("REMOTE_USER", &user);
        }
    }
    if let Some(ctype) = req.headers.get("Content-Type").filter(|_| at.body) {
        env.set("CONTENT_TYPE", ctype);
    }
    // A chunked body has no length to tell: the script reads to EOF.
    if at.body && !req.headers.contains("Transfer-Encoding") {
        if let Some(length) = req.headers.get("Content-Length") {
            env.set("CONTENT_LENGTH", length.trim());
        }
    }
    for (name, value) in protocol_variables(req, config.pass_authorization) {
        env.set(&name, &value);
    }
    for (name, value) in &config.fixed {
        env.set_os(name, value.clone());
    }
    env.0
}

/// `HTTP_*` for every request header (§4.1.18), repeated fields joined
/// with `,` (`Cookie` with `; `, RFC 6265 §5.4). A name with anything but
/// letters, digits and `-` is left out: `X_Forwarded_For` would otherwise
/// pass for `X-Forwarded-For`.
fn protocol_variables(req: &Request, pass_authorization: bool) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = Vec::new();
    for (name, value) in req.headers.items() {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            continue;
        }
        let key = name.to_ascii_uppercase().replace('-', "_");
        if NOT_PASSED.contains(&key.as_str()) || (key == "AUTHORIZATION" && !pass_authorization) {
            continue;
        }
        let key = format!("HTTP_{key}");
        match vars.iter_mut().find(|(k, _)| *k == key) {
            Some((_, joined)) => {
                joined.push_str(if key == "HTTP_COOKIE" { "; " } else { "," });
                joined.push_str(value);
            }
            None => vars.push((key, value.to_owned())),
        }
    }
    vars
}

/// `AUTH_TYPE` and, for `Basic` credentials, `REMOTE_USER` (CPython's
/// rule: a scheme and one credential word; the user is what precedes the
/// first `:` of the decoded credentials).
fn authorization(value: &str) -> Option<(String, Option<String>)> {
    let mut words = value.split_ascii_whitespace();
    let (scheme, credentials) = (words.next()?, words.next()?);
    if words.next().is_some() {
        return None;
    }
    let user = scheme
        .eq_ignore_ascii_case("basic")
        .then(|| base64_decode(credentials))
        .flatten()
        .and_then(|plain| String::from_utf8(plain).ok())
        .and_then(|plain| plain.split_once(':').map(|(user, _)| user.to_owned()));
    Some((scheme.to_owned(), user))
}

/// The host part of a `Host` header (`name`, `name:port`, `[v6]:port`).
fn host_name(host: Option<&str>) -> Option<String> {
    let host = host?.trim();
    let name = match host.strip_prefix('[') {
        Some(v6) => &host[..v6.find(']')? + 2],
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    (!name.is_empty()).then(|| name.to_owned())
}

/// Standard base64 (RFC 4648 §4), padding optional; `None` on anything else.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for b in text.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = acc << 6 | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// The environment being built: the last value set for a name wins.
#[derive(Default)]
struct Env(Vec<(OsString, OsString)>);

impl Env {
    /// A value whose chars are bytes (ISO-8859-1, like the request's text).
    fn set(&mut self, name: &str, value: &str) {
        self.set_os(name, OsString::from_vec(target_bytes(value)));
    }

    fn set_os(&mut self, name: &str, value: OsString) {
        // A NUL cannot be passed to execve; the request parser lets none
        // into header values, and names come from this module.
        if value.as_encoded_bytes().contains(&0) {
            return;
        }
        let name = OsString::from(name);
        self.0.retain(|(n, _)| *n != name);
        self.0.push((name, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials() {
        assert_eq!(base64_decode("dXNlcm5hbWU6cGFzcw==").unwrap(), b"username:pass");
        assert_eq!(base64_decode("YQ").unwrap(), b"a");
        assert_eq!(base64_decode("a b"), None);
        assert_eq!(authorization("Basic dXNlcm5hbWU6cGFzcw=="), Some(("Basic".into(), Some("username".into()))));
        // user:pa:ss (a colon in the password; CPython finds no user)
        assert_eq!(authorization("basic dXNlcjpwYTpzcw=="), Some(("basic".into(), Some("user".into()))));
        assert_eq!(authorization("Bearer abc.def"), Some(("Bearer".into(), None)));
        assert_eq!(authorization("Basic !!!"), Some(("Basic".into(), None)));
        assert_eq!(authorization("Basic"), None);
        assert_eq!(authorization("Digest a b"), None);
    }

    #[test]
    fn host_names() {
        assert_eq!(host_name(Some("example.com:8080")).unwrap(), "example.com");
        assert_eq!(host_name(Some("example.com")).unwrap(), "example.com");
        assert_eq!(host_name(Some("[::1]:80")).unwrap(), "[::1]");
        assert_eq!(host_name(Some("")), None);
        assert_eq!(host_name(None), None);
    }
}
