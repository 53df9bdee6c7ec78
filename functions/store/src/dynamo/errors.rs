//! Turning SDK failures into [`StoreError::Unavailable`].
//!
//! Every fault of the backend — an error response, throttling, a timeout, a
//! refused connection, a response that does not parse — becomes
//! `Unavailable` with text for the logs: the operation, then the service's
//! error code and message, or the SDK's own description of a transport
//! fault. The text never holds item contents: condition failures are mapped
//! to domain errors before this, and the items of this table hold hashes,
//! never plaintext keys.

use std::error::Error;
use std::fmt::Debug;

use aws_sdk_dynamodb::error::{BuildError, DisplayErrorContext, ProvideErrorMetadata, SdkError};
use keyplane_core::store::StoreError;

/// Longest service message kept in an error text.
const MAX_MESSAGE: usize = 300;

/// `Unavailable` for a failed call of `operation` (e.g. `"GetItem"`).
pub(super) fn sdk_error<E, R>(operation: &str, err: &SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + Error + 'static,
    R: Debug,
{
    let detail = match err {
        SdkError::ServiceError(_) => {
            let code = err.code().unwrap_or("unknown error code");
            match err.message() {
                Some(message) => format!("{code}: {}", truncate(message)),
                None => code.to_owned(),
            }
        }
        SdkError::TimeoutError(_) => format!("timed out ({})", DisplayErrorContext(err)),
        _ => DisplayErrorContext(err).to_string(),
    };
    StoreError::Unavailable(format!("DynamoDB {operation} failed: {detail}"))
}

/// `Unavailable` for a request the SDK refused to build (a bug here, not a
/// fault of the backend, but equally a reason nothing was written).
pub(super) fn build_error(err: BuildError) -> StoreError {
    StoreError::Unavailable(format!("cannot build a DynamoDB request: {err}"))
}

/// `Unavailable` for an item that does not decode.
pub(super) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("corrupt DynamoDB item: {what}"))
}

fn truncate(message: &str) -> &str {
    match message.char_indices().nth(MAX_MESSAGE) {
        Some((end, _)) => &message[..end],
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let long = "é".repeat(MAX_MESSAGE + 10);
        assert_eq!(truncate(&long).chars().count(), MAX_MESSAGE);
        assert_eq!(truncate("short"), "short");
    }
}
