//! Organizations, workspaces and memberships. Each change goes out in one
//! transaction with its audit event, so the trail never misses or invents
//! an action.

use keyplane_core::audit::AuditEvent;
use keyplane_core::id::{OrgId, WorkspaceId};
use keyplane_core::principal::Principal;
use keyplane_core::store::{MemberChange, StoreError};
use keyplane_core::tenancy::{Membership, Organization, Workspace};

use keyplane_core::id::KeyId;
use keyplane_core::key::KeyRecord;

use super::codec::{from_doc, n, s, string};
use super::errors::corrupt;
use super::items::{self, primary_key};
use super::keys::push_update;
use super::schema::{
    member_sk, org_pk, personal_keys_prefix, workspace_sk, KEY_ID, KEY_QUOTA, MEMBER_PREFIX, NAME,
    ORG_SK, WORKSPACE_PREFIX,
};
use super::txn::{self, absent, at_version, exists, transact};
use super::DynamoStore;

impl DynamoStore {
    pub(super) async fn create_org(
        &self,
        org: &Organization,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let table = self.table();
        let writes = vec![
            txn::put(table, items::organization(org)?, Some(absent()))?,
            txn::put(table, items::audit(event)?, None)?,
        ];
        match transact(&self.client, writes).await? {
            Ok(()) => Ok(()),
            Err(cancelled) if cancelled.failed(0) => Err(StoreError::AlreadyExists),
            Err(cancelled) => Err(cancelled.unexpected()),
        }
    }

    pub(super) async fn get_org(&self, id: &OrgId) -> Result<Option<Organization>, StoreError> {
        self.get_item(primary_key(org_pk(id), ORG_SK))
            .await?
            .map(|item| items::organization_from(&item))
            .transpose()
    }

    /// Sets name and/or quota in one transaction with the event, then reads
    /// the organization back (a transaction returns no values). The key
    /// count is left alone: it is only ever changed by `ADD`.
    pub(super) async fn update_org(
        &self,
        id: &OrgId,
        name: Option<&str>,
        key_quota: Option<u32>,
        event: &AuditEvent,
    ) -> Result<Organization, StoreError> {
        let table = self.table();
        let key = primary_key(org_pk(id), ORG_SK);
        let txn::Condition {
            expression: condition,
            mut expr,
        } = exists();
        let mut sets = Vec::new();
        if let Some(name) = name {
            sets.push(format!(
                "{} = {}",
                expr.name(NAME),
                expr.value("name", s(name))
            ));
        }
        if let Some(quota) = key_quota {
            sets.push(format!(
                "{} = {}",
                expr.name(KEY_QUOTA),
                expr.value("quota", n(quota))
            ));
        }
        let change = if sets.is_empty() {
            txn::check_exists(table, key)?
        } else {
            let update = format!("SET {}", sets.join(", "));
            txn::update(table, key, &update, Some(&condition), &expr)?
        };
        let writes = vec![change, txn::put(table, items::audit(event)?, None)?];
        match transact(&self.client, writes).await? {
            Ok(()) => {}
            Err(cancelled) if cancelled.failed(0) => return Err(StoreError::NotFound),
            Err(cancelled) => return Err(cancelled.unexpected()),
        }
        // Organizations are never deleted, so it is there.
        self.get_org(id).await?.ok_or(StoreError::NotFound)
    }

    pub(super) async fn create_ws(
        &self,
        workspace: &Workspace,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let table = self.table();
        let org = primary_key(org_pk(&workspace.organization_id), ORG_SK);
        let writes = vec![
            txn::check_exists(table, org)?,
            txn::put(table, items::workspace(workspace)?, Some(absent()))?,
            txn::put(table, items::audit(event)?, None)?,
        ];
        match transact(&self.client, writes).await? {
            Ok(()) => Ok(()),
            Err(cancelled) if cancelled.failed(0) => Err(StoreError::NotFound),
            Err(cancelled) if cancelled.failed(1) => Err(StoreError::AlreadyExists),
            Err(cancelled) => Err(cancelled.unexpected()),
        }
    }

