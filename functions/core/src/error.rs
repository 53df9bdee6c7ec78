//! The one error type of the use cases. Each error carries a stable,
//! machine-readable `code` that clients can branch on; the HTTP edge maps the
//! [`ErrorKind`] to a status and renders RFC 9457 problem details.
//!
//! Messages never contain key material: they are built from ids, field names
//! and limits only.

use crate::store::StoreError;

/// The broad class of an error, which decides the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is malformed or breaks a rule (400/422).
    Invalid,
    /// No or bad credentials (401).
    Unauthenticated,
    /// The caller is known but may not do this (403).
    Forbidden,
    /// The target does not exist, or the caller may not know it exists (404).
    NotFound,
    /// The target's state forbids the change, or a concurrent change won (409).
    Conflict,
    /// A quota would be exceeded (429 is wrong here: retrying does not help; 409).
    QuotaExceeded,
    /// The store failed or timed out; nothing is known to have changed (503).
    Unavailable,
}

/// A use-case error with a stable code and a human-readable message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    /// The broad class, for the HTTP status.
    pub kind: ErrorKind,
    /// Stable machine-readable code, e.g. `NAME_TOO_LONG`.
    pub code: &'static str,
    /// Human-readable explanation, safe to show to the caller.
    pub message: String,
}

impl Error {
    /// An error of `kind` with `code` and `message`.
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            code,
            message: message.into(),
        }
    }

    /// Bad input.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, code, message)
    }

    /// The caller lacks the rights for this action.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, code, message)
    }

    /// The target's state does not allow this.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, code, message)
    }

    /// A missing `what` (e.g. "organization") named by `id`.
    pub fn not_found(code: &'static str, what: &str, id: &str) -> Self {
        Self::new(
            ErrorKind::NotFound,
            code,
            format!("{what} '{id}' does not exist or is not visible to you"),
        )
    }
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::VersionConflict => Error::conflict(
                "VERSION_CONFLICT",
                "the resource was changed by another request; read it again and retry",
            ),
            StoreError::MembershipChanged => Error::conflict(
                "MEMBERSHIP_CHANGED",
                "your membership changed while this request ran; nothing was written, retry to act on your current rights",
            ),
            StoreError::AlreadyExists => {
                Error::conflict("ALREADY_EXISTS", "the resource already exists")
            }
            StoreError::QuotaExceeded { quota } => Error::new(
                ErrorKind::QuotaExceeded,
                "KEY_QUOTA_EXCEEDED",
                format!("the organization already has its maximum of {quota} keys; revoke unused keys or ask a platform admin to raise the quota"),
            ),
            StoreError::NotFound => Error::new(
                ErrorKind::NotFound,
                "NOT_FOUND",
                "the resource does not exist",
            ),
            StoreError::IdempotencyReplay(_) => Error::conflict(
                "IDEMPOTENCY_KEY_REUSED",
                "this Idempotency-Key was already used",
            ),
            StoreError::Unavailable(reason) => {
                // The reason is logged by the adapter; callers only learn that
                // the store is unavailable, never its internals.
                tracing::error!(%reason, "store unavailable");
                Error::new(
                    ErrorKind::Unavailable,
                    "STORE_UNAVAILABLE",
                    "the key store is unavailable; nothing was changed, retry later",
                )
            }
        }
    }
}

impl From<keyplane_api::InvalidInput> for Error {
    fn from(err: keyplane_api::InvalidInput) -> Self {
        Error::invalid(err.code, err.message)
    }
}
