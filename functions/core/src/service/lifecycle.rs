//! Changing keys: patch, enable/disable, revoke, activate, roll.
//!
//! Every change goes through [`Keyplane::commit`], which bumps the version,
//! drops secrets whose grace has ended, and rewrites the snapshot on every
//! live secret item in the same atomic write, so verify never sees a stale
//! authorisation.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

use crate::id::KeyId;
use crate::key::{KeyRecord, KeyRole, KeyStatus, KeyType, LiveSecret, MAX_GRACE_SECONDS};
use crate::key_format::{ApiKey, KeyHash};
use crate::policy::{self, Standing};
use crate::store::{KeyUpdate, StoreError};
use crate::{permission, validate, Error};

use super::keys::KeyView;
use super::{Caller, Keyplane};

/// Disabled reason set by a leak report; such a key must be rolled before it
/// can be enabled, so the leaked secret never works again.
pub const LEAK_REPORTED: &str = "leak_reported";
const ROLLED_AFTER_LEAK: &str = "rolled_after_leak";
const DISABLED_BY_USER: &str = "disabled_by_user";

/// Changes to a key. Absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchKey {
    /// Apply only if the key is still at this version.
    pub if_version: Option<u64>,
    /// `false` disables, `true` enables.
    pub enabled: Option<bool>,
    /// New name.
    pub name: Option<String>,
    /// New role.
    pub role: Option<KeyRole>,
    /// New permission patterns.
    pub permissions: Option<Vec<String>>,
    /// New expiry; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub expires_at: Option<Option<DateTime<Utc>>>,
    /// New labels (replace the old ones).
    pub metadata: Option<BTreeMap<String, String>>,
}

/// Tells a field sent as `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Request to roll a key.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollKey {
    /// How long the previous secret keeps working, 0–86400 seconds.
    #[serde(default)]
    pub grace_seconds: u32,
}

/// A rolled key: the new plaintext, shown once.
#[derive(Debug)]
pub struct RolledKey {
    /// The new plaintext.
    pub key: ApiKey,
    /// When the previous secret stops working (now, for a zero grace).
    pub previous_expires_at: DateTime<Utc>,
    /// The masked view.
    pub view: KeyView,
}

pub(crate) fn validate_expiry(
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    match expires_at {
        Some(at) if at <= now => Err(Error::invalid(
            "EXPIRY_IN_PAST",
            "expires_at must be in the future",
        )),
        _ => Ok(()),
    }
}

fn refuse_if_revoked(key: &KeyRecord) -> Result<(), Error> {
    if key.status == KeyStatus::Revoked {
        return Err(Error::conflict(
            "KEY_REVOKED",
            "the key is revoked; revocation is final",
        ));
    }
    Ok(())
}

impl Keyplane {
    /// Loads a key the caller may change: editors of its workspace for a
    /// workspace key, owners for an organization key.
    async fn manageable_key(
        &self,
        caller: &Caller,
        id: &KeyId,
    ) -> Result<(KeyRecord, super::access::Access), Error> {
        let key = self.readable_key(caller, id).await?;
        let access = self.access(&caller.principal, &key.organization_id).await?;
        policy::may_manage_key(access.standing(), &key.scope)?;
        Ok((key, access))
    }

    /// Writes `key` (already changed) over version `expected`, rewriting the
    /// snapshot on every live secret and deleting ended ones.
    pub(crate) async fn commit(
        &self,
        mut key: KeyRecord,
        expected: u64,
        extra_deletes: Vec<KeyHash>,
        release_quota: bool,
        event: crate::audit::AuditEvent,
    ) -> Result<KeyRecord, Error> {
        let now = self.clock.now();
        let (live, ended): (Vec<LiveSecret>, Vec<LiveSecret>) = key
            .secrets
            .drain(..)
            .partition(|s| s.expires_at.is_none_or(|at| at > now));
        key.secrets = live;
        let mut deletes: Vec<KeyHash> = ended.into_iter().map(|s| s.hash).collect();
        deletes.extend(extra_deletes);
        key.version = expected + 1;
        key.updated_at = now;
        let puts = key.secret_records();
        self.store
            .update_key(KeyUpdate {
                key: &key,
                expected_version: expected,
                put_secrets: &puts,
                delete_secrets: &deletes,
                release_quota,
                audit: &event,
            })
            .await
            .map_err(|err| match err {
                StoreError::NotFound => Error::not_found("KEY_NOT_FOUND", "key", key.id.as_str()),
                other => other.into(),
            })?;
        Ok(key)
    }

