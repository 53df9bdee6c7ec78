//! The data plane: verify a presented key. One store read, and a write only
//! when a cost is spent.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::id::WorkspaceId;
use crate::key::{KeyScope, KeyStatus, SecretRecord};
use crate::key_format::{ApiKey, KeyHash};
use crate::store::CreditOutcome;
use crate::{permission, Error, ErrorKind};

use super::verify_cache::Lookup;
use super::Keyplane;
use keyplane_api::verify::{Verdict, VerifyCode, VerifyKey};

pub use keyplane_api::limits::MAX_COST;

/// An answer that names no key.
fn bare(code: VerifyCode) -> Verdict {
    Verdict {
        valid: code == VerifyCode::Valid,
        code,
        reason: None,
        key_id: None,
        organization_id: None,
        workspace_id: None,
        scope: None,
        actor: None,
        key_type: None,
        role: None,
        permissions: None,
        expires_at: None,
        credits_remaining: None,
    }
}

/// The answer about a found key. The requested workspace is echoed only
/// when the key is valid for it, so an answer never vouches for a
/// workspace the key does not reach.
fn about(code: VerifyCode, secret: &SecretRecord, workspace: Option<WorkspaceId>) -> Verdict {
    let workspace_id = match &secret.scope {
        KeyScope::Workspace { workspace_id } => Some(workspace_id.clone()),
        _ => workspace.filter(|_| code == VerifyCode::Valid),
    };
    let expires_at = [secret.expires_at, secret.secret_expires_at]
        .into_iter()
        .flatten()
        .min();
    Verdict {
        key_id: Some(secret.key_id.clone()),
        organization_id: Some(secret.organization_id.clone()),
        workspace_id,
        scope: Some(secret.scope.clone()),
        actor: Some(secret.actor.clone()),
        key_type: Some(secret.key_type),
        role: Some(secret.role),
        permissions: Some(secret.permissions.clone()),
        expires_at,
        ..bare(code)
    }
}

/// Judges a stored snapshot at `now` without spending anything.
fn judge(secret: &SecretRecord, req: &VerifyKey, now: DateTime<Utc>) -> VerifyCode {
    let passed = |at: Option<DateTime<Utc>>| at.is_some_and(|at| at <= now);
    if secret.leaked {
        return VerifyCode::Disabled;
    }
    match secret.status {
        KeyStatus::Revoked => VerifyCode::Revoked,
        KeyStatus::Disabled => VerifyCode::Disabled,
        KeyStatus::Pending => VerifyCode::Pending,
        KeyStatus::Active if passed(secret.expires_at) || passed(secret.secret_expires_at) => {
            VerifyCode::Expired
        }
        KeyStatus::Active => {
            let workspace_ok = req
                .workspace_id
                .as_ref()
                .is_none_or(|ws| secret.scope.covers(ws));
            let permissions_ok = req
                .permissions
                .iter()
                .all(|p| permission::any_grants(&secret.permissions, p));
            if workspace_ok && permissions_ok {
                VerifyCode::Valid
            } else {
                VerifyCode::Forbidden
            }
        }
    }
}

