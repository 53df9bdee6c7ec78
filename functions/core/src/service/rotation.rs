//! Secrets Manager rotation of keys bound to a secret.
//!
//! A key can be bound to the secret that holds it, and rotation turned on;
//! both are settings on the key (activate or patch). The rotator Lambda
//! then rolls the key in two steps that follow Secrets Manager's contract:
//! [`Keyplane::stage_rotation`] (`setSecret`) makes the new secret verify
//! next to the current one, and [`Keyplane::finish_rotation`]
//! (`finishSecret`) makes it current and starts the old one's grace. The
//! rotator mints and stores the plaintext itself before staging, so a
//! retried step never loses a secret or makes a second one; Keyplane only
//! ever sees its hash.
//!
//! The rotator runs as a configured principal that may do nothing else.
//! It acts on the authority of whoever turned rotation on: each step
//! checks that they could still create this exact key now, so removing
//! them from the organization stops the rotation too.

use chrono::Duration;

use crate::id::KeyId;
use crate::key::{
    KeyRecord, KeyStatus, LiveSecret, PendingRotation, SecretBinding, MAX_GRACE_SECONDS,
};
use crate::key_format::{ApiKey, KeyHash};
use crate::principal::Principal;
use crate::store::MemberFence;
use crate::{policy, validate, Error};

use super::lifecycle::Change;
use super::rules::refuse_if_revoked;
use super::view;
use super::{Caller, Keyplane};
use keyplane_api::keys::KeyView;

/// Longest rotation token accepted (Secrets Manager's version ids are
/// 32–64 characters).
const MAX_TOKEN_CHARS: usize = 64;

/// One rotation, as Secrets Manager names it.
#[derive(Debug, Clone, Copy)]
pub struct Rotation<'a> {
    /// ARN of the secret being rotated.
    pub secret_arn: &'a str,
    /// The rotation's `ClientRequestToken`: the new secret version's id.
    pub token: &'a str,
}

/// Applies a change of binding or rotation setting to `key`, made by `by`.
/// Returns the hash of a staged secret the change orphans, for deletion.
pub(crate) fn rebind(
    key: &mut KeyRecord,
    secret_arn: Option<Option<String>>,
    rotation: Option<bool>,
    by: &Principal,
) -> Result<Option<KeyHash>, Error> {
    let before = key.secret.clone();
    let mut binding = match secret_arn {
        None => before.clone(),
        Some(None) => None,
        Some(Some(arn)) => {
            let arn = validate::secret_arn(&arn)?;
            match &before {
                Some(same) if same.arn == arn => Some(same.clone()),
                // A new secret starts without rotation unless asked for.
                _ => Some(SecretBinding {
                    arn,
                    rotation: false,
                    bound_by: by.clone(),
                    pending: None,
                }),
            }
        }
    };
    match (rotation, binding.as_mut()) {
        (Some(true), None) => {
            return Err(Error::invalid(
                "ROTATION_NEEDS_SECRET",
                "rotation needs a bound secret: set secret_arn too",
            ))
        }
        (Some(on), Some(binding)) if binding.rotation != on => {
            binding.rotation = on;
            binding.bound_by = by.clone();
        }
        _ => {}
    }
    // A staged secret belongs to the rotation that staged it; any change of
    // secret or setting abandons that rotation.
    let orphan = match (&before, &mut binding) {
        (Some(old), Some(new)) if old.arn == new.arn && new.rotation => None,
        (Some(old), new) => {
            if let Some(new) = new {
                new.pending = None;
            }
            old.pending.as_ref().map(|pending| pending.hash)
        }
        (None, _) => None,
    };
    if let Some(hash) = &orphan {
        key.secrets.retain(|secret| &secret.hash != hash);
    }
    key.secret = binding;
    Ok(orphan)
}

