//! `peer-canned-epoll PORT`: the floor of the benchmark, not an HTTP server.
//!
//! One thread, one epoll instance (through mio, edge-triggered), no HTTP
//! parsing at all. For each connection it counts the `\r\n\r\n` sequences in
//! the bytes it reads (a request head ends with one; a sequence split across
//! two reads is still counted once) and answers each with the same canned
//! 13-byte-body HTTP/1.1 response, in one write per read. It never closes a
//! connection itself, so it ignores `Connection: close`, and a GET with a body
//! would confuse it: the benchmark sends neither to a keep-alive run.
//!
//! What it costs per request is, near enough, what the kernel charges for
//! loopback TCP, epoll and two syscalls: the least CPU time a server on this
//! machine can spend per keep-alive request. basehttp's CPU per request is
//! compared with it.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, world!";
const LISTENER: Token = Token(usize::MAX);
const PATTERN: &[u8; 4] = b"\r\n\r\n";

struct Conn {
    stream: TcpStream,
    /// How many bytes of `\r\n\r\n` the last read ended with (0..=3).
    matched: u8,
    /// Responses not yet accepted by the socket (only after a short write).
    pending: Vec<u8>,
}

/// Counts the ends of request heads in `data`, carrying a partial match in
/// `matched` from one read to the next.
fn count_heads(data: &[u8], matched: &mut u8) -> usize {
    let mut count = 0;
    let mut m = *matched as usize;
    for &b in data {
        if b == PATTERN[m] {
            m += 1;
            if m == 4 {
                count += 1;
                m = 0;
            }
        } else {
            // The only proper prefix of the pattern that is also a suffix of a
            // partial match is "\r", so a mismatch restarts at 0 or 1.
            m = usize::from(b == b'\r');
        }
    }
    *matched = m as u8;
    count
}

/// Writes as much of `buf` as the socket takes; returns how much it took.
fn write_some(stream: &mut TcpStream, buf: &[u8]) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match stream.write(&buf[done..]) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Handles a readiness event; returns false when the connection is done.
fn serve(conn: &mut Conn, buf: &mut [u8], out: &mut Vec<u8>) -> bool {
    // Flush what an earlier short write left behind.
    if !conn.pending.is_empty() {
        match write_some(&mut conn.stream, &conn.pending) {
            Ok(n) => {
                conn.pending.drain(..n);
            }
            Err(_) => return false,
        }
    }
    loop {
        let n = match conn.stream.read(buf) {
            Ok(0) => return false,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return false,
        };
        let heads = count_heads(&buf[..n], &mut conn.matched);
        if heads > 0 {
            if conn.pending.is_empty() {
                out.clear();
                for _ in 0..heads {
                    out.extend_from_slice(RESPONSE);
                }
                match write_some(&mut conn.stream, out) {
                    Ok(written) => conn.pending.extend_from_slice(&out[written..]),
                    Err(_) => return false,
                }
            } else {
                // Keep the order: behind what is already waiting.
                for _ in 0..heads {
                    conn.pending.extend_from_slice(RESPONSE);
                }
            }
        }
        // A read shorter than the buffer emptied the socket. Under edge
        // triggering, data arriving later raises a new event, so the extra
        // read that would only return WouldBlock is skipped.
        if n < buf.len() {
            return true;
        }
    }
}

fn main() -> io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("usage: peer-canned-epoll PORT");
    let mut poll = Poll::new()?;
    let mut listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))?;
    poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;

    // Connections live in a slot vector; a slot's index is its token.
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = Vec::with_capacity(64 * RESPONSE.len());

    loop {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for event in events.iter() {
            if event.token() == LISTENER {
                loop {
                    match listener.accept() {
                        Ok((mut stream, _)) => {
                            let _ = stream.set_nodelay(true);
                            let slot = free.pop().unwrap_or_else(|| {
                                conns.push(None);
                                conns.len() - 1
                            });
                            let interest = Interest::READABLE | Interest::WRITABLE;
                            if poll.registry().register(&mut stream, Token(slot), interest).is_err() {
                                free.push(slot);
                                continue;
                            }
                            conns[slot] = Some(Conn { stream, matched: 0, pending: Vec::new() });
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        // Out of descriptors and the like: try again on the next event.
                        Err(_) => break,
                    }
                }
                continue;
            }
            let slot = event.token().0;
            let keep = match conns.get_mut(slot).and_then(Option::as_mut) {
                Some(conn) => serve(conn, &mut buf, &mut out),
                None => continue,
            };
            if !keep {
                if let Some(mut conn) = conns[slot].take() {
                    let _ = poll.registry().deregister(&mut conn.stream);
                }
                free.push(slot);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::count_heads;

    #[test]
    fn counts_heads_across_reads() {
        let mut m = 0;
        assert_eq!(count_heads(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\n\r", &mut m), 1);
        assert_eq!(count_heads(b"\n", &mut m), 1);
        assert_eq!(count_heads(b"\r\r\n\r\n", &mut m), 1);
        assert_eq!(m, 0);
    }
}
