//! Validators and conditional requests (RFC 9110 §8.8, §13): the `ETag`
//! and `Last-Modified` of a file, `If-None-Match`, `If-Modified-Since` and
//! `If-Range`.

use std::fs::Metadata;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::protocol::headers::HTTPMessage;

/// The validators of one file.
#[derive(Debug)]
pub(crate) struct Validators {
    /// `"<size hex>-<mtime nanoseconds hex>"`: changes when the file is
    /// rewritten with another size or modification time, which is what a
    /// static file server can know without reading the file. Served as a
    /// strong tag (`If-Range` accepts it).
    pub(crate) etag: String,
    /// The modification time truncated to whole seconds (HTTP dates have
    /// no fractions), if it is between 1970 and 9999 (`httpdate`'s range).
    pub(crate) last_modified: Option<SystemTime>,
}

/// Years up to 9999 (`httpdate` refuses later times).
const MAX_HTTP_DATE: Duration = Duration::from_secs(253_402_300_799);

impl Validators {
    pub(crate) fn of(meta: &Metadata) -> Self {
        let since_epoch = meta.modified().ok().and_then(|m| m.duration_since(UNIX_EPOCH).ok());
        let nanos = since_epoch.map_or(0, |d| d.as_nanos());
        let etag = format!("\"{:x}-{:x}\"", meta.len(), nanos);
        let last_modified =
            since_epoch.filter(|d| *d <= MAX_HTTP_DATE).map(|d| UNIX_EPOCH + Duration::from_secs(d.as_secs()));
        Validators { etag, last_modified }
    }

    /// Whether a `GET`/`HEAD` is answered `304 Not Modified`:
    /// `If-None-Match` when present (weak comparison, `*` matches), else
    /// `If-Modified-Since` (RFC 9110 §13.2.2: the former overrides the
    /// latter, as CPython also does).
    pub(crate) fn not_modified(&self, headers: &HTTPMessage) -> bool {
        if headers.contains("If-None-Match") {
            return headers.get_all("If-None-Match").any(|v| self.none_match_hits(v));
        }
        let (Some(since), Some(modified)) = (single(headers, "If-Modified-Since"), self.last_modified) else {
            return false;
        };
        // CPython ignores ill-formed dates; httpdate reads the three HTTP
        // formats, all in GMT.
        httpdate::parse_http_date(since).is_ok_and(|since| modified <= since)
    }

    fn none_match_hits(&self, value: &str) -> bool {
        if value.trim() == "*" {
            return true;
        }
        let mine = opaque(&self.etag);
        EntityTags(value).any(|tag| opaque(tag) == mine)
    }

    /// `If-Range` (RFC 9110 §13.1.5): the range applies only when the
    /// validator is this file's strong `ETag` or exactly its
    /// `Last-Modified` date. Without `If-Range`, it applies.
    pub(crate) fn range_applies(&self, headers: &HTTPMessage) -> bool {
        let Some(value) = headers.get("If-Range").map(str::trim) else { return true };
        if value.starts_with('"') {
            return value == self.etag;
        }
        if value.starts_with("W/") {
            return false; // a weak tag never matches strongly
        }
        match (httpdate::parse_http_date(value), self.last_modified) {
            (Ok(date), Some(modified)) => date == modified,
            _ => false,
        }
    }
}

/// The value of a field that must appear once (RFC 9110 §13.1.3: several
/// `If-Modified-Since` values are ignored).
fn single<'a>(headers: &'a HTTPMessage, name: &'a str) -> Option<&'a str> {
    let mut values = headers.get_all(name);
    match (values.next(), values.next()) {
        (Some(v), None) => Some(v),
        _ => None,
    }
}

/// An entity tag without its weakness prefix (weak comparison).
fn opaque(tag: &str) -> &str {
    tag.strip_prefix("W/").unwrap_or(tag)
}

/// The entity tags of a list such as `W/"a", "b,c"` (a quoted tag may hold
/// commas). Stops at the first malformed element.
struct EntityTags<'a>(&'a str);

impl<'a> Iterator for EntityTags<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.0.trim_start_matches([' ', '\t', ',']);
        let body_at = if rest.starts_with("W/") { 2 } else { 0 };
        let after = rest[body_at..].strip_prefix('"')?;
        let close = after.find('"')?;
        let len = body_at + 1 + close + 1;
        self.0 = &rest[len..];
        Some(&rest[..len])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(etag: &str, modified: u64) -> Validators {
        Validators { etag: etag.into(), last_modified: Some(UNIX_EPOCH + Duration::from_secs(modified)) }
    }

    fn headers(fields: &[(&str, &str)]) -> HTTPMessage {
        let mut h = HTTPMessage::new();
        for (n, val) in fields {
            h.push(*n, *val);
        }
        h
    }

    #[test]
    fn entity_tag_lists() {
        let tags: Vec<_> = EntityTags(r#" "a", W/"b,c" ,,"d""#).collect();
        assert_eq!(tags, [r#""a""#, r#"W/"b,c""#, r#""d""#]);
        assert_eq!(EntityTags(r#""a", junk, "b""#).count(), 1);
    }

    #[test]
    fn if_none_match() {
        let val = v("\"1-2\"", 784111777);
        assert!(val.not_modified(&headers(&[("If-None-Match", "\"x\", W/\"1-2\"")])));
        assert!(val.not_modified(&headers(&[("If-None-Match", "*")])));
        assert!(val.not_modified(&headers(&[("If-None-Match", "\"x\""), ("If-None-Match", "\"1-2\"")])));
        // If-None-Match present and not matching: If-Modified-Since is ignored.
        let ims = "Sun, 06 Nov 1994 08:49:37 GMT";
        assert!(!val.not_modified(&headers(&[("If-None-Match", "\"x\""), ("If-Modified-Since", ims)])));
        assert!(val.not_modified(&headers(&[("If-Modified-Since", ims)])));
        assert!(val.not_modified(&headers(&[("If-Modified-Since", "Sunday, 06-Nov-94 08:49:38 GMT")])));
        assert!(!val.not_modified(&headers(&[("If-Modified-Since", "Sun, 06 Nov 1994 08:49:36 GMT")])));
        assert!(!val.not_modified(&headers(&[("If-Modified-Since", "yesterday")])));
    }

    #[test]
    fn if_range() {
        let val = v("\"1-2\"", 784111777);
        assert!(val.range_applies(&headers(&[])));
        assert!(val.range_applies(&headers(&[("If-Range", "\"1-2\"")])));
        assert!(!val.range_applies(&headers(&[("If-Range", "W/\"1-2\"")])));
        assert!(!val.range_applies(&headers(&[("If-Range", "\"1-3\"")])));
        assert!(val.range_applies(&headers(&[("If-Range", "Sun, 06 Nov 1994 08:49:37 GMT")])));
        assert!(!val.range_applies(&headers(&[("If-Range", "Sun, 06 Nov 1994 08:49:38 GMT")])));
    }
}
