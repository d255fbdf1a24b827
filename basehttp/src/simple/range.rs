//! `Range: bytes=…` (RFC 9110 §14.2): one range is served as `206`; an
//! unsatisfiable one is `416`; anything else serves the whole file.

/// What a `Range` header asks of a file of a given size.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Ranged {
    /// Serve the whole file with `200`: no usable `Range` (absent, another
    /// unit, a syntax error, several ranges, or a suffix of an empty file).
    Whole,
    /// Serve bytes `start..=end` with `206`.
    Part { start: u64, end: u64 },
    /// `416` with `Content-Range: bytes */size`.
    Unsatisfiable,
}

/// Interprets a `Range` field value for a representation of `size` bytes.
///
/// Several ranges (`bytes=0-1,5-6`) are answered with the whole file:
/// RFC 9110 §14.2 lets a server ignore `Range`, and a `multipart/byteranges`
/// body costs more than it helps a static file server (clients that ask for
/// several ranges accept a `200`). An invalid range (`5-1`, `abc`) is
/// ignored the same way (§14.1.1).
pub(crate) fn parse(value: &str, size: u64) -> Ranged {
    let Some((unit, set)) = value.split_once('=') else { return Ranged::Whole };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return Ranged::Whole;
    }
    // A list may hold empty elements (RFC 9110 §5.6.1).
    let mut specs = set.split(',').map(str::trim).filter(|s| !s.is_empty());
    let (Some(spec), None) = (specs.next(), specs.next()) else { return Ranged::Whole };
    let Some((first, last)) = spec.split_once('-') else { return Ranged::Whole };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        // suffix-range: the last `n` bytes.
        return match number(last) {
            None => Ranged::Whole,
            Some(0) => Ranged::Unsatisfiable,
            Some(_) if size == 0 => Ranged::Whole,
            Some(n) => Ranged::Part { start: size.saturating_sub(n), end: size - 1 },
        };
    }
    let Some(start) = number(first) else { return Ranged::Whole };
    let end = if last.is_empty() {
        u64::MAX
    } else {
        match number(last) {
            Some(end) if end >= start => end,
            _ => return Ranged::Whole,
        }
    };
    if start >= size {
        return Ranged::Unsatisfiable;
    }
    Ranged::Part { start, end: end.min(size - 1) }
}

/// `1*DIGIT`, saturating: a position past `u64::MAX` is past any file.
fn number(digits: &str) -> Option<u64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.bytes().fold(0u64, |n, d| n.saturating_mul(10).saturating_add(u64::from(d - b'0'))))
}

#[cfg(test)]
mod tests {
    use super::Ranged::*;
    use super::*;

    #[test]
    fn single_ranges() {
        assert_eq!(parse("bytes=0-99", 1000), Part { start: 0, end: 99 });
        assert_eq!(parse("bytes=900-", 1000), Part { start: 900, end: 999 });
        assert_eq!(parse("bytes=-100", 1000), Part { start: 900, end: 999 });
        assert_eq!(parse("bytes=-5000", 1000), Part { start: 0, end: 999 });
        assert_eq!(parse("bytes=990-5000", 1000), Part { start: 990, end: 999 });
        assert_eq!(parse("Bytes = 1-1 ,", 1000), Part { start: 1, end: 1 });
        assert_eq!(parse("bytes=0-99999999999999999999999", 10), Part { start: 0, end: 9 });
    }

    #[test]
    fn unsatisfiable() {
        assert_eq!(parse("bytes=1000-", 1000), Unsatisfiable);
        assert_eq!(parse("bytes=1000-2000", 1000), Unsatisfiable);
        assert_eq!(parse("bytes=-0", 1000), Unsatisfiable);
        assert_eq!(parse("bytes=0-", 0), Unsatisfiable);
        assert_eq!(parse("bytes=99999999999999999999999-", 10), Unsatisfiable);
    }

    #[test]
    fn ignored() {
        for v in ["items=0-1", "bytes=5-1", "bytes=a-b", "bytes=0-1,5-6", "bytes", "bytes=", "bytes=--1", "bytes=1"] {
            assert_eq!(parse(v, 1000), Whole, "{v}");
        }
        assert_eq!(parse("bytes=-5", 0), Whole);
    }
}
