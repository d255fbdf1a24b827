//! The other CPython tests of appendix C that pin `BaseHTTPRequestHandler`
//! behaviour: `SimpleHTTPServerTestCase.test_invalid_requests` (dispatch is
//! case-sensitive), the `//` collapse of gh-87389
//! (`test_get_dir_redirect_location_domain_injection_bug`,
//! `SimpleHTTPRequestHandlerTestCase.test_start_with_double_slash`) and
//! `MiscTestCase.test_all`. The file-serving parts of those tests belong to
//! `SimpleHTTPRequestHandler`; here a handler that redirects like a
//! directory listing (301 to `path + "/"`) and one that echoes `path` stand
//! in for it, since the collapse itself is `parse_request`'s (B27).

mod support;

use basehttp::{BaseHTTPRequestHandler, HandlerResult, Request};
use support::{error_response, header_value, serve_fn, TestServer};

/// `do_GET` and `do_HEAD`, like `SimpleHTTPRequestHandler`; protocol HTTP/1.0.
#[derive(Default)]
struct GetHead;

impl BaseHTTPRequestHandler for GetHead {
    fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
        match req.command.as_str() {
            "GET" | "HEAD" => {
                req.send_response(200)?;
                req.send_header("Content-Length", "0")?;
                req.end_headers()?;
            }
            _ => req.send_unsupported_method()?,
        }
        Ok(())
    }
}

#[test]
fn test_invalid_requests() {
    let server = TestServer::start(GetHead::default);
    for method in ["FOO", "custom", "GETs"] {
        let request =
            format!("{method} / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAccept-Encoding: identity\r\n\r\n", server.port);
        let response = server.exchange_norm(request.as_bytes());
        assert_eq!(
            response,
            error_response(
                "HTTP/1.0",
                501,
                &format!("Unsupported method ('{method}')"),
                "Server does not support this operation",
                false
            ),
            "{method}"
        );
    }
    // The real methods still work.
    let ok = server.exchange_norm(b"GET / HTTP/1.1\r\n\r\n");
    assert_eq!(ok, "HTTP/1.0 200 OK\r\nServer: <SERVER>\r\nDate: <DATE>\r\nContent-Length: 0\r\n\r\n");
}

/// A directory redirect: 301 with `Location: <path>/`.
fn redirecting() -> TestServer {
    serve_fn(|req| {
        let location = format!("{}/", req.path);
        req.send_response(301)?;
        req.send_header("Location", location)?;
        req.send_header("Content-Length", "0")?;
        Ok(req.end_headers()?)
    })
}

#[test]
fn test_get_dir_redirect_location_domain_injection_bug() {
    let server = redirecting();
    let url = "/python.org/..%2f..%2f..%2f..%2f..%2f../%0a%0d/../tmpdirname/existing_directory";
    let expected_location = format!("{url}/");
    let location = |target: &str| {
        let response = server.exchange(format!("GET {target} HTTP/1.1\r\n\r\n").as_bytes());
        assert!(response.starts_with(b"HTTP/1.0 301 Moved Permanently\r\n"), "{}", support::latin1(&response));
        header_value(&response, "Location").unwrap()
    };
    assert_eq!(location(url), expected_location, "non-attack failed!");
    // //python.org... multi-slash prefix: the Location must not start with
    // `//` (a redirect to another host).
    for attack in [format!("/{url}"), format!("//{url}")] {
        let got = location(&attack);
        assert!(!got.starts_with("//"), "{got}");
        assert_eq!(got, expected_location);
    }
    // An absolute-form target is kept as it is (B26).
    let absolute = format!("https://pypi.org/{url}");
    let got = location(&absolute);
    assert!(got.starts_with("https://pypi.org/"), "{got}");
    assert_eq!(got, format!("{absolute}/"));
}

#[test]
fn test_start_with_double_slash() {
    let server = serve_fn(|req| {
        let body = format!("{}\n{}", req.path, req.requestline);
        support::reply(req, body.as_bytes())
    });
    let body = |target: &str| {
        let response = server.exchange_norm(format!("GET {target} HTTP/1.0\r\n\r\n").as_bytes());
        response.split_once("\r\n\r\n").unwrap().1.to_owned()
    };
    assert_eq!(body("//filename"), "/filename\nGET //filename HTTP/1.0");
    assert_eq!(body("//filename?foo=bar"), "/filename?foo=bar\nGET //filename?foo=bar HTTP/1.0");
    assert_eq!(body("////a//b"), "/a//b\nGET ////a//b HTTP/1.0");
    assert_eq!(body("/a//b"), "/a//b\nGET /a//b HTTP/1.0");
}

#[test]
fn test_all() {
    // `http.server.__all__` minus the file and CGI handlers: the names exist
    // and fit together (`ThreadingHTTPServer` is `HTTPServer`, which already
    // serves each connection on its own thread).
    fn is_handler<H: BaseHTTPRequestHandler>() {}
    is_handler::<GetHead>();
    let server: basehttp::ThreadingHTTPServer<GetHead> =
        basehttp::HTTPServer::new(("127.0.0.1", 0), GetHead::default).unwrap();
    assert_ne!(server.server_port(), 0);
}
