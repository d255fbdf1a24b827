//! Issue 13, item 3: trusted proxies. With `forwarded_allow_ips` unset a
//! client's `X-Forwarded-For` changes nothing; from a trusted peer the
//! right-most untrusted hop of `Forwarded` (else `X-Forwarded-For`)
//! becomes `client_address` (and so `address_string()`, which the access
//! log prints), and the socket's peer stays available.

mod support;

use basehttp::{HTTPServer, IpNet, Request, ServerConfig};
use support::{reply, serve_fn_with, TestServer};

/// Answers with what the handler sees of the client.
fn who(req: &mut Request) -> basehttp::HandlerResult {
    let body = format!(
        "client={} peer={} address_string={} proto={}",
        req.client_address,
        req.peer_address(),
        req.address_string(),
        req.forwarded_proto().unwrap_or("-")
    );
    reply(req, body.as_bytes())
}

fn server(trusted: &[&str]) -> TestServer {
    let config = ServerConfig {
        forwarded_allow_ips: trusted.iter().map(|n| n.parse::<IpNet>().unwrap()).collect(),
        ..ServerConfig::default()
    };
    let http11 = |s: &mut HTTPServer<_>| s.class_mut().protocol_version = "HTTP/1.1".into();
    serve_fn_with(config, http11, who)
}

fn body_of(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

fn ask(server: &TestServer, headers: &str) -> String {
    let request = format!("GET / HTTP/1.0\r\n{headers}\r\n");
    body_of(&server.exchange_norm(request.as_bytes())).to_owned()
}

#[test]
fn without_trusted_proxies_forwarded_headers_change_nothing() {
    let server = server(&[]);
    let body =
        ask(&server, "X-Forwarded-For: 203.0.113.9\r\nForwarded: for=198.51.100.1\r\nX-Forwarded-Proto: https\r\n");
    assert!(body.starts_with("client=127.0.0.1:"), "{body}");
    assert!(body.contains("address_string=127.0.0.1 "), "{body}");
    assert!(body.ends_with("proto=-"), "{body}");
}

#[test]
fn an_untrusted_peer_is_not_believed() {
    let server = server(&["10.0.0.0/8"]);
    let body = ask(&server, "X-Forwarded-For: 203.0.113.9\r\n");
    assert!(body.starts_with("client=127.0.0.1:"), "{body}");
}

#[test]
fn a_trusted_proxy_names_the_right_most_untrusted_hop() {
    let server = server(&["127.0.0.1", "10.0.0.0/8"]);
    // The client forged 1.1.1.1; it reached the first proxy (10.0.0.2) from
    // 203.0.113.9, and that proxy reached ours.
    let body = ask(&server, "X-Forwarded-For: 1.1.1.1, 203.0.113.9, 10.0.0.2\r\nX-Forwarded-Proto: https\r\n");
    assert!(body.starts_with("client=203.0.113.9:0 peer=127.0.0.1:"), "{body}");
    assert!(body.contains("address_string=203.0.113.9 "), "{body}");
    assert!(body.ends_with("proto=https"), "{body}");
    // Several header fields are one list, in order.
    let body = ask(&server, "X-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 198.51.100.7\r\n");
    assert!(body.starts_with("client=198.51.100.7:0 "), "{body}");
    // An unknown hop where the client should be: the peer stays the client.
    let body = ask(&server, "X-Forwarded-For: 1.1.1.1, unknown\r\n");
    assert!(body.starts_with("client=127.0.0.1:"), "{body}");
}

#[test]
fn forwarded_is_preferred_and_carries_port_and_proto() {
    let server = server(&["127.0.0.1"]);
    let body = ask(
        &server,
        "Forwarded: for=192.0.2.60;proto=http, for=\"[2001:db8:cafe::17]:4711\";proto=https\r\n\
         X-Forwarded-For: 203.0.113.9\r\n",
    );
    assert!(body.starts_with("client=[2001:db8:cafe::17]:4711 "), "{body}");
    assert!(body.ends_with("proto=https"), "{body}");
}

#[test]
fn each_request_on_a_connection_is_judged_alone() {
    let server = server(&["127.0.0.1"]);
    let mut c = server.connect();
    c.send(b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 203.0.113.9\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    let out = String::from_utf8_lossy(&c.read_to_end()).into_owned();
    let first = out.find("client=203.0.113.9:0").expect("the first request's client");
    let second = out[first..].find("client=127.0.0.1:").expect("the second request has no header: the peer");
    assert!(second > 0, "{out}");
}
