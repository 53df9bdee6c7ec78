//! The [`KeyStore`] implementation: each method is one call into the
//! module that owns its items.

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

use super::errors::sdk_error;
use super::items;
use super::DynamoStore;

#[async_trait]
impl KeyStore for DynamoStore {
    async fn create_organization(
        &self,
        org: &Organization,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.create_org(org, audit).await
    }

    async fn get_organization(&self, id: &OrgId) -> Result<Option<Organization>, StoreError> {
        self.get_org(id).await
    }

    async fn update_organization(
        &self,
        id: &OrgId,
        name: Option<&str>,
        key_quota: Option<u32>,
        audit: &AuditEvent,
    ) -> Result<Organization, StoreError> {
        self.update_org(id, name, key_quota, audit).await
    }

    async fn create_workspace(
        &self,
        workspace: &Workspace,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.create_ws(workspace, audit).await
    }

    async fn get_workspace(
        &self,
        org: &OrgId,
        id: &WorkspaceId,
    ) -> Result<Option<Workspace>, StoreError> {
        self.get_ws(org, id).await
    }

    async fn list_workspaces(&self, org: &OrgId) -> Result<Vec<Workspace>, StoreError> {
        self.list_ws(org).await
    }

    async fn get_member(
        &self,
        org: &OrgId,
        principal: &Principal,
    ) -> Result<Option<Membership>, StoreError> {
        self.get_membership(org, principal).await
    }

    async fn list_members(&self, org: &OrgId) -> Result<Vec<Membership>, StoreError> {
        self.list_memberships(org).await
    }

    async fn change_member(&self, change: MemberChange<'_>) -> Result<(), StoreError> {
        self.change_membership(change).await
    }

    async fn create_key(&self, new: NewKey<'_>) -> Result<(), StoreError> {
        self.create(new).await
    }

    async fn get_key(&self, id: &KeyId) -> Result<Option<KeyRecord>, StoreError> {
        self.key(id).await
    }

    async fn update_key(&self, update: KeyUpdate<'_>) -> Result<(), StoreError> {
        self.update(update).await
    }

    async fn list_keys(&self, query: &KeyQuery) -> Result<Page<KeyRecord>, StoreError> {
        self.list(query).await
    }

    async fn personal_keys(
        &self,
        org: &OrgId,
        principal: &Principal,
    ) -> Result<Vec<KeyRecord>, StoreError> {
        self.personal(org, principal).await
    }

    async fn get_secret(&self, hash: &KeyHash) -> Result<Option<SecretRecord>, StoreError> {
        self.secret(hash).await
    }

    async fn spend_credits(
        &self,
        key: &KeyId,
        cost: u64,
        at: DateTime<Utc>,
    ) -> Result<CreditOutcome, StoreError> {
        self.spend(key, cost, at).await
    }

    async fn touch_last_used(&self, uses: &[(KeyId, DateTime<Utc>)]) -> Result<(), StoreError> {
        self.touch(uses).await
    }

    async fn get_idempotency(
        &self,
        principal: &Principal,
        token: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.idempotency(principal, token).await
    }

    async fn record_usage(&self, usage: &UsageIncrement) -> Result<(), StoreError> {
        self.add_usage(usage).await
    }

    async fn query_usage(
        &self,
        key: &KeyId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<UsageRow>, StoreError> {
        self.usage(key, from, to).await
    }

    /// A lone event: one plain `PutItem` (event ids are random, so it
    /// never overwrites another event).
    async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(self.table())
            .set_item(Some(items::audit(event)?))
            .send()
            .await
            .map_err(|err| sdk_error("PutItem", &err))?;
        Ok(())
    }

    async fn list_audit(
        &self,
        org: &OrgId,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<AuditEvent>, StoreError> {
        self.audit_page(org, cursor, limit).await
    }

    async fn claim_request(
        &self,
        digest: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.claim(digest, now.timestamp(), expires_at.timestamp())
            .await
    }

    async fn release_request(&self, digest: &str) -> Result<(), StoreError> {
        self.release(digest).await
    }
}
