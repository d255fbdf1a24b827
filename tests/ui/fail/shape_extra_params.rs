// One parameter, the request.
use basehttp::{http_handler, Request};

#[derive(Default)]
struct App;

#[http_handler]
impl App {
    fn do_GET(&mut self, req: &mut Request, verbose: bool, name: &str) -> std::io::Result<()> {
        let _ = (verbose, name);
        req.send_error(404)
    }
}

fn main() {}
