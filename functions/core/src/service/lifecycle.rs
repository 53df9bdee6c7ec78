//! Changing keys: patch, enable/disable, revoke, activate, roll.
//!
//! Every change goes through [`Keyplane::commit`], which bumps the version,
//! drops secrets whose grace has ended, and rewrites the snapshot on every
//! live secret item in the same atomic write, so verify never sees a stale
//! authorisation.

use chrono::{DateTime, Duration, Utc};

use crate::audit::AuditEvent;
use crate::id::KeyId;
use crate::key::{
    DisabledReason, KeyRecord, KeyStatus, LiveSecret, SecretRecord, MAX_GRACE_SECONDS,
};
use crate::key_format::{ApiKey, KeyHash};
use crate::policy;
use crate::store::{IdempotencyRecord, KeyUpdate, MemberFence, StoreError};
use crate::{permission, validate, Error};

use super::access::Access;
use super::idempotency::{self, IdempotencyToken};
use super::rotation::rebind;
use super::rules::{refuse_if_revoked, validate_expiry};
use super::view;
use super::{Caller, Keyplane};
use keyplane_api::keys::{ActivateKey, KeyView, PatchKey, RollKey};

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

/// What a roll request led to.
#[derive(Debug)]
pub enum RollOutcome {
    /// A new secret.
    Rolled(RolledKey),
    /// The same request was seen before under this idempotency token: the
    /// key as it is now, without a plaintext.
    Replayed(KeyView),
}

/// One change to a key, written atomically by [`Keyplane::commit`].
#[derive(Debug)]
pub(crate) struct Change {
    /// The key as it should be (version and time are set by the commit).
    pub key: KeyRecord,
    /// The version the change was decided on.
    pub expected: u64,
    /// What the audit log records.
    pub event: AuditEvent,
    /// Secret items to delete besides ended ones.
    pub deletes: Vec<KeyHash>,
    /// The key stops counting against the quota.
    pub release_quota: bool,
    /// The acting member's membership must be unchanged.
    pub fence: Option<MemberFence>,
    /// The idempotency record of a roll.
    pub idempotency: Option<IdempotencyRecord>,
}

/// A [`Change`] ready to write (see [`Keyplane::prepare`]).
#[derive(Debug)]
pub(crate) struct Prepared {
    /// The key as it will be stored.
    pub key: KeyRecord,
    expected: u64,
    puts: Vec<SecretRecord>,
    deletes: Vec<KeyHash>,
    release_quota: bool,
    event: AuditEvent,
    fence: Option<MemberFence>,
    idempotency: Option<IdempotencyRecord>,
}

impl Prepared {
    /// The store's view of it.
    pub(crate) fn update(&self) -> KeyUpdate<'_> {
        KeyUpdate {
            key: &self.key,
            expected_version: self.expected,
            put_secrets: &self.puts,
            delete_secrets: &self.deletes,
            release_quota: self.release_quota,
            audit: &self.event,
            idempotency: self.idempotency.as_ref(),
            fence: self.fence.as_ref(),
        }
    }
}

impl Change {
    pub(crate) fn new(key: KeyRecord, expected: u64, event: AuditEvent) -> Self {
        Self {
            key,
            expected,
            event,
            deletes: Vec::new(),
            release_quota: false,
            fence: None,
            idempotency: None,
        }
    }
}

impl Keyplane {
    /// Loads a key the caller may change: editors of its workspace for a
    /// workspace key, owners for an organization key.
    async fn manageable_key(
        &self,
        caller: &Caller,
        id: &KeyId,
    ) -> Result<(KeyRecord, Access), Error> {
        let key = self.readable_key(caller, id).await?;
        let access = self.access(&caller.principal, &key.organization_id).await?;
        policy::may_manage_key(access.standing(), &key.scope)?;
        Ok((key, access))
    }

    /// Makes a change ready to write: the version bumped, secrets whose
    /// grace has ended dropped (their items deleted), and a fresh snapshot
    /// for every live secret item.
    pub(crate) fn prepare(&self, change: Change) -> Prepared {
        let now = self.clock.now();
        let Change {
            mut key,
            expected,
            event,
            mut deletes,
            release_quota,
            fence,
            idempotency,
        } = change;
        let (live, ended): (Vec<LiveSecret>, Vec<LiveSecret>) = key
            .secrets
            .drain(..)
            .partition(|s| s.expires_at.is_none_or(|at| at > now));
        key.secrets = live;
        deletes.extend(ended.into_iter().map(|s| s.hash));
        key.version = expected + 1;
        key.updated_at = now;
        let puts = key.secret_records();
        Prepared {
            key,
            expected,
            puts,
            deletes,
            release_quota,
            event,
            fence,
            idempotency,
        }
    }

    /// Writes a change, rewriting the snapshot on every live secret and
    /// deleting ended ones, only if the key is still at `expected`.
    pub(crate) async fn try_commit(&self, change: Change) -> Result<KeyRecord, StoreError> {
        let prepared = self.prepare(change);
        self.store.update_key(prepared.update()).await?;
        Ok(prepared.key)
    }

