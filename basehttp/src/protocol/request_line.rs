//! The request line's words, versions and whitespace as CPython 3.11
//! reads them (B12-B17), and the head's line limits: byte-level rules with
//! no I/O.

use crate::protocol::swar;

/// Longest request line or header line, terminator included (B9, B28).
pub const MAX_LINE: usize = 65536;
/// Most lines in a header section, its terminating line included (B29).
pub const MAX_HEADERS: usize = 100;

/// The words of a request line that the rules look at (B13, B15), as
/// `(start, end)` spans: Python's `str.split()` on the latin-1 text, in one
/// pass that also tells whether the line is ASCII.
#[derive(Default)]
pub(crate) struct Words {
    /// The line's length without its trailing CRs and LFs (B12).
    pub(crate) len: usize,
    pub(crate) count: usize,
    pub(crate) first: (usize, usize),
    pub(crate) second: (usize, usize),
    pub(crate) last: (usize, usize),
    pub(crate) ascii: bool,
}

impl Words {
    /// Splits `raw` without its trailing CRs and LFs.
    pub(crate) fn split(raw: &[u8]) -> Words {
        let len = raw.iter().rposition(|&b| b != b'\r' && b != b'\n').map_or(0, |i| i + 1);
        let line = &raw[..len];
        let mut words = Words { len, ..Words::default() };
        let mut high = false;
        let mut at = 0;
        loop {
            while at < line.len() && is_py_space(line[at]) {
                high |= line[at] >= 0x80;
                at += 1;
            }
            if at == line.len() {
                words.ascii = !high;
                return words;
            }
            let end = space_at(line, at, &mut high);
            words.push((at, end));
            at = end;
        }
    }

    fn push(&mut self, word: (usize, usize)) {
        match self.count {
            0 => self.first = word,
            1 => self.second = word,
            _ => {}
        }
        self.last = word;
        self.count += 1;
    }
}

/// B16/B17: `HTTP/` then exactly two dot-separated components of 1 to 10
/// ASCII digits (leading zeros allowed).
pub(crate) fn parse_version(version: &[u8]) -> Option<(u64, u64)> {
    let rest = version.strip_prefix(b"HTTP/")?;
    let dot = rest.iter().position(|&b| b == b'.')?;
    let component = |c: &[u8]| {
        if c.is_empty() || c.len() > 10 || !c.iter().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(c.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')))
    };
    Some((component(&rest[..dot])?, component(&rest[dot + 1..])?))
}

/// Strict profile: exactly `HTTP/DIGIT.DIGIT` (RFC 9112 §2.3).
pub(crate) fn parse_version_strict(version: &[u8]) -> Option<(u64, u64)> {
    match version {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor] if major.is_ascii_digit() && minor.is_ascii_digit() => {
            Some(((major - b'0') as u64, (minor - b'0') as u64))
        }
        _ => None,
    }
}

/// The first Python whitespace byte at or after `at`, or `line.len()`;
/// `high` records any byte above 0x7F passed over. Eight bytes at a time
/// (the last word overlaps the one before): every whitespace byte is below
/// 0x21 or above 0x7F, and each such candidate is then looked up.
fn space_at(line: &[u8], mut at: usize, high: &mut bool) -> usize {
    while at < line.len() {
        let base = match line.len() {
            len if at + 8 <= len => at,
            len if len >= 8 => len - 8,
            _ => return space_at_bytewise(line, at, high),
        };
        let x = swar::word(line, base).expect("eight bytes");
        // Bytes up to 0x20 (the spaces among them) and non-ASCII ones.
        let candidates = (swar::below(x, 0x21) | (x & swar::HI)) & (u64::MAX << (8 * (at - base)));
        if candidates == 0 {
            at = base + 8;
            continue;
        }
        let i = base + candidates.trailing_zeros() as usize / 8;
        let b = line[i];
        if b == b' ' || is_py_space(b) {
            return i;
        }
        *high |= b >= 0x80;
        at = i + 1;
    }
    line.len()
}

/// [`space_at`] for a line shorter than eight bytes.
fn space_at_bytewise(line: &[u8], at: usize, high: &mut bool) -> usize {
    for (i, &b) in line.iter().enumerate().skip(at) {
        if is_py_space(b) {
            return i;
        }
        *high |= b >= 0x80;
    }
    line.len()
}

/// Python's `str.isspace()` for a latin-1 char (B13).
pub(crate) fn is_py_space(b: u8) -> bool {
    PY_SPACE[b as usize]
}

/// [`is_py_space`] for every byte.
static PY_SPACE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = matches!(b, 0x09..=0x0d | 0x1c..=0x20 | 0x85 | 0xa0);
        b += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_version(b"HTTP/1.1"), Some((1, 1)));
        assert_eq!(parse_version(b"HTTP/01.10"), Some((1, 10)));
        assert_eq!(parse_version(b"HTTP/0000000001.0"), Some((1, 0)));
        for bad in [
            "HTTP/1",
            "HTTP/1.1.1",
            "HTTP/1.a",
            "http/1.1",
            "HTTP/-1.1",
            "HTTP/+1.1",
            "HTTP/1.",
            "HTTP/.1",
            "HTTP/12345678901.0",
            "HTTP/².1",
        ] {
            assert_eq!(parse_version(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn words_are_python_str_split() {
        let alphabet = b"GET /aZ\t\n\x0b\x0c\r\x1c\x1f \x85\xa0\x84\xa1\x01\x7f";
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..100_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut r = state;
            let line: Vec<u8> = (0..state % 30)
                .map(|_| {
                    r = r.rotate_left(5).wrapping_mul(0x2545_f491_4f6c_dd1d);
                    alphabet[(r >> 8) as usize % alphabet.len()]
                })
                .collect();
            let expected: Vec<&[u8]> = line.split(|&b| is_py_space(b)).filter(|w| !w.is_empty()).collect();
            let words = Words::split(&line);
            let word = |(s, e): (usize, usize)| &line[s..e];
            assert_eq!(words.count, expected.len(), "{line:?}");
            assert_eq!(words.ascii, line.is_ascii());
            if let [first, rest @ ..] = &expected[..] {
                assert_eq!(word(words.first), *first, "{line:?}");
                assert_eq!(word(words.last), *expected.last().unwrap(), "{line:?}");
                if let Some(second) = rest.first() {
                    assert_eq!(word(words.second), *second, "{line:?}");
                }
            }
        }
    }

    #[test]
    fn python_whitespace() {
        let spaces: Vec<u8> = (0..=255u8).filter(|&b| is_py_space(b)).collect();
        assert_eq!(spaces, [9, 10, 11, 12, 13, 28, 29, 30, 31, 32, 0x85, 0xa0]);
    }
}
