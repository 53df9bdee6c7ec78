//! Creating, reading and listing keys.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::id::{KeyId, OrgId, WorkspaceId};
use crate::key::{
    DisplayStatus, KeyRecord, KeyRole, KeyScope, KeyStatus, KeyType, LiveSecret, PENDING_LIFETIME,
};
use crate::key_format::ApiKey;
use crate::policy;
use crate::principal::Principal;
use crate::store::{IdempotencyRecord, KeyQuery, NewKey, StoreError};
use crate::{permission, validate, Error};

use super::{Caller, Keyplane};

/// Largest credit limit.
pub const MAX_CREDITS: u64 = 1_000_000_000_000_000;
/// Longest accepted `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;
const IDEMPOTENCY_RETENTION_SECONDS: i64 = 24 * 3600;

/// Whether a key is a workspace key or an organization key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScopeKind {
    /// One workspace (`workspace_id` required).
    Workspace,
    /// The organization: all workspaces, or `workspace_ids` when given.
    Organization,
}

/// Request to create a key.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
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
    /// When the key stops working.
    pub expires_at: Option<DateTime<Utc>>,
    /// Credit limit spent by verify with a `cost`; unmetered when omitted.
    pub credits: Option<u64>,
    /// Free-form labels.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// `false` creates the key `pending` until activated (two-phase create).
    pub activate: Option<bool>,
}

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
    pub disabled_reason: Option<String>,
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
            disabled_reason: key.disabled_reason.clone(),
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

/// A freshly minted key: the only time the plaintext is available.
#[derive(Debug)]
pub struct CreatedKey {
    /// The plaintext, shown once.
    pub key: ApiKey,
    /// The masked view.
    pub view: KeyView,
}

/// What a create request led to.
#[derive(Debug)]
pub enum CreateOutcome {
    /// A new key.
    Created(CreatedKey),
    /// The same request was seen before under this `Idempotency-Key`: the
    /// key it created, without the plaintext (which was never stored).
    Replayed(KeyView),
}

/// Which keys to list.
#[derive(Debug, Clone, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListKeys {
    /// Organization.
    pub organization_id: OrgId,
    /// Keys reaching this workspace.
    pub workspace_id: Option<WorkspaceId>,
    /// Keys with this status.
    pub status: Option<DisplayStatus>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–100 (default 50).
    pub limit: Option<usize>,
}

/// A page of keys.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KeyPage {
    /// Keys, newest first.
    pub items: Vec<KeyView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

pub(crate) fn page_limit(limit: Option<usize>) -> Result<usize, Error> {
    match limit {
        None => Ok(50),
        Some(n @ 1..=100) => Ok(n),
        Some(_) => Err(Error::invalid(
            "INVALID_LIMIT",
            "limit must be between 1 and 100",
        )),
    }
}

fn validate_idempotency_key(token: &str) -> Result<(), Error> {
    if token.is_empty()
        || token.len() > MAX_IDEMPOTENCY_KEY_LEN
        || !token.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(Error::invalid(
            "INVALID_IDEMPOTENCY_KEY",
            format!(
                "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} printable ASCII characters"
            ),
        ));
    }
    validate::no_keys("Idempotency-Key", token)
}

impl CreateKey {
    fn scope(&self) -> Result<KeyScope, Error> {
        match (self.scope, &self.workspace_id, &self.workspace_ids) {
            (ScopeKind::Workspace, Some(ws), None) => Ok(KeyScope::Workspace { workspace_id: ws.clone() }),
            (ScopeKind::Workspace, _, _) => Err(Error::invalid(
                "INVALID_SCOPE",
                "a workspace key needs workspace_id and no workspace_ids",
            )),
            (ScopeKind::Organization, None, None) => Ok(KeyScope::Organization),
            (ScopeKind::Organization, None, Some(list)) if !list.is_empty() => {
                Ok(KeyScope::Workspaces { workspace_ids: list.clone() })
            }
            (ScopeKind::Organization, _, _) => Err(Error::invalid(
                "INVALID_SCOPE",
                "an organization key takes a non-empty workspace_ids list or none (all workspaces), and no workspace_id",
            )),
        }
    }

