//! What a `do_*` method returns: [`HandlerResult`], and the conversion
//! that lets it return `()` or any `Result` whose error converts.

/// What a `do_*` method may fail with: any error (`io::Error` converts with
/// `?`). A failure before the response started answers 500 (DEV-5).
pub type HandlerError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The return type of `dispatch` and of `do_*` methods that can fail.
pub type HandlerResult = Result<(), HandlerError>;

/// Converts what a `do_*` method returns (`()`, or a `Result` whose error
/// converts into [`HandlerError`]) into a [`HandlerResult`].
pub trait IntoHandlerResult {
    /// The conversion.
    fn into_handler_result(self) -> HandlerResult;
}

impl IntoHandlerResult for () {
    fn into_handler_result(self) -> HandlerResult {
        Ok(())
    }
}

impl<E: Into<HandlerError>> IntoHandlerResult for Result<(), E> {
    fn into_handler_result(self) -> HandlerResult {
        self.map_err(Into::into)
    }
}
