//! The data plane: verify a presented key. One store read, and a write only
//! when a cost is spent.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::id::{KeyId, OrgId, WorkspaceId};
use crate::key::{KeyRole, KeyScope, KeyStatus, KeyType, SecretRecord};
use crate::key_format::ApiKey;
use crate::store::CreditOutcome;
use crate::{permission, Error, ErrorKind};

use super::Keyplane;

/// Largest cost one verify may spend.
pub const MAX_COST: u64 = 1_000_000_000;

/// A verify request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyKey {
    /// The presented key.
    #[schema(value_type = String)]
    pub key: ApiKey,
    /// Permissions the caller needs; all must be granted.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// The workspace being accessed; the key must reach it, and an
    /// organization-wide key reaches only its own organization's workspaces.
    pub workspace_id: Option<WorkspaceId>,
    /// Credits to spend; a metered key answers `USAGE_EXCEEDED` when it has
    /// fewer left. Without a cost, verify stays one read and does not look
    /// at the balance, so gateways in front of metered keys send a cost on
    /// every call.
    pub cost: Option<u64>,
}

/// The verdict. A bad key is an answer, not an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VerifyCode {
    /// The key may be used.
    Valid,
    /// Not a Keyplane key (prefix, length, alphabet or checksum).
    Malformed,
    /// Well-formed but unknown.
    NotFound,
    /// Created in two phases and not activated.
    Pending,
    /// Disabled.
    Disabled,
    /// Revoked.
    Revoked,
    /// Past its expiry, or past the grace period of a roll.
    Expired,
    /// Valid, but not for this workspace or these permissions.
    Forbidden,
    /// Not enough credits left.
    UsageExceeded,
}

/// The verify answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Verdict {
    /// True only for `VALID`.
    pub valid: bool,
    /// Why.
    pub code: VerifyCode,
    /// For `MALFORMED`: `WRONG_PREFIX`, `WRONG_LENGTH`, `BAD_ALPHABET` or `BAD_CHECKSUM`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// The key, once found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<KeyId>,
    /// Its organization.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<OrgId>,
    /// The workspace of a workspace key, or the requested one when the key
    /// is valid for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<WorkspaceId>,
    /// Reach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<KeyScope>,
    /// The creator (personal keys) or the key's name (service keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Personal or service.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub key_type: Option<KeyType>,
    /// Role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<KeyRole>,
    /// Permission patterns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
    /// Expiry of the key (or of this secret, during a roll grace period).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Credits left after this call, for metered keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credits_remaining: Option<u64>,
}

impl Verdict {
    fn bare(code: VerifyCode) -> Self {
        Self {
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
    fn about(code: VerifyCode, secret: &SecretRecord, workspace: Option<WorkspaceId>) -> Self {
        let workspace_id = match &secret.scope {
            KeyScope::Workspace { workspace_id } => Some(workspace_id.clone()),
            _ => workspace.filter(|_| code == VerifyCode::Valid),
        };
        let expires_at = [secret.expires_at, secret.secret_expires_at]
            .into_iter()
            .flatten()
            .min();
        Self {
            key_id: Some(secret.key_id.clone()),
            organization_id: Some(secret.organization_id.clone()),
            workspace_id,
            scope: Some(secret.scope.clone()),
            actor: Some(secret.actor.clone()),
            key_type: Some(secret.key_type),
            role: Some(secret.role),
            permissions: Some(secret.permissions.clone()),
            expires_at,
            ..Self::bare(code)
        }
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
        if let Err(malformed) = req.key.check() {
            return Ok(Verdict {
                reason: Some(malformed.code()),
                ..Verdict::bare(VerifyCode::Malformed)
            });
        }
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
        let hash = req.key.hash();
        let Some(secret) = self.store.get_secret(&hash).await? else {
            return Ok(Verdict::bare(VerifyCode::NotFound));
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
        let now = self.clock.now();
        let mut code = judge(&secret, &req, now);
        if code == VerifyCode::Valid && !self.reaches(&secret, req.workspace_id.as_ref()).await? {
            code = VerifyCode::Forbidden;
        }
        let mut verdict = Verdict::about(code, &secret, req.workspace_id.clone());
        if code != VerifyCode::Valid || !secret.metered {
            return Ok(verdict);
        }
        if let Some(cost) = req.cost {
            match self.store.spend_credits(&secret.key_id, cost, now).await? {
                CreditOutcome::Spent { remaining } => verdict.credits_remaining = Some(remaining),
                CreditOutcome::Exhausted => {
                    return Ok(Verdict::about(
                        VerifyCode::UsageExceeded,
                        &secret,
                        req.workspace_id,
                    ))
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
    ) -> Result<bool, Error> {
        match (workspace, &secret.scope) {
            (Some(ws), KeyScope::Organization) => Ok(self
                .store
                .get_workspace(&secret.organization_id, ws)
                .await?
                .is_some()),
            _ => Ok(true),
        }
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
        let code = match verdict.code {
            VerifyCode::Malformed => "MALFORMED",
            VerifyCode::NotFound => "NOT_FOUND",
            VerifyCode::Pending => "PENDING",
            VerifyCode::Disabled => "DISABLED",
            VerifyCode::Revoked => "REVOKED",
            VerifyCode::Expired => "EXPIRED",
            VerifyCode::Forbidden => "FORBIDDEN",
            VerifyCode::UsageExceeded => "USAGE_EXCEEDED",
            VerifyCode::Valid => "VALID",
        };
        Err(Error::new(
            ErrorKind::Unauthenticated,
            code,
            "the bearer key is not usable",
        ))
    }
}
