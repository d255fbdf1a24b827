//! `peer-actix PORT`: answers every `GET /` with 200 and `Hello, world!`.
//!
//! actix-web's default setup: one worker per CPU this process may use (one
//! under `taskset -c 1`), each a single-threaded tokio runtime.

use actix_web::{web, App, HttpResponse, HttpServer};

async fn hello() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("Hello, world!")
}

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).expect("usage: peer-actix PORT");
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(|| App::new().route("/", web::get().to(hello))).bind(("127.0.0.1", port))?.run().await
    })
}
