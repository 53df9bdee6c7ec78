//! Why a piece of client input is not acceptable.

/// Input that does not parse: an id, a principal ARN. Carries a stable
/// `code` and a message that never quotes the input (it could be a pasted
/// key).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidInput {
    /// Stable machine-readable code, e.g. `INVALID_KEY_ID`.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
}

impl InvalidInput {
    /// An error with `code` and `message`.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}
