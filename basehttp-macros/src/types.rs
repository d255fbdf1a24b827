//! Type tests on tokens: a proc macro sees how a type is written, not what
//! it is, so the runtime's types are recognised by their last path segment
//! (`Request`, `basehttp::Request`; `io::Result<bool>`, `Result<bool, E>`).
//! Whatever slips through is still type-checked by rustc in the generated
//! impl.

use syn::{GenericArgument, PathArguments, PathSegment, Type};

use crate::runtime::{ConstType, Param};

/// `ty` without invisible groups and parentheses.
fn strip(mut ty: &Type) -> &Type {
    loop {
        match ty {
            Type::Group(g) => ty = &g.elem,
            Type::Paren(p) => ty = &p.elem,
            _ => return ty,
        }
    }
}

/// The last segment of a plain path type (`a::b::C<T>` → `C<T>`).
pub(crate) fn last_segment(ty: &Type) -> Option<&PathSegment> {
    match strip(ty) {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
        _ => None,
    }
}

/// The type arguments of a segment (`Result<(), E>` → `()`, `E`).
pub(crate) fn type_args(segment: &PathSegment) -> Vec<&Type> {
    match &segment.arguments {
        PathArguments::AngleBracketed(a) => a
            .args
            .iter()
            .filter_map(|arg| match arg {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A path type named `name` with no type arguments.
fn is_plain(ty: &Type, name: &str) -> bool {
    last_segment(ty).is_some_and(|s| s.ident == name && type_args(s).is_empty())
}

/// `name<T>` with `T` accepted by `inner`.
fn is_generic(ty: &Type, name: &str, inner: impl Fn(&Type) -> bool) -> bool {
    last_segment(ty).is_some_and(|s| s.ident == name && matches!(type_args(s).as_slice(), [t] if inner(t)))
}

/// `()`.
pub(crate) fn is_unit(ty: &Type) -> bool {
    matches!(strip(ty), Type::Tuple(t) if t.elems.is_empty())
}

/// `&Request` (`Some(false)`) or `&mut Request` (`Some(true)`).
pub(crate) fn request_ref(ty: &Type) -> Option<bool> {
    match strip(ty) {
        Type::Reference(r) if is_plain(&r.elem, "Request") => Some(r.mutability.is_some()),
        _ => None,
    }
}

/// `&str` or `&'static str`.
fn is_str_ref(ty: &Type) -> bool {
    match strip(ty) {
        Type::Reference(r) => {
            r.mutability.is_none()
                && r.lifetime.as_ref().map_or(true, |l| l.ident == "static")
                && matches!(strip(&r.elem), Type::Path(p) if p.qself.is_none() && p.path.is_ident("str"))
        }
        _ => false,
    }
}

/// Whether `ty` is written as the class variable type `expected`.
pub(crate) fn is_const_type(ty: &Type, expected: ConstType) -> bool {
    match expected {
        ConstType::Str => is_str_ref(ty),
        ConstType::OptionDuration => is_generic(ty, "Option", |t| is_plain(t, "Duration")),
        ConstType::Profile => is_plain(ty, "Profile"),
    }
}

/// Whether `ty` is written as the hook parameter type `expected`.
pub(crate) fn is_param_type(ty: &Type, expected: Param) -> bool {
    match expected {
        Param::Request => request_ref(ty) == Some(false),
        Param::RequestMut => request_ref(ty) == Some(true),
        Param::Arguments => last_segment(ty).is_some_and(|s| s.ident == "Arguments" && type_args(s).is_empty()),
        Param::OptionU16 => is_generic(ty, "Option", |t| is_plain(t, "u16")),
        Param::OptionU64 => is_generic(ty, "Option", |t| is_plain(t, "u64")),
    }
}

/// `io::Result<bool>` or `Result<bool, E>`.
pub(crate) fn is_result_of_bool(ty: &Type) -> bool {
    last_segment(ty).is_some_and(|s| s.ident == "Result" && type_args(s).first().is_some_and(|t| is_plain(t, "bool")))
}
