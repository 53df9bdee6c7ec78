//! Domain records to items and back, one pair of functions per item kind.
//! The item keys come from [`schema`](super::schema); nothing here writes a
//! plaintext key (records hold hashes only).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, NaiveDate, Utc};
use keyplane_core::audit::AuditEvent;
use keyplane_core::id::OrgId;
use keyplane_core::key::{KeyRecord, KeyScope, SecretRecord};
use keyplane_core::principal::Principal;
use keyplane_core::store::{IdempotencyRecord, StoreError};
use keyplane_core::tenancy::{Membership, Organization, Workspace};
use keyplane_core::usage::UsageRow;
use serde::{Deserialize, Serialize};

use super::codec::{doc, from_doc, n, s, string, time, time_of, unsigned, unsigned32, Item};
use super::errors::corrupt;
use super::schema::{self, *};

/// The primary key `{pk, sk}` of an item.
pub(super) fn primary_key(pk: String, sk: impl Into<String>) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

fn item_with_key(pk: String, sk: impl Into<String>, kind: &str) -> Item {
    let mut item = primary_key(pk, sk);
    item.insert(KIND.to_owned(), s(kind));
    item
}

/// The unchanging part of an organization. Name, quota and count are
/// scalars of their own: the quota and count are conditioned on and
/// counted with `ADD`, and an update sets the name alone.
#[derive(Debug, Serialize, Deserialize)]
struct OrgDoc {
    id: OrgId,
    created_at: DateTime<Utc>,
    created_by: Principal,
}

/// A new organization's item: its key count starts at zero whatever the
/// caller passed, as the count is the store's to maintain.
pub(super) fn organization(org: &Organization) -> Result<Item, StoreError> {
    let mut item = item_with_key(org_pk(&org.id), ORG_SK, "organization");
    item.insert(
        DOC.to_owned(),
        doc(&OrgDoc {
            id: org.id.clone(),
            created_at: org.created_at,
            created_by: org.created_by.clone(),
        })?,
    );
    item.insert(NAME.to_owned(), s(&org.name));
    item.insert(KEY_QUOTA.to_owned(), n(org.key_quota));
    item.insert(KEY_COUNT.to_owned(), n(0));
    Ok(item)
}

/// An organization from its item. A count below zero (only a bug could make
/// one: see `keys::update`) reads as zero.
pub(super) fn organization_from(item: &Item) -> Result<Organization, StoreError> {
    let OrgDoc {
        id,
        created_at,
        created_by,
    } = from_doc(item)?;
    Ok(Organization {
        id,
        name: string(item, NAME)?
            .ok_or_else(|| corrupt(format!("organization without `{NAME}`")))?
            .to_owned(),
        key_quota: unsigned32(item, KEY_QUOTA)?
            .ok_or_else(|| corrupt(format!("organization without `{KEY_QUOTA}`")))?,
        key_count: unsigned32(item, KEY_COUNT)?.unwrap_or(0),
        created_at,
        created_by,
    })
}

pub(super) fn workspace(workspace: &Workspace) -> Result<Item, StoreError> {
    let mut item = item_with_key(
        org_pk(&workspace.organization_id),
        workspace_sk(&workspace.id),
        "workspace",
    );
    item.insert(DOC.to_owned(), doc(workspace)?);
    Ok(item)
}

pub(super) fn member(member: &Membership) -> Result<Item, StoreError> {
    let mut item = item_with_key(
        org_pk(&member.organization_id),
        member_sk(&member.principal),
        "member",
    );
    item.insert(DOC.to_owned(), doc(member)?);
    item.insert(VERSION.to_owned(), n(member.version));
    Ok(item)
}

/// The marker that lists a personal key under its creator (see
/// [`schema::personal_keys_prefix`]).
pub(super) fn personal_key_marker(key: &KeyRecord) -> Item {
    let mut item = item_with_key(
        org_pk(&key.organization_id),
        personal_key_sk(&key.created_by, &key.id),
        "personal_key",
    );
    item.insert(KEY_ID.to_owned(), s(key.id.as_str()));
    item
}

/// A key's item: the record without the store-maintained credits and last
/// use (those live in the stats item, so rewriting a key never overwrites
/// a concurrent spend), plus the scalars the listing filters and the
/// version condition read, and both index keys.
pub(super) fn key(key: &KeyRecord) -> Result<Item, StoreError> {
    let stripped = KeyRecord {
        credits_remaining: None,
        last_used_at: None,
        ..key.clone()
    };
    let position = schema::position(key.created_at, key.id.as_str())?;
    let mut item = item_with_key(key_pk(&key.id), KEY_SK, "key");
    item.insert(DOC.to_owned(), doc(&stripped)?);
    item.insert(VERSION.to_owned(), n(key.version));
    item.insert(STATUS.to_owned(), status(key.status)?);
    item.insert(CREATED_BY.to_owned(), s(key.created_by.as_str()));
    let (scope_kind, workspaces) = match &key.scope {
        KeyScope::Organization => (SCOPE_ORGANIZATION, Vec::new()),
        KeyScope::Workspace { workspace_id } => (SCOPE_WORKSPACE, vec![workspace_id.to_string()]),
        KeyScope::Workspaces { workspace_ids } => (
            SCOPE_CHOSEN_WORKSPACES,
            workspace_ids.iter().map(ToString::to_string).collect(),
        ),
    };
    item.insert(SCOPE_KIND.to_owned(), s(scope_kind));
    if !workspaces.is_empty() {
        item.insert(SCOPE_WORKSPACES.to_owned(), AttributeValue::Ss(workspaces));
    }
    item.insert(GSI1_PK.to_owned(), s(org_pk(&key.organization_id)));
    item.insert(GSI1_SK.to_owned(), s(position.clone()));
    item.insert(
        GSI2_PK.to_owned(),
        s(creator_pk(&key.organization_id, &key.created_by)),
    );
    item.insert(GSI2_SK.to_owned(), s(position));
    Ok(item)
}

