//! `SimpleHTTPRequestHandler` over real sockets: ranges, conditional
//! requests, containment (traversal, symlinks, canary), the directory
//! listing read as HTML, redirects, index files, content types, `HEAD`,
//! and bounded memory on multi-gigabyte files.

#[path = "file_server/html.rs"]
mod html;
#[path = "file_server/support.rs"]
mod support;

use std::fs::{self, File};
use std::io::{Seek, SeekFrom, Write};
use std::time::{Duration, Instant};

use basehttp::SimpleHTTPRequestHandler;
use html::parse_listing;
use support::{alone, percent_decode, rss_bytes, shared, stream_and_discard, Server, Tree};

/// 1000 bytes that differ from position to position.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn assert_no_body_leak(r: &support::Response, tree: &Tree) {
    let text = r.text();
    assert!(!text.contains(&tree.canary_text), "the canary leaked: {r:?}");
    let base = tree.base.to_string_lossy();
    let canonical = fs::canonicalize(&tree.base).unwrap();
    assert!(!text.contains(&*base), "the served path leaked: {text}");
    assert!(!text.contains(&*canonical.to_string_lossy()), "the served path leaked: {text}");
    assert!(!text.contains("basehttp-files-"), "a path leaked: {text}");
}

// ---------------------------------------------------------------------------
// Ranges
// ---------------------------------------------------------------------------

#[test]
fn range_0_99_is_206_with_exactly_those_bytes() {
    let _g = shared();
    let tree = Tree::new();
    let data = pattern(1000);
    tree.file("data.bin", &data);
    let server = Server::start(&tree.root);

    let r = server.get("/data.bin", &[("Range", "bytes=0-99")]);
    assert_eq!(r.status, 206);
    assert_eq!(r.header("Content-Range"), Some("bytes 0-99/1000"));
    assert_eq!(r.header("Content-Length"), Some("100"));
    assert_eq!(r.header("Accept-Ranges"), Some("bytes"));
    assert_eq!(r.body, &data[..100]);

    let whole = server.get("/data.bin", &[]);
    assert_eq!(whole.status, 200);
    assert_eq!(whole.header("Accept-Ranges"), Some("bytes"));
    assert_eq!(whole.header("Content-Range"), None);
    assert_eq!(whole.body, data);
}

#[test]
fn suffix_and_open_ranges() {
    let _g = shared();
    let tree = Tree::new();
    let data = pattern(1000);
    tree.file("data.bin", &data);
    let server = Server::start(&tree.root);

    for (range, start, end) in [
        ("bytes=-100", 900, 999),
        ("bytes=990-", 990, 999),
        ("bytes=500-99999", 500, 999),
        ("bytes=-5000", 0, 999),
        ("bytes=999-999", 999, 999),
    ] {
        let r = server.get("/data.bin", &[("Range", range)]);
        assert_eq!(r.status, 206, "{range}");
        assert_eq!(r.header("Content-Range").unwrap(), format!("bytes {start}-{end}/1000"), "{range}");
        assert_eq!(r.body, &data[start..=end], "{range}");
    }
}

#[test]
fn unsatisfiable_range_is_416() {
    let _g = shared();
    let tree = Tree::new();
    tree.file("data.bin", pattern(1000));
    tree.file("empty.txt", "");
    let server = Server::start(&tree.root);

    for range in ["bytes=1000-", "bytes=5000-6000", "bytes=-0"] {
        let r = server.get("/data.bin", &[("Range", range)]);
        assert_eq!(r.status, 416, "{range}");
        assert_eq!(r.header("Content-Range"), Some("bytes */1000"), "{range}");
        assert!(!r.body.windows(3).any(|w| w == [0, 1, 2]), "no file bytes in a 416");
    }
    let r = server.get("/empty.txt", &[("Range", "bytes=0-")]);
    assert_eq!((r.status, r.header("Content-Range")), (416, Some("bytes */0")));
}

#[test]
fn several_or_invalid_ranges_serve_the_whole_file() {
    let _g = shared();
    let tree = Tree::new();
    let data = pattern(1000);
    tree.file("data.bin", &data);
    let server = Server::start(&tree.root);

    for range in ["bytes=0-1,5-6", "bytes=9-1", "bytes=abc", "items=0-1", "bytes=0-1, 2000-3000"] {
        let r = server.get("/data.bin", &[("Range", range)]);
        assert_eq!(r.status, 200, "{range}");
        assert_eq!(r.body, data, "{range}");
    }
}

#[test]
fn if_range_and_head_with_range() {
    let _g = shared();
    let tree = Tree::new();
    let data = pattern(1000);
    tree.file("data.bin", &data);
    let server = Server::start(&tree.root);
    let first = server.get("/data.bin", &[]);
    let etag = first.header("ETag").unwrap().to_owned();
    let last_modified = first.header("Last-Modified").unwrap().to_owned();

    let r = server.get("/data.bin", &[("Range", "bytes=10-19"), ("If-Range", &etag)]);
    assert_eq!((r.status, &r.body[..]), (206, &data[10..20]));
    let r = server.get("/data.bin", &[("Range", "bytes=10-19"), ("If-Range", &last_modified)]);
    assert_eq!(r.status, 206);
    let r = server.get("/data.bin", &[("Range", "bytes=10-19"), ("If-Range", "\"stale\"")]);
    assert_eq!((r.status, r.body.len()), (200, 1000));
    let r = server.get("/data.bin", &[("Range", "bytes=10-19"), ("If-Range", &format!("W/{etag}"))]);
    assert_eq!(r.status, 200);

    // HEAD ignores Range (RFC 9110 §14.2 defines it for GET only).
    let r = server.request("HEAD", "/data.bin", &[("Range", "bytes=0-99")]);
    assert_eq!((r.status, r.header("Content-Length")), (200, Some("1000")));
}

