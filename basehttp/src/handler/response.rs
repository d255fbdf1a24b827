//! Writing responses: `send_response`, `send_header`, `end_headers`,
//! `send_error` and friends, byte for byte as CPython writes them (B51-B66),
//! with the DEV-1/DEV-2 injection checks; and the logging methods.

use std::fmt;
use std::io::{self, Write as _};
use std::time::SystemTime;

use crate::handler::request::Request;
use crate::protocol::headers::encode_latin1;
use crate::protocol::pyrepr::repr;
use crate::protocol::response_head::{
    format_error_page, has_forbidden, injection, plain_ascii, push_decimal, ByteWriter,
};
use crate::protocol::status::responses;

impl Request {
    /// `send_response(code)`: logs the request (`log_request`), then buffers
    /// the status line with the default reason phrase, `Server` and `Date`
    /// (B51). Nothing is sent before [`end_headers`](Self::end_headers).
    pub fn send_response(&mut self, code: u16) -> io::Result<()> {
        self.send_response_with(code, None)
    }

    /// `send_response(code, message)`: as [`send_response`](Self::send_response)
    /// with an explicit reason phrase. A phrase with CR, LF or NUL is refused
    /// with an `InvalidInput` error (DEV-2).
    pub fn send_response_message(&mut self, code: u16, message: &str) -> io::Result<()> {
        self.send_response_with(code, Some(message))
    }

    fn send_response_with(&mut self, code: u16, message: Option<&str>) -> io::Result<()> {
        self.log_request(Some(code), None);
        self.send_response_only(code, message)?;
        if self.is_http09() {
            return Ok(());
        }
        match &self.shared.class.server_line {
            Some(line) => self.head.extend_from_slice(line),
            // Not plain: send_header encodes it (latin-1) or refuses it.
            None => {
                let shared = self.shared.clone();
                self.send_header("Server", &shared.class.version_string)?;
            }
        }
        // The cached date is ASCII, with no CR or LF.
        crate::protocol::date::with_now(|_, date| {
            self.head.extend_from_slice(b"Date: ");
            self.head.extend_from_slice(date.as_bytes());
            self.head.extend_from_slice(b"\r\n");
        });
        Ok(())
    }

    /// `send_response_only(code, message=None)`: buffers only the status
    /// line, `"<protocol_version> <code> <message>\r\n"` (B52); nothing in
    /// HTTP/0.9 mode. The default message is the code's phrase, or empty for
    /// an unknown code. Not logged.
    pub fn send_response_only(&mut self, code: u16, message: Option<&str>) -> io::Result<()> {
        if let Some(m) = message {
            if has_forbidden(m) {
                return Err(injection("reason phrase", m));
            }
        }
        if self.is_http09() {
            return Ok(());
        }
        let message = message.unwrap_or_else(|| responses(code).map_or("", |r| r.0));
        self.status = code;
        let mark = self.head.len();
        self.head.extend_from_slice(self.shared.class.protocol_version.as_bytes());
        self.head.push(b' ');
        push_decimal(&mut self.head, code);
        self.head.push(b' ');
        let encoded = encode_latin1(message, &mut self.head);
        if encoded.is_err() {
            self.head.truncate(mark);
            return encoded;
        }
        self.head.extend_from_slice(b"\r\n");
        Ok(())
    }

    /// `send_header(keyword, value)`: buffers `"keyword: value\r\n"` (B53)
    /// encoded ISO-8859-1; nothing in HTTP/0.9 mode. `Connection: close` /
    /// `keep-alive` set [`close_connection`](Self::close_connection) (B43).
    ///
    /// A name or value with CR, LF or NUL, or a char above U+00FF, is
    /// refused with an `InvalidInput` error and nothing is buffered (DEV-1).
    pub fn send_header(&mut self, keyword: &str, value: impl fmt::Display) -> io::Result<()> {
        if keyword.len() == 14 && keyword.eq_ignore_ascii_case("content-length") {
            self.check_content_length()?;
        }
        let mark = self.head.len();
        let result = self.buffer_header(keyword, value);
        match &result {
            Ok(value_at) => {
                if keyword.eq_ignore_ascii_case("connection") {
                    let v = &self.head[*value_at..self.head.len() - 2];
                    if v.eq_ignore_ascii_case(b"close") {
                        self.close_connection = true;
                    } else if v.eq_ignore_ascii_case(b"keep-alive") {
                        self.close_connection = false;
                    }
                }
                if self.is_http09() {
                    self.head.truncate(mark);
                }
                Ok(())
            }
            Err(_) => {
                self.head.truncate(mark);
                result.map(drop)
            }
        }
    }

