// A function is not a handler: the attribute goes on an impl block.
use basehttp::{http_handler, Request};

#[http_handler]
fn do_GET(req: &mut Request) -> std::io::Result<()> {
    req.send_error(404)
}

fn main() {}
