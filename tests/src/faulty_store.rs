//! The failing decorator of a [`KeyStore`]: each method call counts as one
//! call for its [`Injector`], which decides whether it goes through, is
//! refused (`Unavailable`, nothing written) or goes through with its answer
//! lost (`Unavailable`, written). Every method of the embedded store is one
//! transaction, so its calls are the points where a use case can be
//! interrupted.

use std::future::Future;
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

use crate::faults::{Decision, Injector};

/// `inner`, failing when its [`Injector`] says so.
#[derive(Debug)]
pub struct FaultyStore {
    inner: Arc<dyn KeyStore>,
    faults: Injector,
}

impl FaultyStore {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn KeyStore>) -> Self {
        Self {
            inner,
            faults: Injector::default(),
        }
    }

    /// The switch for its faults; calls are counted by method name.
    pub fn faults(&self) -> &Injector {
        &self.faults
    }

    async fn run<T>(
        &self,
        decision: Decision,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        match decision {
            Decision::Forward => call.await,
            Decision::Refuse => Err(injected()),
            Decision::ForwardThenFail => {
                let _ = call.await;
                Err(injected())
            }
        }
    }
}

fn injected() -> StoreError {
    StoreError::Unavailable("injected by the faulty store".to_owned())
}

#[async_trait]
impl KeyStore for FaultyStore {
    async fn create_organization(
        &self,
        org: &Organization,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let decision = self.faults.decide("create_organization");
        self.run(decision, self.inner.create_organization(org, audit))
            .await
    }

    async fn get_organization(&self, id: &OrgId) -> Result<Option<Organization>, StoreError> {
        let decision = self.faults.decide("get_organization");
        self.run(decision, self.inner.get_organization(id)).await
    }

    async fn update_organization(
        &self,
        id: &OrgId,
        name: Option<&str>,
        key_quota: Option<u32>,
        audit: &AuditEvent,
    ) -> Result<Organization, StoreError> {
        let decision = self.faults.decide("update_organization");
        self.run(
            decision,
            self.inner.update_organization(id, name, key_quota, audit),
        )
        .await
    }

    async fn create_workspace(
        &self,
        workspace: &Workspace,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let decision = self.faults.decide("create_workspace");
        self.run(decision, self.inner.create_workspace(workspace, audit))
            .await
    }

    async fn get_workspace(
        &self,
        org: &OrgId,
        id: &WorkspaceId,
    ) -> Result<Option<Workspace>, StoreError> {
        let decision = self.faults.decide("get_workspace");
        self.run(decision, self.inner.get_workspace(org, id)).await
    }

    async fn list_workspaces(&self, org: &OrgId) -> Result<Vec<Workspace>, StoreError> {
        let decision = self.faults.decide("list_workspaces");
        self.run(decision, self.inner.list_workspaces(org)).await
    }

    async fn put_member(
        &self,
        member: &Membership,
        expected_version: Option<u64>,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let decision = self.faults.decide("put_member");
        self.run(
            decision,
            self.inner.put_member(member, expected_version, audit),
        )
        .await
    }

    async fn get_member(
        &self,
        org: &OrgId,
        principal: &Principal,
    ) -> Result<Option<Membership>, StoreError> {
        let decision = self.faults.decide("get_member");
        self.run(decision, self.inner.get_member(org, principal))
            .await
    }

    async fn list_members(&self, org: &OrgId) -> Result<Vec<Membership>, StoreError> {
        let decision = self.faults.decide("list_members");
        self.run(decision, self.inner.list_members(org)).await
    }

    async fn delete_member(
        &self,
        org: &OrgId,
        principal: &Principal,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let decision = self.faults.decide("delete_member");
        self.run(decision, self.inner.delete_member(org, principal, audit))
            .await
    }

    async fn change_member(&self, change: MemberChange<'_>) -> Result<(), StoreError> {
        let decision = self.faults.decide("change_member");
        self.run(decision, self.inner.change_member(change)).await
    }

    async fn create_key(&self, new: NewKey<'_>) -> Result<(), StoreError> {
        let decision = self.faults.decide("create_key");
        self.run(decision, self.inner.create_key(new)).await
    }

    async fn get_key(&self, id: &KeyId) -> Result<Option<KeyRecord>, StoreError> {
        let decision = self.faults.decide("get_key");
        self.run(decision, self.inner.get_key(id)).await
    }

    async fn update_key(&self, update: KeyUpdate<'_>) -> Result<(), StoreError> {
        let decision = self.faults.decide("update_key");
        self.run(decision, self.inner.update_key(update)).await
    }

    async fn list_keys(&self, query: &KeyQuery) -> Result<Page<KeyRecord>, StoreError> {
        let decision = self.faults.decide("list_keys");
        self.run(decision, self.inner.list_keys(query)).await
    }

    async fn personal_keys(
        &self,
        org: &OrgId,
        principal: &Principal,
    ) -> Result<Vec<KeyRecord>, StoreError> {
        let decision = self.faults.decide("personal_keys");
        self.run(decision, self.inner.personal_keys(org, principal))
            .await
    }

    async fn get_secret(&self, hash: &KeyHash) -> Result<Option<SecretRecord>, StoreError> {
        let decision = self.faults.decide("get_secret");
        self.run(decision, self.inner.get_secret(hash)).await
    }

    async fn spend_credits(
        &self,
        key: &KeyId,
        cost: u64,
        at: DateTime<Utc>,
    ) -> Result<CreditOutcome, StoreError> {
        let decision = self.faults.decide("spend_credits");
        self.run(decision, self.inner.spend_credits(key, cost, at))
            .await
    }

    async fn touch_last_used(&self, uses: &[(KeyId, DateTime<Utc>)]) -> Result<(), StoreError> {
        let decision = self.faults.decide("touch_last_used");
        self.run(decision, self.inner.touch_last_used(uses)).await
    }

    async fn get_idempotency(
        &self,
        principal: &Principal,
        token: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let decision = self.faults.decide("get_idempotency");
        self.run(decision, self.inner.get_idempotency(principal, token))
            .await
    }

    async fn record_usage(&self, usage: &UsageIncrement) -> Result<(), StoreError> {
        let decision = self.faults.decide("record_usage");
        self.run(decision, self.inner.record_usage(usage)).await
    }

    async fn query_usage(
        &self,
        key: &KeyId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<UsageRow>, StoreError> {
        let decision = self.faults.decide("query_usage");
        self.run(decision, self.inner.query_usage(key, from, to))
            .await
    }

    async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let decision = self.faults.decide("append_audit");
        self.run(decision, self.inner.append_audit(event)).await
    }

    async fn list_audit(
        &self,
        org: &OrgId,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<AuditEvent>, StoreError> {
        let decision = self.faults.decide("list_audit");
        self.run(decision, self.inner.list_audit(org, cursor, limit))
            .await
    }

    async fn claim_request(
        &self,
        digest: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let decision = self.faults.decide("claim_request");
        self.run(decision, self.inner.claim_request(digest, now, expires_at))
            .await
    }

    async fn release_request(&self, digest: &str) -> Result<(), StoreError> {
        let decision = self.faults.decide("release_request");
        self.run(decision, self.inner.release_request(digest)).await
    }
}
