//! The chunked transfer coding (RFC 9112 §7.1) as a pure, incremental
//! decoder: bytes in, body bytes out, no I/O, no allocation. The connection
//! feeds it from its read buffer; tests and fuzzers feed it directly.

use std::io;

/// Longest chunk-size line accepted, extensions included (the size itself
/// has at most 16 hex digits; extensions are ignored but bounded).
pub const MAX_CHUNK_LINE: usize = 4096;
/// Most bytes of trailer section accepted after the last chunk.
pub const MAX_TRAILER_BYTES: usize = 65536;
/// Most trailer lines accepted after the last chunk.
pub const MAX_TRAILER_LINES: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    SizeStart,
    Size,
    SizeSpace,
    Extension,
    SizeLf,
    Data(u64),
    DataCr,
    DataLf,
    TrailerStart,
    TrailerLine,
    TrailerLf,
    FinalLf,
    Done,
}

/// An incremental decoder of one chunked body.
///
/// ```
/// use basehttp::ChunkedDecoder;
/// let mut d = ChunkedDecoder::new();
/// let mut out = [0u8; 16];
/// let wire = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-T: 1\r\n\r\n";
/// let (mut used, mut body) = (0, Vec::new());
/// while !d.is_done() {
///     let (c, p) = d.decode(&wire[used..], &mut out).unwrap();
///     used += c;
///     body.extend_from_slice(&out[..p]);
/// }
/// assert_eq!((body.as_slice(), used), (&b"hello world"[..], wire.len()));
/// ```
#[derive(Clone, Debug)]
pub struct ChunkedDecoder {
    state: State,
    size: u64,
    line_len: usize,
    trailer_bytes: usize,
    trailer_lines: usize,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("invalid chunked body: {what}"))
}

impl ChunkedDecoder {
    /// A decoder positioned at the first chunk-size line.
    pub fn new() -> Self {
        ChunkedDecoder { state: State::SizeStart, size: 0, line_len: 0, trailer_bytes: 0, trailer_lines: 0 }
    }

