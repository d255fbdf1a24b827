// Mixed case is as wrong as lower case.
use basehttp::{http_handler, Request};

#[derive(Default)]
struct App;

#[http_handler]
impl App {
    fn do_Post(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_error(404)
    }
}

fn main() {}
