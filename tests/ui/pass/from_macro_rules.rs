//! A handler written by a `macro_rules!` macro: the generated dispatch's
//! `self` and `req` must not be confused with the macro's hygienic names.

use basehttp::{http_handler, BaseHTTPRequestHandler, Request};

macro_rules! handler {
    ($name:ident, $status:expr) => {
        #[derive(Default)]
        struct $name;

        #[http_handler(auto_head)]
        impl $name {
            fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
                req.send_error($status)
            }
        }
    };
}

handler!(NotFound, 404);
handler!(Gone, 410);

fn main() {
    assert_eq!(NotFound::METHODS, ["GET", "HEAD"]);
    assert_eq!(Gone::METHODS, ["GET", "HEAD"]);
}
