// Not a macro rule but the trait's: a handler moves to a connection thread,
// so it is `Send`. rustc's error lands on the type.
use std::rc::Rc;

use basehttp::{http_handler, Request};

#[derive(Default)]
struct App {
    cache: Rc<Vec<u8>>,
}

#[http_handler]
impl App {
    fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
        let _ = &self.cache;
        req.send_error(404)
    }
}

fn main() {}
