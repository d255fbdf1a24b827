// A `do_` method is called on the connection's handler.
use basehttp::{http_handler, Request};

#[derive(Default)]
struct App;

#[http_handler]
impl App {
    fn do_GET(req: &mut Request) -> std::io::Result<()> {
        req.send_error(404)
    }
}

fn main() {}
