// Each hook has the trait's signature.
use basehttp::{http_handler, Request};

#[derive(Default)]
struct App;

#[http_handler]
impl App {
    fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_error(404)
    }

    fn log_message(req: &Request, message: &str) {
        eprintln!("{} {}", req.address_string(), message);
    }

    fn log_request(req: &Request, code: u16) {
        let _ = (req, code);
    }

    fn log_error(req: &mut Request, args: std::fmt::Arguments<'_>) -> bool {
        let _ = (req, args);
        true
    }

    fn handle_expect_100(req: &mut Request) {
        let _ = req.send_error(417);
    }
}

fn main() {}
