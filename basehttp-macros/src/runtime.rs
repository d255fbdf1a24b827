//! What the macro knows about the runtime's `BaseHTTPRequestHandler` trait
//! (`basehttp/src/handler.rs`) and about HTTP method names. Update this file
//! when the trait gains a class variable or a hook.

/// The type of a class-variable const.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConstType {
    /// `&'static str`.
    Str,
    /// `Option<std::time::Duration>`.
    OptionDuration,
    /// `basehttp::Profile`.
    Profile,
}

impl ConstType {
    /// How the type is written in the trait, for messages.
    pub(crate) fn display(self) -> &'static str {
        match self {
            ConstType::Str => "&'static str",
            ConstType::OptionDuration => "Option<std::time::Duration>",
            ConstType::Profile => "basehttp::Profile",
        }
    }
}

/// The class variables an annotated block may override, with their types
/// (Python's `protocol_version`, `server_version`, ...).
pub(crate) const CLASS_VARIABLES: &[(&str, ConstType)] = &[
    ("PROTOCOL_VERSION", ConstType::Str),
    ("DEFAULT_REQUEST_VERSION", ConstType::Str),
    ("SERVER_VERSION", ConstType::Str),
    ("SYS_VERSION", ConstType::Str),
    ("ERROR_MESSAGE_FORMAT", ConstType::Str),
    ("ERROR_CONTENT_TYPE", ConstType::Str),
    ("TIMEOUT", ConstType::OptionDuration),
    ("PROFILE", ConstType::Profile),
];

/// The type of a hook parameter.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Param {
    /// `&Request`.
    Request,
    /// `&mut Request`.
    RequestMut,
    /// `std::fmt::Arguments<'_>`.
    Arguments,
    /// `Option<u16>`.
    OptionU16,
    /// `Option<u64>`.
    OptionU64,
}

impl Param {
    /// How the type is written, for messages.
    pub(crate) fn display(self) -> &'static str {
        match self {
            Param::Request => "&Request",
            Param::RequestMut => "&mut Request",
            Param::Arguments => "std::fmt::Arguments<'_>",
            Param::OptionU16 => "Option<u16>",
            Param::OptionU64 => "Option<u64>",
        }
    }
}

/// The return type of a hook.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Return {
    /// Nothing.
    Unit,
    /// `std::io::Result<bool>`.
    IoResultBool,
}

/// A hook: an associated function of the trait that a block may override.
pub(crate) struct Hook {
    pub(crate) name: &'static str,
    pub(crate) params: &'static [Param],
    pub(crate) ret: Return,
    /// The signature as users write it, for messages.
    pub(crate) signature: &'static str,
}

pub(crate) const HOOKS: &[Hook] = &[
    Hook {
        name: "log_message",
        params: &[Param::Request, Param::Arguments],
        ret: Return::Unit,
        signature: "fn log_message(req: &Request, args: std::fmt::Arguments<'_>)",
    },
    Hook {
        name: "log_error",
        params: &[Param::Request, Param::Arguments],
        ret: Return::Unit,
        signature: "fn log_error(req: &Request, args: std::fmt::Arguments<'_>)",
    },
    Hook {
        name: "log_request",
        params: &[Param::Request, Param::OptionU16, Param::OptionU64],
        ret: Return::Unit,
        signature: "fn log_request(req: &Request, code: Option<u16>, size: Option<u64>)",
    },
    Hook {
        name: "handle_expect_100",
        params: &[Param::RequestMut],
        ret: Return::IoResultBool,
        signature: "fn handle_expect_100(req: &mut Request) -> std::io::Result<bool>",
    },
];

/// Trait items the macro writes itself: a block must not define them.
pub(crate) const GENERATED_CONST: &str = "METHODS";
pub(crate) const GENERATED_FN: &str = "dispatch";

/// The prefix of a method that answers an HTTP method (Python's `do_GET`).
pub(crate) const DO_PREFIX: &str = "do_";

/// The methods RFC 9110 §9 defines, the ones `method_not_allowed` answers
/// 405 for.
pub(crate) const STANDARD_METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE"];

/// RFC 9110 §5.6.2 `tchar`, the characters of a method token.
pub(crate) fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}
