// A `do_` method answers through the request, so it takes it.
use basehttp::http_handler;

#[derive(Default)]
struct App;

#[http_handler]
impl App {
    fn do_GET(&mut self) {}
}

fn main() {}
