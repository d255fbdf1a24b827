//! A deliberately lower-case method (RFC 2324's BREW, spelt as a client
//! sends it), opted in with `#[exact_method]`, next to `do_BREW`.

use basehttp::{http_handler, BaseHTTPRequestHandler, Request};

#[derive(Default)]
struct Teapot;

#[http_handler]
impl Teapot {
    fn do_BREW(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_error(418)
    }

    /// Answers the method `brew`, exactly.
    #[exact_method]
    fn do_brew(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_error(418)
    }

    #[exact_method]
    fn do_mKcol(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_error(405)
    }
}

fn main() {
    assert_eq!(Teapot::METHODS, ["BREW", "brew", "mKcol"]);
}
