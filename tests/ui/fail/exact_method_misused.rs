// `#[exact_method]` is for lower- or mixed-case `do_` methods only, and takes no value.
use basehttp::{http_handler, Request};

#[derive(Default)]
struct App;

#[http_handler]
impl App {
    #[exact_method]
    fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_error(404)
    }

    #[exact_method("brew")]
    fn do_brew(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_error(418)
    }

    #[exact_method]
    fn helper(&self) {}
}

fn main() {}