    fn fingerprint(&self) -> String {
        let canonical = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(Sha256::digest(&canonical))
    }
}

impl Keyplane {
    /// Creates a key. `idempotency_key` makes retries safe: a retry of the
    /// same request answers with the key it created, never a second key.
    pub async fn create_key(
        &self,
        caller: &Caller,
        req: CreateKey,
        idempotency_key: Option<&str>,
    ) -> Result<CreateOutcome, Error> {
        let now = self.clock.now();
        let scope = req.scope()?;
        let name = req
            .name
            .as_deref()
            .map(|n| validate::name("name", n))
            .transpose()?;
        let permissions = permission::normalise(&req.permissions)?;
        validate::metadata(&req.metadata)?;
        super::lifecycle::validate_expiry(req.expires_at, now)?;
        if let Some(credits) = req.credits {
            if !(1..=MAX_CREDITS).contains(&credits) {
                return Err(Error::invalid(
                    "INVALID_CREDITS",
                    format!("credits must be between 1 and {MAX_CREDITS}"),
                ));
            }
        }
        if let Some(token) = idempotency_key {
            validate_idempotency_key(token)?;
        }

        let access = self.access(&caller.principal, &req.organization_id).await?;
        policy::may_manage_key(access.standing(), &scope)?;
        policy::may_grant(access.standing(), &scope, req.role, &permissions)?;
        match &scope {
            KeyScope::Workspace { workspace_id } => {
                self.require_workspace(&req.organization_id, workspace_id)
                    .await?;
            }
            KeyScope::Workspaces { workspace_ids } => {
                for ws in workspace_ids {
                    self.require_workspace(&req.organization_id, ws).await?;
                }
            }
            KeyScope::Organization => {}
        }

        let fingerprint = req.fingerprint();
        if let Some(token) = idempotency_key {
            let live = self.store.get_idempotency(&caller.principal, token).await?;
            if let Some(record) = live.filter(|r| r.ttl > now.timestamp()) {
                return self.replay(&record, &fingerprint).await;
            }
        }

        let plaintext = ApiKey::mint(self.config.key_env);
        let id = KeyId::generate();
        let activate = req.activate.unwrap_or(true);
        let record = KeyRecord {
            name: name.unwrap_or_else(|| id.to_string()),
            id,
            organization_id: req.organization_id.clone(),
            scope,
            key_type: req.key_type,
            role: req.role,
            permissions,
            status: if activate {
                KeyStatus::Active
            } else {
                KeyStatus::Pending
            },
            disabled_reason: None,
            hint: plaintext.hint(),
            secrets: vec![LiveSecret {
                hash: plaintext.hash(),
                expires_at: None,
            }],
            expires_at: req.expires_at,
            pending_until: (!activate).then(|| now + PENDING_LIFETIME),
            credits: req.credits,
            metadata: req.metadata.clone(),
            created_by: caller.principal.clone(),
            created_at: now,
            updated_at: now,
            revoked_at: None,
            version: 1,
            credits_remaining: req.credits,
            last_used_at: None,
        };
        let secrets = record.secret_records();
        let event = self.audit_event(
            caller,
            &record.organization_id,
            "key.create",
            record.id.as_str(),
        );
        let idempotency = idempotency_key.map(|token| IdempotencyRecord {
            principal: caller.principal.clone(),
            token: token.to_owned(),
            fingerprint: fingerprint.clone(),
            key_id: record.id.clone(),
            ttl: now.timestamp() + IDEMPOTENCY_RETENTION_SECONDS,
        });
        let written = self
            .store
            .create_key(NewKey {
                key: &record,
                secret: &secrets[0],
                audit: &event,
                idempotency: idempotency.as_ref(),
            })
            .await;
        match written {
            Ok(()) => Ok(CreateOutcome::Created(CreatedKey {
                key: plaintext,
                view: KeyView::of(&record, now),
            })),
            // A concurrent retry won the race; answer as that retry would.
            Err(StoreError::IdempotencyReplay(existing)) => {
                self.replay(&existing, &fingerprint).await
            }
            Err(StoreError::NotFound) => Err(Error::not_found(
                "ORGANIZATION_NOT_FOUND",
                "organization",
                record.organization_id.as_str(),
            )),
            Err(other) => Err(other.into()),
        }
    }

