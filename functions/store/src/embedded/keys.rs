//! Keys, their secret items, and idempotency records.

use keyplane_core::audit::AuditEvent;
use keyplane_core::id::{KeyId, OrgId};
use keyplane_core::key::{KeyRecord, KeyType, SecretRecord};
use keyplane_core::key_format::KeyHash;
use keyplane_core::principal::Principal;
use keyplane_core::store::{
    IdempotencyRecord, KeyQuery, KeyUpdate, MemberFence, NewKey, Page, StoreError,
};
use redb::{ReadTransaction, ReadableTable, WriteTransaction};

use super::audit;
use super::codec::{decode, encode, read};
use super::cursor::{newest_first, Position};
use super::failure::TxResult;
use super::stats::{self, KeyStats};
use super::tables::{IDEMPOTENCY, KEYS, KEYS_BY_ORG, KEY_STATS, SECRETS};
use super::tenancy;

/// An owned [`NewKey`], to move onto the blocking pool.
#[derive(Debug)]
pub(super) struct Creation {
    key: KeyRecord,
    secret: SecretRecord,
    audit: AuditEvent,
    idempotency: Option<IdempotencyRecord>,
    fence: Option<MemberFence>,
}

impl From<NewKey<'_>> for Creation {
    fn from(new: NewKey<'_>) -> Self {
        Self {
            key: new.key.clone(),
            secret: new.secret.clone(),
            audit: new.audit.clone(),
            idempotency: new.idempotency.cloned(),
            fence: new.fence.cloned(),
        }
    }
}

/// An owned [`KeyUpdate`], to move onto the blocking pool.
#[derive(Debug)]
pub(super) struct Update {
    key: KeyRecord,
    expected_version: u64,
    put_secrets: Vec<SecretRecord>,
    delete_secrets: Vec<KeyHash>,
    release_quota: bool,
    audit: AuditEvent,
    idempotency: Option<IdempotencyRecord>,
    fence: Option<MemberFence>,
}

impl From<KeyUpdate<'_>> for Update {
    fn from(update: KeyUpdate<'_>) -> Self {
        Self {
            key: update.key.clone(),
            expected_version: update.expected_version,
            put_secrets: update.put_secrets.to_vec(),
            delete_secrets: update.delete_secrets.to_vec(),
            release_quota: update.release_quota,
            audit: update.audit.clone(),
            idempotency: update.idempotency.cloned(),
            fence: update.fence.cloned(),
        }
    }
}

/// Where a key sits in its organization's listing.
fn position(key: &KeyRecord) -> Position {
    Position::new(key.created_at, key.id.as_str())
}

/// Creates a key with everything that goes with it.
///
/// The checks run in the order that gives the most useful answer: a replay
/// first (a retried request must get its key back even when the quota has
/// filled up since), then existence, then the quota.
pub(super) fn create(txn: &WriteTransaction, new: &Creation) -> TxResult<()> {
    let key = &new.key;
    refuse_replay(txn, new.idempotency.as_ref(), key.created_at.timestamp())?;
    let mut org = tenancy::require_org(txn, &key.organization_id)?;
    tenancy::check_fence(txn, new.fence.as_ref())?;
    let mut keys = txn.open_table(KEYS)?;
    let mut secrets = txn.open_table(SECRETS)?;
    if keys.get(key.id.as_str())?.is_some() || secrets.get(new.secret.hash.as_bytes())?.is_some() {
        return Err(StoreError::AlreadyExists.into());
    }
    if org.key_count >= org.key_quota {
        return Err(StoreError::QuotaExceeded {
            quota: org.key_quota,
        }
        .into());
    }
    org.key_count += 1;
    tenancy::save_org(txn, &org)?;

    keys.insert(key.id.as_str(), encode(&stats::strip(key))?.as_slice())?;
    secrets.insert(new.secret.hash.as_bytes(), encode(&new.secret)?.as_slice())?;
    stats::save(txn, &key.id, &KeyStats::fresh(key))?;
    txn.open_table(KEYS_BY_ORG)?
        .insert(position(key).key(key.organization_id.as_str()), ())?;
    audit::append(txn, &new.audit)?;
    remember(txn, new.idempotency.as_ref())
}

/// Refuses a token whose record is still live at `now` (epoch seconds). A
/// record past its ttl is expired and gets replaced, as DynamoDB TTL would
/// eventually delete it.
fn refuse_replay(
    txn: &WriteTransaction,
    record: Option<&IdempotencyRecord>,
    now: i64,
) -> TxResult<()> {
    let Some(record) = record else {
        return Ok(());
    };
    let idempotency = txn.open_table(IDEMPOTENCY)?;
    let slot = (record.principal.as_str(), record.token.as_str());
    let existing: Option<IdempotencyRecord> = read(&idempotency, slot)?;
    match existing {
        Some(existing) if existing.ttl > now => Err(StoreError::IdempotencyReplay(existing).into()),
        _ => Ok(()),
    }
}

fn remember(txn: &WriteTransaction, record: Option<&IdempotencyRecord>) -> TxResult<()> {
    if let Some(record) = record {
        txn.open_table(IDEMPOTENCY)?.insert(
            (record.principal.as_str(), record.token.as_str()),
            encode(record)?.as_slice(),
        )?;
    }
    Ok(())
}

