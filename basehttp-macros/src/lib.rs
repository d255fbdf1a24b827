//! Implementation detail of the `basehttp` crate: the `#[http_handler]`
//! attribute. Depend on `basehttp` and use `basehttp::http_handler`.

use proc_macro::TokenStream;

/// Placeholder until the macro lands (issue 3): re-emits its input unchanged.
#[proc_macro_attribute]
pub fn http_handler(_args: TokenStream, input: TokenStream) -> TokenStream {
    input
}
