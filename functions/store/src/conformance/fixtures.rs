//! Small builders for the records the cases store. Every builder makes fresh
//! random ids, so cases never collide even on a shared backend.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use keyplane_core::audit::{AuditEvent, AUDIT_RETENTION};
use keyplane_core::id::{EventId, KeyId, OrgId, WorkspaceId};
use keyplane_core::key::{KeyRecord, KeyRole, KeyScope, KeyStatus, KeyType, LiveSecret};
use keyplane_core::key_format::{ApiKey, KeyEnv, KeyHash};
use keyplane_core::principal::Principal;
use keyplane_core::store::{IdempotencyRecord, KeyStore, KeyUpdate, NewKey, StoreError};
use keyplane_core::tenancy::{Membership, OrgRole, Organization, Workspace, WorkspaceRole};

/// The instant every case's clock starts at: 2025-01-01T00:00:00Z.
pub fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_735_689_600, 0).expect("2025-01-01 is representable")
}

/// `t0` plus `seconds`.
pub fn at(seconds: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(seconds)
}

/// A UTC day in January 2025.
pub fn day(of_january: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 1, of_january).expect("a day of January")
}

/// The IAM user `name` of a fixed account.
pub fn principal(name: &str) -> Principal {
    Principal::parse(&format!("arn:aws:iam::123456789012:user/{name}"))
        .expect("a well-formed IAM user ARN")
}

/// A fresh key hash; the plaintext is dropped at once.
pub fn fresh_hash() -> KeyHash {
    ApiKey::mint(KeyEnv::Test).hash()
}

/// An organization with `key_quota` and no keys.
pub fn organization(key_quota: u32) -> Organization {
    Organization {
        id: OrgId::generate(),
        name: "Acme".to_owned(),
        key_quota,
        key_count: 0,
        created_at: t0(),
        created_by: principal("admin"),
    }
}

/// A workspace of `org`.
pub fn workspace(org: &OrgId, name: &str) -> Workspace {
    Workspace {
        id: WorkspaceId::generate(),
        organization_id: org.clone(),
        name: name.to_owned(),
        created_at: t0(),
    }
}

/// A plain member of `org` with viewer rights in `workspaces`.
pub fn member(org: &OrgId, who: &Principal, workspaces: &[&WorkspaceId]) -> Membership {
    Membership {
        organization_id: org.clone(),
        principal: who.clone(),
        org_role: OrgRole::Member,
        workspace_roles: workspaces
            .iter()
            .map(|ws| ((*ws).clone(), WorkspaceRole::Viewer))
            .collect(),
        permissions: vec!["*".to_owned()],
        updated_at: t0(),
        version: 1,
    }
}

/// An audit event of `org` happening `when`.
pub fn event(org: &OrgId, action: &str, target: &str, when: DateTime<Utc>) -> AuditEvent {
    AuditEvent {
        id: EventId::generate(),
        organization_id: org.clone(),
        at: when,
        actor: principal("admin").to_string(),
        action: action.to_owned(),
        target: target.to_owned(),
        source: Some("conformance".to_owned()),
        request_id: None,
        ttl: (when + AUDIT_RETENTION).timestamp(),
    }
}

/// An idempotency record for a key created by `who` with `token`.
pub fn idempotency(who: &Principal, token: &str, key: &KeyId) -> IdempotencyRecord {
    IdempotencyRecord {
        principal: who.clone(),
        token: token.to_owned(),
        fingerprint: "f".repeat(64),
        key_id: key.clone(),
        ttl: at(86_400).timestamp(),
    }
}

/// Builds a [`KeyRecord`] at version 1 with one fresh secret.
#[derive(Debug, Clone)]
pub struct KeyBuilder(KeyRecord);

impl KeyBuilder {
    /// An active, unmetered organization key of `org`, created at `t0` by alice.
    pub fn new(org: &OrgId) -> Self {
        let id = KeyId::generate();
        Self(KeyRecord {
            name: id.to_string(),
            id,
            organization_id: org.clone(),
            scope: KeyScope::Organization,
            key_type: KeyType::Service,
            role: KeyRole::Editor,
            permissions: vec!["models:*".to_owned()],
            status: KeyStatus::Active,
            disabled_reason: None,
            hint: "kp_test_abc…wxyz".to_owned(),
            secrets: vec![LiveSecret::current(fresh_hash())],
            expires_at: None,
            pending_until: None,
            credits: None,
            metadata: BTreeMap::from([("team".to_owned(), "search".to_owned())]),
            created_by: principal("alice"),
            created_at: t0(),
            updated_at: t0(),
            revoked_at: None,
            version: 1,
            credits_remaining: None,
            last_used_at: None,
            secret: None,
        })
    }

