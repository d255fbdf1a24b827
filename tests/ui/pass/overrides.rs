//! Every class variable and every hook overridden, Python style: they move
//! into the generated trait impl (`pub` is dropped there), everything else
//! stays inherent.

use std::fmt;
use std::time::Duration;

use basehttp::{http_handler, BaseHTTPRequestHandler, HandlerClass, Request};

#[derive(Default)]
struct App;

#[http_handler]
impl App {
    const PROTOCOL_VERSION: &'static str = "HTTP/1.1";
    const DEFAULT_REQUEST_VERSION: &'static str = "HTTP/1.0";
    pub const SERVER_VERSION: &str = "App/1.0";
    const SYS_VERSION: &'static str = "Rust";
    const ERROR_MESSAGE_FORMAT: &'static str = "%(code)d %(message)s\n";
    const ERROR_CONTENT_TYPE: &'static str = "text/plain";
    const TIMEOUT: Option<Duration> = Some(Duration::from_secs(5));

    fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_error(404)
    }

    pub fn log_message(req: &Request, args: fmt::Arguments<'_>) {
        eprintln!("{} {}", req.address_string(), args);
    }

    fn log_error(req: &Request, args: std::fmt::Arguments) {
        Self::log_message(req, format_args!("error: {args}"));
    }

    fn log_request(req: &Request, code: Option<u16>, size: Option<u64>) {
        let _ = (req, code, size);
    }

    fn handle_expect_100(req: &mut Request) -> std::io::Result<bool> {
        req.send_error(417)?;
        Ok(false)
    }
}

fn main() {
    let class = HandlerClass::of::<App>();
    assert_eq!(class.protocol_version, "HTTP/1.1");
    assert_eq!(class.default_request_version, "HTTP/1.0");
    assert_eq!(class.server_version, "App/1.0");
    assert_eq!(class.sys_version, "Rust");
    assert_eq!(class.error_message_format, "%(code)d %(message)s\n");
    assert_eq!(class.error_content_type, "text/plain");
    assert_eq!(class.timeout, Some(Duration::from_secs(5)));
    assert_eq!(App::METHODS, ["GET"]);
    let _: fn(&Request, fmt::Arguments<'_>) = <App as BaseHTTPRequestHandler>::log_message;
}
