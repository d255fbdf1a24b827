//! The smallest handlers: the three return types, `&self`, plain items that
//! stay inherent, and `METHODS` in source order.

use basehttp::{http_handler, BaseHTTPRequestHandler, HandlerResult, Request};

#[derive(Default)]
struct App {
    hits: u32,
}

#[http_handler]
impl App {
    const GREETING: &'static str = "hello";

    fn do_POST(&mut self, req: &mut Request) -> std::io::Result<()> {
        self.hits += 1;
        req.send_response(204)?;
        req.end_headers()
    }

    fn do_GET(&self, req: &mut Request) -> HandlerResult {
        req.send_error_message(404, Self::GREETING)?;
        Ok(())
    }

    fn do_DELETE(&mut self, req: &mut Request) {
        let _ = req.send_error(403);
    }

    fn helper(&self) -> u32 {
        self.hits
    }
}

fn main() {
    assert_eq!(App::METHODS, ["POST", "GET", "DELETE"]);
    assert_eq!(App::default().helper(), 0);
    let _ = basehttp::HTTPServer::new(("127.0.0.1", 0), App::default);
}