    pub(super) async fn get_ws(
        &self,
        org: &OrgId,
        id: &WorkspaceId,
    ) -> Result<Option<Workspace>, StoreError> {
        self.get_item(primary_key(org_pk(org), workspace_sk(id)))
            .await?
            .map(|item| from_doc(&item))
            .transpose()
    }

    /// By id: the sort keys are `WS#<id>`.
    pub(super) async fn list_ws(&self, org: &OrgId) -> Result<Vec<Workspace>, StoreError> {
        self.query_prefix(org_pk(org), WORKSPACE_PREFIX)
            .await?
            .iter()
            .map(from_doc)
            .collect()
    }

    /// Puts (creating, or replacing one still at the expected version, in
    /// an existing organization) or deletes (an existing) membership with
    /// its event and every key update, in one transaction.
    pub(super) async fn change_membership(
        &self,
        change: MemberChange<'_>,
    ) -> Result<(), StoreError> {
        let table = self.table();
        let member_key = primary_key(org_pk(change.organization_id), member_sk(change.principal));
        let (mut writes, org_index, member_index) = match change.member {
            Some(member) => {
                let org = primary_key(org_pk(change.organization_id), ORG_SK);
                let condition = match change.expected_version {
                    None => absent(),
                    Some(version) => at_version(version),
                };
                let writes = vec![
                    txn::check_exists(table, org)?,
                    txn::put(table, items::member(member)?, Some(condition))?,
                ];
                (writes, Some(0), 1)
            }
            None => (vec![txn::delete_existing(table, member_key)?], None, 0),
        };
        writes.push(txn::put(table, items::audit(change.audit)?, None)?);
        let mut keys = Vec::with_capacity(change.keys.len());
        for update in change.keys {
            keys.push(push_update(&mut writes, table, update)?);
        }
        match transact(&self.client, writes).await? {
            Ok(()) => Ok(()),
            Err(cancelled) if org_index.is_some_and(|i| cancelled.failed(i)) => {
                Err(StoreError::NotFound)
            }
            Err(cancelled) if cancelled.failed(member_index) => Err(match change.member {
                Some(_) => StoreError::VersionConflict,
                None => StoreError::NotFound,
            }),
            Err(cancelled) if keys.iter().any(|key| key.any_failed(&cancelled)) => {
                Err(StoreError::VersionConflict)
            }
            Err(cancelled) => Err(cancelled.unexpected()),
        }
    }

    pub(super) async fn get_membership(
        &self,
        org: &OrgId,
        principal: &Principal,
    ) -> Result<Option<Membership>, StoreError> {
        self.get_item(primary_key(org_pk(org), member_sk(principal)))
            .await?
            .map(|item| from_doc(&item))
            .transpose()
    }

    /// By principal: the sort keys are `MEMBER#<arn>`.
    pub(super) async fn list_memberships(
        &self,
        org: &OrgId,
    ) -> Result<Vec<Membership>, StoreError> {
        self.query_prefix(org_pk(org), MEMBER_PREFIX)
            .await?
            .iter()
            .map(from_doc)
            .collect()
    }

    /// The keys behind `principal`'s personal-key markers, read strongly
    /// consistently: markers are written in the key's creation transaction
    /// and never deleted, so every committed personal key is found.
    pub(super) async fn personal(
        &self,
        org: &OrgId,
        principal: &Principal,
    ) -> Result<Vec<KeyRecord>, StoreError> {
        let markers = self
            .query_prefix(org_pk(org), &personal_keys_prefix(principal))
            .await?;
        let mut keys = Vec::with_capacity(markers.len());
        for marker in &markers {
            let id = string(marker, KEY_ID)?
                .and_then(|id| KeyId::parse(id).ok())
                .ok_or_else(|| {
                    corrupt(format!("personal-key marker without a valid `{KEY_ID}`"))
                })?;
            keys.extend(self.key(&id).await?);
        }
        Ok(keys)
    }
}
