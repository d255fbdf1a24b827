//! A whole connection served from memory, CPython profile: parsing,
//! framing (`Content-Length`, chunked), `Expect`, body reading through
//! `req.rfile()`, draining, pipelining and error pages. It must never panic,
//! and the bytes written must not depend on how the input was split into
//! reads.
#![no_main]

use basehttp::Profile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    basehttp_fuzz::check_connection(Profile::CPython, data);
});
