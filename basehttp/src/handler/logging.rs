//! CPython's log lines (B67-B73) through the `log` crate, and a minimal
//! stderr logger that prints them the way Python does.

use std::fmt::{self, Write as _};
use std::io::Write as _;

use crate::handler::request::Request;

/// The `log` target of every line the runtime logs.
pub const LOG_TARGET: &str = "basehttp";

pub(crate) fn default_log_message(req: &Request, args: fmt::Arguments<'_>) {
    if !log::log_enabled!(target: LOG_TARGET, log::Level::Info) {
        return;
    }
    let message = match args.as_str() {
        Some(s) => escape_log_text(s),
        None => escape_log_text(&args.to_string()),
    };
    log::info!(
        target: LOG_TARGET,
        "{} - - [{}] {}",
        req.address_string(),
        crate::protocol::date::log_date_time_string(),
        message
    );
}

/// B68: C0 and C1 control characters become `\xNN`, and `\` is doubled, so
/// a request cannot forge log lines or terminal escapes.
///
/// ```
/// assert_eq!(basehttp::escape_log_text("a\u{1b}[31m\\\n\u{9f}\u{a0}"), "a\\x1b[31m\\\\\\x0a\\x9f\u{a0}");
/// ```
pub fn escape_log_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// A logger that prints every record of level `Info` or more severe to
/// stderr, one line each, message only: with it the runtime's log lines look
/// exactly like CPython's `log_message` output.
///
/// ```no_run
/// basehttp::log_to_stderr();
/// ```
pub struct StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Info
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let line = format!("{}\n", record.args());
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
    }

    fn flush(&self) {}
}

/// Installs [`StderrLogger`] as the `log` logger (Python's default: log
/// lines on stderr). Does nothing if a logger is already installed.
pub fn log_to_stderr() {
    static LOGGER: StderrLogger = StderrLogger;
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
}