    /// [`Keyplane::try_commit`] with the outcome as a use-case error.
    pub(crate) async fn commit(&self, change: Change) -> Result<KeyRecord, Error> {
        let id = change.key.id.clone();
        self.try_commit(change).await.map_err(|err| match err {
            StoreError::NotFound => Error::not_found("KEY_NOT_FOUND", "key", id.as_str()),
            other => other.into(),
        })
    }

    /// The fence for a change that hands out a plaintext or widens `after`:
    /// the one policy rule, checked on the key as it would be.
    fn mint_check(
        caller: &Caller,
        access: &Access,
        after: &KeyRecord,
    ) -> Result<Option<MemberFence>, Error> {
        policy::may_mint(access.standing(), &caller.principal, after.into())?;
        Ok(access.fence())
    }

    /// Edits a key: name, role, permissions, expiry, metadata, enabled.
    /// Narrowing needs the right to manage the key; widening (more role or
    /// permissions, a later expiry, enabling) needs the right to create
    /// the key as it would be.
    pub async fn patch_key(
        &self,
        caller: &Caller,
        id: &KeyId,
        patch: PatchKey,
    ) -> Result<KeyView, Error> {
        let now = self.clock.now();
        let (before, access) = self.manageable_key(caller, id).await?;
        refuse_if_revoked(&before)?;
        let expected = before.version;
        if patch.if_version.is_some_and(|v| v != expected) {
            return Err(StoreError::VersionConflict.into());
        }
        let mut key = before.clone();
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
        let orphan = rebind(
            &mut key,
            patch.secret_arn,
            patch.rotation,
            &caller.principal,
        )?;
        match patch.enabled {
            Some(true) if key.status == KeyStatus::Disabled => {
                if key.has_leaked_secret() {
                    return Err(Error::conflict(
                        "KEY_LEAKED",
                        "the key's secret was reported as leaked; roll it before enabling it so the leaked secret never works again",
                    ));
                }
                key.status = KeyStatus::Active;
                key.disabled_reason = None;
            }
            Some(false) if key.status == KeyStatus::Active => {
                key.status = KeyStatus::Disabled;
                key.disabled_reason = Some(DisabledReason::Manual);
            }
            Some(_) if key.status == KeyStatus::Pending => {
                return Err(Error::conflict(
                    "KEY_PENDING",
                    "the key is pending; activate it first",
                ));
            }
            _ => {}
        }
        let fence = if policy::widens(&before, &key) {
            Self::mint_check(caller, &access, &key)?
        } else {
            None
        };
        let event = self.audit_event(caller, &key.organization_id, "key.update", key.id.as_str());
        let key = self
            .commit(Change {
                fence,
                deletes: orphan.into_iter().collect(),
                ..Change::new(key, expected, event)
            })
            .await?;
        Ok(view::masked(&key, now))
    }

    /// Revokes a key at once and for good. Revoking a revoked key changes
    /// nothing and answers the same.
    pub async fn revoke_key(&self, caller: &Caller, id: &KeyId) -> Result<KeyView, Error> {
        let now = self.clock.now();
        let (mut key, _) = self.manageable_key(caller, id).await?;
        if key.status == KeyStatus::Revoked {
            return Ok(view::masked(&key, now));
        }
        let expected = key.version;
        key.status = KeyStatus::Revoked;
        key.revoked_at = Some(now);
        let event = self.audit_event(caller, &key.organization_id, "key.revoke", key.id.as_str());
        let key = self
            .commit(Change {
                release_quota: true,
                ..Change::new(key, expected, event)
            })
            .await?;
        Ok(view::masked(&key, now))
    }

