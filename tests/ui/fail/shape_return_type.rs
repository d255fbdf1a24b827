// A `do_` method returns nothing or `Result<(), E>`.
use basehttp::{http_handler, Request};

#[derive(Default)]
struct App;

#[http_handler]
impl App {
    fn do_GET(&mut self, req: &mut Request) -> String {
        let _ = req;
        String::from("hello")
    }

    fn do_POST(&mut self, req: &mut Request) -> std::io::Result<usize> {
        req.send_error(404)?;
        Ok(0)
    }
}

fn main() {}