impl Keyplane {
    /// `setSecret`: makes `pending` (already stored as the secret's
    /// `AWSPENDING` version) verify next to the current secret, without
    /// making it current. Repeating the step with the same token and secret
    /// changes nothing; a new token abandons an unfinished earlier one.
    pub async fn stage_rotation(
        &self,
        rotator: &Caller,
        id: &KeyId,
        rotation: Rotation<'_>,
        pending: &ApiKey,
    ) -> Result<KeyView, Error> {
        let now = self.clock.now();
        check_token(rotation.token)?;
        if pending.check().is_err() {
            return Err(Error::invalid(
                "ROTATION_SECRET_MALFORMED",
                "the pending secret is not a well-formed Keyplane key",
            ));
        }
        let (mut key, fence) = self.rotatable_key(rotator, id, rotation).await?;
        let hash = pending.hash();
        let binding = key.secret.as_ref().and_then(|b| b.pending.clone());
        let mut deletes = Vec::new();
        match binding {
            Some(staged) if staged.token == rotation.token => {
                if staged.hash == hash {
                    return Ok(view::masked(&key, now));
                }
                return Err(Error::conflict(
                    "ROTATION_TOKEN_REUSED",
                    "this rotation already staged a different secret",
                ));
            }
            Some(abandoned) => {
                key.secrets.retain(|secret| secret.hash != abandoned.hash);
                deletes.push(abandoned.hash);
            }
            None => {}
        }
        if key.secrets.iter().any(|secret| secret.hash == hash) {
            return Err(Error::conflict(
                "ROTATION_SECRET_IN_USE",
                "the pending secret is already one of the key's secrets",
            ));
        }
        let expected = key.version;
        key.secrets.push(LiveSecret::current(hash));
        if let Some(binding) = key.secret.as_mut() {
            binding.pending = Some(PendingRotation {
                token: rotation.token.to_owned(),
                hash,
                hint: pending.hint(),
            });
        }
        self.commit_rotation(rotator, "key.rotation.stage", key, expected, deletes, fence)
            .await
    }

    /// `finishSecret`: makes the staged secret current. The previous
    /// secret keeps working for `grace_seconds` from now (a leaked one
    /// stops at once); older ones stop at once. Repeating the step after it
    /// succeeded changes nothing.
    pub async fn finish_rotation(
        &self,
        rotator: &Caller,
        id: &KeyId,
        rotation: Rotation<'_>,
        pending: &ApiKey,
        grace_seconds: u32,
    ) -> Result<KeyView, Error> {
        let now = self.clock.now();
        check_token(rotation.token)?;
        if grace_seconds > MAX_GRACE_SECONDS {
            return Err(Error::invalid(
                "GRACE_OUT_OF_RANGE",
                format!("grace_seconds must be between 0 and {MAX_GRACE_SECONDS}"),
            ));
        }
        let (mut key, fence) = self.rotatable_key(rotator, id, rotation).await?;
        let hash = pending.hash();
        let staged = key
            .secret
            .as_ref()
            .and_then(|binding| binding.pending.clone())
            .filter(|staged| staged.token == rotation.token && staged.hash == hash);
        let Some(staged) = staged else {
            let current = key.secrets.first().map(|secret| secret.hash);
            if current == Some(hash) {
                return Ok(view::masked(&key, now));
            }
            return Err(Error::conflict(
                "ROTATION_NOT_STAGED",
                "no secret was staged for this rotation (setSecret did not run, or a later change abandoned it)",
            ));
        };
        let Some(new) = key.secrets.iter().find(|s| s.hash == hash).cloned() else {
            return Err(Error::conflict(
                "ROTATION_NOT_STAGED",
                "the staged secret is gone (a roll replaced it); rotate again",
            ));
        };
        if new.leaked {
            return Err(Error::conflict(
                "ROTATION_SECRET_LEAKED",
                "the staged secret was reported as leaked; rotate again with a new one",
            ));
        }
        let expected = key.version;
        let ends = now + Duration::seconds(i64::from(grace_seconds));
        let mut deletes = Vec::new();
        let mut secrets = vec![new];
        for old in key.secrets.drain(..) {
            if old.hash == hash {
                continue;
            }
            let still_current = old.expires_at.is_none() && !old.leaked;
            if still_current && grace_seconds > 0 {
                secrets.push(LiveSecret {
                    expires_at: Some(ends),
                    ..old
                });
            } else if old.expires_at.is_some_and(|at| at > now) && !old.leaked {
                // An earlier roll's grace runs on; it is not cut short.
                secrets.push(old);
            } else {
                deletes.push(old.hash);
            }
        }
        key.secrets = secrets;
        key.hint = staged.hint;
        if let Some(binding) = key.secret.as_mut() {
            binding.pending = None;
        }
        self.commit_rotation(
            rotator,
            "key.rotation.finish",
            key,
            expected,
            deletes,
            fence,
        )
        .await
    }

