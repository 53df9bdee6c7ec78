//! Creating, reading and listing keys.

use crate::id::KeyId;
use crate::key::{DisplayStatus, KeyRecord, KeyScope, KeyStatus, LiveSecret, PENDING_LIFETIME};
use crate::key_format::ApiKey;
use crate::policy::{self, Grant};
use crate::store::{KeyQuery, NewKey, StoreError};
use crate::{permission, validate, Error};

use super::idempotency::{self, IdempotencyToken};
use super::rules;
use super::view;
use super::{Caller, Keyplane};
use keyplane_api::keys::{CreateKey, KeyPage, KeyView, ListKeys, ScopeKind};

pub use keyplane_api::limits::MAX_CREDITS;

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

/// The reach a create request asks for.
fn scope_of(req: &CreateKey) -> Result<KeyScope, Error> {
    {
        match (req.scope, &req.workspace_id, &req.workspace_ids) {
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
}

impl Keyplane {
    /// Creates a key. With an idempotency token, a repeat of the request
    /// answers with the key it created (masked), never a second key.
    pub async fn create_key(
        &self,
        caller: &Caller,
        req: CreateKey,
        token: Option<&IdempotencyToken>,
    ) -> Result<CreateOutcome, Error> {
        let now = self.clock.now();
        let scope = scope_of(&req)?;
        let name = req
            .name
            .as_deref()
            .map(|n| validate::name("name", n))
            .transpose()?;
        let permissions = permission::normalise(&req.permissions)?;
        validate::metadata(&req.metadata)?;
        rules::validate_expiry(req.expires_at, now)?;
        if let Some(credits) = req.credits {
            if !(1..=MAX_CREDITS).contains(&credits) {
                return Err(Error::invalid(
                    "INVALID_CREDITS",
                    format!("credits must be between 1 and {MAX_CREDITS}"),
                ));
            }
        }
        if let Some(token) = token {
            token.validate()?;
        }

        let access = self.access(&caller.principal, &req.organization_id).await?;
        let grant = Grant {
            scope: &scope,
            key_type: req.key_type,
            role: req.role,
            permissions: &permissions,
            creator: &caller.principal,
        };
        policy::may_mint(access.standing(), &caller.principal, grant)?;
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

        let fingerprint =
            idempotency::fingerprint("key.create", req.organization_id.as_str(), &req);
        if let Some(earlier) = self.earlier_request(&caller.principal, token).await? {
            let view = self.replayed(&earlier, &fingerprint).await?;
            return Ok(CreateOutcome::Replayed(view));
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
            secrets: vec![LiveSecret::current(plaintext.hash())],
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
            secret: None,
        };
        let secrets = record.secret_records();
        let event = self.audit_event(
            caller,
            &record.organization_id,
            "key.create",
            record.id.as_str(),
        );
        let idempotency =
            self.idempotency_record(&caller.principal, token, &fingerprint, &record.id);
        let fence = access.fence();
        let written = self
            .store
            .create_key(NewKey {
                key: &record,
                secret: &secrets[0],
                audit: &event,
                idempotency: idempotency.as_ref(),
                fence: fence.as_ref(),
            })
            .await;
        match written {
            Ok(()) => Ok(CreateOutcome::Created(CreatedKey {
                key: plaintext,
                view: view::masked(&record, now),
            })),
            // A concurrent repeat won the race; answer as that repeat would.
            Err(StoreError::IdempotencyReplay(existing)) => Ok(CreateOutcome::Replayed(
                self.replayed(&existing, &fingerprint).await?,
            )),
            Err(StoreError::NotFound) => Err(Error::not_found(
                "ORGANIZATION_NOT_FOUND",
                "organization",
                record.organization_id.as_str(),
            )),
            Err(other) => Err(other.into()),
        }
    }

    /// Reads a key (masked); viewers of its scope.
    pub async fn get_key(&self, caller: &Caller, id: &KeyId) -> Result<KeyView, Error> {
        let key = self.readable_key(caller, id).await?;
        Ok(view::masked(&key, self.clock.now()))
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
        let limit = rules::page_limit(req.limit)?;
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
            .map(|k| view::masked(k, now))
            .filter(|v| req.status.is_none_or(|s| v.status == s))
            .collect();
        Ok(KeyPage {
            items,
            next_cursor: page.next_cursor,
        })
    }
}
