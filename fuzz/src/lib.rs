//! What the fuzz targets share: the observation of a parsed request head,
//! the piece size derived from an input, and the handler the whole-connection
//! targets serve with. Each target asserts invariants, not just "no panic"
//! (libfuzzer-sys turns a failed assertion into a crash with the input saved
//! under `fuzz/artifacts/<target>/`).

use std::io::{Read, Write};

use basehttp::{BaseHTTPRequestHandler, HandlerClass, HandlerResult, HeadParser, MemoryConnection, Profile, Request};

/// A deterministic piece size in `1..=len` derived from the input's bytes,
/// so the fuzzer explores it along with the input and a saved crash
/// reproduces it.
pub fn segment_for(input: &[u8]) -> usize {
    let h = input.iter().fold(0x811c_9dc5u32, |h, &b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    1 + h as usize % input.len().max(1)
}

/// Everything observable about the last parse: the outcome, the request
/// fields and the parser's response with its `Date` line removed (the only
/// part that depends on the clock).
pub fn observe(parser: &mut HeadParser, input: &[u8], segment: usize) -> String {
    let ok = parser.parse_in_pieces(input, segment);
    let r = parser.request();
    format!(
        "{ok}\ncommand={:?}\npath={:?}\nversion={:?}\nrequestline={:?}\ntarget={:?}\nheaders={:?}\nclose={}\nresponse={:?}",
        r.command,
        r.path,
        r.request_version,
        r.requestline,
        r.target,
        r.headers,
        r.close_connection,
        without_dates(parser.response()),
    )
}

/// A parser with `protocol_version = "HTTP/1.1"` and this profile.
pub fn head_parser(profile: Profile) -> HeadParser {
    let mut class = HandlerClass::of::<Echo>();
    class.profile = profile;
    HeadParser::with_class(class)
}

/// The head-parser property: `parse(input)` (one piece), the input in
/// pieces of a size derived from it, and one byte at a time, all give the
/// same outcome and fields.
pub fn check_head_parser(parser: &mut HeadParser, input: &[u8]) {
    let whole = observe(parser, input, usize::MAX);
    let k = segment_for(input);
    let pieces = observe(parser, input, k);
    assert_eq!(pieces, whole, "parse_in_pieces(input, {k}) differs from parse(input)");
    if input.len() <= 1024 && k != 1 {
        let bytes = observe(parser, input, 1);
        assert_eq!(bytes, whole, "parse_in_pieces(input, 1) differs from parse(input)");
    }
}

/// `out` as text without its `Date:` lines.
pub fn without_dates(out: &[u8]) -> String {
    String::from_utf8_lossy(out).split("\r\n").filter(|l| !l.starts_with("Date: ")).collect::<Vec<_>>().join("\r\n")
}

/// The handler of the whole-connection targets. It reads the body through
/// `req.rfile()` whatever the framing (`Content-Length` or chunked) and
/// answers by path, so that the body-draining and error paths run too:
/// `/err…` answers `send_error(404)` without reading the body, `/part…`
/// reads at most 3 bytes of it and leaves the rest to the runtime, `/fail…`
/// returns an error after reading (DEV-5: 500), anything else echoes the
/// whole body with an exact `Content-Length`.
pub struct Echo;

impl BaseHTTPRequestHandler for Echo {
    const PROTOCOL_VERSION: &'static str = "HTTP/1.1";

    fn dispatch(&mut self, req: &mut Request) -> HandlerResult {
        if req.path.starts_with("/err") {
            req.send_error(404)?;
            return Ok(());
        }
        let mut body = Vec::new();
        if req.path.starts_with("/part") {
            req.rfile().take(3).read_to_end(&mut body)?;
        } else {
            req.rfile().read_to_end(&mut body)?;
        }
        if req.path.starts_with("/fail") {
            return Err("the handler failed on purpose".into());
        }
        req.send_response(200)?;
        req.send_header("Content-Length", body.len())?;
        req.end_headers()?;
        req.wfile().write_all(&body)?;
        Ok(())
    }
}

/// The whole-connection property: serving `input` read in one piece and in
/// pieces of a size derived from it writes the same bytes (`Date` lines
/// aside); in the strict profile, which never answers in HTTP/0.9 mode,
/// whatever is written starts with an HTTP/1.x status line.
pub fn check_connection(profile: Profile, input: &[u8]) {
    let mut class = HandlerClass::of::<Echo>();
    class.profile = profile;
    let conn = MemoryConnection::new(class.clone());
    let whole = without_dates(&conn.serve(&mut Echo, input));
    let k = segment_for(input);
    let pieces = without_dates(&MemoryConnection::new(class).segment(k).serve(&mut Echo, input));
    assert_eq!(pieces, whole, "the connection read in pieces of {k} answers differently");
    if profile == Profile::Rfc9112 {
        assert!(whole.is_empty() || whole.starts_with("HTTP/1."), "strict profile wrote a non-HTTP/1.x response");
    }
}
