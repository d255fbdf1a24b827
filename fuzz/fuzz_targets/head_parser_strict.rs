//! The request-head parser, strict RFC 9112 profile: `HeadParser::parse` must never
//! panic, and reading the input in pieces (a size derived from the input,
//! and one byte at a time) must give the same outcome and fields.
#![no_main]

use basehttp::Profile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A fresh parser per input, so that a saved crash reproduces alone
    // (reuse across requests is what the connection targets exercise).
    let mut parser = basehttp_fuzz::head_parser(Profile::Rfc9112);
    basehttp_fuzz::check_head_parser(&mut parser, data);
});
