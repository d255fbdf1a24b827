// The attribute belongs on the impl block, not on the struct.
use basehttp::{http_handler, Request};

#[http_handler]
#[derive(Default)]
struct App;

impl App {
    fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_error(404)
    }
}

fn main() {
    let _ = basehttp::HTTPServer::new(("127.0.0.1", 0), App::default);
}
