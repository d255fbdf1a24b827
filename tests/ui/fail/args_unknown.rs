// Unknown arguments are errors, with a suggestion when one is close.
use basehttp::{http_handler, Request};

#[derive(Default)]
struct App;

#[http_handler(auto_haed, strict)]
impl App {
    fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_error(404)
    }
}

fn main() {}