// ---------------------------------------------------------------------------
// Conditional requests
// ---------------------------------------------------------------------------

#[test]
fn if_modified_since_gives_304() {
    let _g = shared();
    let tree = Tree::new();
    tree.file("page.txt", "some text\n");
    let server = Server::start(&tree.root);

    let first = server.get("/page.txt", &[]);
    let last_modified = first.header("Last-Modified").expect("Last-Modified").to_owned();
    assert!(last_modified.ends_with(" GMT"), "{last_modified}");

    let r = server.get("/page.txt", &[("If-Modified-Since", &last_modified)]);
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    assert_eq!(r.header("ETag"), first.header("ETag"));

    let r = server.get("/page.txt", &[("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT")]);
    assert_eq!((r.status, r.text().as_str()), (200, "some text\n"));
    // CPython ignores an ill-formed date.
    let r = server.get("/page.txt", &[("If-Modified-Since", "not a date")]);
    assert_eq!(r.status, 200);
}

#[test]
fn if_none_match_gives_304() {
    let _g = shared();
    let tree = Tree::new();
    tree.file("page.txt", "some text\n");
    let server = Server::start(&tree.root);

    let etag = server.get("/page.txt", &[]).header("ETag").expect("ETag").to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");

    for inm in [etag.clone(), format!("\"other\", {etag}"), format!("W/{etag}"), "*".to_owned()] {
        let r = server.get("/page.txt", &[("If-None-Match", &inm)]);
        assert_eq!(r.status, 304, "If-None-Match: {inm}");
        assert!(r.body.is_empty());
    }
    let r = server.get("/page.txt", &[("If-None-Match", "\"other\"")]);
    assert_eq!(r.status, 200);
    // HEAD too.
    let r = server.request("HEAD", "/page.txt", &[("If-None-Match", &etag)]);
    assert_eq!(r.status, 304);
}

#[test]
fn if_modified_since_is_ignored_when_if_none_match_is_present() {
    let _g = shared();
    let tree = Tree::new();
    tree.file("page.txt", "some text\n");
    let server = Server::start(&tree.root);
    let first = server.get("/page.txt", &[]);
    let last_modified = first.header("Last-Modified").unwrap();

    let r = server.get("/page.txt", &[("If-None-Match", "\"other\""), ("If-Modified-Since", last_modified)]);
    assert_eq!(r.status, 200, "a non-matching If-None-Match wins over a matching If-Modified-Since");
    assert_eq!(r.text(), "some text\n");
}

#[test]
fn a_changed_file_gets_a_new_etag() {
    let _g = shared();
    let tree = Tree::new();
    let path = tree.file("page.txt", "version 1\n");
    let server = Server::start(&tree.root);
    let etag = server.get("/page.txt", &[]).header("ETag").unwrap().to_owned();
    fs::write(&path, "version two\n").unwrap();
    let r = server.get("/page.txt", &[("If-None-Match", &etag)]);
    assert_eq!((r.status, r.text().as_str()), (200, "version two\n"));
}

#[test]
fn a_file_dated_before_1970_has_no_last_modified() {
    let _g = shared();
    let tree = Tree::new();
    let path = tree.file("old.txt", "old\n");
    let before_epoch = std::time::UNIX_EPOCH - Duration::from_secs(86_400);
    File::options().write(true).open(&path).unwrap().set_modified(before_epoch).unwrap();
    let server = Server::start(&tree.root);
    let r = server.get("/old.txt", &[("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT")]);
    assert_eq!((r.status, r.text().as_str()), (200, "old\n"));
    assert_eq!(r.header("Last-Modified"), None, "HTTP dates start in 1970");
    assert!(r.header("ETag").is_some());
}

// ---------------------------------------------------------------------------
// Containment
// ---------------------------------------------------------------------------

