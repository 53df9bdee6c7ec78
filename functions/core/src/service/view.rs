//! What clients see of a key: the masked view and pages of it. Shared by
//! every key use case; no plaintext ever reaches these types.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::id::{KeyId, OrgId};
use crate::key::{DisabledReason, DisplayStatus, KeyRecord, KeyRole, KeyScope, KeyStatus, KeyType};
use crate::principal::Principal;

/// A key as clients see it after creation: masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct KeyView {
    /// `key_…`
    pub id: KeyId,
    /// Organization.
    pub organization_id: OrgId,
    /// Reach.
    pub scope: KeyScope,
    /// Personal or service.
    #[serde(rename = "type")]
    pub key_type: KeyType,
    /// Name.
    pub name: String,
    /// Role.
    pub role: KeyRole,
    /// Permission patterns.
    pub permissions: Vec<String>,
    /// Status now.
    pub status: DisplayStatus,
    /// Why it is disabled.
    pub disabled_reason: Option<DisabledReason>,
    /// Masked key, e.g. `kp_live_AbC…wxyz`.
    pub hint: String,
    /// Who the key acts as in verify answers.
    pub actor: String,
    /// Creator.
    pub created_by: Principal,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Last metered verify or usage report.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Activation deadline of a pending key.
    pub pending_until: Option<DateTime<Utc>>,
    /// Revocation time.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Credit limit.
    pub credits: Option<u64>,
    /// Credits left.
    pub credits_remaining: Option<u64>,
    /// Labels.
    pub metadata: BTreeMap<String, String>,
    /// Version for `if_version`.
    pub version: u64,
}

impl KeyView {
    /// The masked view of `key` at `now`.
    pub fn of(key: &KeyRecord, now: DateTime<Utc>) -> Self {
        Self {
            id: key.id.clone(),
            organization_id: key.organization_id.clone(),
            scope: key.scope.clone(),
            key_type: key.key_type,
            name: key.name.clone(),
            role: key.role,
            permissions: key.permissions.clone(),
            status: key.display_status(now),
            disabled_reason: key.disabled_reason,
            hint: key.hint.clone(),
            actor: key.actor(),
            created_by: key.created_by.clone(),
            created_at: key.created_at,
            updated_at: key.updated_at,
            last_used_at: key.last_used_at,
            expires_at: key.expires_at,
            pending_until: (key.status == KeyStatus::Pending)
                .then_some(key.pending_until)
                .flatten(),
            revoked_at: key.revoked_at,
            credits: key.credits,
            credits_remaining: key.credits_remaining,
            metadata: key.metadata.clone(),
            version: key.version,
        }
    }
}

/// A page of keys.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KeyPage {
    /// Keys, newest first.
    pub items: Vec<KeyView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}