    async fn replay(
        &self,
        record: &IdempotencyRecord,
        fingerprint: &str,
    ) -> Result<CreateOutcome, Error> {
        if record.fingerprint != fingerprint {
            return Err(Error::invalid(
                "IDEMPOTENCY_KEY_MISMATCH",
                "this Idempotency-Key was used for a different request; use a new key for a new request",
            ));
        }
        let key = self
            .store
            .get_key(&record.key_id)
            .await?
            .ok_or_else(|| Error::not_found("KEY_NOT_FOUND", "key", record.key_id.as_str()))?;
        Ok(CreateOutcome::Replayed(KeyView::of(&key, self.clock.now())))
    }

    /// Reads a key (masked); viewers of its scope.
    pub async fn get_key(&self, caller: &Caller, id: &KeyId) -> Result<KeyView, Error> {
        let key = self.readable_key(caller, id).await?;
        Ok(KeyView::of(&key, self.clock.now()))
    }

    /// Loads a key the caller may read; others get `KEY_NOT_FOUND`.
    pub(crate) async fn readable_key(
        &self,
        caller: &Caller,
        id: &KeyId,
    ) -> Result<KeyRecord, Error> {
        let not_found = || Error::not_found("KEY_NOT_FOUND", "key", id.as_str());
        let key = self.store.get_key(id).await?.ok_or_else(not_found)?;
        let access = self
            .access(&caller.principal, &key.organization_id)
            .await
            .map_err(|e| {
                if e.kind == crate::ErrorKind::NotFound {
                    not_found()
                } else {
                    e
                }
            })?;
        policy::may_read_key(access.standing(), &key.scope).map_err(|_| not_found())?;
        Ok(key)
    }

    /// Lists keys (masked) the caller may read, newest first. A page may hold
    /// fewer than `limit` items when some are filtered out; follow
    /// `next_cursor` until it is absent.
    pub async fn list_keys(&self, caller: &Caller, req: ListKeys) -> Result<KeyPage, Error> {
        let limit = page_limit(req.limit)?;
        let access = self.access(&caller.principal, &req.organization_id).await?;
        policy::may_read_org(access.standing())?;
        if let Some(ws) = &req.workspace_id {
            self.require_workspace(&req.organization_id, ws).await?;
        }
        let stored_status = req.status.and_then(|s| match s {
            DisplayStatus::Pending => Some(KeyStatus::Pending),
            DisplayStatus::Active => Some(KeyStatus::Active),
            DisplayStatus::Disabled => Some(KeyStatus::Disabled),
            DisplayStatus::Revoked => Some(KeyStatus::Revoked),
            DisplayStatus::Expired => None,
        });
        let page = self
            .store
            .list_keys(&KeyQuery {
                organization_id: req.organization_id.clone(),
                workspace_id: req.workspace_id.clone(),
                status: stored_status,
                created_by: None,
                cursor: req.cursor.clone(),
                limit,
            })
            .await
            .map_err(|e| match e {
                StoreError::NotFound => Error::invalid(
                    "INVALID_CURSOR",
                    "the cursor is not one this service issued",
                ),
                other => other.into(),
            })?;
        let now = self.clock.now();
        let items = page
            .items
            .iter()
            .filter(|k| policy::may_read_key(access.standing(), &k.scope).is_ok())
            .map(|k| KeyView::of(k, now))
            .filter(|v| req.status.is_none_or(|s| v.status == s))
            .collect();
        Ok(KeyPage {
            items,
            next_cursor: page.next_cursor,
        })
    }
}
