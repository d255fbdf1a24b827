// The request parameter is `&mut Request`.
use basehttp::{http_handler, Request};

#[derive(Default)]
struct App;

#[http_handler]
impl App {
    fn do_GET(&mut self, req: &Request) {
        let _ = req;
    }

    fn do_POST(&mut self, body: Vec<u8>) {
        let _ = body;
    }
}

fn main() {}