#[cfg(unix)]
#[test]
fn traversal_attempts_never_reach_outside_the_root() {
    let _g = shared();
    let tree = Tree::new();
    tree.file("inside.txt", "inside\n");
    tree.dir("sub");
    tree.symlink("link-out.txt", &tree.canary);
    tree.symlink("dir-out", &tree.base);
    tree.symlink("sub/up", "../..");
    let server = Server::start(&tree.root);
    let canary_name = "canary-secret.txt";
    let abs = tree.canary.to_string_lossy().into_owned();

    let attempts = [
        format!("/../{canary_name}"),
        format!("/../../../../../../{canary_name}"),
        format!("/%2e%2e/{canary_name}"),
        format!("/%2E%2E/{canary_name}"),
        format!("/..%2f{canary_name}"),
        format!("/..%2F..%2F{canary_name}"),
        format!("/sub/..%2f..%2f{canary_name}"),
        format!("/..\\{canary_name}"),
        format!("/..%5c{canary_name}"),
        format!("/sub\\..\\..\\{canary_name}"),
        format!("/{canary_name}%00"),
        format!("/%00/../{canary_name}"),
        format!("/inside.txt%00/../../{canary_name}"),
        format!("/{abs}"),
        format!("//{abs}"),
        format!("/%2F{}", abs.trim_start_matches('/')),
        format!("http://127.0.0.1/../{canary_name}"),
        "//etc/passwd".to_owned(),
        "/C:/Windows/win.ini".to_owned(),
        "/link-out.txt".to_owned(),
        format!("/dir-out/{canary_name}"),
        "/dir-out/".to_owned(),
        format!("/sub/up/{canary_name}"),
        "/sub/up/".to_owned(),
    ];
    for target in &attempts {
        let r = server.get(target, &[]);
        assert!(r.status >= 400, "{target} answered {}", r.status);
        assert_eq!(r.status, 404, "{target}: refusals look like a missing file");
        assert_no_body_leak(&r, &tree);
        let head = server.request("HEAD", target, &[]);
        assert_eq!((head.status, head.body.len()), (404, 0), "HEAD {target}");
    }

    // Nothing inside the root mentions the canary either: the listing shows
    // the outward symlinks as names only.
    let listing = server.get("/", &[]);
    assert_eq!(listing.status, 200);
    assert!(!listing.text().contains(&tree.canary_text));
    assert!(listing.text().contains(">link-out.txt@<"), "{}", listing.text());
    assert_eq!(server.get("/inside.txt", &[]).text(), "inside\n");
}

#[cfg(unix)]
#[test]
fn symlinks_inside_the_root_are_followed() {
    let _g = shared();
    let tree = Tree::new();
    tree.file("real/file.txt", "real\n");
    tree.symlink("alias.txt", "real/file.txt");
    tree.symlink("alias-dir", "real");
    let server = Server::start(&tree.root);
    assert_eq!(server.get("/alias.txt", &[]).text(), "real\n");
    assert_eq!(server.get("/alias-dir/file.txt", &[]).text(), "real\n");
}

#[test]
fn error_pages_never_show_paths() {
    let _g = shared();
    let tree = Tree::new();
    tree.file("data.bin", pattern(10));
    let server = Server::start(&tree.root);
    let root = tree.root.to_string_lossy().into_owned();
    for target in ["/missing.txt".to_owned(), format!("/{root}/missing"), "/data.bin/".to_owned()] {
        let r = server.get(&target, &[]);
        assert_eq!(r.status, 404, "{target}");
        assert!(r.text().contains("File not found"), "{}", r.text());
        assert_no_body_leak(&r, &tree);
    }
    let r = server.get("/data.bin", &[("Range", "bytes=50-")]);
    assert_eq!(r.status, 416);
    assert_no_body_leak(&r, &tree);
}

#[test]
fn a_root_that_does_not_exist_is_404() {
    let _g = shared();
    let tree = Tree::new();
    let server = Server::start(&tree.base.join("not-there"));
    let r = server.get("/", &[]);
    assert_eq!(r.status, 404);
    assert_no_body_leak(&r, &tree);
}

// ---------------------------------------------------------------------------
// Directories
// ---------------------------------------------------------------------------

