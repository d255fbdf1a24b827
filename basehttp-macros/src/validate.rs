//! The rules of an `#[http_handler]` block, each a short check with an exact
//! span: where the attribute sits, `do_` method names, class-variable types,
//! generated items, and misused arguments. Signatures are in `signature`.

use quote::{quote, ToTokens};
use syn::{ImplItem, Item, Type};

use crate::ast::{DoMethod, Handler, Member};
use crate::attr::{Args, EXACT_METHOD};
use crate::diag::{error, Errors};
use crate::runtime::{is_tchar, ConstType, CLASS_VARIABLES, STANDARD_METHODS};
use crate::signature;
use crate::types::is_const_type;

/// Checks a block; every problem goes to `errors`.
pub(crate) fn handler(handler: &Handler, args: &Args, errors: &mut Errors) {
    if handler.do_methods().next().is_none() {
        let block = &handler.block;
        let (impl_token, self_ty) = (&block.impl_token, &block.self_ty);
        let help = match misnamed(handler) {
            Some((ident, method)) => format!("did you mean to name `{ident}` `do_{method}`?"),
            None => "add a method named after the HTTP method it answers, e.g. \
                     `fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()>`"
                .to_owned(),
        };
        errors.push(error(quote!(#impl_token #self_ty), "`#[http_handler]` found no `do_` method in this block", help));
    }
    for member in &handler.members {
        match member {
            Member::Do(method) => {
                method_name(method, errors);
                signature::do_method(method, errors);
            }
            Member::ClassVar(var) => const_type(&var.item.ident, &var.item.ty, var.ty, errors),
            Member::Hook(hook) => signature::hook(hook, errors),
            Member::Generated(item) => generated(item, errors),
            Member::Plain(ImplItem::Const(item)) => python_spelling(&item.ident, errors),
            Member::Plain(_) => {}
        }
    }
    arguments(handler, args, errors);
}

/// A method that looks meant to answer a standard method (`get`, `doGet`,
/// `DO_GET`), for the "no `do_` method" help.
fn misnamed(handler: &Handler) -> Option<(&syn::Ident, &'static str)> {
    handler.members.iter().find_map(|member| {
        let Member::Plain(ImplItem::Fn(func)) = member else { return None };
        let upper = func.sig.ident.to_string().to_ascii_uppercase();
        let bare = upper.strip_prefix("DO").unwrap_or(&upper).trim_start_matches('_');
        STANDARD_METHODS.iter().find(|m| **m == bare).map(|m| (&func.sig.ident, *m))
    })
}

/// The suffix of `do_` must be an RFC 9110 method token, in upper case
/// unless `#[exact_method]` says the case is meant.
fn method_name(method: &DoMethod, errors: &mut Errors) {
    let (ident, name, suffix) = (&method.func.sig.ident, &method.name, &method.method);
    if suffix.is_empty() {
        errors.push(error(
            ident,
            "`do_` names no HTTP method",
            "append the method it answers, in upper case, e.g. `do_GET`",
        ));
    } else if let Some(c) = suffix.chars().find(|&c| !is_tchar(c)) {
        errors.push(error(
            ident,
            format!("`{name}` does not name an HTTP method: `{c}` cannot appear in one"),
            "a method is an RFC 9110 token (§5.6.2): ASCII letters, digits, `_` and `!#$%&'*+-.^`|~`, e.g. `do_GET`",
        ));
    } else if suffix.chars().any(|c| c.is_ascii_lowercase()) {
        if method.exact.is_none() {
            errors.push(error(
                ident,
                format!("`{name}` would only answer requests whose method is literally `{suffix}`"),
                format!(
                    "HTTP methods are case-sensitive (RFC 9110 §9.1): did you mean `do_{}`? \
                     To answer `{suffix}` on purpose, put `#[{EXACT_METHOD}]` on this method",
                    suffix.to_ascii_uppercase()
                ),
            ));
        }
    } else if let Some(attr) = &method.exact {
        errors.push(error(
            attr,
            format!("`#[{EXACT_METHOD}]` is only for a lower- or mixed-case method"),
            format!("`{name}` answers exactly `{suffix}` already: remove the attribute"),
        ));
    }
}

/// A class-variable override has the trait's type.
fn const_type(ident: &syn::Ident, ty: &Type, expected: ConstType, errors: &mut Errors) {
    if is_const_type(ty, expected) {
        return;
    }
    let example = match expected {
        ConstType::Str => "\"...\"",
        ConstType::OptionDuration => "Some(std::time::Duration::from_secs(30))",
        ConstType::Profile => "basehttp::Profile::Rfc9112",
    };
    errors.push(error(
        ty,
        format!("the class variable `{ident}` has type `{}`", expected.display()),
        format!("write `const {ident}: {} = {example};`", expected.display()),
    ));
}

/// `METHODS` and `dispatch` are the macro's.
fn generated(item: &ImplItem, errors: &mut Errors) {
    match item {
        ImplItem::Const(c) => errors.push(error(
            &c.ident,
            "`METHODS` is generated by `#[http_handler]`",
            "it lists the `do_` methods in source order: remove this const",
        )),
        ImplItem::Fn(f) => errors.push(error(
            &f.sig.ident,
            "`dispatch` is generated by `#[http_handler]`",
            "it calls the `do_` method named after the request's method: remove this method, or remove \
             `#[http_handler]` and implement `BaseHTTPRequestHandler` by hand",
        )),
        _ => {}
    }
}

/// `const protocol_version` is Python's spelling of `PROTOCOL_VERSION`: as
/// an inherent const it would silently change nothing.
fn python_spelling(ident: &syn::Ident, errors: &mut Errors) {
    let upper = ident.to_string().to_ascii_uppercase();
    if ident != &upper && CLASS_VARIABLES.iter().any(|(name, _)| *name == upper) {
        errors.push(error(
            ident,
            format!("`{ident}` is Python's spelling: this const would not override the class variable"),
            format!("rename it to `{upper}`"),
        ));
    }
}

/// Arguments that would do nothing, or cannot work, for this block.
fn arguments(handler: &Handler, args: &Args, errors: &mut Errors) {
    if let Some(arg) = &args.auto_head {
        if handler.handles("HEAD") {
            errors.push(error(
                arg,
                "`auto_head` would never run: this block has `do_HEAD`",
                "remove `auto_head`, or remove `do_HEAD` to answer HEAD with `do_GET`'s headers",
            ));
        } else if !handler.handles("GET") {
            errors.push(error(
                arg,
                "`auto_head` needs a `do_GET` method",
                "automatic HEAD runs `do_GET` and drops the body: add `do_GET`, or remove `auto_head`",
            ));
        }
    }
    if let Some(arg) = &args.auto_options {
        if handler.handles("OPTIONS") {
            errors.push(error(
                arg,
                "`auto_options` would never run: this block has `do_OPTIONS`",
                "remove `auto_options`, or remove `do_OPTIONS` to answer OPTIONS with the `Allow` list",
            ));
        }
    }
    if let Some(arg) = &args.method_not_allowed {
        let handled = |m: &&str| {
            handler.handles(m)
                || (*m == "HEAD" && args.auto_head.is_some())
                || (*m == "OPTIONS" && args.auto_options.is_some())
        };
        if STANDARD_METHODS.iter().all(handled) {
            errors.push(error(
                arg,
                "`method_not_allowed` would never answer: every RFC 9110 method has a `do_` method",
                "remove `method_not_allowed`",
            ));
        }
    }
}

/// The error for `#[http_handler]` on anything but an inherent `impl` block.
pub(crate) fn misplaced(item: &Item) -> syn::Error {
    match item {
        Item::Impl(block) => {
            let path = block.trait_.as_ref().map(|(_, path, _)| path);
            let ty = type_name(&block.self_ty);
            if path.and_then(|p| p.segments.last()).is_some_and(|s| s.ident == "BaseHTTPRequestHandler") {
                error(
                    path,
                    "`#[http_handler]` writes the `BaseHTTPRequestHandler` impl itself",
                    format!(
                        "put the attribute on an inherent block, `impl {ty} {{ ... }}`, holding the `do_` methods; \
                         or keep this hand-written impl and remove `#[http_handler]`"
                    ),
                )
            } else {
                let (impl_token, (_, path, for_token)) =
                    (&block.impl_token, block.trait_.as_ref().expect("trait impl"));
                error(
                    quote!(#impl_token #path #for_token),
                    "`#[http_handler]` goes on an inherent `impl` block, not on a trait impl",
                    format!("put it on `impl {ty} {{ ... }}`, the block that holds the `do_` methods"),
                )
            }
        }
        Item::Struct(s) => on_type(s.struct_token.to_token_stream(), &s.ident, "a struct"),
        Item::Enum(e) => on_type(e.enum_token.to_token_stream(), &e.ident, "an enum"),
        Item::Union(u) => on_type(u.union_token.to_token_stream(), &u.ident, "a union"),
        Item::Fn(f) => {
            let (fn_token, ident) = (&f.sig.fn_token, &f.sig.ident);
            error(
                quote!(#fn_token #ident),
                "`#[http_handler]` goes on an `impl` block, not on a function",
                "a handler is a type: put this function in `impl MyHandler { ... }`, named after the HTTP method \
                 it answers (`fn do_GET(&mut self, req: &mut Request)`), and put `#[http_handler]` on that block",
            )
        }
        other => error(
            other,
            "`#[http_handler]` goes on an inherent `impl` block",
            "put it on `impl MyHandler { ... }`, the block that holds the `do_GET`-style methods",
        ),
    }
}

fn on_type(keyword: proc_macro2::TokenStream, ident: &syn::Ident, what: &str) -> syn::Error {
    error(
        quote!(#keyword #ident),
        format!("`#[http_handler]` goes on an `impl` block, not on {what}"),
        format!("move it to the block that holds the `do_` methods: `#[http_handler] impl {ident} {{ ... }}`"),
    )
}

/// `App` for `App`, `crate::App` or `App<T>`; a placeholder otherwise.
fn type_name(ty: &Type) -> String {
    crate::types::last_segment(ty).map_or_else(|| "YourType".to_owned(), |s| s.ident.to_string())
}
