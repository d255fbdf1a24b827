//! Dates: the `Date` header (IMF-fixdate, via `httpdate`) and the log
//! timestamp.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The current Unix second as a running server's supervisor last saw it
/// (it refreshes it every 10 ms tick), so that a response's `Date` costs
/// no clock read; `TICKERS` counts the supervisors keeping it fresh.
static COARSE_SECS: AtomicU64 = AtomicU64::new(0);
static TICKERS: AtomicUsize = AtomicUsize::new(0);

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// A supervisor's share of keeping the coarse clock: made once, `tick`ed
/// every tick; dropping it ends the share.
pub(crate) struct Ticker {
    _private: (),
}

impl Ticker {
    pub(crate) fn start() -> Ticker {
        let ticker = Ticker { _private: () };
        ticker.tick();
        TICKERS.fetch_add(1, Ordering::SeqCst);
        ticker
    }

    pub(crate) fn tick(&self) {
        COARSE_SECS.store(unix_secs(SystemTime::now()), Ordering::Relaxed);
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        TICKERS.fetch_sub(1, Ordering::SeqCst);
    }
}

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

/// Runs `f` with the current Unix second and its cached IMF-fixdate. The
/// second comes from the coarse clock while a supervisor keeps it (at most
/// one tick late), else from the system clock.
pub(crate) fn with_now<R>(f: impl FnOnce(u64, &str) -> R) -> R {
    let secs = match TICKERS.load(Ordering::Relaxed) {
        0 => unix_secs(SystemTime::now()),
        _ => COARSE_SECS.load(Ordering::Relaxed),
    };
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.0 != secs {
            cache.0 = secs;
            cache.1 = httpdate::fmt_http_date(UNIX_EPOCH + std::time::Duration::from_secs(secs));
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
    fn a_ticker_keeps_the_coarse_clock_while_it_lives() {
        let ticker = Ticker::start();
        assert!(TICKERS.load(Ordering::SeqCst) >= 1, "the clock is in use while a ticker lives");
        ticker.tick();
        let real = unix_secs(SystemTime::now());
        let seen = with_now(|secs, date| {
            assert_eq!(httpdate::parse_http_date(date).map(unix_secs).ok(), Some(secs));
            secs
        });
        assert!(real.abs_diff(seen) <= 1, "coarse {seen}, real {real}");
        drop(ticker);
    }

    #[test]
    fn now_parses_back_and_is_current() {
        let s = date_time_string(None);
        let parsed = httpdate::parse_http_date(&s).unwrap();
        let diff = SystemTime::now().duration_since(parsed).unwrap_or_default();
        assert!(diff.as_secs() <= 2, "{s}");
    }
}