pub(super) fn get(txn: &ReadTransaction, id: &KeyId) -> TxResult<Option<KeyRecord>> {
    let keys = txn.open_table(KEYS)?;
    let stats = txn.open_table(KEY_STATS)?;
    load_merged(&keys, &stats, id.as_str())
}

/// Reads a key and merges its stats into it.
fn load_merged(
    keys: &impl ReadableTable<&'static str, &'static [u8]>,
    stats: &impl ReadableTable<&'static str, &'static [u8]>,
    id: &str,
) -> TxResult<Option<KeyRecord>> {
    let Some(key) = read::<_, KeyRecord>(keys, id)? else {
        return Ok(None);
    };
    let stats: KeyStats = read(stats, id)?.unwrap_or_default();
    Ok(Some(stats.merge_into(key)))
}

/// Applies an update if the stored version is still the expected one.
///
/// The record's `credits_remaining` and `last_used_at` are ignored: the
/// stats table keeps the real ones. Secrets are written before the deletes
/// are applied, so a hash named in both ends up deleted.
pub(super) fn update(txn: &WriteTransaction, update: &Update) -> TxResult<()> {
    let key = &update.key;
    refuse_replay(txn, update.idempotency.as_ref(), key.updated_at.timestamp())?;
    tenancy::check_fence(txn, update.fence.as_ref())?;
    let mut keys = txn.open_table(KEYS)?;
    let stored: KeyRecord = match keys.get(key.id.as_str())? {
        Some(guard) => decode(guard.value())?,
        None => return Err(StoreError::NotFound.into()),
    };
    if stored.version != update.expected_version {
        return Err(StoreError::VersionConflict.into());
    }
    keys.insert(key.id.as_str(), encode(&stats::strip(key))?.as_slice())?;
    drop(keys);

    // Creation time and organization never change in practice; should they,
    // the listing index follows.
    let (old_position, new_position) = (position(&stored), position(key));
    if old_position != new_position || stored.organization_id != key.organization_id {
        let mut index = txn.open_table(KEYS_BY_ORG)?;
        index.remove(old_position.key(stored.organization_id.as_str()))?;
        index.insert(new_position.key(key.organization_id.as_str()), ())?;
    }

    let mut secrets = txn.open_table(SECRETS)?;
    for secret in &update.put_secrets {
        secrets.insert(secret.hash.as_bytes(), encode(secret)?.as_slice())?;
    }
    for hash in &update.delete_secrets {
        secrets.remove(hash.as_bytes())?;
    }
    drop(secrets);

    audit::append(txn, &update.audit)?;
    if update.release_quota {
        let mut org = tenancy::require_org(txn, &stored.organization_id)?;
        org.key_count = org.key_count.saturating_sub(1);
        tenancy::save_org(txn, &org)?;
    }
    remember(txn, update.idempotency.as_ref())
}

/// Lists an organization's keys newest first, filtering while scanning the
/// index so that a page holds `limit` matching keys whenever there are that
/// many.
pub(super) fn list(txn: &ReadTransaction, query: &KeyQuery) -> TxResult<Page<KeyRecord>> {
    let index = txn.open_table(KEYS_BY_ORG)?;
    let keys = txn.open_table(KEYS)?;
    let stats = txn.open_table(KEY_STATS)?;
    newest_first(
        &index,
        query.organization_id.as_str(),
        query.cursor.as_deref(),
        query.limit,
        |id, ()| {
            let key = load_merged(&keys, &stats, id)?;
            Ok(key.filter(|key| matches(query, key)))
        },
    )
}

fn matches(query: &KeyQuery, key: &KeyRecord) -> bool {
    query
        .workspace_id
        .as_ref()
        .is_none_or(|ws| key.scope.covers(ws))
        && query.status.is_none_or(|status| key.status == status)
        && query
            .created_by
            .as_ref()
            .is_none_or(|principal| &key.created_by == principal)
}

/// A creator's personal keys: one read transaction sees every committed key.
pub(super) fn personal_keys(
    txn: &ReadTransaction,
    org: &OrgId,
    principal: &Principal,
) -> TxResult<Vec<KeyRecord>> {
    let query = KeyQuery {
        organization_id: org.clone(),
        workspace_id: None,
        status: None,
        created_by: Some(principal.clone()),
        cursor: None,
        limit: 100,
    };
    let mut found = Vec::new();
    let mut cursor = None;
    loop {
        let page = list(
            txn,
            &KeyQuery {
                cursor,
                ..query.clone()
            },
        )?;
        found.extend(
            page.items
                .into_iter()
                .filter(|k| k.key_type == KeyType::Personal),
        );
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(found),
        }
    }
}

/// The verify read: one lookup in one table.
pub(super) fn get_secret(txn: &ReadTransaction, hash: &KeyHash) -> TxResult<Option<SecretRecord>> {
    read(&txn.open_table(SECRETS)?, hash.as_bytes())
}

pub(super) fn get_idempotency(
    txn: &ReadTransaction,
    principal: &Principal,
    token: &str,
) -> TxResult<Option<IdempotencyRecord>> {
    read(&txn.open_table(IDEMPOTENCY)?, (principal.as_str(), token))
}
