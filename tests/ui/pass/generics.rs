//! A generic handler, raw identifiers, non-word methods, and an impl-level
//! `#[cfg]`: the trait impl copies the block's generics, where clause and
//! `cfg`s.

use std::sync::Arc;

use basehttp::{http_handler, BaseHTTPRequestHandler, Request};

struct Shared<T> {
    state: Arc<T>,
}

#[http_handler]
impl<T> Shared<T>
where
    T: std::fmt::Display + Send + Sync + 'static,
{
    fn r#do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_error_message(404, &self.state.to_string())
    }

    fn do_M_SEARCH(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_error(404)
    }

    fn do_2(&mut self, req: &mut Request) {
        let _ = req;
    }
}

#[cfg(any())]
struct Gone;

#[cfg(any())]
#[http_handler]
impl Gone {
    fn do_GET(&mut self, req: &mut Request) {
        let _ = req;
    }
}

fn main() {
    assert_eq!(Shared::<String>::METHODS, ["GET", "M_SEARCH", "2"]);
    let state = Arc::new(String::from("shared"));
    let _ = basehttp::HTTPServer::new(("127.0.0.1", 0), move || Shared { state: state.clone() });
}
