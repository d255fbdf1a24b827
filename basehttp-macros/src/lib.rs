//! Implementation detail of the `basehttp` crate: the `#[http_handler]`
//! attribute. Depend on `basehttp` and use `basehttp::http_handler`.
//!
//! The macro runs in phases, one file each: `attr` (arguments and the
//! `#[exact_method]` marker), `ast` (the block sorted into `do_` methods,
//! class variables, hooks and plain items), `validate` and `signature` (the
//! rules, with `types` for recognising types from tokens), then `expand` (a
//! valid block) or `fallback` (a block with errors). `runtime` is what the
//! macro knows about the runtime's trait.

mod ast;
mod attr;
mod diag;
mod expand;
mod fallback;
mod runtime;
mod signature;
mod types;
mod validate;

use proc_macro::TokenStream;

#[doc = include_str!("http_handler.md")]
#[proc_macro_attribute]
pub fn http_handler(args: TokenStream, input: TokenStream) -> TokenStream {
    run(args.into(), input.into()).into()
}

/// The whole macro on `proc_macro2` tokens (unit-testable).
fn run(args: proc_macro2::TokenStream, input: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    let mut errors = diag::Errors::default();
    let args = attr::parse_args(args, &mut errors);
    let item = match syn::parse2::<syn::Item>(input.clone()) {
        Ok(item) => item,
        // Not an item at all: rustc's own error on the input says more.
        Err(_) => return input,
    };
    let block = match item {
        syn::Item::Impl(block) if block.trait_.is_none() => block,
        item => {
            let misplaced = validate::misplaced(&item);
            let error = match errors.finish() {
                Ok(()) => misplaced,
                Err(mut error) => {
                    error.combine(misplaced);
                    error
                }
            };
            return fallback::misplaced(item, error);
        }
    };
    let handler = ast::Handler::from_block(block, &mut errors);
    validate::handler(&handler, &args, &mut errors);
    match errors.finish() {
        Ok(()) => expand::handler(handler, &args),
        Err(error) => fallback::handler(handler, error),
    }
}

#[cfg(test)]
mod tests;
