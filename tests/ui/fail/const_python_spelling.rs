// `protocol_version` is Python's spelling; in Rust the class variable is `PROTOCOL_VERSION`.
use basehttp::{http_handler, Request};

#[derive(Default)]
struct App;

#[http_handler]
impl App {
    #[allow(non_upper_case_globals)]
    const protocol_version: &'static str = "HTTP/1.1";

    fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_error(404)
    }
}

fn main() {}
