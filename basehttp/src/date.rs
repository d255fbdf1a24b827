//! Dates: the `Date` header (IMF-fixdate, via `httpdate`) and the log
//! timestamp.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

/// Python's `date_time_string(timestamp=None)`: an IMF-fixdate such as
/// `Sun, 06 Nov 1994 08:49:37 GMT` for `timestamp`, or for now.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// let t = UNIX_EPOCH + Duration::from_secs(784111777);
/// assert_eq!(basehttp::date_time_string(Some(t)), "Sun, 06 Nov 1994 08:49:37 GMT");
/// ```
pub fn date_time_string(timestamp: Option<SystemTime>) -> String {
    match timestamp {
        // IMF-fixdate covers years 1970-9999 (httpdate panics outside);
        // times beyond are clamped to the nearest representable second.
        Some(t) => {
            httpdate::fmt_http_date(t.clamp(UNIX_EPOCH, UNIX_EPOCH + std::time::Duration::from_secs(253_402_300_799)))
        }
        None => with_now(|_, date| date.to_owned()),
    }
}

/// Python's `log_date_time_string()`: now as `23/Nov/2026 18:50:01`.
///
/// CPython prints local time; this crate prints UTC, because the standard
/// library offers no time-zone database and reading one is out of scope for
/// a server (README.md, "Differences from CPython").
pub fn log_date_time_string() -> String {
    with_now(|_, date| {
        // "Mon, 23 Nov 2026 18:50:01 GMT" -> "23/Nov/2026 18:50:01"
        format!("{}/{}/{} {}", &date[5..7], &date[8..11], &date[12..16], &date[17..25])
    })
}

thread_local! {
    /// The current second and its IMF-fixdate, so that a busy connection
    /// formats the `Date` header once per second, not once per response.
    static CACHE: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// Runs `f` with the current Unix second and its cached IMF-fixdate.
pub(crate) fn with_now<R>(f: impl FnOnce(u64, &str) -> R) -> R {
    let now = SystemTime::now();
    let secs = now.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.0 != secs {
            cache.0 = secs;
            cache.1 = httpdate::fmt_http_date(now);
        }
        f(secs, &cache.1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_format_shape() {
        let s = log_date_time_string();
        let b = s.as_bytes();
        assert_eq!(s.len(), 20, "{s}");
        assert_eq!((b[2], b[6], b[11], b[14], b[17]), (b'/', b'/', b' ', b':', b':'));
    }

    #[test]
    fn out_of_range_timestamps_are_clamped() {
        let before = UNIX_EPOCH - std::time::Duration::from_secs(10);
        assert_eq!(date_time_string(Some(before)), "Thu, 01 Jan 1970 00:00:00 GMT");
        let after = UNIX_EPOCH + std::time::Duration::from_secs(300_000_000_000);
        assert_eq!(date_time_string(Some(after)), "Fri, 31 Dec 9999 23:59:59 GMT");
    }

    #[test]
    fn now_parses_back_and_is_current() {
        let s = date_time_string(None);
        let parsed = httpdate::parse_http_date(&s).unwrap();
        let diff = SystemTime::now().duration_since(parsed).unwrap_or_default();
        assert!(diff.as_secs() <= 2, "{s}");
    }
}
