//! The storage seam. Adapters (the embedded store, DynamoDB) implement
//! [`KeyStore`] and pass one conformance suite; the use cases never see
//! anything adapter-specific.
//!
//! Each method is one atomic unit: adapters must make it all-or-nothing, and
//! the conditions it names (quota, version, existence) must hold under
//! concurrency.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::AuditEvent;
use crate::id::{KeyId, OrgId, WorkspaceId};
use crate::key::{KeyRecord, KeyStatus, SecretRecord};
use crate::key_format::KeyHash;
use crate::principal::Principal;
use crate::tenancy::{Membership, Organization, Workspace};
use crate::usage::UsageRow;

/// Why a store operation did not happen. Nothing was written in any case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The item the operation depends on does not exist.
    #[error("not found")]
    NotFound,
    /// The item to create exists already.
    #[error("already exists")]
    AlreadyExists,
    /// The expected version did not match: another change won.
    #[error("version conflict")]
    VersionConflict,
    /// The acting member's membership changed (or went) after the decision
    /// to mint or widen a key was made on it.
    #[error("membership changed")]
    MembershipChanged,
    /// The organization's key quota is used up.
    #[error("key quota of {quota} exceeded")]
    QuotaExceeded {
        /// The quota in force.
        quota: u32,
    },
    /// The idempotency token was used before; here is what it produced.
    #[error("idempotency token already used")]
    IdempotencyReplay(IdempotencyRecord),
    /// The backend failed or timed out. The text is for logs only.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

/// The acting member's membership as a minting or widening decision saw
/// it. The write that carries a fence happens only if the membership still
/// exists at this version, so a removal or role cut that commits first
/// always wins over a key decided on the old rights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberFence {
    /// The organization.
    pub organization_id: OrgId,
    /// The member who acts.
    pub principal: Principal,
    /// The membership version the decision was made on.
    pub version: u64,
}

/// Remembers which key a create or roll request produced under an
/// idempotency token (the client's `Idempotency-Key`, or one derived from
/// the request's signature). It never holds the plaintext: a replay answers
/// with the key's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// Who sent the request; tokens are scoped per principal.
    pub principal: Principal,
    /// The client's token.
    pub token: String,
    /// SHA-256 of the request, to detect a token reused for another request.
    pub fingerprint: String,
    /// The key it created.
    pub key_id: KeyId,
    /// Epoch seconds after which the record may be deleted.
    pub ttl: i64,
}

/// A page of results and the cursor for the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// Items, in the listing's order.
    pub items: Vec<T>,
    /// Opaque cursor; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Which keys to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyQuery {
    /// Organization (required).
    pub organization_id: OrgId,
    /// Only keys whose scope covers this workspace.
    pub workspace_id: Option<WorkspaceId>,
    /// Only keys with this stored status.
    pub status: Option<KeyStatus>,
    /// Only keys created by this principal.
    pub created_by: Option<Principal>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 100.
    pub limit: usize,
}

/// A new key with everything written with it in one atomic unit.
#[derive(Debug, Clone, Copy)]
pub struct NewKey<'a> {
    /// The key (version 1).
    pub key: &'a KeyRecord,
    /// Its first secret item.
    pub secret: &'a SecretRecord,
    /// The `key.create` event.
    pub audit: &'a AuditEvent,
    /// Set when the request carried an idempotency token.
    pub idempotency: Option<&'a IdempotencyRecord>,
    /// Set when a member (not a platform admin) mints the key.
    pub fence: Option<&'a MemberFence>,
}

/// A change to an existing key, written atomically and only if the stored
/// version is still `expected_version`.
#[derive(Debug, Clone, Copy)]
pub struct KeyUpdate<'a> {
    /// The new record (its `version` is `expected_version + 1`).
    pub key: &'a KeyRecord,
    /// The version read before the change.
    pub expected_version: u64,
    /// Secret items to write (all live secrets, with fresh snapshots).
    pub put_secrets: &'a [SecretRecord],
    /// Secret items to delete.
    pub delete_secrets: &'a [KeyHash],
    /// True when the key stops counting against the quota (revoke).
    pub release_quota: bool,
    /// The event describing the change.
    pub audit: &'a AuditEvent,
    /// Set when the change is a roll with an idempotency token. Like
    /// [`NewKey::idempotency`], it must be new or expired.
    pub idempotency: Option<&'a IdempotencyRecord>,
    /// Set when a member widens the key or receives its plaintext.
    pub fence: Option<&'a MemberFence>,
}

impl KeyUpdate<'_> {
    /// The most items this update writes, deletes or checks in one atomic
    /// write: the key, its secrets, the event, and the optional records.
    pub fn items(&self) -> usize {
        2 + self.put_secrets.len()
            + self.delete_secrets.len()
            + usize::from(self.release_quota)
            + usize::from(self.idempotency.is_some())
            + usize::from(self.fence.is_some())
    }
}