    /// Writes one rotation step, audited as the rotator.
    async fn commit_rotation(
        &self,
        rotator: &Caller,
        action: &str,
        key: KeyRecord,
        expected: u64,
        deletes: Vec<KeyHash>,
        fence: Option<MemberFence>,
    ) -> Result<KeyView, Error> {
        let event = self.audit_event(rotator, &key.organization_id, action, key.id.as_str());
        let key = self
            .commit(Change {
                deletes,
                fence,
                ..Change::new(key, expected, event)
            })
            .await?;
        Ok(view::masked(&key, self.clock.now()))
    }

    /// The key `rotator` may rotate into `rotation.secret_arn`, with the
    /// fence on the membership of whoever turned rotation on.
    async fn rotatable_key(
        &self,
        rotator: &Caller,
        id: &KeyId,
        rotation: Rotation<'_>,
    ) -> Result<(KeyRecord, Option<MemberFence>), Error> {
        if !self.config.rotators.contains(&rotator.principal) {
            return Err(Error::forbidden(
                "NOT_A_ROTATOR",
                "only the configured rotation principal may rotate keys",
            ));
        }
        let key = self
            .store
            .get_key(id)
            .await?
            .ok_or_else(|| Error::not_found("KEY_NOT_FOUND", "key", id.as_str()))?;
        let binding = match &key.secret {
            Some(binding) if binding.arn == rotation.secret_arn => binding.clone(),
            _ => {
                return Err(Error::conflict(
                    "SECRET_NOT_BOUND",
                    "the key is not bound to this secret; bind it (secret_arn) before rotating",
                ))
            }
        };
        if !binding.rotation {
            return Err(Error::conflict(
                "ROTATION_NOT_ENABLED",
                "rotation is off for this key; turn it on (rotation: true) to let the rotator roll it",
            ));
        }
        refuse_if_revoked(&key)?;
        if key.status == KeyStatus::Pending {
            return Err(Error::conflict(
                "KEY_PENDING",
                "the key is pending; activate it before rotating",
            ));
        }
        // The one policy rule, asked of the principal the rotator acts for.
        let not_authorized = || {
            Error::forbidden(
                "ROTATION_NOT_AUTHORIZED",
                format!(
                    "rotation acts for {}, who turned it on and may no longer create this key; \
                     someone who may must turn rotation on again",
                    binding.bound_by
                ),
            )
        };
        let access = self
            .access(&binding.bound_by, &key.organization_id)
            .await
            .map_err(|err| match err.kind {
                crate::ErrorKind::Unavailable => err,
                _ => not_authorized(),
            })?;
        policy::may_mint(access.standing(), &binding.bound_by, (&key).into())
            .map_err(|_| not_authorized())?;
        Ok((key, access.fence()))
    }
}

fn check_token(token: &str) -> Result<(), Error> {
    let well_formed = (1..=MAX_TOKEN_CHARS).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if well_formed {
        Ok(())
    } else {
        Err(Error::invalid(
            "INVALID_ROTATION_TOKEN",
            "the rotation token must be 1-64 letters, digits, '-' or '_'",
        ))
    }
}
