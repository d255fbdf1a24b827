//! Expansion tests: the tokens the macro writes (what that code does is
//! tested over sockets in `tests/macro_dispatch.rs`, its errors in
//! `tests/ui`).

use proc_macro2::TokenStream;
use quote::quote;

fn expand(args: TokenStream, block: TokenStream) -> String {
    crate::run(args, block).to_string()
}

#[test]
fn dispatch_and_moved_items() {
    let out = expand(
        quote!(),
        quote! {
            impl Hello {
                pub const SERVER_VERSION: &str = "Hello/1.0";
                fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> { body() }
                fn helper(&self) {}
                pub fn log_message(req: &Request, args: std::fmt::Arguments<'_>) {}
            }
        },
    );
    let expected = quote! {
        impl Hello {
            #[allow(non_snake_case)]
            fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> { body() }
            fn helper(&self) {}
        }
        #[automatically_derived]
        #[allow(unused_qualifications)]
        impl ::basehttp::BaseHTTPRequestHandler for Hello {
            const METHODS: &'static [&'static str] = &["GET"];
            const SERVER_VERSION: &'static str = "Hello/1.0";
            fn log_message(req: &Request, args: std::fmt::Arguments<'_>) {}
            fn dispatch(&mut self, req: &mut ::basehttp::Request) -> ::basehttp::HandlerResult {
                match req.command.as_str() {
                    "GET" => ::basehttp::IntoHandlerResult::into_handler_result(Self::do_GET(self, req)),
                    _ => ::basehttp::IntoHandlerResult::into_handler_result(req.send_unsupported_method()),
                }
            }
        }
    };
    assert_eq!(out, expected.to_string());
}

#[test]
fn opt_ins() {
    let out = expand(
        quote!(auto_head, auto_options, method_not_allowed),
        quote! {
            impl App {
                fn do_POST(&mut self, req: &mut Request) {}
                fn do_GET(&mut self, req: &mut Request) {}
            }
        },
    );
    let methods = quote!(
        const METHODS: &'static [&'static str] = &["POST", "GET", "HEAD", "OPTIONS"];
    );
    assert!(out.contains(&methods.to_string()), "{out}");
    let head = quote! {
        "HEAD" => {
            req.discard_body(true);
            ::basehttp::IntoHandlerResult::into_handler_result(Self::do_GET(self, req))
        }
    };
    assert!(out.contains(&head.to_string()), "{out}");
    assert!(out.contains(&quote!(req.send_header("Allow", "POST, GET, HEAD, OPTIONS")?;).to_string()), "{out}");
    let not_allowed = quote!("PUT" | "DELETE" | "CONNECT" | "TRACE" => ::basehttp::IntoHandlerResult::into_handler_result(
        req.send_error_with_headers(405, ::core::option::Option::None, ::core::option::Option::None, &[("Allow", "POST, GET, HEAD, OPTIONS")]),
    ),);
    assert!(out.contains(&not_allowed.to_string()), "{out}");
}

#[test]
fn errors_come_with_the_block_and_a_stub() {
    let out = expand(
        quote!(),
        quote! {
            impl App {
                #[exact_method]
                fn do_GET(&mut self, req: &mut Request) {}
            }
        },
    );
    assert!(out.starts_with(":: core :: compile_error !"), "{out}");
    // The marker is gone; the method is back, unchanged otherwise.
    assert!(!out.contains("exact_method ]"), "{out}");
    assert!(
        out.contains(
            &quote!(
                fn do_GET(&mut self, req: &mut Request) {}
            )
            .to_string()
        ),
        "{out}"
    );
    let stub = quote! {
        impl ::basehttp::BaseHTTPRequestHandler for App {
            fn dispatch(&mut self, _: &mut ::basehttp::Request) -> ::basehttp::HandlerResult {
                ::core::unreachable!()
            }
        }
    };
    assert!(out.ends_with(&stub.to_string()), "{out}");
}

#[test]
fn a_generic_stub_assumes_the_traits_bounds() {
    let out = expand(
        quote!(),
        quote!(
            impl<T> App<T> {
                fn helper(&self) {}
            }
        ),
    );
    let stub =
        quote!(impl<T> ::basehttp::BaseHTTPRequestHandler for App<T> where Self: ::core::marker::Send + 'static,);
    assert!(out.contains(&stub.to_string()), "{out}");
}