/// Most items one atomic write may touch: DynamoDB's `TransactWriteItems`
/// limit. A [`MemberChange`] stays within it (see [`MemberChange::items`]).
pub const MAX_WRITE_ITEMS: usize = 100;

/// A membership put or deleted together with the changes to the member's
/// personal keys that the new rights no longer cover, all or nothing: a
/// cut or removed member never keeps a live key beyond their rights, not
/// even when the store fails half-way.
#[derive(Debug, Clone, Copy)]
pub struct MemberChange<'a> {
    /// The organization.
    pub organization_id: &'a OrgId,
    /// The member.
    pub principal: &'a Principal,
    /// The new membership (its `version` is the new one); `None` deletes
    /// the membership, which must exist.
    pub member: Option<&'a Membership>,
    /// For a put: the version it replaces (`None`: none may exist).
    pub expected_version: Option<u64>,
    /// The `member.put` or `member.delete` event.
    pub audit: &'a AuditEvent,
    /// Changes to the member's keys (at their expected versions), written
    /// in the same atomic unit.
    pub keys: &'a [KeyUpdate<'a>],
}

impl MemberChange<'_> {
    /// Items of the change without its keys: the organization (checked),
    /// the membership and the event.
    pub const BASE_ITEMS: usize = 3;

    /// Items written or checked: [`MemberChange::BASE_ITEMS`] and each key
    /// update's items.
    pub fn items(&self) -> usize {
        Self::BASE_ITEMS + self.keys.iter().map(KeyUpdate::items).sum::<usize>()
    }
}

/// Result of spending credits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreditOutcome {
    /// Spent; this many remain.
    Spent {
        /// Credits left after spending.
        remaining: u64,
    },
    /// Not enough credits; nothing was spent.
    Exhausted,
}

/// One usage report to add to the counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageIncrement {
    /// The key.
    pub key_id: KeyId,
    /// UTC day.
    pub day: NaiveDate,
    /// Model.
    pub model: String,
    /// Requests to add.
    pub requests: u64,
    /// Input tokens to add.
    pub input_tokens: u64,
    /// Output tokens to add.
    pub output_tokens: u64,
    /// When it was reported; becomes the key's `last_used_at`.
    pub at: DateTime<Utc>,
}

