// Nothing to dispatch to.
use basehttp::{http_handler, Request};

#[derive(Default)]
struct App;

#[http_handler]
impl App {
    fn get(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_error(404)
    }
}

fn main() {
    let _ = basehttp::HTTPServer::new(("127.0.0.1", 0), App::default);
}