    /// Edits a key: name, role, permissions, expiry, metadata, enabled.
    pub async fn patch_key(
        &self,
        caller: &Caller,
        id: &KeyId,
        patch: PatchKey,
    ) -> Result<KeyView, Error> {
        let now = self.clock.now();
        let (mut key, access) = self.manageable_key(caller, id).await?;
        refuse_if_revoked(&key)?;
        let expected = key.version;
        if patch.if_version.is_some_and(|v| v != expected) {
            return Err(StoreError::VersionConflict.into());
        }
        if let Some(name) = &patch.name {
            key.name = validate::name("name", name)?;
        }
        if let Some(metadata) = patch.metadata {
            validate::metadata(&metadata)?;
            key.metadata = metadata;
        }
        if let Some(expires_at) = patch.expires_at {
            validate_expiry(expires_at, now)?;
            key.expires_at = expires_at;
        }
        if let Some(role) = patch.role {
            key.role = role;
        }
        if let Some(permissions) = &patch.permissions {
            key.permissions = permission::normalise(permissions)?;
        }
        if patch.role.is_some() || patch.permissions.is_some() {
            policy::may_grant(access.standing(), &key.scope, key.role, &key.permissions)?;
            self.creator_may_grant(&key).await?;
        }
        match patch.enabled {
            Some(true) if key.status == KeyStatus::Disabled => {
                if key.disabled_reason.as_deref() == Some(LEAK_REPORTED) {
                    return Err(Error::conflict(
                        "KEY_LEAKED",
                        "the key was reported as leaked; roll it before enabling it so the leaked secret never works again",
                    ));
                }
                self.creator_may_grant(&key).await?;
                key.status = KeyStatus::Active;
                key.disabled_reason = None;
            }
            Some(false) if key.status == KeyStatus::Active => {
                key.status = KeyStatus::Disabled;
                key.disabled_reason = Some(DISABLED_BY_USER.to_owned());
            }
            Some(_) if key.status == KeyStatus::Pending => {
                return Err(Error::conflict(
                    "KEY_PENDING",
                    "the key is pending; activate it first",
                ));
            }
            _ => {}
        }
        let event = self.audit_event(caller, &key.organization_id, "key.update", key.id.as_str());
        let key = self.commit(key, expected, Vec::new(), false, event).await?;
        Ok(KeyView::of(&key, now))
    }

    /// A personal key never exceeds what its creator may do now.
    async fn creator_may_grant(&self, key: &KeyRecord) -> Result<(), Error> {
        if key.key_type != KeyType::Personal {
            return Ok(());
        }
        let membership = self
            .membership_of(&key.organization_id, &key.created_by)
            .await?;
        let standing = if self.is_admin(&key.created_by) {
            Standing::Admin
        } else {
            membership
                .as_ref()
                .map_or(Standing::Outsider, Standing::Member)
        };
        policy::may_grant(standing, &key.scope, key.role, &key.permissions).map_err(|_| {
            Error::forbidden(
                "CREATOR_LACKS_ACCESS",
                "this personal key would exceed its creator's current rights",
            )
        })
    }

    /// Revokes a key at once and for good. Revoking a revoked key changes
    /// nothing and answers the same.
    pub async fn revoke_key(&self, caller: &Caller, id: &KeyId) -> Result<KeyView, Error> {
        let now = self.clock.now();
        let (mut key, _) = self.manageable_key(caller, id).await?;
        if key.status == KeyStatus::Revoked {
            return Ok(KeyView::of(&key, now));
        }
        let expected = key.version;
        key.status = KeyStatus::Revoked;
        key.revoked_at = Some(now);
        let event = self.audit_event(caller, &key.organization_id, "key.revoke", key.id.as_str());
        let key = self.commit(key, expected, Vec::new(), true, event).await?;
        Ok(KeyView::of(&key, now))
    }