    /// Sets the scope.
    pub fn scope(mut self, scope: KeyScope) -> Self {
        self.0.scope = scope;
        self
    }

    /// Meters the key with `credits`.
    pub fn credits(mut self, credits: u64) -> Self {
        self.0.credits = Some(credits);
        self.0.credits_remaining = Some(credits);
        self
    }

    /// Sets the key's expiry.
    pub fn expires_at(mut self, when: DateTime<Utc>) -> Self {
        self.0.expires_at = Some(when);
        self
    }

    /// Sets the creation (and last update) time.
    pub fn created_at(mut self, when: DateTime<Utc>) -> Self {
        self.0.created_at = when;
        self.0.updated_at = when;
        self
    }

    /// Sets the creator.
    pub fn created_by(mut self, who: Principal) -> Self {
        self.0.created_by = who;
        self
    }

    /// Sets the type.
    pub fn key_type(mut self, key_type: KeyType) -> Self {
        self.0.key_type = key_type;
        self
    }

    /// Sets the stored status.
    pub fn status(mut self, status: KeyStatus) -> Self {
        self.0.status = status;
        self
    }

    /// Uses `hash` as the key's only secret.
    pub fn secret(mut self, hash: KeyHash) -> Self {
        self.0.secrets = vec![LiveSecret::current(hash)];
        self
    }

    /// The record.
    pub fn build(self) -> KeyRecord {
        self.0
    }
}

/// Creates `org` in `store`, panicking on failure.
pub async fn given_org<S: KeyStore>(store: &S, key_quota: u32) -> Organization {
    let org = organization(key_quota);
    store
        .create_organization(&org, &event(&org.id, "org.create", org.id.as_str(), t0()))
        .await
        .expect("create_organization");
    org
}

/// Creates `key` (its first secret, a `key.create` event, and an
/// idempotency record when `token` is given).
pub async fn create_key<S: KeyStore>(
    store: &S,
    key: &KeyRecord,
    token: Option<&str>,
) -> Result<(), StoreError> {
    let secrets = key.secret_records();
    let secret = secrets.first().expect("a key has a secret");
    let audit = event(
        &key.organization_id,
        "key.create",
        key.id.as_str(),
        key.created_at,
    );
    let idempotency = token.map(|token| idempotency(&key.created_by, token, &key.id));
    store
        .create_key(NewKey {
            key,
            secret,
            audit: &audit,
            idempotency: idempotency.as_ref(),
            fence: None,
        })
        .await
}

/// Creates `key`, panicking on failure.
pub async fn given_key<S: KeyStore>(store: &S, key: KeyRecord) -> KeyRecord {
    create_key(store, &key, None).await.expect("create_key");
    key
}

/// The next version of `key`, changed by `change` `seconds` after `t0`.
pub fn next_version(
    key: &KeyRecord,
    seconds: i64,
    change: impl FnOnce(&mut KeyRecord),
) -> KeyRecord {
    let mut next = key.clone();
    next.version += 1;
    next.updated_at = at(seconds);
    change(&mut next);
    next
}

/// Writes `next` over the version it was made from, rewriting all its live
/// secrets and deleting `deletes`, as the core's lifecycle does.
pub async fn update_key<S: KeyStore>(
    store: &S,
    next: &KeyRecord,
    deletes: &[KeyHash],
    release_quota: bool,
) -> Result<(), StoreError> {
    let puts = next.secret_records();
    let audit = event(
        &next.organization_id,
        "key.update",
        next.id.as_str(),
        next.updated_at,
    );
    store
        .update_key(KeyUpdate {
            key: next,
            expected_version: next.version - 1,
            put_secrets: &puts,
            delete_secrets: deletes,
            release_quota,
            audit: &audit,
            idempotency: None,
            fence: None,
        })
        .await
}

/// Every audit event of `org`, newest first, read page by page.
pub async fn all_audit<S: KeyStore>(store: &S, org: &OrgId) -> Vec<AuditEvent> {
    let mut events = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .list_audit(org, cursor.as_deref(), 100)
            .await
            .expect("list_audit");
        events.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return events,
        }
    }
}

/// The key count `store` reports for `org`.
pub async fn key_count<S: KeyStore>(store: &S, org: &OrgId) -> u32 {
    store
        .get_organization(org)
        .await
        .expect("get_organization")
        .expect("the organization exists")
        .key_count
}
