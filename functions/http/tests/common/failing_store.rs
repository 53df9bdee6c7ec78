//! The embedded store with the verify path's reads and credit spends,
//! request claims and tenancy creates failing on demand, for fail-closed
//! tests.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use keyplane_core::audit::AuditEvent;
use keyplane_core::id::{KeyId, OrgId, WorkspaceId};
use keyplane_core::key::{KeyRecord, SecretRecord};
use keyplane_core::key_format::KeyHash;
use keyplane_core::principal::Principal;
use keyplane_core::store::{
    CreditOutcome, IdempotencyRecord, KeyQuery, KeyStore, KeyUpdate, MemberChange, NewKey, Page,
    StoreError, UsageIncrement,
};
use keyplane_core::tenancy::{Membership, Organization, Workspace};
use keyplane_core::usage::UsageRow;
use keyplane_store::EmbeddedStore;

/// Which store calls fail.
#[derive(Debug, Default)]
pub struct Faults {
    /// `get_secret` fails.
    pub secrets: AtomicBool,
    /// `spend_credits` fails.
    pub credits: AtomicBool,
    /// `get_secret` never answers (a store that hangs).
    pub hang: AtomicBool,
    /// `claim_request` and `release_request` fail.
    pub claims: AtomicBool,
    /// `create_organization` and `create_workspace` fail.
    pub creates: AtomicBool,
}

/// The embedded store, with the verify path's reads and credit spends
/// failing on demand.
#[derive(Debug)]
pub struct FailingStore {
    inner: EmbeddedStore,
    faults: Arc<Faults>,
}

impl FailingStore {
    /// A fresh in-memory store and the switches of its faults.
    pub fn new() -> (Self, Arc<Faults>) {
        let faults = Arc::new(Faults::default());
        let store = Self {
            inner: EmbeddedStore::in_memory().unwrap(),
            faults: faults.clone(),
        };
        (store, faults)
    }
}

fn injected() -> StoreError {
    StoreError::Unavailable("injected".to_owned())
}

#[async_trait]
impl KeyStore for FailingStore {
    async fn create_organization(
        &self,
        org: &Organization,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        if self.faults.creates.load(Ordering::SeqCst) {
            return Err(injected());
        }
        self.inner.create_organization(org, audit).await
    }
    async fn get_organization(&self, id: &OrgId) -> Result<Option<Organization>, StoreError> {
        self.inner.get_organization(id).await
    }
    async fn update_organization(
        &self,
        id: &OrgId,
        name: Option<&str>,
        key_quota: Option<u32>,
        audit: &AuditEvent,
    ) -> Result<Organization, StoreError> {
        self.inner
            .update_organization(id, name, key_quota, audit)
            .await
    }
    async fn create_workspace(
        &self,
        workspace: &Workspace,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        if self.faults.creates.load(Ordering::SeqCst) {
            return Err(injected());
        }
        self.inner.create_workspace(workspace, audit).await
    }
    async fn get_workspace(
        &self,
        org: &OrgId,
        id: &WorkspaceId,
    ) -> Result<Option<Workspace>, StoreError> {
        self.inner.get_workspace(org, id).await
    }
    async fn list_workspaces(&self, org: &OrgId) -> Result<Vec<Workspace>, StoreError> {
        self.inner.list_workspaces(org).await
    }
    async fn put_member(
        &self,
        member: &Membership,
        expected_version: Option<u64>,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.inner.put_member(member, expected_version, audit).await
    }
    async fn personal_keys(
        &self,
        org: &OrgId,
        principal: &Principal,
    ) -> Result<Vec<KeyRecord>, StoreError> {
        self.inner.personal_keys(org, principal).await
    }
    async fn get_member(
        &self,
        org: &OrgId,
        principal: &Principal,
    ) -> Result<Option<Membership>, StoreError> {
        self.inner.get_member(org, principal).await
    }
    async fn list_members(&self, org: &OrgId) -> Result<Vec<Membership>, StoreError> {
        self.inner.list_members(org).await
    }
    async fn delete_member(
        &self,
        org: &OrgId,
        principal: &Principal,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.inner.delete_member(org, principal, audit).await
    }
    async fn change_member(&self, change: MemberChange<'_>) -> Result<(), StoreError> {
        self.inner.change_member(change).await
    }
    async fn create_key(&self, new: NewKey<'_>) -> Result<(), StoreError> {
        self.inner.create_key(new).await
    }
    async fn get_key(&self, id: &KeyId) -> Result<Option<KeyRecord>, StoreError> {
        self.inner.get_key(id).await
    }
    async fn update_key(&self, update: KeyUpdate<'_>) -> Result<(), StoreError> {
        self.inner.update_key(update).await
    }
    async fn list_keys(&self, query: &KeyQuery) -> Result<Page<KeyRecord>, StoreError> {
        self.inner.list_keys(query).await
    }
    async fn get_secret(&self, hash: &KeyHash) -> Result<Option<SecretRecord>, StoreError> {
        if self.faults.secrets.load(Ordering::SeqCst) {
            return Err(injected());
        }
        if self.faults.hang.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        self.inner.get_secret(hash).await
    }
    async fn spend_credits(
        &self,
        key: &KeyId,
        cost: u64,
        at: DateTime<Utc>,
    ) -> Result<CreditOutcome, StoreError> {
        if self.faults.credits.load(Ordering::SeqCst) {
            return Err(injected());
        }
        self.inner.spend_credits(key, cost, at).await
    }
    async fn touch_last_used(&self, uses: &[(KeyId, DateTime<Utc>)]) -> Result<(), StoreError> {
        self.inner.touch_last_used(uses).await
    }
    async fn get_idempotency(
        &self,
        principal: &Principal,
        token: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.inner.get_idempotency(principal, token).await
    }
    async fn record_usage(&self, usage: &UsageIncrement) -> Result<(), StoreError> {
        self.inner.record_usage(usage).await
    }
    async fn query_usage(
        &self,
        key: &KeyId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<UsageRow>, StoreError> {
        self.inner.query_usage(key, from, to).await
    }
    async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.inner.append_audit(event).await
    }
    async fn list_audit(
        &self,
        org: &OrgId,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<AuditEvent>, StoreError> {
        self.inner.list_audit(org, cursor, limit).await
    }
    async fn claim_request(
        &self,
        digest: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        if self.faults.claims.load(Ordering::SeqCst) {
            return Err(injected());
        }
        self.inner.claim_request(digest, now, expires_at).await
    }
    async fn release_request(&self, digest: &str) -> Result<(), StoreError> {
        if self.faults.claims.load(Ordering::SeqCst) {
            return Err(injected());
        }
        self.inner.release_request(digest).await
    }
}