    /// Activates a pending key (second phase of a two-phase create).
    /// Activating an active key changes nothing, so a provider may retry.
    pub async fn activate_key(&self, caller: &Caller, id: &KeyId) -> Result<KeyView, Error> {
        let now = self.clock.now();
        let (mut key, _) = self.manageable_key(caller, id).await?;
        refuse_if_revoked(&key)?;
        match key.status {
            KeyStatus::Active => return Ok(KeyView::of(&key, now)),
            KeyStatus::Disabled => {
                return Err(Error::conflict(
                    "KEY_DISABLED",
                    "the key is disabled, not pending; enable it instead",
                ))
            }
            _ => {}
        }
        if key.pending_until.is_some_and(|until| until <= now) {
            return Err(Error::conflict(
                "PENDING_EXPIRED",
                "the key was not activated within an hour of creation; revoke it and create a new one",
            ));
        }
        let expected = key.version;
        key.status = KeyStatus::Active;
        key.pending_until = None;
        let event = self.audit_event(
            caller,
            &key.organization_id,
            "key.activate",
            key.id.as_str(),
        );
        let key = self.commit(key, expected, Vec::new(), false, event).await?;
        Ok(KeyView::of(&key, now))
    }

    /// Gives a key a new secret under the same id. The previous secret keeps
    /// working for `grace_seconds`; older ones stop at once.
    pub async fn roll_key(
        &self,
        caller: &Caller,
        id: &KeyId,
        req: RollKey,
    ) -> Result<RolledKey, Error> {
        let now = self.clock.now();
        if req.grace_seconds > MAX_GRACE_SECONDS {
            return Err(Error::invalid(
                "GRACE_OUT_OF_RANGE",
                format!("grace_seconds must be between 0 and {MAX_GRACE_SECONDS}"),
            ));
        }
        let (mut key, _) = self.manageable_key(caller, id).await?;
        refuse_if_revoked(&key)?;
        if key.status == KeyStatus::Pending {
            return Err(Error::conflict(
                "KEY_PENDING",
                "the key is pending; activate it before rolling",
            ));
        }
        let expected = key.version;
        let leaked = key.disabled_reason.as_deref() == Some(LEAK_REPORTED);
        // A leaked secret gets no grace: it must stop working now.
        let grace = if leaked { 0 } else { req.grace_seconds };
        let previous_expires_at = now + Duration::seconds(i64::from(grace));
        let plaintext = ApiKey::mint(self.config.key_env);
        let mut deletes = Vec::new();
        let mut secrets = vec![LiveSecret {
            hash: plaintext.hash(),
            expires_at: None,
        }];
        for (index, old) in key.secrets.drain(..).enumerate() {
            let is_current = index == 0 && old.expires_at.is_none();
            if is_current && grace > 0 {
                secrets.push(LiveSecret {
                    hash: old.hash,
                    expires_at: Some(previous_expires_at),
                });
            } else {
                deletes.push(old.hash);
            }
        }
        key.secrets = secrets;
        key.hint = plaintext.hint();
        if leaked {
            key.disabled_reason = Some(ROLLED_AFTER_LEAK.to_owned());
        }
        let event = self.audit_event(caller, &key.organization_id, "key.roll", key.id.as_str());
        let key = self.commit(key, expected, deletes, false, event).await?;
        Ok(RolledKey {
            key: plaintext,
            previous_expires_at,
            view: KeyView::of(&key, now),
        })
    }

    /// Disables a key for a system reason (creator lost access); retries on
    /// a concurrent change so the disable is never lost.
    pub(crate) async fn disable_for(
        &self,
        key: &KeyRecord,
        reason: &str,
        event: crate::audit::AuditEvent,
    ) -> Result<(), Error> {
        let mut current = key.clone();
        for _ in 0..5 {
            if !matches!(current.status, KeyStatus::Active | KeyStatus::Pending) {
                return Ok(());
            }
            let expected = current.version;
            let mut changed = current.clone();
            changed.status = KeyStatus::Disabled;
            changed.disabled_reason = Some(reason.to_owned());
            match self
                .commit(changed, expected, Vec::new(), false, event.clone())
                .await
            {
                Err(e) if e.code == "VERSION_CONFLICT" => {
                    current = match self.store.get_key(&key.id).await? {
                        Some(k) => k,
                        None => return Ok(()),
                    };
                }
                other => return other.map(|_| ()),
            }
        }
        Err(StoreError::VersionConflict.into())
    }
}
