// The strict profile is a class variable like the others.
use basehttp::{http_handler, BaseHTTPRequestHandler, Profile, Request};

#[derive(Default)]
struct Strict;

#[http_handler]
impl Strict {
    const PROFILE: Profile = Profile::Rfc9112;

    fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
        req.send_error(404)
    }
}

fn main() {
    assert_eq!(Strict::PROFILE, Profile::Rfc9112);
    let out = basehttp::serve_bytes(&mut Strict, b"GET /x\r\n\r\n");
    assert!(out.starts_with(b"HTTP/1.0 400 Bad request syntax ('GET /x')\r\n"));
}
