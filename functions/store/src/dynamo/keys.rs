//! Keys, their secret items, and idempotency records.

use std::collections::HashSet;

use aws_sdk_dynamodb::types::TransactWriteItem;
use keyplane_core::id::KeyId;
use keyplane_core::key::{KeyRecord, KeyType, SecretRecord};
use keyplane_core::key_format::KeyHash;
use keyplane_core::principal::Principal;
use keyplane_core::store::{IdempotencyRecord, KeyUpdate, MemberFence, NewKey, StoreError};

use super::codec::{from_doc, n, s, string, Expr, Item};
use super::items::{self, primary_key};
use super::schema::{
    idempotency_pk, key_pk, org_pk, secret_pk, IDEMPOTENCY_SK, KEY_COUNT, KEY_QUOTA, KEY_SK,
    ORG_SK, PK, SECRET_SK, SK, STATS_SK, TTL, VERSION,
};
use super::txn::{self, absent, exists, transact, Cancelled, Condition};
use super::DynamoStore;

/// The fixed items of `create_key`'s transaction, in the order sent: the
/// cancellation reasons are read back by these indexes. The audit event
/// follows them; the optional items come after, at indexes recorded as
/// they are added.
mod create_order {
    pub(super) const ORG: usize = 0;
    pub(super) const KEY: usize = 1;
    pub(super) const SECRET: usize = 2;
    pub(super) const STATS: usize = 3;
}

impl DynamoStore {
    /// Creates a key in one transaction: the organization's count goes up
    /// only while below the quota, the key, secret and stats items must be
    /// new, the event is appended, the idempotency record must be new or
    /// expired (its `ttl` at or before the key's creation), the acting
    /// member's membership must be at the fenced version, and a personal
    /// key gets its creator's marker.
    ///
    /// When it is cancelled, the reasons are read in the order that gives
    /// the most useful answer, as the embedded store checks them: a replay
    /// first (a retried request gets its key back even if the quota filled
    /// up since), then a missing organization, then a changed membership,
    /// then a taken id or hash, then the quota.
    pub(super) async fn create(&self, new: NewKey<'_>) -> Result<(), StoreError> {
        use create_order::*;
        let table = self.table();
        let key = new.key;
        let org_key = primary_key(org_pk(&key.organization_id), ORG_SK);

        let mut expr = Expr::new();
        let (pk, count, quota) = (expr.name(PK), expr.name(KEY_COUNT), expr.name(KEY_QUOTA));
        let add = format!("ADD {count} {}", expr.value("one", n(1)));
        let below_quota = format!("attribute_exists({pk}) AND {count} < {quota}");

        let mut writes = vec![
            txn::update(table, org_key, &add, Some(&below_quota), &expr)?,
            txn::put(table, items::key(key)?, Some(absent()))?,
            txn::put(table, items::secret(new.secret)?, Some(absent()))?,
            txn::put(table, items::stats(key), Some(absent()))?,
            txn::put(table, items::audit(new.audit)?, None)?,
        ];
        let idempotency = push_idempotency(
            &mut writes,
            table,
            new.idempotency,
            key.created_at.timestamp(),
        )?;
        let fence = push_fence(&mut writes, table, new.fence)?;
        if key.key_type == KeyType::Personal {
            writes.push(txn::put(table, items::personal_key_marker(key), None)?);
        }

        let cancelled = match transact(&self.client, writes).await? {
            Ok(()) => return Ok(()),
            Err(cancelled) => cancelled,
        };
        self.read_replay(&cancelled, idempotency).await?;
        let taken = [KEY, SECRET, STATS].iter().any(|&i| cancelled.failed(i));
        if cancelled.failed(ORG) {
            let org = match cancelled.old(ORG) {
                Some(item) => Some(items::organization_from(item)?),
                None => self.get_org(&key.organization_id).await?,
            };
            match org {
                None => return Err(StoreError::NotFound),
                Some(_) if fence.is_some_and(|i| cancelled.failed(i)) => {
                    return Err(StoreError::MembershipChanged)
                }
                Some(_) if taken => return Err(StoreError::AlreadyExists),
                Some(org) => {
                    return Err(StoreError::QuotaExceeded {
                        quota: org.key_quota,
                    })
                }
            }
        }
        if fence.is_some_and(|i| cancelled.failed(i)) {
            return Err(StoreError::MembershipChanged);
        }
        if taken {
            return Err(StoreError::AlreadyExists);
        }
        Err(cancelled.unexpected())
    }

