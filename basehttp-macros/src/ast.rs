//! The model (syn → model): an annotated `impl` block's items sorted into
//! what the macro treats differently. Sorting goes by name only; the rules
//! are checked in `validate`.

use syn::ext::IdentExt;
use syn::{Attribute, Ident, ImplItem, ImplItemConst, ImplItemFn, ItemImpl};

use crate::attr::{take_exact_method, EXACT_METHOD};
use crate::diag::{error, Errors};
use crate::runtime::{ConstType, Hook, CLASS_VARIABLES, DO_PREFIX, GENERATED_CONST, GENERATED_FN, HOOKS};

/// An inherent `impl` block under `#[http_handler]`.
pub(crate) struct Handler {
    /// The block without its items (they are in `members`).
    pub(crate) block: ItemImpl,
    /// The items, in source order.
    pub(crate) members: Vec<Member>,
}

pub(crate) enum Member {
    /// `fn do_GET`: answers an HTTP method; stays inherent.
    Do(DoMethod),
    /// `const PROTOCOL_VERSION`: moves into the trait impl.
    ClassVar(ClassVar),
    /// `fn log_message`: moves into the trait impl.
    Hook(HookFn),
    /// `const METHODS` or `fn dispatch`: the macro writes those (an error).
    Generated(ImplItem),
    /// Anything else: stays inherent.
    Plain(ImplItem),
}

pub(crate) struct DoMethod {
    pub(crate) func: ImplItemFn,
    /// The method's name without `r#`.
    pub(crate) name: Ident,
    /// The HTTP method: the name after `do_`.
    pub(crate) method: String,
    /// `#[exact_method]`, if given.
    pub(crate) exact: Option<Attribute>,
}

pub(crate) struct ClassVar {
    pub(crate) item: ImplItemConst,
    pub(crate) ty: ConstType,
}

pub(crate) struct HookFn {
    pub(crate) func: ImplItemFn,
    pub(crate) hook: &'static Hook,
}

impl Handler {
    /// Sorts the items of `block` (an inherent impl). A misplaced
    /// `#[exact_method]` is reported here, since the marker is removed here.
    pub(crate) fn from_block(mut block: ItemImpl, errors: &mut Errors) -> Self {
        let members =
            std::mem::take(&mut block.items).into_iter().map(|item| Member::from_item(item, errors)).collect();
        Handler { block, members }
    }

    pub(crate) fn do_methods(&self) -> impl Iterator<Item = &DoMethod> {
        self.members.iter().filter_map(|m| match m {
            Member::Do(d) => Some(d),
            _ => None,
        })
    }

    /// Whether a `do_` method answers `method` (exactly as spelt).
    pub(crate) fn handles(&self, method: &str) -> bool {
        self.do_methods().any(|d| d.method == method)
    }
}

impl Member {
    fn from_item(mut item: ImplItem, errors: &mut Errors) -> Self {
        let exact = match &mut item {
            ImplItem::Fn(f) => take_exact_method(&mut f.attrs, errors),
            ImplItem::Const(c) => take_exact_method(&mut c.attrs, errors),
            ImplItem::Type(t) => take_exact_method(&mut t.attrs, errors),
            ImplItem::Macro(m) => take_exact_method(&mut m.attrs, errors),
            _ => None,
        };
        let member = match item {
            ImplItem::Fn(func) => {
                let name = func.sig.ident.unraw();
                let text = name.to_string();
                if let Some(method) = text.strip_prefix(DO_PREFIX) {
                    let method = method.to_owned();
                    return Member::Do(DoMethod { func, name, method, exact });
                }
                match HOOKS.iter().find(|h| h.name == text) {
                    Some(hook) => Member::Hook(HookFn { func, hook }),
                    None if text == GENERATED_FN => Member::Generated(ImplItem::Fn(func)),
                    None => Member::Plain(ImplItem::Fn(func)),
                }
            }
            ImplItem::Const(item) => {
                let text = item.ident.unraw().to_string();
                match CLASS_VARIABLES.iter().find(|(name, _)| *name == text) {
                    Some(&(_, ty)) => Member::ClassVar(ClassVar { item, ty }),
                    None if text == GENERATED_CONST => Member::Generated(ImplItem::Const(item)),
                    None => Member::Plain(ImplItem::Const(item)),
                }
            }
            other => Member::Plain(other),
        };
        if let Some(attr) = exact {
            errors.push(error(
                attr,
                format!("`#[{EXACT_METHOD}]` belongs on a `do_` method"),
                "it marks a `do_` method whose lower- or mixed-case suffix is the exact HTTP method to answer; remove it here",
            ));
        }
        member
    }
}
