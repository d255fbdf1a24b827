//! Byte scans eight (or sixteen) bytes at a time in safe code: the
//! primitives the line finder, the header and request-line scanners and the
//! response's plain-ASCII check share.
//!
//! A word's flags are the high bit of each of its bytes. The flags of
//! [`below`] and [`at_least_7f`] are exact for the lowest flagged byte; a
//! byte above it may be flagged wrongly (a borrow or a carry), so callers
//! use them only to ask "is there any?" or "where is the first?".

/// `0x01` in every byte.
pub(crate) const LO: u64 = 0x0101_0101_0101_0101;
/// `0x80` in every byte: the flag bits.
pub(crate) const HI: u64 = 0x8080_8080_8080_8080;

/// Eight bytes from `at` as one little-endian word (the first byte lowest,
/// so `trailing_zeros() / 8` of a flag mask is an offset), if there are
/// eight.
#[inline]
pub(crate) fn word(bytes: &[u8], at: usize) -> Option<u64> {
    bytes.get(at..at + 8).map(|w| u64::from_le_bytes(w.try_into().expect("eight bytes")))
}

/// Flags the bytes of `x` below `n` (`n` <= 0x80). `below(x ^ (LO * b), 1)`
/// flags the bytes equal to `b`.
#[inline]
pub(crate) fn below(x: u64, n: u8) -> u64 {
    x.wrapping_sub(LO * u64::from(n)) & !x & HI
}

/// Flags the bytes of `x` that are 0x7F or above.
#[inline]
pub(crate) fn at_least_7f(x: u64) -> u64 {
    (((x & !HI) + LO) | x) & HI
}

/// Whether any of the 16 bytes at `at` is a `hit`; `None` if there are
/// fewer. A fold without early exit over a fixed-size array, which LLVM
/// turns into one SSE2 compare and `pmovmskb`.
#[inline(always)]
pub(crate) fn any16(bytes: &[u8], at: usize, hit: impl Fn(u8) -> bool) -> Option<bool> {
    let chunk: &[u8; 16] = bytes.get(at..at + 16)?.try_into().ok()?;
    Some(chunk.iter().fold(false, |acc, &b| acc | hit(b)))
}

/// The first `needle` in `hay`, eight bytes at a time (a portable memchr).
pub(crate) fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    let pattern = LO * u64::from(needle);
    let mut at = 0;
    for chunk in hay.chunks_exact(8) {
        let x = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        if below(x ^ pattern, 1) != 0 {
            break;
        }
        at += 8;
    }
    hay[at..].iter().position(|&b| b == needle).map(|i| at + i)
}

/// `a == b` for short strings, eight bytes at a time (`==` calls libc's
/// memcmp, slow for a few bytes).
#[inline]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let word = |c: &[u8]| u64::from_le_bytes(c.try_into().expect("eight bytes"));
    a.len() == b.len()
        && a.chunks_exact(8).zip(b.chunks_exact(8)).all(|(x, y)| word(x) == word(y))
        && a.chunks_exact(8)
            .remainder()
            .iter()
            .zip(b.chunks_exact(8).remainder())
            .fold(true, |eq, (x, y)| eq & (x == y))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_match_a_byte_scan_up_to_the_first() {
        for b in 0..=255u8 {
            for at in 0..8 {
                let mut bytes = [b'a'; 8];
                bytes[at] = b;
                let x = word(&bytes, 0).unwrap();
                let first = |mask: u64| (mask != 0).then(|| mask.trailing_zeros() as usize / 8);
                let expect = |hit: bool| hit.then_some(at);
                assert_eq!(first(below(x, 0x20)), expect(b < 0x20), "{b:#04x} at {at}");
                assert_eq!(first(at_least_7f(x)), expect(b >= 0x7f), "{b:#04x} at {at}");
                assert_eq!(first(below(x ^ (LO * u64::from(b':')), 1)), expect(b == b':'), "{b:#04x} at {at}");
            }
        }
        assert_eq!(word(b"1234567", 0), None);
        assert_eq!(any16(&[0u8; 15], 0, |_| true), None);
        assert_eq!(any16(&[b'a'; 17], 1, |b| b == b'b'), Some(false));
    }

    #[test]
    fn find_byte_matches_a_scan() {
        let hay: Vec<u8> = (0..100u8).map(|i| if i % 37 == 36 { b'\n' } else { b'a' + i % 26 }).collect();
        for start in 0..hay.len() {
            for end in start..hay.len() {
                let s = &hay[start..end];
                assert_eq!(find_byte(s, b'\n'), s.iter().position(|&b| b == b'\n'));
            }
        }
        assert_eq!(find_byte(&[0x8a; 20], b'\n'), None);
    }
}
