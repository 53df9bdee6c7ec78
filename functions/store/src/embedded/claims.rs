//! Claims of signed requests (see `KeyStore::claim_request`): one row per
//! digest with its expiry, and the same claims ordered by expiry so that
//! each claim sweeps a few expired ones away. redb runs one write
//! transaction at a time, so of concurrent claims of a digest exactly one
//! finds none.

use redb::{ReadableTable, WriteTransaction};

use super::failure::TxResult;
use super::tables::{REQUEST_CLAIMS, REQUEST_CLAIMS_BY_EXPIRY};

/// Expired claims removed per claim: enough to outpace the claims made,
/// little enough to keep every claim cheap.
const SWEEP: usize = 16;

/// Claims `digest` until `expires_at` unless a claim live at `now` exists
/// (times in epoch seconds); `true` if claimed.
pub(super) fn claim(
    txn: &WriteTransaction,
    digest: &str,
    now: i64,
    expires_at: i64,
) -> TxResult<bool> {
    let mut claims = txn.open_table(REQUEST_CLAIMS)?;
    let mut by_expiry = txn.open_table(REQUEST_CLAIMS_BY_EXPIRY)?;

    let expired: Vec<(i64, String)> = by_expiry
        .range::<(i64, &str)>(..(now.saturating_add(1), ""))?
        .take(SWEEP)
        .map(|entry| entry.map(|(key, _)| (key.value().0, key.value().1.to_owned())))
        .collect::<Result<_, _>>()?;
    for (expiry, swept) in &expired {
        by_expiry.remove((*expiry, swept.as_str()))?;
        claims.remove(swept.as_str())?;
    }

    let existing = claims.get(digest)?.map(|expiry| expiry.value());
    if let Some(expiry) = existing {
        if expiry > now {
            return Ok(false);
        }
        by_expiry.remove((expiry, digest))?;
    }
    claims.insert(digest, expires_at)?;
    by_expiry.insert((expires_at, digest), ())?;
    Ok(true)
}

/// Removes the claim of `digest`, if any.
pub(super) fn release(txn: &WriteTransaction, digest: &str) -> TxResult<()> {
    let mut claims = txn.open_table(REQUEST_CLAIMS)?;
    let removed = claims.remove(digest)?.map(|expiry| expiry.value());
    if let Some(expiry) = removed {
        txn.open_table(REQUEST_CLAIMS_BY_EXPIRY)?
            .remove((expiry, digest))?;
    }
    Ok(())
}
