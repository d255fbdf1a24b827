// The dispatch calls one concrete signature.
use basehttp::{http_handler, Request};

#[derive(Default)]
struct App;

#[http_handler]
impl App {
    fn do_GET<W: std::io::Write>(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_error(404)
    }
}

fn main() {}
