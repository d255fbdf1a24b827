//! Every name of the seed's `BaseHTTPServer` documentation
//! (`../shared/seed/BaseHTTPServer.txt`) and the test that covers it.
//!
//! | seed name | covered by |
//! |---|---|
//! | `HTTPServer(server_address, RequestHandlerClass)` | `runtime_server::bind_to_an_ephemeral_port_exposes_the_real_port`, `bind_to_all_interfaces_with_an_empty_host`, `other_address_forms_bind`; `run_from_the_seed` (here) |
//! | `server_name`, `server_port` | `runtime_server::bind_to_an_ephemeral_port_exposes_the_real_port`, `bind_to_all_interfaces_with_an_empty_host`, `bind_to_ipv6_loopback_when_available` |
//! | `BaseHTTPRequestHandler(request, client_address, server)` | every test; `cpython_misc::test_all`; `a_bare_handler_answers_501` (here) |
//! | `client_address` | `runtime_request_handling::client_address_is_the_peer`, `runtime_server::bind_to_ipv6_loopback_when_available` |
//! | `server` | `runtime_server::shared_state_through_set_state`, `bind_to_an_ephemeral_port_exposes_the_real_port` |
//! | `command`, `path`, `request_version` | `runtime_request_handling::the_handler_sees_the_parsed_request`, `cpython_base_http_request_handler::test_http_1_1` |
//! | `headers` | `runtime_request_handling::headers_are_an_ordered_case_insensitive_multimap`, `cpython_base_http_request_handler::test_with_continue_1_0` |
//! | `rfile` | `runtime_framing::a_content_length_body_is_read_exactly`, `a_chunked_body_is_decoded_with_extensions_and_trailers` |
//! | `wfile` | `runtime_responses::everything_written_is_delivered_before_the_close`, `wfile_flush_streams_a_response` |
//! | `server_version`, `sys_version` | `runtime_responses::version_string_is_server_version_and_sys_version` |
//! | `error_message_format`, `error_content_type` | `runtime_responses::error_message_format_and_error_content_type_are_overridable` |
//! | `protocol_version` | `runtime_request_handling::http11_connections_persist_until_connection_close`, `an_http10_server_closes_after_every_response`, `cpython_base_http_request_handler::test_http_1_0` |
//! | `MessageClass` | `message_class_is_http_message` (here) |
//! | `responses` | `runtime_responses::the_responses_table_is_cpythons` |
//! | `handle()` | `cpython_base_http_request_handler::test_close_connection`; `an_overridden_handle_runs_under_handle_request`, `serve_forever_calls_handle_one_request_per_request_not_handle` (here) |
//! | `handle_one_request()` | `cpython_base_http_request_handler::test_close_connection`, `an_overridden_handle_one_request_runs_for_every_request` (here) |
//! | `send_error(code[, message])` | `runtime_responses::send_error_is_byte_exact`, `cpython_base_http_server::test_send_error` |
//! | `send_response(code[, message])` | `runtime_responses::send_response_writes_status_server_date_in_that_order`, `reason_phrases_with_cr_lf_or_nul_are_refused` |
//! | `send_header(keyword, value)` | `runtime_responses::send_header_refuses_cr_lf_and_nul_and_buffers_nothing_of_them`, `a_connection_header_updates_close_connection` |
//! | `end_headers()` | `cpython_base_http_request_handler::test_header_buffering_of_send_header`, `runtime_responses::send_response_only_writes_just_the_status_line_and_flush_headers_sends_early` |
//! | `log_request([code[, size]])` | `runtime_logging::log_request_takes_an_optional_code_and_size`, `log_error_and_log_request_are_overridable` |
//! | `log_error(...)` | `runtime_logging::errors_log_the_code_and_message_before_the_request_line`, `log_error_and_log_request_are_overridable` |
//! | `log_message(format, ...)` | `runtime_logging::a_request_is_logged_in_cpythons_format`, `log_message_is_overridable`, `cpython_base_http_request_handler::test_unprintable_not_logged` |
//! | `version_string()` | `runtime_responses::version_string_is_server_version_and_sys_version` |
//! | `date_time_string([timestamp])` | `runtime_responses::date_time_string_formats_timestamps`, `cpython_base_http_request_handler::test_date_time_string` |
//! | `log_date_time_string()` | `runtime_logging::a_request_is_logged_in_cpythons_format`, `address_string_and_log_date_time_string` |
//! | `address_string()` | `runtime_logging::address_string_and_log_date_time_string`, `runtime_server::bind_to_ipv6_loopback_when_available` |
//! | `serve_forever()` (the `run` example) | `run_from_the_seed` (here), `runtime_server::shutdown_from_another_thread_lets_the_request_in_flight_finish` |
//! | `handle_request()` (the `run_while_true` example, `keep_running()`) | `runtime_server::run_while_true_from_the_seed`, `handle_request_times_out_then_runs_handle_timeout` |
//! | `do_SPAM()` ("for the request method SPAM, the do_SPAM() method will be called") | `spam_is_dispatched_to_its_method` (here), `cpython_base_http_server::test_handler` |

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use basehttp::{BaseHTTPRequestHandler, HTTPMessage, HTTPServer, HandlerResult, MessageClass, Request};
use support::{error_response, reply, TestServer};

