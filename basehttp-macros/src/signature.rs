//! Signature rules: the shapes of `do_` methods and hooks the generated impl
//! can call (receiver, parameters, return type, qualifiers).

use quote::quote;
use syn::{FnArg, Ident, PatType, ReturnType, Signature, Type};

use crate::ast::{DoMethod, HookFn};
use crate::diag::{error, error_at, Errors};
use crate::runtime::Return;
use crate::types::{is_param_type, is_result_of_bool, is_unit, last_segment, request_ref, type_args};

const DO_RETURN_HELP: &str = "a `do_` method answers through `req` and returns nothing, `std::io::Result<()>` \
    or `basehttp::HandlerResult` (any `Result<(), E>` whose `E` converts into `basehttp::HandlerError`)";

/// `fn do_X(&mut self, req: &mut Request) [-> Result<(), E>]`.
pub(crate) fn do_method(method: &DoMethod, errors: &mut Errors) {
    let sig = &method.func.sig;
    let name = &method.name;
    let canonical = format!("fn {name}(&mut self, req: &mut Request)");
    qualifiers(
        sig,
        name,
        &canonical,
        "the runtime calls `do_` methods synchronously, one connection per thread",
        errors,
    );

    let mut params: Vec<&PatType> = typed(sig).collect();
    match sig.inputs.first() {
        Some(FnArg::Receiver(receiver)) => {
            let borrowed = receiver.reference.is_some()
                || matches!(&*receiver.ty, Type::Reference(r) if last_segment(&r.elem).is_some_and(|s| s.ident == "Self"));
            if !borrowed {
                errors.push(error(
                    receiver,
                    format!("`{name}` must borrow `self`"),
                    format!(
                        "the handler serves every request of its connection, so each call borrows it: `{canonical}`"
                    ),
                ));
            }
        }
        _ => {
            errors.push(error_at(
                sig.paren_token.span.join(),
                format!("`{name}` has no `self` receiver"),
                format!("the dispatch calls it on the connection's handler: `{canonical}`"),
            ));
            // A `req` written in the receiver's place is still the request.
        }
    }
    if params.is_empty() {
        errors.push(error_at(
            sig.paren_token.span.join(),
            format!("`{name}` does not take the request"),
            format!("add the parameter: `{canonical}`"),
        ));
    } else {
        let req = params.remove(0);
        match request_ref(&req.ty) {
            Some(true) => {}
            Some(false) => errors.push(error(
                &req.ty,
                format!("`{name}` needs `&mut Request`"),
                "the response is written through the request (`req.send_response(200)`), which needs a mutable borrow",
            )),
            None => errors.push(error(
                &req.ty,
                "expected `&mut Request`",
                format!("the parameter of a `do_` method is the request: `{canonical}`"),
            )),
        }
    }
    if !params.is_empty() {
        errors.push(error(
            quote!(#(#params),*),
            format!("`{name}` takes one parameter, the request"),
            "remove the others: keep per-connection state in fields of `self`, and state shared by all \
             connections in the server (`HTTPServer::set_state`, read with `req.server().state()`)",
        ));
    }
    if let ReturnType::Type(_, ty) = &sig.output {
        if is_unit(ty) {
            return;
        }
        match last_segment(ty).filter(|s| s.ident.to_string().ends_with("Result")) {
            Some(segment) => {
                if let Some(ok) = type_args(segment).first().filter(|ok| !is_unit(ok)) {
                    errors.push(error(ok, format!("the `Ok` type of `{name}` must be `()`"), DO_RETURN_HELP));
                }
            }
            None => errors.push(error(ty, format!("`{name}` returns a type the runtime cannot use"), DO_RETURN_HELP)),
        }
    }
}

/// A hook's signature is the trait's, without `self`.
pub(crate) fn hook(hook: &HookFn, errors: &mut Errors) {
    let sig = &hook.func.sig;
    let (name, expected) = (&sig.ident, hook.hook);
    let signature = expected.signature;
    qualifiers(sig, name, signature, "hooks are called synchronously", errors);
    if let Some(FnArg::Receiver(receiver)) = sig.inputs.first() {
        errors.push(error(
            receiver,
            format!("the hook `{name}` takes no `self`"),
            format!(
                "hooks run inside response calls made while a `do_` method holds `&mut self`, \
                 so they get the request instead: `{signature}`"
            ),
        ));
    }
    let params: Vec<&PatType> = typed(sig).collect();
    if params.len() != expected.params.len() {
        let n = expected.params.len();
        errors.push(error_at(
            sig.paren_token.span.join(),
            format!("`{name}` takes {n} parameter{}, found {}", if n == 1 { "" } else { "s" }, params.len()),
            format!("the hook's signature is `{signature}`"),
        ));
    } else {
        for (param, want) in params.iter().zip(expected.params) {
            if !is_param_type(&param.ty, *want) {
                errors.push(error(
                    &param.ty,
                    format!("expected `{}`", want.display()),
                    format!("the hook's signature is `{signature}`"),
                ));
            }
        }
    }
    match (&sig.output, expected.ret) {
        (ReturnType::Default, Return::Unit) => {}
        (ReturnType::Type(_, ty), Return::Unit) if is_unit(ty) => {}
        (ReturnType::Type(_, ty), Return::Unit) => errors.push(error(
            ty,
            format!("`{name}` returns nothing"),
            format!("the hook's signature is `{signature}`"),
        )),
        (ReturnType::Type(_, ty), Return::IoResultBool) if is_result_of_bool(ty) => {}
        (output, Return::IoResultBool) => {
            let help = format!(
                "return `Ok(true)` to go on to the `do_` method, or `Ok(false)` after sending an error \
                 (e.g. `req.send_error(417)`): `{signature}`"
            );
            let message = format!("`{name}` must return `std::io::Result<bool>`");
            errors.push(match output {
                ReturnType::Type(_, ty) => error(ty, message, help),
                ReturnType::Default => error_at(sig.paren_token.span.join(), message, help),
            });
        }
    }
}

/// `async`, `unsafe` and generics, which no generated call can handle.
fn qualifiers(sig: &Signature, name: &Ident, signature: &str, why_sync: &str, errors: &mut Errors) {
    if let Some(token) = &sig.asyncness {
        errors.push(error(
            token,
            format!("`{name}` cannot be `async`"),
            format!("{why_sync}: remove `async` (block on a future inside if you must)"),
        ));
    }
    if let Some(token) = &sig.unsafety {
        errors.push(error(
            token,
            format!("`{name}` cannot be `unsafe`"),
            "the generated code calls it as a safe function: remove `unsafe`, and use an `unsafe` block inside",
        ));
    }
    let generics = &sig.generics;
    if !generics.params.is_empty() || generics.where_clause.is_some() {
        let where_clause = &generics.where_clause;
        errors.push(error(
            quote!(#generics #where_clause),
            format!("`{name}` cannot be generic"),
            format!("the generated code calls it with one signature, `{signature}`: remove the generic parameters"),
        ));
    }
}

/// The typed parameters (all but the receiver).
fn typed(sig: &Signature) -> impl Iterator<Item = &PatType> {
    sig.inputs.iter().filter_map(|arg| match arg {
        FnArg::Typed(t) => Some(t),
        FnArg::Receiver(_) => None,
    })
}
