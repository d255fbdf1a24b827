//! All three opt-ins: HEAD from `do_GET`, OPTIONS, and 405 for standard
//! methods without a `do_` method. `METHODS` lists what the handler answers.

use basehttp::{http_handler, BaseHTTPRequestHandler, Request};

#[derive(Default)]
struct App;

#[http_handler(auto_head, auto_options, method_not_allowed)]
impl App {
    fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_error(404)
    }

    fn do_POST(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_error(404)
    }
}

#[derive(Default)]
struct OnlyOptions;

#[http_handler(auto_options)]
impl OnlyOptions {
    fn do_PUT(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_error(404)
    }
}

fn main() {
    assert_eq!(App::METHODS, ["GET", "HEAD", "POST", "OPTIONS"]);
    assert_eq!(<OnlyOptions as BaseHTTPRequestHandler>::METHODS, ["PUT", "OPTIONS"]);
}
