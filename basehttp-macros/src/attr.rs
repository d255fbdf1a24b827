//! Attribute parsing: the arguments of `#[http_handler(...)]` and the
//! `#[exact_method]` marker the macro strips from `do_` methods.

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Attribute, Ident, Meta, Token};

use crate::diag::{error, error_at, Errors};

/// The opt-ins of `#[http_handler(...)]`, each with the identifier that
/// turned it on (errors about its misuse point there).
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) auto_head: Option<Ident>,
    pub(crate) auto_options: Option<Ident>,
    pub(crate) method_not_allowed: Option<Ident>,
}

const ARGUMENTS: &[&str] = &["auto_head", "auto_options", "method_not_allowed"];

const ARGUMENTS_HELP: &str = "the arguments are `auto_head` (HEAD answered by `do_GET`), \
    `auto_options` (OPTIONS answered with `Allow`) and `method_not_allowed` (405 for standard methods)";

/// The marker on a `do_` method whose lower- or mixed-case suffix is meant.
pub(crate) const EXACT_METHOD: &str = "exact_method";

/// Parses `#[http_handler(...)]`'s arguments; problems go to `errors` and
/// the arguments understood so far are kept.
pub(crate) fn parse_args(tokens: TokenStream, errors: &mut Errors) -> Args {
    let mut args = Args::default();
    let list = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(tokens) {
        Ok(list) => list,
        Err(e) => {
            errors.push(error_at(e.span(), "expected the name of an `#[http_handler]` argument", ARGUMENTS_HELP));
            return args;
        }
    };
    for meta in list {
        let ident = match meta.path().get_ident() {
            Some(ident) => ident.clone(),
            None => {
                errors.push(error(meta.path(), "unknown `#[http_handler]` argument", ARGUMENTS_HELP));
                continue;
            }
        };
        let slot = match ident.to_string().as_str() {
            "auto_head" => &mut args.auto_head,
            "auto_options" => &mut args.auto_options,
            "method_not_allowed" => &mut args.method_not_allowed,
            other => {
                let message = format!("unknown `#[http_handler]` argument `{other}`");
                let help = match closest(other) {
                    Some(known) => format!("did you mean `{known}`? {ARGUMENTS_HELP}"),
                    None => ARGUMENTS_HELP.to_owned(),
                };
                errors.push(error(&ident, message, help));
                continue;
            }
        };
        if !matches!(meta, Meta::Path(_)) {
            let message = format!("`{ident}` takes no value");
            errors.push(error(
                &meta,
                message,
                format!("write `#[http_handler({ident})]` to turn it on, and leave it out to keep it off"),
            ));
        } else if slot.is_some() {
            errors.push(error(&ident, format!("`{ident}` is given twice"), "remove the repeated argument"));
        }
        slot.get_or_insert(ident);
    }
    args
}

/// The known argument a misspelt one most likely meant.
fn closest(name: &str) -> Option<&'static str> {
    let name = name.to_ascii_lowercase();
    ARGUMENTS.iter().copied().find(|known| known.contains(name.as_str()) && name.len() >= 4).or_else(|| {
        let (distance, known) = ARGUMENTS.iter().map(|known| (edit_distance(&name, known), *known)).min()?;
        (distance <= known.len() / 3).then_some(known)
    })
}

/// Levenshtein distance.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

/// Removes every `#[exact_method]` from `attrs` (it is not a real attribute:
/// left in, rustc would reject it) and returns the first one.
pub(crate) fn take_exact_method(attrs: &mut Vec<Attribute>, errors: &mut Errors) -> Option<Attribute> {
    let (markers, rest): (Vec<Attribute>, Vec<Attribute>) =
        std::mem::take(attrs).into_iter().partition(|attr| attr.path().is_ident(EXACT_METHOD));
    *attrs = rest;
    let mut markers = markers.into_iter();
    let first = markers.next()?;
    if !matches!(first.meta, Meta::Path(_)) {
        errors.push(error(
            &first,
            "`#[exact_method]` takes no value",
            "the method is the `do_` method's suffix, as written: write `#[exact_method]`",
        ));
    }
    for repeated in markers {
        errors.push(error(repeated, "`#[exact_method]` is given twice", "remove the repeated attribute"));
    }
    Some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(closest("auto_haed"), Some("auto_head"));
        assert_eq!(closest("head"), Some("auto_head"));
        assert_eq!(closest("options"), Some("auto_options"));
        assert_eq!(closest("method_not_alowed"), Some("method_not_allowed"));
        assert_eq!(closest("not_allowed"), Some("method_not_allowed"));
        assert_eq!(closest("strict"), None);
    }
}