impl Keyplane {
    /// Verifies a presented key. Store failures are errors (fail closed),
    /// never a `VALID` answer.
    pub async fn verify(&self, req: VerifyKey) -> Result<Verdict, Error> {
        // The request is checked before the key: a bad permission or cost is
        // the caller's bug, answered 400 whatever key came with it.
        if let Some(cost) = req.cost {
            if !(1..=MAX_COST).contains(&cost) {
                return Err(Error::invalid(
                    "INVALID_COST",
                    format!("cost must be between 1 and {MAX_COST}"),
                ));
            }
        }
        for wanted in &req.permissions {
            permission::validate(wanted)?;
        }
        if let Err(malformed) = req.key.check() {
            return Ok(Verdict {
                reason: Some(malformed.code().to_owned()),
                ..bare(VerifyCode::Malformed)
            });
        }
        let hash = req.key.hash();
        // One clock read for the whole verify: the cache's freshness, the
        // judgement and the spend all use this instant.
        let now = self.clock.now();
        let Some(secret) = self.secret(&hash, now).await? else {
            return Ok(bare(VerifyCode::NotFound));
        };
        // Storage looked the item up by this hash; comparing again in
        // constant time guards against an adapter returning the wrong item.
        if !secret.hash.ct_eq(&hash) {
            return Err(Error::new(
                ErrorKind::Unavailable,
                "STORE_INCONSISTENT",
                "the key store returned an inconsistent answer",
            ));
        }
        let mut code = judge(&secret, &req, now);
        if code == VerifyCode::Valid
            && !self
                .reaches(&secret, req.workspace_id.as_ref(), now)
                .await?
        {
            code = VerifyCode::Forbidden;
        }
        let mut verdict = about(code, &secret, req.workspace_id.clone());
        if code != VerifyCode::Valid {
            return Ok(verdict);
        }
        let spend = req.cost.filter(|_| secret.metered);
        if spend.is_none() {
            // A spend records the last use itself, in the same write.
            if let Some(noted) = &self.last_use {
                noted.note(&secret.key_id, now);
            }
        }
        if let Some(cost) = spend {
            match self.store.spend_credits(&secret.key_id, cost, now).await? {
                CreditOutcome::Spent { remaining } => verdict.credits_remaining = Some(remaining),
                CreditOutcome::Exhausted => {
                    return Ok(about(VerifyCode::UsageExceeded, &secret, req.workspace_id))
                }
            }
        }
        Ok(verdict)
    }

    /// Does an organization-wide key reach the requested workspace? Only if
    /// the workspace belongs to the key's organization: one more read, and
    /// only for that kind of key. Other scopes name their workspaces, which
    /// were checked to belong to the organization when the key was made.
    async fn reaches(
        &self,
        secret: &SecretRecord,
        workspace: Option<&WorkspaceId>,
        now: DateTime<Utc>,
    ) -> Result<bool, Error> {
        let (Some(ws), KeyScope::Organization) = (workspace, &secret.scope) else {
            return Ok(true);
        };
        let org = &secret.organization_id;
        let Some(cache) = &self.verify_cache else {
            return Ok(self.store.get_workspace(org, ws).await?.is_some());
        };
        if let Some(exists) = cache.workspace(org, ws, now) {
            return Ok(exists);
        }
        let read = cache.start(now);
        let exists = self.store.get_workspace(org, ws).await?.is_some();
        cache.remember_workspace(org, ws, exists, read);
        Ok(exists)
    }

    /// The secret item for a hash: from the verify cache when it holds a
    /// fresh answer, else one store read (remembered). Store failures are
    /// never cached.
    async fn secret(
        &self,
        hash: &KeyHash,
        now: DateTime<Utc>,
    ) -> Result<Option<Arc<SecretRecord>>, Error> {
        let Some(cache) = &self.verify_cache else {
            return Ok(self.store.get_secret(hash).await?.map(Arc::new));
        };
        match cache.secret(hash, now) {
            Some(Lookup::Found(secret)) => return Ok(Some(secret)),
            Some(Lookup::Missing) => return Ok(None),
            None => {}
        }
        let read = cache.start(now);
        let found = self.store.get_secret(hash).await?.map(Arc::new);
        let remembered = match &found {
            Some(secret) => Lookup::Found(secret.clone()),
            None => Lookup::Missing,
        };
        cache.remember_secret(*hash, remembered, read);
        Ok(found)
    }

    /// Identifies the holder of a key (`GET /v1/whoami`). An unusable key is
    /// an `Unauthenticated` error whose code is the verify code.
    pub async fn whoami(&self, key: ApiKey) -> Result<Verdict, Error> {
        let verdict = self
            .verify(VerifyKey {
                key,
                permissions: Vec::new(),
                workspace_id: None,
                cost: None,
            })
            .await?;
        if verdict.valid {
            return Ok(verdict);
        }
        let code = verdict.code.as_str();
        Err(Error::new(
            ErrorKind::Unauthenticated,
            code,
            "the bearer key is not usable",
        ))
    }
}
