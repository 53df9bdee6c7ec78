//! What clients see of a key: the masked view and pages of it. Shared by
//! every key use case; no plaintext ever reaches these types.

use chrono::{DateTime, Utc};
use keyplane_api::keys::{BoundSecret, KeyView};

use crate::key::{KeyRecord, KeyStatus};

/// The masked view of `key` at `now`.
pub fn masked(key: &KeyRecord, now: DateTime<Utc>) -> KeyView {
    KeyView {
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
        secret: key.secret.as_ref().map(|binding| BoundSecret {
            arn: binding.arn.clone(),
            rotation: binding.rotation,
            bound_by: binding.bound_by.clone(),
        }),
        version: key.version,
    }
}
