//! Keys and the secret items that verify reads.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::id::{KeyId, OrgId, WorkspaceId};
use crate::key_format::KeyHash;
use crate::principal::Principal;
use crate::tenancy::{Membership, OrgRole};
pub use keyplane_api::key::{DisabledReason, DisplayStatus, KeyRole, KeyScope, KeyType};

/// How long a pending (two-phase) key may wait for activation.
pub const PENDING_LIFETIME: Duration = Duration::hours(1);
/// How long a revoked key's secrets are kept so verify can answer `REVOKED`
/// rather than `NOT_FOUND`.
pub const REVOKED_RETENTION: Duration = Duration::days(30);
pub use keyplane_api::limits::MAX_GRACE_SECONDS;

/// Stored lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyStatus {
    /// Created in two phases and not activated yet.
    Pending,
    /// Usable.
    Active,
    /// Temporarily unusable; can be enabled again.
    Disabled,
    /// Final.
    Revoked,
}

/// One secret of a key that still verifies (or still answers `REVOKED`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveSecret {
    /// SHA-256 of the plaintext.
    pub hash: KeyHash,
    /// Set on the previous secret after a roll: end of its grace period.
    pub expires_at: Option<DateTime<Utc>>,
    /// Reported as leaked: this secret never verifies `VALID` again, and the
    /// key stays disabled until a roll replaces it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub leaked: bool,
}

impl LiveSecret {
    /// A fresh, unleaked secret with no end.
    pub fn current(hash: KeyHash) -> Self {
        Self {
            hash,
            expires_at: None,
            leaked: false,
        }
    }
}

/// The Secrets Manager secret that holds a key, and whether the rotator may
/// roll the key into it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretBinding {
    /// The secret's ARN.
    pub arn: String,
    /// Whether the rotator may roll the key.
    pub rotation: bool,
    /// Who bound the secret or turned rotation on. The rotator acts on
    /// their authority: it rolls only while they could create the key.
    pub bound_by: Principal,
    /// A rotation between `setSecret` and `finishSecret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingRotation>,
}

/// A secret staged by the rotator: it verifies already (so `testSecret`
/// can check it) but becomes current only when the rotation finishes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRotation {
    /// The rotation's `ClientRequestToken` (the secret version id).
    pub token: String,
    /// SHA-256 of the staged plaintext.
    pub hash: KeyHash,
    /// Masked form of the staged plaintext.
    pub hint: String,
}

/// A key's metadata: everything but the plaintext.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// `key_…`, stable across rolls.
    pub id: KeyId,
    /// Owning organization.
    pub organization_id: OrgId,
    /// Reach.
    pub scope: KeyScope,
    /// Personal or service.
    pub key_type: KeyType,
    /// Name; defaults to the id.
    pub name: String,
    /// Role in scope.
    pub role: KeyRole,
    /// Permission patterns.
    pub permissions: Vec<String>,
    /// Stored state.
    pub status: KeyStatus,
    /// Why it is disabled, when it is.
    pub disabled_reason: Option<DisabledReason>,
    /// Masked form of the current secret.
    pub hint: String,
    /// Current and (during a roll grace period) previous secrets.
    pub secrets: Vec<LiveSecret>,
    /// Expiry of the key itself.
    pub expires_at: Option<DateTime<Utc>>,
    /// Deadline for activating a pending key.
    pub pending_until: Option<DateTime<Utc>>,
    /// Credit limit set at creation; `None` is unmetered.
    pub credits: Option<u64>,
    /// Free-form labels.
    pub metadata: BTreeMap<String, String>,
    /// Creator.
    pub created_by: Principal,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change of the record.
    pub updated_at: DateTime<Utc>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Bumped by every change; used for optimistic concurrency.
    pub version: u64,
    /// Credits left; maintained by the store, not by [`crate::store::KeyStore::update_key`].
    pub credits_remaining: Option<u64>,
    /// Last verify with a cost, or last usage report; maintained by the store.
    pub last_used_at: Option<DateTime<Utc>>,
    /// The secret holding the key, when one is bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretBinding>,
}

