// Arguments are names, not strings.
use basehttp::{http_handler, Request};

#[derive(Default)]
struct App;

#[http_handler("auto_head")]
impl App {
    fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_error(404)
    }
}

fn main() {}
