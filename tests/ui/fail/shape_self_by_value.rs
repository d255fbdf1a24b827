// The handler serves every request of its connection: it is borrowed, not consumed.
use basehttp::{http_handler, Request};

#[derive(Default)]
struct App;

#[http_handler]
impl App {
    fn do_GET(self, req: &mut Request) -> std::io::Result<()> {
        req.send_error(404)
    }

    fn do_POST(self: Box<Self>, req: &mut Request) -> std::io::Result<()> {
        req.send_error(404)
    }
}

fn main() {}
