// Any trait impl is the wrong place.
use basehttp::http_handler;

struct App;

#[http_handler]
impl Default for App {
    fn default() -> Self {
        App
    }
}

fn main() {
    let _ = basehttp::HTTPServer::new(("127.0.0.1", 0), App::default);
}
