//! `#[http_handler]`'s compile-time behaviour: `ui/pass` must compile (and
//! run), `ui/fail` must fail with exactly the reviewed `.stderr`.
//!
//! Regenerate a `.stderr` with `TRYBUILD=overwrite cargo test --test ui`,
//! then read it: it must show only the macro's own errors, on the right
//! tokens.

/// The toolchain the `.stderr` files were written with: rustc's wording
/// and layout change between releases, so other toolchains only run the
/// `pass` fixtures (as actix-web and axum pin theirs).
const PINNED_RUSTC: &str = "rustc 1.95.";

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let version = std::process::Command::new(rustc).arg("--version").output().map(|o| o.stdout).unwrap_or_default();
    if String::from_utf8_lossy(&version).starts_with(PINNED_RUSTC) {
        t.compile_fail("tests/ui/fail/*.rs");
    } else {
        eprintln!("skipping tests/ui/fail: the .stderr files are for {PINNED_RUSTC}x");
    }
}