    /// Activates a pending key (second phase of a two-phase create), under
    /// the same rule as creating it. Activating an active key changes
    /// nothing, so a provider may retry.
    /// With `secret_arn`, the key is bound to the secret that holds it
    /// (and `rotation` may turn on the rotator); repeating the same
    /// activation changes nothing.
    pub async fn activate_key(
        &self,
        caller: &Caller,
        id: &KeyId,
        req: ActivateKey,
    ) -> Result<KeyView, Error> {
        let now = self.clock.now();
        let (mut key, access) = self.manageable_key(caller, id).await?;
        refuse_if_revoked(&key)?;
        let binds = req.secret_arn.is_some() || req.rotation.is_some();
        match key.status {
            KeyStatus::Active if !binds => return Ok(view::masked(&key, now)),
            KeyStatus::Active => {
                // A retried activation that binds: unchanged, or a patch.
                let mut probe = key.clone();
                rebind(
                    &mut probe,
                    req.secret_arn.clone().map(Some),
                    req.rotation,
                    &caller.principal,
                )?;
                if probe.secret == key.secret {
                    return Ok(view::masked(&key, now));
                }
                let patch = PatchKey {
                    secret_arn: req.secret_arn.map(Some),
                    rotation: req.rotation,
                    ..PatchKey::default()
                };
                return self.patch_key(caller, id, patch).await;
            }
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
        rebind(
            &mut key,
            req.secret_arn.map(Some),
            req.rotation,
            &caller.principal,
        )?;
        let fence = Self::mint_check(caller, &access, &key)?;
        let event = self.audit_event(
            caller,
            &key.organization_id,
            "key.activate",
            key.id.as_str(),
        );
        let key = self
            .commit(Change {
                fence,
                ..Change::new(key, expected, event)
            })
            .await?;
        Ok(view::masked(&key, now))
    }

    /// Gives a key a new secret under the same id, for callers who could
    /// create that key now (a personal key: its creator only). The previous
    /// secret keeps working for `grace_seconds`; older ones stop at once,
    /// and a leaked one gets no grace. With an idempotency token, a repeat
    /// answers with the key, never a second secret.
    pub async fn roll_key(
        &self,
        caller: &Caller,
        id: &KeyId,
        req: RollKey,
        token: Option<&IdempotencyToken>,
    ) -> Result<RollOutcome, Error> {
        let now = self.clock.now();
        if req.grace_seconds > MAX_GRACE_SECONDS {
            return Err(Error::invalid(
                "GRACE_OUT_OF_RANGE",
                format!("grace_seconds must be between 0 and {MAX_GRACE_SECONDS}"),
            ));
        }
        if let Some(token) = token {
            token.validate()?;
        }
        let (mut key, access) = self.manageable_key(caller, id).await?;
        let fence = Self::mint_check(caller, &access, &key)?;
        let fingerprint = idempotency::fingerprint("key.roll", key.id.as_str(), &req);
        if let Some(earlier) = self.earlier_request(&caller.principal, token).await? {
            return Ok(RollOutcome::Replayed(
                self.replayed(&earlier, &fingerprint).await?,
            ));
        }
        refuse_if_revoked(&key)?;
        if key.status == KeyStatus::Pending {
            return Err(Error::conflict(
                "KEY_PENDING",
                "the key is pending; activate it before rolling",
            ));
        }
        let expected = key.version;
        let grace = if key.has_leaked_secret() {
            0
        } else {
            req.grace_seconds
        };
        let previous_expires_at = now + Duration::seconds(i64::from(grace));
        let plaintext = ApiKey::mint(self.config.key_env);
        let mut deletes = Vec::new();
        let mut secrets = vec![LiveSecret::current(plaintext.hash())];
        for (index, old) in key.secrets.drain(..).enumerate() {
            let is_current = index == 0 && old.expires_at.is_none();
            if is_current && grace > 0 {
                secrets.push(LiveSecret {
                    expires_at: Some(previous_expires_at),
                    ..old
                });
            } else {
                deletes.push(old.hash);
            }
        }
        key.secrets = secrets;
        key.hint = plaintext.hint();
        // A staged rotation secret was just dropped with the other old ones.
        if let Some(binding) = key.secret.as_mut() {
            binding.pending = None;
        }
        let event = self.audit_event(caller, &key.organization_id, "key.roll", key.id.as_str());
        let idempotency = self.idempotency_record(&caller.principal, token, &fingerprint, &key.id);
        let change = Change {
            deletes,
            fence,
            idempotency,
            ..Change::new(key, expected, event)
        };
        match self.try_commit(change).await {
            Ok(key) => Ok(RollOutcome::Rolled(RolledKey {
                key: plaintext,
                previous_expires_at,
                view: view::masked(&key, now),
            })),
            // A concurrent repeat won the race; answer as that repeat would.
            Err(StoreError::IdempotencyReplay(existing)) => Ok(RollOutcome::Replayed(
                self.replayed(&existing, &fingerprint).await?,
            )),
            Err(StoreError::NotFound) => Err(Error::not_found("KEY_NOT_FOUND", "key", id.as_str())),
            Err(other) => Err(other.into()),
        }
    }

    /// Applies a system change (a leak report, a creator who lost access) to
    /// the freshest copy of a key, retrying when a concurrent change wins so
    /// the change is never lost. `apply` decides on each copy afresh and
    /// returns `false` when there is nothing to do. Returns whether a change
    /// was written.
    pub(crate) async fn change_until_written(
        &self,
        key: &KeyRecord,
        event: &AuditEvent,
        apply: impl Fn(&mut KeyRecord) -> bool,
    ) -> Result<bool, Error> {
        let mut current = key.clone();
        for _ in 0..5 {
            let expected = current.version;
            let mut changed = current.clone();
            if !apply(&mut changed) {
                return Ok(false);
            }
            match self
                .try_commit(Change::new(changed, expected, event.clone()))
                .await
            {
                Ok(_) => return Ok(true),
                Err(StoreError::VersionConflict) => {
                    current = match self.store.get_key(&key.id).await? {
                        Some(fresh) => fresh,
                        None => return Ok(false),
                    };
                }
                Err(StoreError::NotFound) => return Ok(false),
                Err(other) => return Err(other.into()),
            }
        }
        Err(StoreError::VersionConflict.into())
    }
}
