//! The store-maintained part of a key: credits left and last use.
//!
//! Kept apart from the key record (as a separate DynamoDB item would be) so
//! that `update_key`, which rewrites the whole record, never overwrites a
//! concurrent spend or usage report.

use chrono::{DateTime, Utc};
use keyplane_core::id::KeyId;
use keyplane_core::key::KeyRecord;
use redb::WriteTransaction;
use serde::{Deserialize, Serialize};

use super::codec::{encode, read};
use super::failure::TxResult;
use super::tables::KEY_STATS;

/// Credits left and last use of one key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct KeyStats {
    /// `None` for an unmetered key.
    pub(super) credits_remaining: Option<u64>,
    pub(super) last_used_at: Option<DateTime<Utc>>,
}

impl KeyStats {
    /// The stats of a key just created: all its credits, never used.
    pub(super) fn fresh(key: &KeyRecord) -> Self {
        Self {
            credits_remaining: key.credits,
            last_used_at: None,
        }
    }

    /// `key` as the trait returns it: the record with these stats in it.
    pub(super) fn merge_into(self, key: KeyRecord) -> KeyRecord {
        KeyRecord {
            credits_remaining: self.credits_remaining,
            last_used_at: self.last_used_at,
            ..key
        }
    }
}

/// `key` as stored: without the stats, which live in their own table, so the
/// key table never holds a stale copy of them.
pub(super) fn strip(key: &KeyRecord) -> KeyRecord {
    KeyRecord {
        credits_remaining: None,
        last_used_at: None,
        ..key.clone()
    }
}

/// Reads the stats of `key`; `None` if the key does not exist (the stats
/// item is written with the key, and keys are never deleted).
pub(super) fn load(txn: &WriteTransaction, key: &KeyId) -> TxResult<Option<KeyStats>> {
    read(&txn.open_table(KEY_STATS)?, key.as_str())
}

/// Writes the stats of `key`.
pub(super) fn save(txn: &WriteTransaction, key: &KeyId, stats: &KeyStats) -> TxResult<()> {
    txn.open_table(KEY_STATS)?
        .insert(key.as_str(), encode(stats)?.as_slice())?;
    Ok(())
}
