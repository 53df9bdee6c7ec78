//! How a transaction body stops early.
//!
//! `StoreError` belongs to the core and redb's errors to redb, so `?` cannot
//! convert one into the other directly; this local wrapper carries the
//! conversions. Backend faults become [`StoreError::Unavailable`] with redb's
//! own message, which never holds key material (the store holds only hashes).

use keyplane_core::store::StoreError;

/// A [`StoreError`] on its way out of a transaction body.
#[derive(Debug)]
pub(super) struct Failure(pub(super) StoreError);

/// What transaction bodies return.
pub(super) type TxResult<T> = Result<T, Failure>;

impl From<StoreError> for Failure {
    fn from(err: StoreError) -> Self {
        Self(err)
    }
}

impl From<Failure> for StoreError {
    fn from(failure: Failure) -> Self {
        failure.0
    }
}

/// A backend fault, with a message for the logs.
pub(super) fn unavailable(message: impl Into<String>) -> Failure {
    Failure(StoreError::Unavailable(message.into()))
}

macro_rules! backend_faults {
    ($($err:ty),* $(,)?) => {$(
        impl From<$err> for Failure {
            fn from(err: $err) -> Self {
                unavailable(format!("redb: {err}"))
            }
        }
    )*};
}

backend_faults!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
);