impl KeyRecord {
    /// The status clients see at `now`.
    pub fn display_status(&self, now: DateTime<Utc>) -> DisplayStatus {
        match self.status {
            KeyStatus::Revoked => DisplayStatus::Revoked,
            KeyStatus::Disabled => DisplayStatus::Disabled,
            _ if self.expires_at.is_some_and(|at| at <= now) => DisplayStatus::Expired,
            KeyStatus::Pending if self.pending_until.is_some_and(|at| at <= now) => {
                DisplayStatus::Expired
            }
            KeyStatus::Pending => DisplayStatus::Pending,
            KeyStatus::Active => DisplayStatus::Active,
        }
    }

    /// Who the key acts as: the creator for personal keys, the key's name for
    /// service keys.
    pub fn actor(&self) -> String {
        match self.key_type {
            KeyType::Personal => self.created_by.to_string(),
            KeyType::Service => self.name.clone(),
        }
    }

    /// Does a live secret carry a leak report? Such a key must be rolled
    /// before it may be enabled.
    pub fn has_leaked_secret(&self) -> bool {
        self.secrets.iter().any(|s| s.leaked)
    }

    /// The secret items that must exist for this record, each carrying a
    /// fresh snapshot of the key's authorisation.
    pub fn secret_records(&self) -> Vec<SecretRecord> {
        self.secrets
            .iter()
            .map(|live| SecretRecord::snapshot(self, live))
            .collect()
    }
}

/// The item verify reads: one per live secret, carrying a denormalised
/// snapshot of everything verify needs so that it costs exactly one read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretRecord {
    /// SHA-256 of the plaintext; the item's key.
    pub hash: KeyHash,
    /// The key it belongs to.
    pub key_id: KeyId,
    /// Key version the snapshot was taken from.
    pub key_version: u64,
    /// Organization.
    pub organization_id: OrgId,
    /// Reach.
    pub scope: KeyScope,
    /// Personal or service.
    pub key_type: KeyType,
    /// What verify reports as the actor.
    pub actor: String,
    /// Role.
    pub role: KeyRole,
    /// Permission patterns.
    pub permissions: Vec<String>,
    /// Key status.
    pub status: KeyStatus,
    /// Key expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// End of this secret's roll grace period.
    pub secret_expires_at: Option<DateTime<Utc>>,
    /// Activation deadline of a pending key.
    pub pending_until: Option<DateTime<Utc>>,
    /// Whether verify with a cost must spend credits.
    pub metered: bool,
    /// This secret was reported as leaked; verify never answers `VALID`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub leaked: bool,
    /// Epoch seconds after which the item is useless and may be deleted by
    /// storage TTL. Expiry is still checked in code: TTL deletes late.
    pub ttl: Option<i64>,
}

impl SecretRecord {
    fn snapshot(key: &KeyRecord, live: &LiveSecret) -> Self {
        let revoked_until = key.revoked_at.map(|at| at + REVOKED_RETENTION);
        let pending_until = (key.status == KeyStatus::Pending)
            .then_some(key.pending_until)
            .flatten();
        let ttl = [
            key.expires_at,
            live.expires_at,
            pending_until,
            revoked_until,
        ]
        .into_iter()
        .flatten()
        .min()
        .map(|at| at.timestamp());
        Self {
            hash: live.hash,
            key_id: key.id.clone(),
            key_version: key.version,
            organization_id: key.organization_id.clone(),
            scope: key.scope.clone(),
            key_type: key.key_type,
            actor: key.actor(),
            role: key.role,
            permissions: key.permissions.clone(),
            status: key.status,
            expires_at: key.expires_at,
            secret_expires_at: live.expires_at,
            pending_until,
            metered: key.credits.is_some(),
            leaked: live.leaked,
            ttl,
        }
    }
}

/// The highest role `member` holds over everything `scope` reaches, or
/// `None` when some part of the scope is out of the member's reach.
pub fn effective_role(member: &Membership, scope: &KeyScope) -> Option<KeyRole> {
    if member.org_role == OrgRole::Owner {
        return Some(KeyRole::Owner);
    }
    let role_in = |ws: &WorkspaceId| member.workspace_roles.get(ws).copied().map(KeyRole::from);
    match scope {
        KeyScope::Workspace { workspace_id } => role_in(workspace_id),
        KeyScope::Organization => None,
        KeyScope::Workspaces { workspace_ids } => workspace_ids
            .iter()
            .map(role_in)
            .collect::<Option<Vec<_>>>()
            .and_then(|roles| roles.into_iter().min()),
    }
}
