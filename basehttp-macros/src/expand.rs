//! Code generation for a valid block: the inherent impl (the `do_` methods
//! and plain items) and the `BaseHTTPRequestHandler` impl (`METHODS`, the
//! moved class variables and hooks, and `dispatch`).

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{parse_quote, Attribute, ImplItem, ImplItemFn, ItemImpl, Visibility};

use crate::ast::{Handler, Member};
use crate::attr::Args;
use crate::runtime::{ConstType, STANDARD_METHODS};

pub(crate) fn handler(handler: Handler, args: &Args) -> TokenStream {
    let Handler { mut block, members } = handler;
    let mut methods: Vec<String> = Vec::new();
    let mut arms: Vec<TokenStream> = Vec::new();
    let mut trait_items: Vec<TokenStream> = Vec::new();
    for member in members {
        match member {
            Member::Do(method) => {
                let ident = &method.func.sig.ident;
                let literal = &method.method;
                // Located at the user's method, so a mismatch in the call is
                // reported there, but resolved here: `self` and `req` are
                // dispatch's even when a `macro_rules!` wrote the block.
                let span = Span::call_site().located_at(ident.span());
                arms.push(quote_spanned! {span=>
                    #literal => ::basehttp::IntoHandlerResult::into_handler_result(Self::#ident(self, req)),
                });
                methods.push(method.method.clone());
                if method.method == "GET" && args.auto_head.is_some() {
                    // RFC 9110 §9.3.2: HEAD is GET without the content.
                    arms.push(quote_spanned! {span=>
                        "HEAD" => {
                            req.discard_body(true);
                            ::basehttp::IntoHandlerResult::into_handler_result(Self::#ident(self, req))
                        }
                    });
                    methods.push("HEAD".to_owned());
                }
                block.items.push(ImplItem::Fn(allow_non_snake_case(method.func)));
            }
            Member::ClassVar(var) => {
                let mut item = var.item;
                item.vis = Visibility::Inherited;
                if var.ty == ConstType::Str {
                    // `&str` is accepted; a trait impl's const needs the lifetime spelt out.
                    item.ty = parse_quote!(&'static str);
                }
                trait_items.push(quote!(#item));
            }
            Member::Hook(hook) => {
                let mut func = hook.func;
                func.vis = Visibility::Inherited;
                trait_items.push(quote!(#func));
            }
            Member::Generated(item) | Member::Plain(item) => block.items.push(item),
        }
    }
    if args.auto_options.is_some() {
        methods.push("OPTIONS".to_owned());
    }
    let allow = methods.join(", ");
    if args.auto_options.is_some() {
        // RFC 9110 §9.3.7: `Allow`, and `Content-Length: 0` for no content.
        arms.push(quote! {
            "OPTIONS" => {
                req.send_response(200)?;
                req.send_header("Allow", #allow)?;
                req.send_header("Content-Length", "0")?;
                req.end_headers()?;
                ::core::result::Result::Ok(())
            }
        });
    }
    let unhandled: Vec<&str> = STANDARD_METHODS.iter().copied().filter(|m| !methods.iter().any(|h| h == m)).collect();
    if args.method_not_allowed.is_some() && !unhandled.is_empty() {
        arms.push(quote! {
            #(#unhandled)|* => ::basehttp::IntoHandlerResult::into_handler_result(
                req.send_error_with_headers(405, ::core::option::Option::None, ::core::option::Option::None, &[("Allow", #allow)]),
            ),
        });
    }
    let trait_impl = trait_impl(
        &block,
        quote! {
            const METHODS: &'static [&'static str] = &[#(#methods),*];
            #(#trait_items)*
            fn dispatch(&mut self, req: &mut ::basehttp::Request) -> ::basehttp::HandlerResult {
                match req.command.as_str() {
                    #(#arms)*
                    // B49: CPython's 501 for every method without a `do_` method.
                    _ => ::basehttp::IntoHandlerResult::into_handler_result(req.send_unsupported_method()),
                }
            }
        },
    );
    quote!(#block #trait_impl)
}

/// `impl BaseHTTPRequestHandler for <the block's type>` with `body`.
fn trait_impl(block: &ItemImpl, body: TokenStream) -> TokenStream {
    let (impl_generics, _, where_clause) = block.generics.split_for_impl();
    let self_ty = &block.self_ty;
    let cfgs = block.attrs.iter().filter(|a| a.path().is_ident("cfg"));
    // Spanned on the type: a type that is not `Send + 'static` is reported there.
    let span = Span::call_site().located_at(self_ty.span());
    let trait_path = quote_spanned!(span=> ::basehttp::BaseHTTPRequestHandler);
    quote! {
        #(#cfgs)*
        #[automatically_derived]
        #[allow(unused_qualifications)]
        impl #impl_generics #trait_path for #self_ty #where_clause {
            #body
        }
    }
}

/// Adds `#[allow(non_snake_case)]`: `do_GET` is Python's name and meant.
pub(crate) fn allow_non_snake_case(mut func: ImplItemFn) -> ImplItemFn {
    let allow: Attribute = parse_quote!(#[allow(non_snake_case)]);
    func.attrs.push(allow);
    func
}
