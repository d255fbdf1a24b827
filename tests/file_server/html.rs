//! The directory listing read as HTML: tokenized by `html5gum` (a WHATWG
//! tokenizer, so character references are decoded the way a browser
//! decodes them and every tokenizer parse error is reported), with the
//! element nesting checked on top.

use html5gum::{Token, Tokenizer};

/// What a listing page says, as a browser would read it.
#[derive(Debug, Default)]
pub struct Listing {
    pub title: String,
    pub h1: String,
    /// `(href, link text)` of every `<a>`, in page order.
    pub links: Vec<(String, String)>,
}

const VOID: &[&str] = &["meta", "hr", "br", "img", "input", "link"];

/// Parses `page`, panicking on any parse error, a doctype other than
/// `<!DOCTYPE html>` (no quirks mode), a misnested or unclosed element,
/// or an `<a>` outside `<li>`.
pub fn parse_listing(page: &str) -> Listing {
    let mut listing = Listing::default();
    let mut open: Vec<String> = Vec::new();
    let mut saw_doctype = false;
    let mut href: Option<String> = None;
    let mut text = String::new();
    for token in Tokenizer::new(page) {
        let token = token.unwrap_or_else(|never| match never {});
        match token {
            Token::Error(e) => panic!("HTML parse error {:?} in:\n{page}", e.value),
            Token::Doctype(d) => {
                assert!(!saw_doctype && open.is_empty(), "doctype must come first");
                assert_eq!(&d.name[..], b"html");
                assert!(!d.force_quirks && d.public_identifier.is_none() && d.system_identifier.is_none());
                saw_doctype = true;
            }
            Token::StartTag(tag) => {
                let name = String::from_utf8(tag.name.to_vec()).unwrap();
                assert!(saw_doctype, "<{name}> before the doctype");
                assert!(!tag.self_closing, "<{name}/> is not HTML");
                if name == "a" {
                    assert_eq!(open.last().map(String::as_str), Some("li"), "<a> must sit in <li>");
                    let (_, h) = tag.attributes.iter().find(|(k, _)| &k[..] == b"href").expect("<a> without href");
                    href = Some(String::from_utf8(h.value.to_vec()).unwrap());
                    text.clear();
                }
                if matches!(name.as_str(), "title" | "h1") {
                    text.clear();
                }
                if !VOID.contains(&name.as_str()) {
                    open.push(name);
                }
            }
            Token::EndTag(tag) => {
                let name = String::from_utf8(tag.name.to_vec()).unwrap();
                assert_eq!(open.pop().as_deref(), Some(name.as_str()), "misnested </{name}>");
                match name.as_str() {
                    "title" => listing.title = std::mem::take(&mut text),
                    "h1" => listing.h1 = std::mem::take(&mut text),
                    "a" => listing.links.push((href.take().unwrap(), std::mem::take(&mut text))),
                    _ => {}
                }
            }
            Token::String(s) => {
                let s = String::from_utf8(s.value.to_vec()).unwrap();
                if open.is_empty() {
                    assert!(s.trim().is_empty(), "text outside <html>: {s:?}");
                }
                text.push_str(&s);
            }
            Token::Comment(_) => {}
        }
    }
    assert!(saw_doctype, "no doctype");
    assert!(open.is_empty(), "unclosed elements: {open:?}");
    listing
}
