//! The [`KeyStore`] implementation: each method copies its arguments (the
//! blocking pool needs owned data) and runs one transaction.

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

use super::{audit, claims, keys, metering, tenancy, EmbeddedStore};

#[async_trait]
impl KeyStore for EmbeddedStore {
    async fn create_organization(
        &self,
        org: &Organization,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let (org, event) = (org.clone(), audit.clone());
        self.write(move |txn| tenancy::create_organization(txn, &org, &event))
            .await
    }

    async fn get_organization(&self, id: &OrgId) -> Result<Option<Organization>, StoreError> {
        let id = id.clone();
        self.read(move |txn| tenancy::get_organization(txn, &id))
            .await
    }

    async fn update_organization(
        &self,
        id: &OrgId,
        name: Option<&str>,
        key_quota: Option<u32>,
        audit: &AuditEvent,
    ) -> Result<Organization, StoreError> {
        let (id, name, event) = (id.clone(), name.map(str::to_owned), audit.clone());
        self.write(move |txn| {
            tenancy::update_organization(txn, &id, name.as_deref(), key_quota, &event)
        })
        .await
    }

    async fn create_workspace(
        &self,
        workspace: &Workspace,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let (workspace, event) = (workspace.clone(), audit.clone());
        self.write(move |txn| tenancy::create_workspace(txn, &workspace, &event))
            .await
    }

    async fn get_workspace(
        &self,
        org: &OrgId,
        id: &WorkspaceId,
    ) -> Result<Option<Workspace>, StoreError> {
        self.point_read(|txn| tenancy::get_workspace(txn, org, id))
    }

    async fn list_workspaces(&self, org: &OrgId) -> Result<Vec<Workspace>, StoreError> {
        let org = org.clone();
        self.read(move |txn| tenancy::list_workspaces(txn, &org))
            .await
    }

    async fn get_member(
        &self,
        org: &OrgId,
        principal: &Principal,
    ) -> Result<Option<Membership>, StoreError> {
        let (org, principal) = (org.clone(), principal.clone());
        self.read(move |txn| tenancy::get_member(txn, &org, &principal))
            .await
    }

    async fn list_members(&self, org: &OrgId) -> Result<Vec<Membership>, StoreError> {
        let org = org.clone();
        self.read(move |txn| tenancy::list_members(txn, &org)).await
    }

    async fn change_member(&self, change: MemberChange<'_>) -> Result<(), StoreError> {
        let change = tenancy::MemberWrite::from(change);
        self.write(move |txn| tenancy::change_member(txn, &change))
            .await
    }

    async fn create_key(&self, new: NewKey<'_>) -> Result<(), StoreError> {
        let creation = keys::Creation::from(new);
        self.write(move |txn| keys::create(txn, &creation)).await
    }

    async fn get_key(&self, id: &KeyId) -> Result<Option<KeyRecord>, StoreError> {
        let id = id.clone();
        self.read(move |txn| keys::get(txn, &id)).await
    }

    async fn update_key(&self, update: KeyUpdate<'_>) -> Result<(), StoreError> {
        let update = keys::Update::from(update);
        self.write(move |txn| keys::update(txn, &update)).await
    }

    async fn list_keys(&self, query: &KeyQuery) -> Result<Page<KeyRecord>, StoreError> {
        let query = query.clone();
        self.read(move |txn| keys::list(txn, &query)).await
    }

    async fn personal_keys(
        &self,
        org: &OrgId,
        principal: &Principal,
    ) -> Result<Vec<KeyRecord>, StoreError> {
        let (org, principal) = (org.clone(), principal.clone());
        self.read(move |txn| keys::personal_keys(txn, &org, &principal))
            .await
    }

    async fn get_secret(&self, hash: &KeyHash) -> Result<Option<SecretRecord>, StoreError> {
        self.point_read(|txn| keys::get_secret(txn, hash))
    }

    async fn spend_credits(
        &self,
        key: &KeyId,
        cost: u64,
        at: DateTime<Utc>,
    ) -> Result<CreditOutcome, StoreError> {
        let key = key.clone();
        self.write(move |txn| metering::spend_credits(txn, &key, cost, at))
            .await
    }

    async fn touch_last_used(&self, uses: &[(KeyId, DateTime<Utc>)]) -> Result<(), StoreError> {
        // One transaction (one fsync) for the whole flush.
        let uses = uses.to_vec();
        self.write(move |txn| metering::touch_last_used(txn, &uses))
            .await
    }

    async fn get_idempotency(
        &self,
        principal: &Principal,
        token: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let (principal, token) = (principal.clone(), token.to_owned());
        self.read(move |txn| keys::get_idempotency(txn, &principal, &token))
            .await
    }

    async fn record_usage(&self, usage: &UsageIncrement) -> Result<(), StoreError> {
        let usage = usage.clone();
        self.write(move |txn| metering::record_usage(txn, &usage))
            .await
    }

    async fn query_usage(
        &self,
        key: &KeyId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<UsageRow>, StoreError> {
        let key = key.clone();
        self.read(move |txn| metering::query_usage(txn, &key, from, to))
            .await
    }

    async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let event = event.clone();
        self.write(move |txn| audit::append(txn, &event)).await
    }

    async fn list_audit(
        &self,
        org: &OrgId,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<AuditEvent>, StoreError> {
        let (org, cursor) = (org.clone(), cursor.map(str::to_owned));
        self.read(move |txn| audit::list(txn, &org, cursor.as_deref(), limit))
            .await
    }

    async fn claim_request(
        &self,
        digest: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let digest = digest.to_owned();
        let (now, expires_at) = (now.timestamp(), expires_at.timestamp());
        self.write(move |txn| claims::claim(txn, &digest, now, expires_at))
            .await
    }

    async fn release_request(&self, digest: &str) -> Result<(), StoreError> {
        let digest = digest.to_owned();
        self.write(move |txn| claims::release(txn, &digest)).await
    }
}
