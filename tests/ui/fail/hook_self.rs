// Hooks get the request, not `self`.
use basehttp::{http_handler, Request};

#[derive(Default)]
struct App;

#[http_handler]
impl App {
    fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_error(404)
    }

    fn log_message(&self, req: &Request, args: std::fmt::Arguments<'_>) {
        eprintln!("{} {}", req.address_string(), args);
    }
}

fn main() {}
