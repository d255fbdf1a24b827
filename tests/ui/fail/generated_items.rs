// `METHODS` and `dispatch` are the macro's.
use basehttp::{http_handler, HandlerResult, Request};

#[derive(Default)]
struct App;

#[http_handler]
impl App {
    const METHODS: &'static [&'static str] = &["GET"];

    fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_error(404)
    }

    fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
        Ok(self.do_GET(req)?)
    }
}

fn main() {}
