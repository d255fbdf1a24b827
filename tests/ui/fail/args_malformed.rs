// Arguments are bare names, each given once.
use basehttp::{http_handler, Request};

#[derive(Default)]
struct App;

#[http_handler(auto_head = true, auto_options(all), method_not_allowed, method_not_allowed)]
impl App {
    fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_error(404)
    }
}

fn main() {}
