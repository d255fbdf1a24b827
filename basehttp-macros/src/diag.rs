//! Compile errors: every problem is one `syn::Error` on the offending
//! tokens, carrying a rule and a `help` line, and all problems of one block
//! are reported together (serde_derive's `Ctxt`), so one compile shows the
//! user everything to fix.

use std::fmt::Display;

use proc_macro2::Span;
use quote::ToTokens;

/// One error: `message`, then `= help: help` on the next line (stable
/// proc macros cannot attach a real `help:` note, so it is part of the text).
pub(crate) fn error(tokens: impl ToTokens, message: impl Display, help: impl Display) -> syn::Error {
    syn::Error::new_spanned(tokens, format!("{message}\n= help: {help}"))
}

/// [`error`] on a span rather than on tokens.
pub(crate) fn error_at(span: Span, message: impl Display, help: impl Display) -> syn::Error {
    syn::Error::new(span, format!("{message}\n= help: {help}"))
}

/// The errors found so far in one `#[http_handler]` block.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// `Ok` if nothing was pushed, else every error as one `syn::Error`.
    pub(crate) fn finish(self) -> Result<(), syn::Error> {
        self.0.map_or(Ok(()), Err)
    }
}