#[test]
fn directory_listing_is_valid_html_with_escaped_and_encoded_links() {
    let _g = shared();
    let tree = Tree::new();
    let names = ["a b.txt", "x#y?.txt", "Zeta.txt", "alpha.txt", "100%.txt", "\u{dc}n\u{ef}code.txt"];
    for name in names {
        tree.file(&format!("list/{name}"), format!("content of {name}"));
    }
    #[cfg(unix)]
    {
        tree.file("list/<b>&\"q\".txt", "markup");
        tree.symlink("list/link-to-sub", "sub");
    }
    tree.dir("list/sub");
    let server = Server::start(&tree.root);

    let r = server.get("/list/", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
    assert_eq!(r.header("Content-Length").unwrap(), r.body.len().to_string());
    let page = r.text();
    let listing = parse_listing(&page);
    assert_eq!(listing.title, "Directory listing for /list/");
    assert_eq!(listing.h1, listing.title);

    // Sorted like Python's `sort(key=lambda a: a.lower())`; `/` after
    // folders, `@` after symlinks.
    let mut expected =
        vec!["100%.txt", "a b.txt", "alpha.txt", "sub/", "x#y?.txt", "Zeta.txt", "\u{dc}n\u{ef}code.txt"];
    if cfg!(unix) {
        expected.insert(1, "<b>&\"q\".txt");
        expected.insert(4, "link-to-sub@");
    }
    let shown: Vec<&str> = listing.links.iter().map(|(_, text)| text.as_str()).collect();
    assert_eq!(shown, expected);

    for (href, text) in &listing.links {
        // Percent-encoded: nothing a URL would read as a delimiter.
        assert!(!href.contains([' ', '#', '?', '"', '<', '>', '&']), "{href}");
        let name = text.trim_end_matches('@');
        let decoded = String::from_utf8(percent_decode(href)).unwrap();
        if text.ends_with('/') || text.ends_with('@') {
            assert_eq!(decoded, format!("{}/", name.trim_end_matches('/')), "{href}");
            continue;
        }
        assert_eq!(decoded, name, "{href}");
        // The link works, relative to the listed folder.
        let followed = server.get(&format!("/list/{href}"), &[]);
        assert_eq!(followed.status, 200, "{href}");
        let expected_body = if name.starts_with('<') { "markup".to_owned() } else { format!("content of {name}") };
        assert_eq!(followed.text(), expected_body);
    }
    // Markup in a name is text, never markup.
    #[cfg(unix)]
    assert!(page.contains("&lt;b&gt;&amp;&quot;q&quot;.txt"), "{page}");
}

#[test]
fn listing_title_is_escaped_and_decoded() {
    let _g = shared();
    let tree = Tree::new();
    tree.dir("a b&c");
    tree.file("a b&c/f.txt", "f");
    let server = Server::start(&tree.root);
    let r = server.get("/a%20b%26c/?q=<x>", &[]);
    assert_eq!(r.status, 200);
    let listing = parse_listing(&r.text());
    assert_eq!(listing.title, "Directory listing for /a b&c/");
    assert_eq!(listing.links, [("f.txt".to_owned(), "f.txt".to_owned())]);
}

#[test]
fn folder_without_slash_redirects() {
    let _g = shared();
    let tree = Tree::new();
    tree.dir("docs/inner");
    let server = Server::start(&tree.root);

    let r = server.get("/docs", &[]);
    assert_eq!(r.status, 301);
    assert_eq!(r.header("Location"), Some("/docs/"));
    assert_eq!(r.header("Content-Length"), Some("0"));
    let r = server.get("/docs/inner?page=2&x=%20", &[]);
    assert_eq!((r.status, r.header("Location")), (301, Some("/docs/inner/?page=2&x=%20")));
    let r = server.get("/docs/", &[]);
    assert_eq!(r.status, 200);
}

/// The `Location` is CPython's `urlunsplit(urlsplit(target))` with the slash
/// added: query and fragment kept, an empty one dropped with its `?` or `#`.
#[test]
fn folder_redirect_location_is_cpythons_urlunsplit() {
    let _g = shared();
    let tree = Tree::new();
    tree.dir("docs");
    let server = Server::start(&tree.root);
    for (target, location) in [
        ("/docs?", "/docs/"),
        ("/docs#", "/docs/"),
        ("/docs?#", "/docs/"),
        ("/docs?x#", "/docs/?x"),
        ("/docs?#f", "/docs/#f"),
        ("/docs#a?b", "/docs/#a?b"),
        ("/docs?a?b#c#d", "/docs/?a?b#c#d"),
        ("/docs?x=1&y=%20#frag", "/docs/?x=1&y=%20#frag"),
        ("/%64ocs", "/%64ocs/"),
        // `//docs` would be another host: the path's leading slashes are
        // one (CPython's gh-87389 fix, in the request parser).
        ("//docs", "/docs/"),
        ("///docs?x", "/docs/?x"),
    ] {
        let r = server.get(target, &[]);
        assert_eq!((r.status, r.header("Location")), (301, Some(location)), "{target}");
    }
}

#[test]
fn index_html_then_index_htm_are_served_for_folders() {
    let _g = shared();
    let tree = Tree::new();
    tree.file("site/index.html", "<p>home</p>");
    tree.file("site/index.htm", "<p>not me</p>");
    tree.file("old/index.htm", "<p>old home</p>");
    tree.dir("fake/index.html");
    let server = Server::start(&tree.root);

    let r = server.get("/site/", &[]);
    assert_eq!((r.status, r.text().as_str()), (200, "<p>home</p>"));
    assert_eq!(r.header("Content-Type"), Some("text/html"));
    assert_eq!(server.get("/old/", &[]).text(), "<p>old home</p>");
    // A folder named index.html is not an index file: the folder is listed.
    let listing = parse_listing(&server.get("/fake/", &[]).text());
    assert_eq!(listing.links, [("index.html/".to_owned(), "index.html/".to_owned())]);
}

// ---------------------------------------------------------------------------
// Files, HEAD, methods
// ---------------------------------------------------------------------------

#[test]
fn content_types_come_from_the_extension() {
    let _g = shared();
    let tree = Tree::new();
    let cases = [
        ("style.css", "text/css"),
        ("app.js", "text/javascript"),
        ("data.json", "application/json"),
        ("photo.PNG", "image/png"),
        ("page.htm", "text/html"),
        ("notes.txt", "text/plain"),
        ("backup.tar.gz", "application/gzip"),
        ("module.wasm", "application/wasm"),
        ("blob.bin", "application/octet-stream"),
        ("Makefile", "application/octet-stream"),
        ("weird.unknownext", "application/octet-stream"),
    ];
    for (name, _) in cases {
        tree.file(name, "x");
    }
    tree.file("custom.log", "x");
    let handler = SimpleHTTPRequestHandler::new(&tree.root).with_extension(".log", "text/plain; charset=utf-8");
    let server = Server::start_with(handler, "HTTP/1.0");
    for (name, ctype) in cases {
        let r = server.get(&format!("/{name}"), &[]);
        assert_eq!((r.status, r.header("Content-Type")), (200, Some(ctype)), "{name}");
    }
    assert_eq!(server.get("/custom.log", &[]).header("Content-Type"), Some("text/plain; charset=utf-8"));
}

#[test]
fn head_has_the_headers_and_no_body() {
    let _g = shared();
    let tree = Tree::new();
    tree.file("data.bin", pattern(1000));
    tree.dir("folder");
    let server = Server::start(&tree.root);

    let get = server.get("/data.bin", &[]);
    let head = server.request("HEAD", "/data.bin", &[]);
    assert_eq!(head.status, 200);
    for name in ["Content-Type", "Content-Length", "Last-Modified", "ETag", "Accept-Ranges"] {
        assert_eq!(head.header(name), get.header(name), "{name}");
    }
    // The server closed after the head: nothing followed it.
    let mut conn = server.connect();
    conn.write_all(b"HEAD /data.bin HTTP/1.0\r\n\r\n").unwrap();
    let mut all = Vec::new();
    std::io::Read::read_to_end(&mut conn, &mut all).unwrap();
    assert!(all.ends_with(b"\r\n\r\n"), "HEAD sent a body: {:?}", String::from_utf8_lossy(&all));

    let mut conn = server.connect();
    conn.write_all(b"HEAD /folder/ HTTP/1.0\r\n\r\n").unwrap();
    let mut all = Vec::new();
    std::io::Read::read_to_end(&mut conn, &mut all).unwrap();
    assert!(all.starts_with(b"HTTP/1.0 200 OK\r\n") && all.ends_with(b"\r\n\r\n"));
}

#[test]
fn server_header_other_methods_and_http11_keep_alive() {
    let _g = shared();
    let tree = Tree::new();
    let data = pattern(1000);
    tree.file("data.bin", &data);
    let server = Server::start_with(SimpleHTTPRequestHandler::new(&tree.root), "HTTP/1.1");

    let r = server.request("POST", "/data.bin", &[("Content-Length", "0")]);
    assert_eq!(r.status, 501);
    assert!(r.header("Server").unwrap().starts_with("SimpleHTTP/0.6 "));

    // Several responses on one connection: every Content-Length is exact.
    let mut conn = server.connect();
    let requests = "GET /data.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\n\r\n\
                    HEAD /data.bin HTTP/1.1\r\nHost: x\r\n\r\n\
                    GET /data.bin HTTP/1.1\r\nHost: x\r\n\r\n\
                    GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    conn.write_all(requests.as_bytes()).unwrap();
    let r = support::read_response(&mut conn, false);
    assert_eq!((r.status, &r.body[..]), (206, &data[..10]));
    let r = support::read_response(&mut conn, true);
    assert_eq!((r.status, r.header("Content-Length")), (200, Some("1000")));
    let r = support::read_response(&mut conn, false);
    assert_eq!((r.status, r.body), (200, data));
    let r = support::read_response(&mut conn, false);
    assert_eq!(r.status, 200);
    parse_listing(&r.text());
}

// ---------------------------------------------------------------------------
// Differences from CPython 3.11 (README.md, "Differences from CPython, on
// purpose", the file server): one test each, pinning what this server does.
// `tests/file_server/compare_cpython.py` finds them by sending the same
// requests to both servers. Also pinned above: `Range`
// (`range_0_99_is_206_with_exactly_those_bytes`,
// `unsatisfiable_range_is_416`) and symlinks out of the root
// (`traversal_attempts_never_reach_outside_the_root`).
// ---------------------------------------------------------------------------

/// 2023-11-14 22:13:20.123456789 UTC: the fraction shows that
/// `Last-Modified` is truncated and the `ETag` is not.
const MTIME_SECS: u64 = 1_700_000_000;
const MTIME_HTTP: &str = "Tue, 14 Nov 2023 22:13:20 GMT";

/// Sets the file's modification time to `MTIME_SECS` and a fraction, and
/// returns the `ETag` the server gives it: `"<size hex>-<mtime ns hex>"`.
fn fixed_mtime(path: &std::path::Path) -> String {
    let mtime = std::time::UNIX_EPOCH + Duration::new(MTIME_SECS, 123_456_789);
    File::options().write(true).open(path).unwrap().set_modified(mtime).unwrap();
    let meta = fs::metadata(path).unwrap();
    let nanos = meta.modified().unwrap().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("\"{:x}-{:x}\"", meta.len(), nanos)
}

/// The header names in order, and the values of all but `Server` and `Date`.
fn head_fields(r: &support::Response) -> Vec<(&str, &str)> {
    r.headers
        .iter()
        .map(|(n, v)| (n.as_str(), if matches!(n.as_str(), "Server" | "Date") { "" } else { v.as_str() }))
        .collect()
}

/// CPython sends `Content-type`, `Content-Length`, `Last-Modified`; this
/// server adds `ETag` (so caches can revalidate with `If-None-Match`) and
/// `Accept-Ranges: bytes` (it answers `Range`), after them, on `GET` and
/// `HEAD` of a file. Listings have neither, as in CPython.
#[test]
fn cpython_difference_etag_and_accept_ranges() {
    let _g = shared();
    let tree = Tree::new();
    let etag = fixed_mtime(&tree.file("notes.txt", "plain text\n"));
    tree.dir("folder");
    let server = Server::start(&tree.root);

    for method in ["GET", "HEAD"] {
        let r = server.request(method, "/notes.txt", &[]);
        assert_eq!(r.status, 200, "{method}");
        assert_eq!(
            head_fields(&r),
            [
                ("Server", ""),
                ("Date", ""),
                ("Content-type", "text/plain"),
                ("Content-Length", "11"),
                ("Last-Modified", MTIME_HTTP),
                ("ETag", etag.as_str()),
                ("Accept-Ranges", "bytes"),
            ],
            "{method}"
        );
    }
    // What the tag is for: CPython ignores If-None-Match and answers 200.
    let r = server.get("/notes.txt", &[("If-None-Match", &etag)]);
    assert_eq!((r.status, r.body.len()), (304, 0));

    let r = server.get("/folder/", &[]);
    assert_eq!(r.status, 200);
    assert_eq!((r.header("ETag"), r.header("Accept-Ranges")), (None, None));
}

/// CPython's `304` has only `Server` and `Date`; this one also carries the
/// `ETag` and `Last-Modified` (RFC 9110 §15.4.5: a 304 sends the fields a
/// 200 would have sent that update the cached response).
#[test]
fn cpython_difference_not_modified_carries_etag_and_last_modified() {
    let _g = shared();
    let tree = Tree::new();
    let etag = fixed_mtime(&tree.file("notes.txt", "plain text\n"));
    let server = Server::start(&tree.root);

    for (method, field, value) in [
        ("GET", "If-Modified-Since", MTIME_HTTP),
        ("HEAD", "If-Modified-Since", MTIME_HTTP),
        ("GET", "If-None-Match", etag.as_str()),
    ] {
        let r = server.request(method, "/notes.txt", &[(field, value)]);
        assert_eq!(r.status, 304, "{method} {field}");
        assert_eq!(
            head_fields(&r),
            [("Server", ""), ("Date", ""), ("ETag", etag.as_str()), ("Last-Modified", MTIME_HTTP)],
            "{method} {field}"
        );
    }
    // No body, no Content-Length: the HTTP/1.0 server closes after the head.
    let mut conn = server.connect();
    conn.write_all(format!("GET /notes.txt HTTP/1.0\r\nIf-Modified-Since: {MTIME_HTTP}\r\n\r\n").as_bytes()).unwrap();
    let mut all = Vec::new();
    std::io::Read::read_to_end(&mut conn, &mut all).unwrap();
    assert!(all.starts_with(b"HTTP/1.0 304 Not Modified\r\n") && all.ends_with(b"\r\n\r\n"));
}

/// CPython titles the listing with the whole target, query and fragment
/// included (`Directory listing for /sub dir/?x=1#f`); this one with the
/// decoded path alone, so the page is the same for every query.
#[test]
fn cpython_difference_listing_title_without_query_and_fragment() {
    let _g = shared();
    let tree = Tree::new();
    tree.file("sub dir/inside.txt", "inside\n");
    let server = Server::start(&tree.root);

    let plain = server.get("/sub%20dir/", &[]);
    assert_eq!(plain.status, 200);
    let listing = parse_listing(&plain.text());
    assert_eq!(
        (listing.title.as_str(), listing.h1.as_str()),
        ("Directory listing for /sub dir/", listing.title.as_str())
    );
    for target in
        ["/sub%20dir/?x=1#f", "/sub%20dir/?x=1", "/sub%20dir/#f", "/sub%20dir/?q=<b>&r='\"'", "/sub%20dir/?%41"]
    {
        let r = server.get(target, &[]);
        assert_eq!(r.status, 200, "{target}");
        assert_eq!(r.body, plain.body, "{target}");
        assert_eq!(r.header("Content-Length"), plain.header("Content-Length"), "{target}");
    }
}

/// CPython escapes only `&`, `<` and `>` in listed names
/// (`html.escape(name, quote=False)`); this server escapes `"` and `'`
/// too, so a name is inert anywhere in the page.
#[cfg(unix)]
#[test]
fn cpython_difference_listing_escapes_quotes() {
    let _g = shared();
    let tree = Tree::new();
    tree.file("q/say \"hi\" it's <b>&.txt", "quotes");
    let server = Server::start(&tree.root);
    let r = server.get("/q/", &[]);
    let line = "<li><a href=\"say%20%22hi%22%20it%27s%20%3Cb%3E%26.txt\">say &quot;hi&quot; it&#x27;s &lt;b&gt;&amp;.txt</a></li>\n";
    assert!(r.text().contains(line), "{}", r.text());
}

/// `.js`/`.mjs` are `text/javascript` (RFC 9239; CPython 3.11's table says
/// `application/javascript`), and the web formats CPython 3.11 knows only
/// from `/etc/mime.types` have their types (CPython without it:
/// `application/octet-stream`).
#[test]
fn cpython_difference_content_types() {
    let _g = shared();
    let tree = Tree::new();
    let cases = [
        ("app.js", "text/javascript"),
        ("module.mjs", "text/javascript"),
        ("readme.md", "text/markdown"),
        ("font.woff", "font/woff"),
        ("font.woff2", "font/woff2"),
        ("font.ttf", "font/ttf"),
        ("font.otf", "font/otf"),
        ("photo.webp", "image/webp"),
    ];
    for (name, _) in cases {
        tree.file(name, "x");
    }
    let server = Server::start(&tree.root);
    for (name, ctype) in cases {
        let r = server.request("HEAD", &format!("/{name}"), &[]);
        assert_eq!((r.status, r.header("Content-type")), (200, Some(ctype)), "{name}");
    }
}

/// Paths are bytes: `%XX` and raw non-ASCII bytes in the target name the
/// file with exactly those bytes, and the listing links a name by its bytes.
/// CPython decodes `%XX` as UTF-8 (else U+FFFD), reads raw bytes as
/// Latin-1 and re-encodes them as UTF-8 (raw UTF-8 `é` looks for `Ã©`), and
/// links a non-UTF-8 name through its surrogate escape (`%ED%B3%A9`).
#[cfg(target_os = "linux")]
#[test]
fn cpython_difference_paths_are_bytes() {
    use std::os::unix::ffi::OsStrExt;
    let _g = shared();
    let tree = Tree::new();
    fs::create_dir(tree.root.join("b")).unwrap();
    fs::write(tree.root.join("b").join(std::ffi::OsStr::from_bytes(b"caf\xe9.txt")), "latin-1 name\n").unwrap();
    tree.file("b/\u{e9}t\u{e9}.txt", "utf-8 name\n");
    let server = Server::start(&tree.root);

    assert_eq!(server.get("/b/caf%E9.txt", &[]).text(), "latin-1 name\n");
    assert_eq!(server.raw(b"GET /b/caf\xe9.txt HTTP/1.0\r\n\r\n", false).text(), "latin-1 name\n");
    assert_eq!(server.get("/b/caf%ED%B3%A9.txt", &[]).status, 404, "CPython's link for it");
    assert_eq!(server.get("/b/%C3%A9t%C3%A9.txt", &[]).text(), "utf-8 name\n");
    // `Server::get` writes the target as UTF-8: raw bytes C3 A9.
    assert_eq!(server.get("/b/\u{e9}t\u{e9}.txt", &[]).text(), "utf-8 name\n");

    let page = server.get("/b/", &[]).text();
    assert!(page.contains("<li><a href=\"caf%E9.txt\">caf\u{fffd}.txt</a></li>\n"), "{page}");
    assert!(page.contains("<li><a href=\"%C3%A9t%C3%A9.txt\">\u{e9}t\u{e9}.txt</a></li>\n"), "{page}");
    parse_listing(&page);
}

/// Names CPython serves on Linux but this server refuses everywhere, with
/// the same `404` as a missing file: a component holding `\` or a drive
/// (`C:`), which are paths on Windows. (Symlinks that leave the root: see
/// `traversal_attempts_never_reach_outside_the_root`.)
#[cfg(unix)]
#[test]
fn cpython_difference_backslash_and_drive_names_are_404() {
    let _g = shared();
    let tree = Tree::new();
    tree.file("a\\b.txt", "backslash\n");
    tree.file("C:x.txt", "drive\n");
    let server = Server::start(&tree.root);
    for target in ["/a%5Cb.txt", "/a%5cb.txt", "/a\\b.txt", "/C:x.txt", "/C%3Ax.txt", "/c%3ax.txt"] {
        let r = server.get(target, &[]);
        assert_eq!(r.status, 404, "{target}");
        assert!(r.text().contains("File not found"), "{target}");
    }
    // Still listed, as CPython lists them.
    let listing = parse_listing(&server.get("/", &[]).text());
    let shown: Vec<&str> = listing.links.iter().map(|(_, text)| text.as_str()).collect();
    assert_eq!(shown, ["a\\b.txt", "C:x.txt"]);
}

/// `%00` in the path is a `404 File not found`; CPython's `open()` raises
/// `ValueError` (embedded null byte) and the connection closes without a
/// response.
#[test]
fn cpython_difference_nul_in_path_is_404() {
    let _g = shared();
    let tree = Tree::new();
    tree.file("notes.txt", "plain text\n");
    let server = Server::start(&tree.root);
    for target in ["/notes.txt%00", "/%00", "/notes.txt%00.html", "/%00/../notes.txt"] {
        let r = server.get(target, &[]);
        assert_eq!(r.status, 404, "{target}");
        assert!(r.text().contains("<p>Message: File not found.</p>"), "{target}");
    }
}

/// An absolute-form target (`GET http://host/x`, RFC 9112 §3.2.2, which a
/// server must accept) serves `/x`; CPython looks for a folder named
/// `http:` and answers 404. The authority is not checked.
#[test]
fn cpython_difference_absolute_form_target_serves_its_path() {
    let _g = shared();
    let tree = Tree::new();
    tree.file("notes.txt", "plain text\n");
    tree.dir("docs");
    let server = Server::start(&tree.root);
    for target in ["http://127.0.0.1/notes.txt", "HTTP://other:8080/notes.txt?q", "https://x/docs/../notes.txt"] {
        let r = server.get(target, &[]);
        assert_eq!((r.status, r.text().as_str()), (200, "plain text\n"), "{target}");
    }
    let r = server.get("http://other/docs?x=1", &[]);
    assert_eq!((r.status, r.header("Location")), (301, Some("http://other/docs/?x=1")));
    let listing = parse_listing(&server.get("http://other/docs/", &[]).text());
    assert_eq!(listing.title, "Directory listing for /docs/");
}

/// `If-Modified-Since` is used only when it is one HTTP-date (RFC 9110
/// §13.1.3: the three formats of §5.6.7, in GMT; anything else is
/// ignored). CPython also reads the other RFC 5322 forms (`+0000`, `UTC`,
/// no weekday, no zone, two-digit years) and the first of several fields.
#[test]
fn cpython_difference_if_modified_since_only_as_an_http_date() {
    let _g = shared();
    let tree = Tree::new();
    fixed_mtime(&tree.file("notes.txt", "plain text\n"));
    let server = Server::start(&tree.root);
    for date in [MTIME_HTTP, "Tuesday, 14-Nov-23 22:13:20 GMT", "Tue Nov 14 22:13:20 2023"] {
        assert_eq!(server.get("/notes.txt", &[("If-Modified-Since", date)]).status, 304, "{date}");
    }
    for date in [
        "Tue, 14 Nov 2023 22:13:20 +0000",
        "Tue, 14 Nov 2023 22:13:20 -0000",
        "Tue, 14 Nov 2023 22:13:20 UTC",
        "14 Nov 2023 22:13:20 GMT",
        "Tue, 14 Nov 2023 22:13:20",
        "Tue, 14 Nov 23 22:13:20 GMT",
    ] {
        let r = server.get("/notes.txt", &[("If-Modified-Since", date)]);
        assert_eq!((r.status, r.text().as_str()), (200, "plain text\n"), "{date}");
    }
    let r = server.get("/notes.txt", &[("If-Modified-Since", MTIME_HTTP), ("If-Modified-Since", MTIME_HTTP)]);
    assert_eq!(r.status, 200, "several fields are not one date");
}

// ---------------------------------------------------------------------------
// Large files
// ---------------------------------------------------------------------------

const GIB: u64 = 1024 * 1024 * 1024;

/// A sparse file of `size` bytes (no disk blocks but the last page) ending
/// in `tail`.
fn sparse_file(path: &std::path::Path, size: u64, tail: &[u8]) {
    let mut f = File::create(path).unwrap();
    f.set_len(size).unwrap();
    f.seek(SeekFrom::Start(size - tail.len() as u64)).unwrap();
    f.write_all(tail).unwrap();
}

#[test]
fn range_near_the_end_of_a_multi_gigabyte_file() {
    let _g = shared();
    let tree = Tree::new();
    let size = 5 * GIB + 12_345;
    let tail = b"the last bytes of a five-gigabyte file";
    sparse_file(&tree.root.join("huge.bin"), size, tail);
    let server = Server::start(&tree.root);

    let start = size - tail.len() as u64;
    let r = server.get("/huge.bin", &[("Range", &format!("bytes={start}-"))]);
    assert_eq!(r.status, 206);
    assert_eq!(r.header("Content-Range").unwrap(), format!("bytes {start}-{}/{size}", size - 1));
    assert_eq!(r.body, tail);

    let r = server.get("/huge.bin", &[("Range", "bytes=-14")]);
    assert_eq!(r.body, &tail[tail.len() - 14..]);
    let r = server.get("/huge.bin", &[("Range", &format!("bytes={}-{}", 4 * GIB, 4 * GIB + 9))]);
    assert_eq!(r.body, [0u8; 10]);
    let r = server.request("HEAD", "/huge.bin", &[]);
    assert_eq!(r.header("Content-Length").unwrap(), size.to_string());
}

#[test]
fn a_whole_gigabyte_is_streamed_with_bounded_memory() {
    let _g = alone();
    let Some(_) = rss_bytes() else {
        eprintln!("no /proc/self/status: memory not measured");
        return;
    };
    let tree = Tree::new();
    let size = GIB;
    sparse_file(&tree.root.join("big.bin"), size, b"END");
    sparse_file(&tree.root.join("warm.bin"), 16 * 1024 * 1024, b"END");
    let server = Server::start(&tree.root);
    // Warm up: the server's threads, buffers and allocator pools exist
    // before the baseline is taken.
    for _ in 0..2 {
        let (r, total) = stream_and_discard(&mut server.connect(), "/warm.bin", |_| {});
        assert_eq!((r.status, total), (200, 16 * 1024 * 1024));
    }

    let before = rss_bytes().unwrap();
    let mut peak = before;
    let started = Instant::now();
    let mut conn = server.connect();
    let mut next_sample = 0u64;
    let (r, total) = stream_and_discard(&mut conn, "/big.bin", |n| {
        if n >= next_sample {
            peak = peak.max(rss_bytes().unwrap());
            next_sample = n + 32 * 1024 * 1024;
        }
    });
    let elapsed = started.elapsed();
    peak = peak.max(rss_bytes().unwrap());
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Length").unwrap(), size.to_string());
    assert_eq!(total, size);
    let growth = peak.saturating_sub(before);
    eprintln!("1 GiB in {elapsed:?}; RSS {} MiB, peak growth {} KiB", before >> 20, growth >> 10);
    assert!(growth < 8 * 1024 * 1024, "RSS grew by {} KiB while streaming 1 GiB", growth >> 10);
    assert!(elapsed < Duration::from_secs(120), "took {elapsed:?}");
}
