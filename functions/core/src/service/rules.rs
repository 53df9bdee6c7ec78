//! Input and state rules shared by the key use cases.

use chrono::{DateTime, Utc};

use crate::key::{KeyRecord, KeyStatus};
use crate::Error;

pub(crate) fn page_limit(limit: Option<usize>) -> Result<usize, Error> {
    match limit {
        None => Ok(50),
        Some(n @ 1..=100) => Ok(n),
        Some(_) => Err(Error::invalid(
            "INVALID_LIMIT",
            "limit must be between 1 and 100",
        )),
    }
}

/// An expiry must lie in the future.
pub(crate) fn validate_expiry(
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    match expires_at {
        Some(at) if at <= now => Err(Error::invalid(
            "EXPIRY_IN_PAST",
            "expires_at must be in the future",
        )),
        _ => Ok(()),
    }
}

/// Revocation is final: nothing changes a revoked key.
pub(crate) fn refuse_if_revoked(key: &KeyRecord) -> Result<(), Error> {
    if key.status == KeyStatus::Revoked {
        return Err(Error::conflict(
            "KEY_REVOKED",
            "the key is revoked; revocation is final",
        ));
    }
    Ok(())
}
