// Class variables keep the runtime's types.
use basehttp::{http_handler, Request};

#[derive(Default)]
struct App;

#[http_handler]
impl App {
    const PROTOCOL_VERSION: f32 = 1.1;
    const SERVER_VERSION: String = String::new();
    const TIMEOUT: u64 = 30;

    fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_error(404)
    }
}

fn main() {}