/// The stored status as the [`STATUS`] attribute: its serde name.
pub(super) fn status(status: keyplane_core::key::KeyStatus) -> Result<AttributeValue, StoreError> {
    match serde_json::to_value(status) {
        Ok(serde_json::Value::String(name)) => Ok(s(name)),
        _ => Err(StoreError::Unavailable(
            "a key status does not encode as a string".to_owned(),
        )),
    }
}

/// A key from its item, with the credits and last use of its stats item.
pub(super) fn key_from(item: &Item, stats: Option<&Item>) -> Result<KeyRecord, StoreError> {
    with_stats(from_doc(item)?, stats)
}

/// `key` with the credits and last use of its stats item (none without one).
pub(super) fn with_stats(key: KeyRecord, stats: Option<&Item>) -> Result<KeyRecord, StoreError> {
    let (credits_remaining, last_used_at) = match stats {
        Some(stats) => (
            unsigned(stats, CREDITS_REMAINING)?,
            time_of(stats, LAST_USED_AT)?,
        ),
        None => (None, None),
    };
    Ok(KeyRecord {
        credits_remaining,
        last_used_at,
        ..key
    })
}

/// A new key's stats item: all its credits (none for an unmetered key,
/// which makes every spend on it fail its condition), never used.
pub(super) fn stats(key: &KeyRecord) -> Item {
    let mut item = item_with_key(key_pk(&key.id), STATS_SK, "key_stats");
    if let Some(credits) = key.credits {
        item.insert(CREDITS_REMAINING.to_owned(), n(credits));
    }
    item
}

/// A secret item. `ttl` is the snapshot's own, for DynamoDB TTL to delete
/// the item some time after it stopped mattering.
pub(super) fn secret(secret: &SecretRecord) -> Result<Item, StoreError> {
    let mut item = item_with_key(secret_pk(&secret.hash), SECRET_SK, "secret");
    item.insert(DOC.to_owned(), doc(secret)?);
    item.insert(KEY_ID.to_owned(), s(secret.key_id.as_str()));
    item.insert(VERSION.to_owned(), n(secret.key_version));
    if let Some(ttl) = secret.ttl {
        item.insert(TTL.to_owned(), n(ttl));
    }
    Ok(item)
}

pub(super) fn audit(event: &AuditEvent) -> Result<Item, StoreError> {
    let mut item = item_with_key(
        org_pk(&event.organization_id),
        audit_sk(event.at, event.id.as_str())?,
        "audit",
    );
    item.insert(DOC.to_owned(), doc(event)?);
    item.insert(TTL.to_owned(), n(event.ttl));
    Ok(item)
}

pub(super) fn idempotency(record: &IdempotencyRecord) -> Result<Item, StoreError> {
    let mut item = item_with_key(
        idempotency_pk(&record.principal, &record.token),
        IDEMPOTENCY_SK,
        "idempotency",
    );
    item.insert(DOC.to_owned(), doc(record)?);
    item.insert(TTL.to_owned(), n(record.ttl));
    Ok(item)
}

/// The claim of a signed request, expiring at `expires_at` (epoch
/// seconds), made by `claimant`.
pub(super) fn request_claim(digest: &str, expires_at: i64, claimant: &str) -> Item {
    let mut item = item_with_key(request_claim_pk(digest), REQUEST_CLAIM_SK, "request_claim");
    item.insert(TTL.to_owned(), n(expires_at));
    item.insert(CLAIMANT.to_owned(), s(claimant));
    item
}

/// A usage row from its item; counters never written read as zero.
pub(super) fn usage_row_from(item: &Item) -> Result<UsageRow, StoreError> {
    let day = string(item, DAY)?
        .and_then(|text| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .ok_or_else(|| corrupt(format!("usage without a valid `{DAY}`")))?;
    let model = string(item, MODEL)?
        .ok_or_else(|| corrupt(format!("usage without `{MODEL}`")))?
        .to_owned();
    Ok(UsageRow {
        day,
        model,
        requests: unsigned(item, REQUESTS)?.unwrap_or(0),
        input_tokens: unsigned(item, INPUT_TOKENS)?.unwrap_or(0),
        output_tokens: unsigned(item, OUTPUT_TOKENS)?.unwrap_or(0),
    })
}

/// The last-use attribute value.
pub(super) fn last_used(at: DateTime<Utc>) -> AttributeValue {
    time(at)
}