/// Storage for everything Keyplane keeps.
#[async_trait]
pub trait KeyStore: Send + Sync + fmt::Debug + 'static {
    /// Creates an organization with a zero key count; `AlreadyExists` if the id is taken.
    async fn create_organization(
        &self,
        org: &Organization,
        audit: &AuditEvent,
    ) -> Result<(), StoreError>;
    /// Reads an organization with its current key count.
    async fn get_organization(&self, id: &OrgId) -> Result<Option<Organization>, StoreError>;
    /// Sets name and/or quota, leaving the key count alone; `NotFound` if missing.
    async fn update_organization(
        &self,
        id: &OrgId,
        name: Option<&str>,
        key_quota: Option<u32>,
        audit: &AuditEvent,
    ) -> Result<Organization, StoreError>;

    /// Creates a workspace; `NotFound` if the organization is missing.
    async fn create_workspace(
        &self,
        workspace: &Workspace,
        audit: &AuditEvent,
    ) -> Result<(), StoreError>;
    /// Reads a workspace of an organization.
    async fn get_workspace(
        &self,
        org: &OrgId,
        id: &WorkspaceId,
    ) -> Result<Option<Workspace>, StoreError>;
    /// All workspaces of an organization, by id.
    async fn list_workspaces(&self, org: &OrgId) -> Result<Vec<Workspace>, StoreError>;

    /// Creates a membership (`expected_version` `None`: none may exist) or
    /// replaces one still at `expected_version`; `VersionConflict`
    /// otherwise, `NotFound` if the organization is missing. The stored
    /// version is `member.version`. A [`KeyStore::change_member`] that
    /// changes no key.
    async fn put_member(
        &self,
        member: &Membership,
        expected_version: Option<u64>,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.change_member(MemberChange {
            organization_id: &member.organization_id,
            principal: &member.principal,
            member: Some(member),
            expected_version,
            audit,
            keys: &[],
        })
        .await
    }
    /// Reads a membership.
    async fn get_member(
        &self,
        org: &OrgId,
        principal: &Principal,
    ) -> Result<Option<Membership>, StoreError>;
    /// All memberships of an organization, by principal.
    async fn list_members(&self, org: &OrgId) -> Result<Vec<Membership>, StoreError>;
    /// Deletes a membership; `NotFound` if missing. A
    /// [`KeyStore::change_member`] that changes no key.
    async fn delete_member(
        &self,
        org: &OrgId,
        principal: &Principal,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.change_member(MemberChange {
            organization_id: org,
            principal,
            member: None,
            expected_version: None,
            audit,
            keys: &[],
        })
        .await
    }
    /// Puts or deletes a membership as [`KeyStore::put_member`] and
    /// [`KeyStore::delete_member`] do, and applies every key update with
    /// it, all or nothing. Errors: `NotFound` (the organization, or the
    /// membership to delete, is missing), `VersionConflict` (the
    /// membership or one of the keys is not at its expected version).
    /// Holds at most [`MAX_WRITE_ITEMS`] items ([`MemberChange::items`]).
    async fn change_member(&self, change: MemberChange<'_>) -> Result<(), StoreError>;

    /// Creates a key, its secret, its audit event and its idempotency record,
    /// and counts it against the quota — all or nothing. A personal key is
    /// also recorded under its creator for [`KeyStore::personal_keys`].
    /// Errors: `NotFound` (organization), `QuotaExceeded`,
    /// `IdempotencyReplay`, `MembershipChanged` (the fence failed),
    /// `AlreadyExists` (key id or hash taken). An idempotency record whose
    /// `ttl` is at or before the new key's `created_at` is expired: it is
    /// replaced, not replayed.
    async fn create_key(&self, new: NewKey<'_>) -> Result<(), StoreError>;
    /// Reads a key with its credits and last use.
    async fn get_key(&self, id: &KeyId) -> Result<Option<KeyRecord>, StoreError>;
    /// Applies a [`KeyUpdate`]; `VersionConflict` if the version moved,
    /// `NotFound` if the key is missing, `MembershipChanged` if the fence
    /// failed, `IdempotencyReplay` if the token was used.
    async fn update_key(&self, update: KeyUpdate<'_>) -> Result<(), StoreError>;
    /// Lists keys, newest first.
    async fn list_keys(&self, query: &KeyQuery) -> Result<Page<KeyRecord>, StoreError>;

    /// Every key of type personal that `principal` created in `org`, in any
    /// status, including after the membership is gone. Strongly consistent:
    /// it sees every key whose creation committed before the call, so a
    /// member's removal can find every key it must disable.
    async fn personal_keys(
        &self,
        org: &OrgId,
        principal: &Principal,
    ) -> Result<Vec<KeyRecord>, StoreError>;

    /// The verify read: exactly one lookup, no writes.
    async fn get_secret(&self, hash: &KeyHash) -> Result<Option<SecretRecord>, StoreError>;
    /// Spends `cost` credits if at least that many remain; never goes below
    /// zero. Also records `at` as the key's last use. `NotFound` if the key
    /// is missing or unmetered.
    async fn spend_credits(
        &self,
        key: &KeyId,
        cost: u64,
        at: DateTime<Utc>,
    ) -> Result<CreditOutcome, StoreError>;

    /// Records when keys were last used by verifies without a cost, off the
    /// request path: the last-use flusher calls it with each key at most
    /// once per interval. Touches only the store-maintained last use, never
    /// moves it back (a flush that lost a race to a later use changes
    /// nothing), and skips keys that do not exist. Not atomic across keys:
    /// after an error, some may have been written (writing them again is
    /// harmless).
    async fn touch_last_used(&self, uses: &[(KeyId, DateTime<Utc>)]) -> Result<(), StoreError>;

    /// Looks up an idempotency record.
    async fn get_idempotency(
        &self,
        principal: &Principal,
        token: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;

    /// Adds to the usage counters and sets the key's last use.
    async fn record_usage(&self, usage: &UsageIncrement) -> Result<(), StoreError>;
    /// Usage rows of a key between two days inclusive, by day then model.
    async fn query_usage(
        &self,
        key: &KeyId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<UsageRow>, StoreError>;

    /// Appends an event that is not part of another write (e.g. a leak report
    /// for a key that was already disabled).
    async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError>;
    /// Audit events of an organization, newest first.
    async fn list_audit(
        &self,
        org: &OrgId,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<AuditEvent>, StoreError>;

    /// Claims the signed request named by `digest` (a digest of its
    /// signature) until `expires_at`, kept in whole seconds: `true` if this
    /// call claimed it, `false` if an earlier claim is still live at `now`.
    /// A claim whose expiry is at or before `now` counts as gone and is
    /// replaced. Of concurrent claims of one digest exactly one gets `true`
    /// — across every instance sharing the store. Claims change nothing
    /// else; expired ones may be deleted at any time.
    async fn claim_request(
        &self,
        digest: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Gives the claim of `digest` back, so that the same request may be
    /// claimed again at once; nothing if it is not claimed.
    async fn release_request(&self, digest: &str) -> Result<(), StoreError>;
}
