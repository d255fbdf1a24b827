//! Microbenchmarks of the request-head parser and the chunked decoder, side
//! by side with `httparse` on the same inputs.
//!
//! ```text
//! cargo bench --bench parser
//! ```
//!
//! The two parsers do different amounts of work: `httparse` borrows slices
//! of the input and checks token syntax; ours applies CPython's rules
//! (Python whitespace splitting, version rules, `//` collapse, DEV-3 and
//! DEV-6 checks) and decodes every field into owned ISO-8859-1 text that
//! outlives the read buffer, as `Request` exposes it.
//!
//! `HeadParser::parse` runs the server's code path for a request whose
//! head has arrived: the input is copied into the connection's read buffer
//! (where the socket read puts it), then `read_request_line` and
//! `parse_request` run on one `Request` reused from parse to parse, as on a
//! keep-alive connection (its strings, header storage and buffers keep
//! their capacity). Not measured: the socket read, and the connection's
//! check that the whole head has arrived before it parses.

use std::hint::black_box;

use basehttp::{encode_chunked, ChunkedDecoder, HeadParser};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn small_get() -> Vec<u8> {
    b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n".to_vec()
}

fn browser_like() -> Vec<u8> {
    b"GET /static/app.js?v=3 HTTP/1.1\r\n\
Host: www.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br\r\n\
Referer: https://www.example.com/index.html\r\n\
Connection: keep-alive\r\n\
Cookie: session=4f2b9c1d8e7a6b5c4d3e2f1a0b9c8d7e; theme=dark; lang=en\r\n\
Upgrade-Insecure-Requests: 1\r\n\
Sec-Fetch-Dest: script\r\n\
Sec-Fetch-Mode: no-cors\r\n\
If-None-Match: \"33a64df551425fcc55e4d42a148795d9f25f89d4\"\r\n\r\n"
        .to_vec()
}

fn sixty_headers() -> Vec<u8> {
    let mut v = b"POST /api/v1/items/42/attachments HTTP/1.1\r\nHost: api.example.com\r\n".to_vec();
    for i in 0..59 {
        v.extend_from_slice(
            format!("X-Custom-Header-{i:02}: value-{i}-abcdefghijklmnopqrstuvwxyz0123456789\r\n").as_bytes(),
        );
    }
    v.extend_from_slice(b"\r\n");
    v
}

fn heads(c: &mut Criterion) {
    let inputs =
        [("small_get", small_get()), ("browser_12_headers", browser_like()), ("large_60_headers", sixty_headers())];
    for (name, input) in &inputs {
        let mut group = c.benchmark_group(format!("head/{name}"));
        group.throughput(Throughput::Bytes(input.len() as u64));
        let mut parser = HeadParser::new();
        assert!(parser.parse(input), "{name} must parse");
        group.bench_function("basehttp", |b| b.iter(|| black_box(parser.parse(black_box(input)))));
        group.bench_function("httparse", |b| {
            b.iter(|| {
                let mut headers = [httparse::EMPTY_HEADER; 64];
                let mut req = httparse::Request::new(&mut headers);
                black_box(req.parse(black_box(input)).unwrap().is_complete())
            })
        });
        group.finish();
    }
}

fn chunked(c: &mut Criterion) {
    let body: Vec<u8> = (0..64 * 1024u32).map(|i| (i % 251) as u8).collect();
    for (name, chunk) in [("64KiB_in_4KiB_chunks", 4096), ("64KiB_in_64B_chunks", 64)] {
        let wire = encode_chunked(&body, chunk);
        let mut group = c.benchmark_group(format!("chunked/{name}"));
        group.throughput(Throughput::Bytes(body.len() as u64));
        let mut out = vec![0u8; 16 * 1024];
        group.bench_function("basehttp", |b| {
            b.iter(|| {
                let mut d = ChunkedDecoder::new();
                let (mut used, mut total) = (0, 0);
                while !d.is_done() {
                    let (c, p) = d.decode(&wire[used..], &mut out).unwrap();
                    used += c;
                    total += p;
                }
                black_box(total)
            })
        });
        // httparse only parses the size line; the copy is what a decoder
        // built on it would add.
        group.bench_function("httparse_size_lines_plus_copy", |b| {
            b.iter(|| {
                let (mut at, mut total) = (0, 0);
                loop {
                    let httparse::Status::Complete((line, size)) = httparse::parse_chunk_size(&wire[at..]).unwrap()
                    else {
                        unreachable!()
                    };
                    at += line;
                    if size == 0 {
                        break;
                    }
                    let n = size as usize;
                    let mut done = 0;
                    while done < n {
                        let k = (n - done).min(out.len());
                        out[..k].copy_from_slice(&wire[at + done..at + done + k]);
                        done += k;
                    }
                    at += n + 2;
                    total += n;
                }
                black_box(total)
            })
        });
        group.finish();
    }
}

criterion_group!(benches, heads, chunked);
criterion_main!(benches);
