//! The store as the use cases see it when the verify cache is on: every
//! write that can change a verdict forgets what the cache holds once the
//! write returns, whether it succeeded or not (a timed-out write may still
//! have landed). Only counters (credits, usage, last use), lone audit
//! events and request claims leave the cache alone: no verdict depends on
//! them, and credits are always spent in the store.
//!
//! Wrapping the store, rather than invalidating in each use case, means a
//! write added later cannot forget to invalidate: the trait will not
//! compile until the method is listed here.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::audit::AuditEvent;
use crate::id::{KeyId, OrgId, WorkspaceId};
use crate::key::{KeyRecord, SecretRecord};
use crate::key_format::KeyHash;
use crate::principal::Principal;
use crate::store::{
    CreditOutcome, IdempotencyRecord, KeyQuery, KeyStore, KeyUpdate, MemberChange, NewKey, Page,
    StoreError, UsageIncrement,
};
use crate::tenancy::{Membership, Organization, Workspace};
use crate::usage::UsageRow;

use super::verify_cache::VerifyCache;

#[derive(Debug)]
pub(super) struct InvalidatingStore {
    inner: Arc<dyn KeyStore>,
    cache: Arc<VerifyCache>,
}

impl InvalidatingStore {
    pub(super) fn new(inner: Arc<dyn KeyStore>, cache: Arc<VerifyCache>) -> Self {
        Self { inner, cache }
    }

    fn after<T>(&self, result: T) -> T {
        self.cache.invalidate();
        result
    }
}

#[async_trait]
impl KeyStore for InvalidatingStore {
    async fn create_organization(
        &self,
        org: &Organization,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.after(self.inner.create_organization(org, audit).await)
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
        self.after(
            self.inner
                .update_organization(id, name, key_quota, audit)
                .await,
        )
    }

    async fn create_workspace(
        &self,
        workspace: &Workspace,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.after(self.inner.create_workspace(workspace, audit).await)
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
        self.after(self.inner.put_member(member, expected_version, audit).await)
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
        self.after(self.inner.delete_member(org, principal, audit).await)
    }

    async fn change_member(&self, change: MemberChange<'_>) -> Result<(), StoreError> {
        self.after(self.inner.change_member(change).await)
    }

    async fn create_key(&self, new: NewKey<'_>) -> Result<(), StoreError> {
        self.after(self.inner.create_key(new).await)
    }

    async fn get_key(&self, id: &KeyId) -> Result<Option<KeyRecord>, StoreError> {
        self.inner.get_key(id).await
    }

    async fn update_key(&self, update: KeyUpdate<'_>) -> Result<(), StoreError> {
        self.after(self.inner.update_key(update).await)
    }

    async fn list_keys(&self, query: &KeyQuery) -> Result<Page<KeyRecord>, StoreError> {
        self.inner.list_keys(query).await
    }

    async fn personal_keys(
        &self,
        org: &OrgId,
        principal: &Principal,
    ) -> Result<Vec<KeyRecord>, StoreError> {
        self.inner.personal_keys(org, principal).await
    }

    async fn get_secret(&self, hash: &KeyHash) -> Result<Option<SecretRecord>, StoreError> {
        self.inner.get_secret(hash).await
    }

    async fn spend_credits(
        &self,
        key: &KeyId,
        cost: u64,
        at: DateTime<Utc>,
    ) -> Result<CreditOutcome, StoreError> {
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
        self.inner.claim_request(digest, now, expires_at).await
    }

    async fn release_request(&self, digest: &str) -> Result<(), StoreError> {
        self.inner.release_request(digest).await
    }
}
