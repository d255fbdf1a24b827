// A generic block with an error: the placeholder impl assumes the trait's
// `Send + 'static`, so only the macro's error shows (not one about `T`).
use basehttp::{http_handler, Request};

struct App<T> {
    value: T,
}

#[http_handler]
impl<T> App<T>
where
    T: Clone,
{
    fn do_Get(&mut self, req: &mut Request) -> std::io::Result<()> {
        let _ = self.value.clone();
        req.send_error(404)
    }
}

fn main() {}
