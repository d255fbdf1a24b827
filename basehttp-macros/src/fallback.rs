//! On error (thiserror's `fallback.rs` technique): the macro's errors, the
//! user's code as written (so nothing it defines goes missing), and a stub
//! `BaseHTTPRequestHandler` impl (so `HTTPServer::new(..., App::default)`
//! raises no second, trait-bound error). The user sees only the macro's
//! errors.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::{Generics, ImplItem, Item, ItemImpl};

use crate::ast::{Handler, Member};
use crate::expand::allow_non_snake_case;

/// A block that broke a rule: its items back in place, unchanged but for
/// the stripped `#[exact_method]` markers.
pub(crate) fn handler(handler: Handler, error: syn::Error) -> TokenStream {
    let Handler { mut block, members } = handler;
    block.items.extend(members.into_iter().map(|member| match member {
        Member::Do(method) => ImplItem::Fn(allow_non_snake_case(method.func)),
        Member::ClassVar(var) => ImplItem::Const(var.item),
        Member::Hook(hook) => ImplItem::Fn(hook.func),
        Member::Generated(item) | Member::Plain(item) => item,
    }));
    let stub = stub(&block.generics, &block.self_ty, handler_trait());
    let error = error.into_compile_error();
    quote!(#error #block #stub)
}

/// The attribute on something else than an inherent impl block.
pub(crate) fn misplaced(item: Item, error: syn::Error) -> TokenStream {
    let error = error.into_compile_error();
    match item {
        Item::Impl(mut block) if is_handler_trait_impl(&block) => {
            // Its `do_` methods are no members of the trait: as inherent
            // items they raise no further error. The stub names the trait
            // as the user did, so their import stays used.
            let path = block.trait_.take().map(|(_, path, _)| path);
            block.items = block.items.into_iter().map(allow_do).collect();
            let stub = stub(&block.generics, &block.self_ty, quote!(#path));
            quote!(#error #block #stub)
        }
        Item::Impl(block) => {
            let stub = stub(&block.generics, &block.self_ty, handler_trait());
            quote!(#error #block #stub)
        }
        Item::Struct(ref s) => type_stub(error, &item, &s.ident, &s.generics),
        Item::Enum(ref e) => type_stub(error, &item, &e.ident, &e.generics),
        Item::Union(ref u) => type_stub(error, &item, &u.ident, &u.generics),
        other => quote!(#error #other),
    }
}

fn type_stub(error: TokenStream, item: &Item, ident: &syn::Ident, generics: &Generics) -> TokenStream {
    let (_, ty_generics, _) = generics.split_for_impl();
    let stub = stub(generics, quote!(#ident #ty_generics), handler_trait());
    quote!(#error #item #stub)
}

fn is_handler_trait_impl(block: &ItemImpl) -> bool {
    let last = block.trait_.as_ref().and_then(|(_, path, _)| path.segments.last());
    last.is_some_and(|s| s.ident == "BaseHTTPRequestHandler")
}

fn allow_do(item: ImplItem) -> ImplItem {
    match item {
        ImplItem::Fn(f) if f.sig.ident.to_string().starts_with("do_") => ImplItem::Fn(allow_non_snake_case(f)),
        other => other,
    }
}

fn handler_trait() -> TokenStream {
    quote!(::basehttp::BaseHTTPRequestHandler)
}

/// An impl of `trait_path` whose `dispatch` is never called (the program
/// does not compile).
fn stub(generics: &Generics, self_ty: impl ToTokens, trait_path: TokenStream) -> TokenStream {
    let (impl_generics, _, where_clause) = generics.split_for_impl();
    let predicates = where_clause.map(|w| w.predicates.iter());
    // The trait's `Send + 'static`, assumed: the stub must not fail for
    // reasons the user has not seen yet. (Not for a plain type: a false bound
    // without type parameters is itself an error.)
    let assumed = (!generics.params.is_empty()).then(|| quote!(Self: ::core::marker::Send + 'static,));
    let where_clause = match (predicates, assumed) {
        (None, None) => quote!(),
        (predicates, assumed) => {
            let predicates = predicates.into_iter().flatten();
            quote!(where #(#predicates,)* #assumed)
        }
    };
    quote! {
        #[automatically_derived]
        #[allow(unused_qualifications)]
        impl #impl_generics #trait_path for #self_ty #where_clause {
            fn dispatch(&mut self, _: &mut ::basehttp::Request) -> ::basehttp::HandlerResult {
                ::core::unreachable!()
            }
        }
    }
}
