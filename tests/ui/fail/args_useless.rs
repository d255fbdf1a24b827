// Opt-ins that cannot do anything for this block.
use basehttp::{http_handler, Request};

#[derive(Default)]
struct App;

#[http_handler(auto_head, auto_options)]
impl App {
    fn do_POST(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_error(404)
    }

    fn do_OPTIONS(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_error(404)
    }
}

#[derive(Default)]
struct Head;

#[http_handler(auto_head)]
impl Head {
    fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_error(404)
    }

    fn do_HEAD(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_error(404)
    }
}

#[derive(Default)]
struct All;

#[http_handler(method_not_allowed)]
impl All {
    fn do_GET(&mut self, req: &mut Request) {
        let _ = req.send_error(404);
    }

    fn do_HEAD(&mut self, req: &mut Request) {
        let _ = req.send_error(404);
    }

    fn do_POST(&mut self, req: &mut Request) {
        let _ = req.send_error(404);
    }

    fn do_PUT(&mut self, req: &mut Request) {
        let _ = req.send_error(404);
    }

    fn do_DELETE(&mut self, req: &mut Request) {
        let _ = req.send_error(404);
    }

    fn do_CONNECT(&mut self, req: &mut Request) {
        let _ = req.send_error(404);
    }

    fn do_OPTIONS(&mut self, req: &mut Request) {
        let _ = req.send_error(404);
    }

    fn do_TRACE(&mut self, req: &mut Request) {
        let _ = req.send_error(404);
    }
}

fn main() {}