/// `BaseHTTPRequestHandler` by itself: no `do_*` method at all.
#[derive(Default)]
struct Bare;

impl BaseHTTPRequestHandler for Bare {
    fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
        Ok(req.send_unsupported_method()?)
    }
}

#[test]
fn run_from_the_seed() {
    // def run(server_class=HTTPServer, handler_class=BaseHTTPRequestHandler):
    //     server_address = ('', 8000)
    //     httpd = server_class(server_address, handler_class)
    //     httpd.serve_forever()
    // (port 0 instead of 8000, and a shutdown so the test ends)
    let mut httpd = HTTPServer::new(("", 0), Bare::default).unwrap();
    let port = httpd.server_port();
    let handle = httpd.shutdown_handle();
    let run = thread::spawn(move || httpd.serve_forever());
    let mut c = support::Client::connect(port);
    c.send(b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(
        support::norm(&c.read_to_end()),
        error_response("HTTP/1.0", 501, "Unsupported method ('GET')", "Server does not support this operation", false)
    );
    while !run.is_finished() {
        handle.shutdown();
        thread::sleep(Duration::from_millis(20));
    }
    run.join().unwrap().unwrap();
}

#[test]
fn a_bare_handler_answers_501() {
    // "By itself, it cannot respond to any actual HTTP requests."
    let server = TestServer::start(Bare::default);
    for method in ["GET", "HEAD", "POST", "SPAM"] {
        let response = server.exchange_norm(format!("{method} / HTTP/1.0\r\n\r\n").as_bytes());
        let expected = error_response(
            "HTTP/1.0",
            501,
            &format!("Unsupported method ('{method}')"),
            "Server does not support this operation",
            method == "HEAD",
        );
        assert_eq!(response, expected, "{method}");
    }
}

/// `do_SPAM` and nothing else.
#[derive(Default)]
struct Spam;

impl Spam {
    #[allow(non_snake_case)]
    fn do_SPAM(&mut self, req: &mut Request) -> HandlerResult {
        reply(req, b"spam, spam, spam")
    }
}

impl BaseHTTPRequestHandler for Spam {
    const METHODS: &'static [&'static str] = &["SPAM"];

    fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
        match req.command.as_str() {
            "SPAM" => self.do_SPAM(req),
            _ => Ok(req.send_unsupported_method()?),
        }
    }
}

#[test]
fn spam_is_dispatched_to_its_method() {
    let server = TestServer::start(Spam::default);
    let response = server.exchange_norm(b"SPAM /eggs HTTP/1.0\r\n\r\n");
    assert_eq!(
        response,
        "HTTP/1.0 200 OK\r\nServer: <SERVER>\r\nDate: <DATE>\r\nContent-Length: 16\r\n\r\nspam, spam, spam"
    );
    assert_eq!(Spam::METHODS, ["SPAM"]);
}