    /// `IdempotencyReplay` with the record that is there, when the
    /// idempotency item at `index` failed its condition.
    async fn read_replay(
        &self,
        cancelled: &Cancelled,
        index: Option<(usize, &IdempotencyRecord)>,
    ) -> Result<(), StoreError> {
        let Some((index, record)) = index.filter(|(i, _)| cancelled.failed(*i)) else {
            return Ok(());
        };
        let existing = match cancelled.old(index) {
            Some(item) => Some(from_doc(item)?),
            None => self.idempotency(&record.principal, &record.token).await?,
        };
        Err(existing.map_or_else(
            || StoreError::Unavailable("an idempotency record vanished".to_owned()),
            StoreError::IdempotencyReplay,
        ))
    }

    /// The key item and its stats item, in one strongly consistent query:
    /// `KEY` and `STATS` are adjacent sort keys of the key's partition.
    pub(super) async fn key(&self, id: &KeyId) -> Result<Option<KeyRecord>, StoreError> {
        let mut expr = Expr::new();
        let condition = format!(
            "{} = {} AND {} BETWEEN {} AND {}",
            expr.name(PK),
            expr.value("pk", s(key_pk(id))),
            expr.name(SK),
            expr.value("key", s(KEY_SK)),
            expr.value("stats", s(STATS_SK)),
        );
        let found = self.query_all(&condition, &expr).await?;
        let with_sk = |sk: &str| {
            found
                .iter()
                .find(|item| matches!(string(item, SK), Ok(Some(found)) if found == sk))
        };
        with_sk(KEY_SK)
            .map(|item| items::key_from(item, with_sk(STATS_SK)))
            .transpose()
    }

    /// Applies an update in one transaction (see [`push_update`]).
    pub(super) async fn update(&self, update: KeyUpdate<'_>) -> Result<(), StoreError> {
        let table = self.table();
        let key = update.key;
        let mut writes = Vec::new();
        let UpdateIndexes {
            key: _,
            idempotency,
            fence,
            release,
        } = push_update(&mut writes, table, &update)?;

        let cancelled = match transact(&self.client, writes).await? {
            Ok(()) => return Ok(()),
            Err(cancelled) => cancelled,
        };
        self.read_replay(&cancelled, idempotency).await?;
        if fence.is_some_and(|i| cancelled.failed(i)) {
            return Err(StoreError::MembershipChanged);
        }
        if cancelled.failed(0) {
            let present = match cancelled.old(0) {
                Some(_) => true,
                None => self
                    .get_item(primary_key(key_pk(&key.id), KEY_SK))
                    .await?
                    .is_some(),
            };
            return Err(if present {
                StoreError::VersionConflict
            } else {
                StoreError::NotFound
            });
        }
        if release.is_some_and(|index| cancelled.failed(index)) {
            return Err(StoreError::NotFound);
        }
        Err(cancelled.unexpected())
    }

    /// The verify read: one strongly consistent `GetItem`, so a revoke or
    /// disable is seen at once, and no write.
    pub(super) async fn secret(&self, hash: &KeyHash) -> Result<Option<SecretRecord>, StoreError> {
        self.get_item(secret_key(hash))
            .await?
            .map(|item| from_doc(&item))
            .transpose()
    }

    /// An idempotency record, expired or not: the core compares its `ttl`
    /// with its own clock, as DynamoDB TTL deletes late.
    pub(super) async fn idempotency(
        &self,
        principal: &Principal,
        token: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.get_item(primary_key(
            idempotency_pk(principal, token),
            IDEMPOTENCY_SK,
        ))
        .await?
        .map(|item| from_doc(&item))
        .transpose()
    }
}

/// Where the conditioned items of one key update sit in a transaction.
pub(super) struct UpdateIndexes<'a> {
    /// The key item, at its expected version.
    pub(super) key: usize,
    /// The idempotency record, which must be new.
    pub(super) idempotency: Option<(usize, &'a IdempotencyRecord)>,
    /// The membership fence.
    pub(super) fence: Option<usize>,
    /// The organization's count, which must exist.
    pub(super) release: Option<usize>,
}

