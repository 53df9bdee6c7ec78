//! Managing keys: requests and the masked views answers carry.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use crate::id::{KeyId, OrgId, WorkspaceId};
use crate::key::{DisabledReason, DisplayStatus, KeyRole, KeyScope, KeyType};
use crate::key_format::ApiKey;
use crate::limits::{within, within_opt, MAX_CREDITS, MAX_GRACE_SECONDS};
use crate::principal::Principal;

/// Whether a key is a workspace key or an organization key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ScopeKind {
    /// One workspace (`workspace_id` required).
    Workspace,
    /// The organization: all workspaces, or `workspace_ids` when given.
    Organization,
}

/// Request to create a key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// Organization that will own the key.
    pub organization_id: OrgId,
    /// Workspace key or organization key.
    pub scope: ScopeKind,
    /// The workspace of a workspace key.
    pub workspace_id: Option<WorkspaceId>,
    /// For an organization key: the workspaces it reaches; all when omitted.
    pub workspace_ids: Option<BTreeSet<WorkspaceId>>,
    /// Personal (acts as you) or service (acts as its name).
    #[serde(rename = "type")]
    pub key_type: KeyType,
    /// Name; the key id when omitted.
    pub name: Option<String>,
    /// Role within the scope; never above your own.
    pub role: KeyRole,
    /// Permission patterns such as `models:gpt-4o` or `models:*`.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// When the key stops working; in the future (`EXPIRY_IN_PAST`).
    pub expires_at: Option<DateTime<Utc>>,
    /// Credit limit spent by verify with a `cost`; unmetered when omitted.
    #[serde(default, deserialize_with = "within_opt::<_, u64, 1, MAX_CREDITS>")]
    pub credits: Option<u64>,
    /// Free-form labels.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// `false` creates the key `pending` until activated (two-phase create).
    pub activate: Option<bool>,
}

/// Which keys to list.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ListKeys {
    /// Organization.
    pub organization_id: OrgId,
    /// Keys reaching this workspace.
    pub workspace_id: Option<WorkspaceId>,
    /// Keys with this status.
    pub status: Option<DisplayStatus>,
    /// `next_cursor` of the previous page; any other value is refused
    /// (`INVALID_CURSOR`).
    pub cursor: Option<String>,
    /// Page size, 1–100 (default 50).
    pub limit: Option<usize>,
}

/// Changes to a key. Absent fields stay as they are. Narrowing needs the
/// right to manage the key; widening (a higher role, new permissions, a
/// later or no expiry, enabling) needs the right to create the key as it
/// would be — for a personal key, being its creator.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PatchKey {
    /// Apply only if the key is still at this version.
    #[serde(
        default,
        deserialize_with = "within_opt::<_, u64, 0, { u64::MAX }>",
        skip_serializing_if = "Option::is_none"
    )]
    pub if_version: Option<u64>,
    /// `false` disables, `true` enables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// New name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<KeyRole>,
    /// New permission patterns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
    /// New expiry, in the future (`EXPIRY_IN_PAST`); `null` removes it.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<DateTime<Utc>>))]
    pub expires_at: Option<Option<DateTime<Utc>>>,
    /// New labels (replace the old ones).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Bind the key to the Secrets Manager secret (ARN) that holds it;
    /// `null` removes the binding (and turns rotation off).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub secret_arn: Option<Option<String>>,
    /// Let the Secrets Manager rotator roll the key into its bound secret.
    /// Turning it on hands out new secrets, so it needs the right to create
    /// the key as it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation: Option<bool>,
}

/// Request to activate a pending key: optionally, where its secret now
/// lives. The Terraform provider binds the secret it just wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ActivateKey {
    /// ARN of the Secrets Manager secret that holds the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_arn: Option<String>,
    /// Let the Secrets Manager rotator roll the key (needs `secret_arn`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<bool>,
}

/// The Secrets Manager secret a key is bound to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BoundSecret {
    /// The secret's ARN.
    pub arn: String,
    /// Whether the rotator may roll the key into this secret.
    pub rotation: bool,
    /// Who bound the secret or turned rotation on; rotation acts with
    /// their rights and stops if they could no longer create the key.
    pub bound_by: Principal,
}

/// Tells a field sent as `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Request to roll a key.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RollKey {
    /// How long the previous secret keeps working, 0–86400 seconds.
    #[serde(
        default,
        deserialize_with = "within::<_, u32, 0, { MAX_GRACE_SECONDS as u64 }>"
    )]
    pub grace_seconds: u32,
}

/// A key as clients see it after creation: masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// The Secrets Manager secret holding the key, when bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<BoundSecret>,
    /// Version for `if_version`.
    pub version: u64,
}

/// A page of keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyPage {
    /// Keys, newest first.
    pub items: Vec<KeyView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The answer to create and roll: the key with its plaintext, the only
/// time the key is shown. A repeated request (same idempotency token) gets
/// the same shape without `key`.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyWithSecret {
    /// The plaintext key. Store it now: it is never shown again. Absent
    /// when the answer is a replay (`Idempotent-Replayed: true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub key: Option<ApiKey>,
    /// The key id (same as `id`).
    pub key_id: KeyId,
    /// For a roll: when the previous secret stops working.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_expires_at: Option<DateTime<Utc>>,
    /// The masked key.
    #[serde(flatten)]
    pub view: KeyView,
}