    /// Whether the last chunk and the trailer section were consumed: the body
    /// is complete and no byte after it belongs to it.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes from `input` into `out`. Returns `(consumed, produced)`: how
    /// many bytes of `input` were used and how many body bytes were written.
    /// It stops when `out` is full, `input` is used up or the body ends, so
    /// `(n, 0)` with `n == input.len()` means "more input needed".
    ///
    /// Errors are `InvalidData`: a bad size, a size above `u64::MAX`, a bare
    /// LF or missing CRLF, a size line over [`MAX_CHUNK_LINE`] or a trailer
    /// section over its bounds. An error found after body bytes were
    /// produced is reported by the next call (which stops at the same byte),
    /// so those bytes are delivered however the input was split.
    pub fn decode(&mut self, input: &[u8], out: &mut [u8]) -> io::Result<(usize, usize)> {
        let (mut i, mut o) = (0, 0);
        while i < input.len() {
            // A full `out` ends the call even between chunks: framing after
            // the bytes a reader asked for is consumed only when it asks for
            // more, so how much of a body counts as read never depends on how
            // the input happened to be split.
            if !out.is_empty() && o == out.len() {
                break;
            }
            // Once body bytes were produced, an error is deferred: `step`
            // leaves the state as it was before the failing byte, so the
            // next call fails alike.
            match self.step(input, out, i, o) {
                Ok(Some(next)) => (i, o) = next,
                Ok(None) => break,
                Err(e) if o == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok((i, o))
    }

    /// One step of [`decode`](Self::decode) at `input[i]` with `o` bytes
    /// produced: the new `(i, o)`, or `None` to stop. An error leaves
    /// `input[i]` unconsumed and the decoder unchanged.
    fn step(&mut self, input: &[u8], out: &mut [u8], i: usize, o: usize) -> io::Result<Option<(usize, usize)>> {
        let b = input[i];
        match self.state {
            State::Done => return Ok(None),
            State::Data(left) => {
                if o == out.len() {
                    return Ok(None);
                }
                let n = (left.min((input.len() - i) as u64) as usize).min(out.len() - o);
                out[o..o + n].copy_from_slice(&input[i..i + n]);
                self.state = if left == n as u64 { State::DataCr } else { State::Data(left - n as u64) };
                return Ok(Some((i + n, o + n)));
            }
            State::SizeStart => {
                let d = hex(b).ok_or_else(|| invalid("chunk size is not hexadecimal"))?;
                self.size = d;
                self.line_len = 1;
                self.state = State::Size;
            }
            State::Size | State::SizeSpace | State::Extension => {
                if self.line_len + 1 > MAX_CHUNK_LINE {
                    return Err(invalid("chunk-size line too long"));
                }
                let state = match (self.state, b) {
                    (_, b'\r') => State::SizeLf,
                    (_, b'\n') => return Err(invalid("bare LF in chunk-size line")),
                    (State::Extension, 0) => return Err(invalid("NUL in chunk extension")),
                    (State::Extension, _) => State::Extension,
                    (_, b';') => State::Extension,
                    (_, b' ' | b'\t') => State::SizeSpace,
                    (State::Size, _) => {
                        let d = hex(b).ok_or_else(|| invalid("chunk size is not hexadecimal"))?;
                        if self.size > u64::MAX >> 4 {
                            return Err(invalid("chunk size overflows"));
                        }
                        self.size = self.size << 4 | d;
                        State::Size
                    }
                    _ => return Err(invalid("junk after chunk size")),
                };
                self.line_len += 1;
                self.state = state;
            }
            State::SizeLf => {
                if b != b'\n' {
                    return Err(invalid("CR without LF after chunk size"));
                }
                self.state = if self.size == 0 { State::TrailerStart } else { State::Data(self.size) };
            }
            State::DataCr => {
                if b != b'\r' {
                    return Err(invalid("chunk data not followed by CRLF"));
                }
                self.state = State::DataLf;
            }
            State::DataLf => {
                if b != b'\n' {
                    return Err(invalid("chunk data not followed by CRLF"));
                }
                self.state = State::SizeStart;
            }
            State::TrailerStart | State::TrailerLine => {
                if self.trailer_bytes + 1 > MAX_TRAILER_BYTES {
                    return Err(invalid("trailer section too large"));
                }
                let state = match (self.state, b) {
                    (State::TrailerStart, b'\r') => State::FinalLf,
                    (_, b'\r') => State::TrailerLf,
                    (_, b'\n' | 0) => return Err(invalid("bare LF or NUL in trailer")),
                    (State::TrailerStart, _) => {
                        if self.trailer_lines + 1 > MAX_TRAILER_LINES {
                            return Err(invalid("too many trailer lines"));
                        }
                        self.trailer_lines += 1;
                        State::TrailerLine
                    }
                    _ => State::TrailerLine,
                };
                self.trailer_bytes += 1;
                self.state = state;
            }
            State::TrailerLf | State::FinalLf => {
                if b != b'\n' {
                    return Err(invalid("CR without LF in trailer section"));
                }
                self.state = if self.state == State::FinalLf { State::Done } else { State::TrailerStart };
            }
        }
        Ok(Some((i + 1, o)))
    }
}

fn hex(b: u8) -> Option<u64> {
    (b as char).to_digit(16).map(u64::from)
}

/// Encodes `body` as one chunk per `chunk` bytes plus the last chunk: the
/// inverse of [`ChunkedDecoder`], for clients and tests.
///
/// ```
/// assert_eq!(basehttp::encode_chunked(b"hello", 3), b"3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n");
/// ```
pub fn encode_chunked(body: &[u8], chunk: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 16);
    for piece in body.chunks(chunk.max(1)) {
        out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `wire` fed `step` bytes at a time into an output of `cap`.
    fn decode_all(wire: &[u8], step: usize, cap: usize) -> io::Result<(Vec<u8>, usize)> {
        let mut d = ChunkedDecoder::new();
        let (mut used, mut body, mut out) = (0, Vec::new(), vec![0; cap]);
        let mut avail = step.min(wire.len());
        for _ in 0..10 * wire.len() + 10 {
            if d.is_done() {
                return Ok((body, used));
            }
            let (c, p) = d.decode(&wire[used..avail], &mut out)?;
            used += c;
            body.extend_from_slice(&out[..p]);
            if c == 0 && p == 0 {
                if avail == wire.len() {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                avail = (avail + step).min(wire.len());
            }
        }
        panic!("decoder made no progress");
    }

    #[test]
    fn round_trip_at_every_split() {
        let body: Vec<u8> = (0..200u32).map(|i| (i * 7) as u8).collect();
        for chunk in [1, 3, 64, 500] {
            let wire = encode_chunked(&body, chunk);
            for step in [1, 2, 5, wire.len()] {
                for cap in [1, 7, 4096] {
                    assert_eq!(decode_all(&wire, step, cap).unwrap(), (body.clone(), wire.len()));
                }
            }
        }
    }

    #[test]
    fn stops_exactly_at_the_end_of_the_body() {
        let mut wire = b"3\r\nabc\r\n0\r\n\r\n".to_vec();
        wire.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(decode_all(&wire, 4, 64).unwrap(), (b"abc".to_vec(), 13));
    }

    #[test]
    fn extensions_and_trailers_are_consumed() {
        let wire = b"4 ; a=b;c\r\nwiki\r\n0;x\r\nT1: a\r\nT2: b\r\n\r\n";
        assert_eq!(decode_all(wire, 1, 3).unwrap().0, b"wiki");
        assert_eq!(decode_all(b"A\r\n0123456789\r\n0\r\n\r\n", 100, 100).unwrap().0, b"0123456789");
    }

    #[test]
    fn malformed_input_is_invalid_data() {
        for bad in [
            &b"x\r\n"[..],
            b"\r\n",
            b"-1\r\n",
            b"+1\r\n",
            b"0x5\r\nhello\r\n0\r\n\r\n",
            b"5\nhello\r\n0\r\n\r\n",
            b"5\r\nhelloXX0\r\n\r\n",
            b"5\r\nhello\n0\r\n\r\n",
            b"0\r\n\n",
            b"0\r\nT: 1\n\r\n",
            b"10000000000000000\r\n",
            b"5 x\r\n",
        ] {
            let err = decode_all(bad, 3, 8).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn bounds() {
        let long = format!("1;{}\r\na\r\n0\r\n\r\n", "e".repeat(MAX_CHUNK_LINE));
        assert_eq!(decode_all(long.as_bytes(), 64, 8).unwrap_err().kind(), io::ErrorKind::InvalidData);
        let many = format!("0\r\n{}\r\n", "T: 1\r\n".repeat(MAX_TRAILER_LINES + 1));
        assert_eq!(decode_all(many.as_bytes(), 64, 8).unwrap_err().kind(), io::ErrorKind::InvalidData);
        let ok = format!("0\r\n{}\r\n", "T: 1\r\n".repeat(MAX_TRAILER_LINES));
        assert!(decode_all(ok.as_bytes(), 64, 8).is_ok());
        assert_eq!(decode_all(b"ffffffffffffffff\r\n", 64, 8).unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn truncated_input_needs_more() {
        assert_eq!(decode_all(b"5\r\nhel", 2, 8).unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
    }
}