impl UpdateIndexes<'_> {
    /// Did any of this update's conditions fail?
    pub(super) fn any_failed(&self, cancelled: &Cancelled) -> bool {
        cancelled.failed(self.key)
            || self.idempotency.is_some_and(|(i, _)| cancelled.failed(i))
            || self.fence.is_some_and(|i| cancelled.failed(i))
            || self.release.is_some_and(|i| cancelled.failed(i))
    }
}

/// Adds one key update's items to `writes`: the key item is replaced only
/// at the expected version; every live secret is rewritten and ended ones
/// deleted (a hash named in both is only deleted: its put would be
/// overwritten anyway, and a transaction may touch an item once); the
/// event is appended; a revoke gives its slot back.
///
/// The stats item is not touched, so a concurrent spend or usage report
/// is never overwritten.
pub(super) fn push_update<'a>(
    writes: &mut Vec<TransactWriteItem>,
    table: &str,
    update: &KeyUpdate<'a>,
) -> Result<UpdateIndexes<'a>, StoreError> {
    let key = update.key;
    let mut expr = Expr::new();
    let at_version = format!(
        "{} = {}",
        expr.name(VERSION),
        expr.value("expected", n(update.expected_version))
    );
    writes.push(txn::put(
        table,
        items::key(key)?,
        Some(Condition {
            expression: at_version,
            expr,
        }),
    )?);
    let key_index = writes.len() - 1;

    let deleted: HashSet<&KeyHash> = update.delete_secrets.iter().collect();
    let mut written: HashSet<&KeyHash> = HashSet::new();
    for secret in update.put_secrets {
        if !deleted.contains(&secret.hash) && written.insert(&secret.hash) {
            writes.push(txn::put(table, items::secret(secret)?, None)?);
        }
    }
    let mut removed: HashSet<&KeyHash> = HashSet::new();
    for hash in update.delete_secrets {
        if removed.insert(hash) {
            writes.push(txn::delete(table, secret_key(hash))?);
        }
    }
    writes.push(txn::put(table, items::audit(update.audit)?, None)?);
    let idempotency = push_idempotency(
        writes,
        table,
        update.idempotency,
        key.updated_at.timestamp(),
    )?;
    let fence = push_fence(writes, table, update.fence)?;

    let release = if update.release_quota {
        // `ADD -1` rather than a guarded decrement: refusing a revoke
        // because the count is already zero (only a bug could make it so)
        // would keep a key alive; a negative count reads as zero.
        let Condition {
            expression: org_exists,
            mut expr,
        } = exists();
        let subtract = format!(
            "ADD {} {}",
            expr.name(KEY_COUNT),
            expr.value("minus_one", n(-1))
        );
        let org_key = primary_key(org_pk(&key.organization_id), ORG_SK);
        writes.push(txn::update(
            table,
            org_key,
            &subtract,
            Some(&org_exists),
            &expr,
        )?);
        Some(writes.len() - 1)
    } else {
        None
    };
    Ok(UpdateIndexes {
        key: key_index,
        idempotency,
        fence,
        release,
    })
}

/// Adds the idempotency record, which must be new or expired at `now`;
/// returns its index.
fn push_idempotency<'a>(
    writes: &mut Vec<TransactWriteItem>,
    table: &str,
    record: Option<&'a IdempotencyRecord>,
    now: i64,
) -> Result<Option<(usize, &'a IdempotencyRecord)>, StoreError> {
    let Some(record) = record else {
        return Ok(None);
    };
    writes.push(txn::put(
        table,
        items::idempotency(record)?,
        Some(replaceable(now)),
    )?);
    Ok(Some((writes.len() - 1, record)))
}

/// Adds the membership fence; returns its index.
fn push_fence(
    writes: &mut Vec<TransactWriteItem>,
    table: &str,
    fence: Option<&MemberFence>,
) -> Result<Option<usize>, StoreError> {
    let Some(fence) = fence else {
        return Ok(None);
    };
    writes.push(txn::check_fence(table, fence)?);
    Ok(Some(writes.len() - 1))
}

fn secret_key(hash: &KeyHash) -> Item {
    primary_key(secret_pk(hash), SECRET_SK)
}

/// An idempotency record may be written if there is none, or if the one
/// there expired at or before `created` (epoch seconds).
fn replaceable(created: i64) -> Condition {
    let mut expr = Expr::new();
    let expression = format!(
        "attribute_not_exists({}) OR {} <= {}",
        expr.name(PK),
        expr.name(TTL),
        expr.value("created", n(created))
    );
    Condition { expression, expr }
}