    /// Appends the header line to the head; returns where its value starts.
    /// On error the caller truncates what was appended.
    fn buffer_header(&mut self, keyword: &str, value: impl fmt::Display) -> io::Result<usize> {
        if !plain_ascii(keyword.as_bytes()) {
            if has_forbidden(keyword) {
                return Err(injection("header name", keyword));
            }
            encode_latin1(keyword, &mut self.head)?;
        } else {
            self.head.extend_from_slice(keyword.as_bytes());
        }
        self.head.extend_from_slice(b": ");
        let value_at = self.head.len();
        let _ = fmt::write(&mut ByteWriter(&mut self.head), format_args!("{value}"));
        let written = &self.head[value_at..];
        if !plain_ascii(written) {
            if written.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0) {
                let text = String::from_utf8_lossy(written).into_owned();
                return Err(injection("header value", &text));
            }
            let text = String::from_utf8_lossy(written).into_owned();
            self.head.truncate(value_at);
            encode_latin1(&text, &mut self.head)?;
        }
        self.head.extend_from_slice(b"\r\n");
        Ok(value_at)
    }

    /// `end_headers()`: ends the head with a blank line and sends it
    /// (`flush_headers`); nothing in HTTP/0.9 mode (B54).
    pub fn end_headers(&mut self) -> io::Result<()> {
        if !self.is_http09() {
            self.head.extend_from_slice(b"\r\n");
            self.flush_headers()?;
        }
        Ok(())
    }

    /// `flush_headers()`: hands the buffered head to `wfile` in one piece
    /// and clears the buffer (B55).
    pub fn flush_headers(&mut self) -> io::Result<()> {
        if self.head.is_empty() {
            return Ok(());
        }
        self.io.sent = true;
        let head = std::mem::take(&mut self.head);
        let result = self.io.write_out(&head);
        self.head = head;
        self.head.clear();
        result
    }

    /// `send_error(code)`: a complete error response with the code's default
    /// message and explanation (see [`send_error_explain`](Self::send_error_explain)).
    pub fn send_error(&mut self, code: u16) -> io::Result<()> {
        self.send_error_explain(code, None, None)
    }

    /// `send_error(code, message)`.
    pub fn send_error_message(&mut self, code: u16, message: &str) -> io::Result<()> {
        self.send_error_explain(code, Some(message), None)
    }

    /// `send_error(code, message=None, explain=None)`: logs
    /// `code N, message M` (`log_error`), sends the status line, `Server`,
    /// `Date`, `Connection: close` and, for codes ≥ 200 other than 204, 205
    /// and 304, the `error_message_format` page (HTML-escaped message and
    /// explanation) with `Content-Type` and `Content-Length` (B59-B66). The
    /// page is not sent for `HEAD`. The connection closes afterwards.
    ///
    /// Defaults come from [`responses`](crate::responses); an unknown code
    /// uses `???` for both.
    pub fn send_error_explain(&mut self, code: u16, message: Option<&str>, explain: Option<&str>) -> io::Result<()> {
        self.send_error_with_headers(code, message, explain, &[])
    }

    /// [`send_error_explain`](Self::send_error_explain) with extra header
    /// fields after `Connection: close`, e.g. `Allow` for a 405 or
    /// `Retry-After` for a 503.
    pub fn send_error_with_headers(
        &mut self,
        code: u16,
        message: Option<&str>,
        explain: Option<&str>,
        headers: &[(&str, &str)],
    ) -> io::Result<()> {
        let (short, long) = responses(code).unwrap_or(("???", "???"));
        let message = message.unwrap_or(short);
        let explain = explain.unwrap_or(long);
        self.errored = true;
        // The error page replaces a chunked response that had not started.
        self.reset_framing();
        self.log_error(format_args!("code {code}, message {message}"));
        self.send_response_with(code, Some(message))?;
        self.send_header("Connection", "close")?;
        for (name, value) in headers {
            self.send_header(name, value)?;
        }
        let mut body = Vec::new();
        if code >= 200 && !matches!(code, 204 | 205 | 304) {
            body = format_error_page(&self.shared.class.error_message_format, code, message, explain).into_bytes();
            let shared = self.shared.clone();
            self.send_header("Content-Type", &shared.class.error_content_type)?;
            self.send_header("Content-Length", body.len())?;
        }
        self.end_headers()?;
        if self.command != "HEAD" && !body.is_empty() {
            self.wfile().write_all(&body)?;
        }
        Ok(())
    }

    /// The 501 for a method without a `do_*` method:
    /// `send_error(501, "Unsupported method ('SPAM')")` (B49).
    pub fn send_unsupported_method(&mut self) -> io::Result<()> {
        let message = format!("Unsupported method ({})", repr(&self.command));
        self.send_error_explain(501, Some(&message), None)
    }

    /// `version_string()`: `server_version + " " + sys_version` (B56).
    pub fn version_string(&self) -> &str {
        &self.shared.class.version_string
    }

    /// `date_time_string(timestamp=None)` (B57); see [`crate::date_time_string`].
    pub fn date_time_string(&self, timestamp: Option<SystemTime>) -> String {
        crate::protocol::date::date_time_string(timestamp)
    }

    /// `log_date_time_string()` (B71); see [`crate::log_date_time_string`].
    pub fn log_date_time_string(&self) -> String {
        crate::protocol::date::log_date_time_string()
    }

    /// `address_string()`: the client's IP address, no name lookup (B72).
    pub fn address_string(&self) -> String {
        self.client_address.ip().to_string()
    }

    /// `log_message(format, *args)`: calls the handler type's `log_message`
    /// hook, e.g. `req.log_message(format_args!("saved {} bytes", n))`.
    pub fn log_message(&self, args: fmt::Arguments<'_>) {
        (self.shared.class.log_message)(self, args);
    }

    /// `log_error(format, *args)`: calls the `log_error` hook.
    pub fn log_error(&self, args: fmt::Arguments<'_>) {
        (self.shared.class.log_error)(self, args);
    }

    /// `log_request(code='-', size='-')`: calls the `log_request` hook.
    pub fn log_request(&self, code: Option<u16>, size: Option<u64>) {
        (self.shared.class.log_request)(self, code, size);
    }
}
