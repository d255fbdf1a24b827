// The macro writes the trait impl itself.
use basehttp::{http_handler, BaseHTTPRequestHandler, Request};

#[derive(Default)]
struct App;

#[http_handler]
impl BaseHTTPRequestHandler for App {
    fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_error(404)
    }
}

fn main() {
    let _ = basehttp::HTTPServer::new(("127.0.0.1", 0), App::default);
}