#[test]
fn message_class_is_http_message() {
    // MessageClass: the type of `headers`.
    let server = support::serve_fn(|req| {
        let headers: &MessageClass = &req.headers;
        let copy: HTTPMessage = headers.clone();
        let text = format!("{copy:?}");
        reply(req, text.as_bytes())
    });
    let response = server.exchange_norm(b"GET / HTTP/1.0\r\nA: 1\r\nb: two\r\n\r\n");
    assert!(response.ends_with("\r\n\r\n[(\"A\", \"1\"), (\"b\", \"two\")]"), "{response}");
    let mut m = MessageClass::new();
    m.push("X", "1");
    assert_eq!(m.get("x"), Some("1"));
}

/// Wraps the default `handle_one_request` and counts its calls.
struct Counting(Arc<AtomicUsize>);

impl BaseHTTPRequestHandler for Counting {
    const PROTOCOL_VERSION: &'static str = "HTTP/1.1";

    fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
        let n = self.0.load(Ordering::SeqCst);
        reply(req, n.to_string().as_bytes())
    }

    fn handle_one_request(&mut self, req: &mut Request) {
        self.0.fetch_add(1, Ordering::SeqCst);
        basehttp_default_handle_one_request(self, req);
    }
}

/// Python's `super().handle_one_request()`: Rust cannot call a default
/// method that was overridden, so a proxy type that keeps the default runs
/// it with the same dispatch.
fn basehttp_default_handle_one_request(handler: &mut Counting, req: &mut Request) {
    let mut proxy = Proxy(handler.0.clone());
    proxy.handle_one_request(req);
}

/// Answers like `Counting` with the default `handle_one_request`.
struct Proxy(Arc<AtomicUsize>);

impl BaseHTTPRequestHandler for Proxy {
    fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
        let n = self.0.load(Ordering::SeqCst);
        reply(req, n.to_string().as_bytes())
    }
}

#[test]
fn an_overridden_handle_one_request_runs_for_every_request() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let server = TestServer::start(move || Counting(c.clone()));
    let mut client = server.connect();
    client.send(b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n");
    let body = |r: String| r.split_once("\r\n\r\n").unwrap().1.to_owned();
    assert_eq!(body(client.read_response_norm()), "1");
    assert_eq!(body(client.read_response_norm()), "2");
    client.send(b"GET /3 HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert_eq!(body(client.read_response_norm()), "3");
    client.assert_closed();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

/// Overrides `handle()` to record that it ran, then runs the default loop.
struct OwnHandle(Arc<Mutex<Vec<&'static str>>>);

impl BaseHTTPRequestHandler for OwnHandle {
    fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
        self.0.lock().unwrap().push("dispatch");
        reply(req, b"ok")
    }

    fn handle(&mut self, req: &mut Request) {
        self.0.lock().unwrap().push("handle");
        let mut inner = Plain(self.0.clone());
        inner.handle(req);
    }
}

struct Plain(Arc<Mutex<Vec<&'static str>>>);

impl BaseHTTPRequestHandler for Plain {
    fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
        self.0.lock().unwrap().push("dispatch");
        reply(req, b"ok")
    }
}

#[test]
fn an_overridden_handle_runs_under_handle_request() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let e = events.clone();
    let mut server = HTTPServer::new(("127.0.0.1", 0), move || OwnHandle(e.clone())).unwrap();
    server.timeout = Some(Duration::from_secs(10));
    let mut c = support::Client::connect(server.server_port());
    c.send(b"GET / HTTP/1.0\r\n\r\n");
    assert!(server.handle_request().unwrap());
    assert!(c.read_to_end().ends_with(b"ok"));
    assert_eq!(*events.lock().unwrap(), ["handle", "dispatch"]);
}

#[test]
fn serve_forever_calls_handle_one_request_per_request_not_handle() {
    // Documented on the trait: under serve_forever a connection waits for
    // its next request in the poller, so the server calls
    // handle_one_request for each request and never handle().
    let events = Arc::new(Mutex::new(Vec::new()));
    let e = events.clone();
    let server = TestServer::start(move || OwnHandle(e.clone()));
    assert!(server.exchange(b"GET / HTTP/1.0\r\n\r\n").ends_with(b"ok"));
    assert_eq!(*events.lock().unwrap(), ["dispatch"]);
}
