// Every problem of a block is reported in one compile.
use basehttp::{http_handler, Request};

#[derive(Default)]
struct App;

#[http_handler(auto_head, auto_option)]
impl App {
    const SERVER_VERSION: u32 = 2;

    fn do_get(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_error(404)
    }

    async fn do_POST(&self) {}

    fn log_message(&self, args: std::fmt::Arguments<'_>) {
        eprintln!("{args}");
    }
}

fn main() {
    let _ = basehttp::HTTPServer::new(("127.0.0.1", 0), App::default);
}
