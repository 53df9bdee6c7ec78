//! Organizations, workspaces and memberships.

use keyplane_core::audit::AuditEvent;
use keyplane_core::id::{OrgId, WorkspaceId};
use keyplane_core::principal::Principal;
use keyplane_core::store::{MemberChange, MemberFence, StoreError};
use keyplane_core::tenancy::{Membership, Organization, Workspace};
use redb::{ReadTransaction, ReadableTable, WriteTransaction};

use super::audit;
use super::codec::{decode, encode, read};
use super::failure::{Failure, TxResult};
use super::keys;
use super::tables::{MEMBERS, ORGANIZATIONS, WORKSPACES};

/// Reads an organization inside a write transaction.
pub(super) fn load_org(txn: &WriteTransaction, id: &OrgId) -> TxResult<Option<Organization>> {
    read(&txn.open_table(ORGANIZATIONS)?, id.as_str())
}

/// Like [`load_org`], for changes that need the organization to exist.
pub(super) fn require_org(txn: &WriteTransaction, id: &OrgId) -> TxResult<Organization> {
    load_org(txn, id)?.ok_or_else(|| StoreError::NotFound.into())
}

/// Writes an organization, key count included.
pub(super) fn save_org(txn: &WriteTransaction, org: &Organization) -> TxResult<()> {
    txn.open_table(ORGANIZATIONS)?
        .insert(org.id.as_str(), encode(org)?.as_slice())?;
    Ok(())
}

pub(super) fn create_organization(
    txn: &WriteTransaction,
    org: &Organization,
    event: &AuditEvent,
) -> TxResult<()> {
    if load_org(txn, &org.id)?.is_some() {
        return Err(StoreError::AlreadyExists.into());
    }
    // The count is the store's to maintain, whatever the caller passed.
    save_org(
        txn,
        &Organization {
            key_count: 0,
            ..org.clone()
        },
    )?;
    audit::append(txn, event)
}

pub(super) fn get_organization(
    txn: &ReadTransaction,
    id: &OrgId,
) -> TxResult<Option<Organization>> {
    read(&txn.open_table(ORGANIZATIONS)?, id.as_str())
}

pub(super) fn update_organization(
    txn: &WriteTransaction,
    id: &OrgId,
    name: Option<&str>,
    key_quota: Option<u32>,
    event: &AuditEvent,
) -> TxResult<Organization> {
    let mut org = require_org(txn, id)?;
    if let Some(name) = name {
        name.clone_into(&mut org.name);
    }
    if let Some(quota) = key_quota {
        org.key_quota = quota;
    }
    save_org(txn, &org)?;
    audit::append(txn, event)?;
    Ok(org)
}

/// Creates a workspace. A second workspace with the same id in the same
/// organization is `AlreadyExists` (ids are random, so this means a bug or a
/// replayed request, never a legitimate collision).
pub(super) fn create_workspace(
    txn: &WriteTransaction,
    workspace: &Workspace,
    event: &AuditEvent,
) -> TxResult<()> {
    require_org(txn, &workspace.organization_id)?;
    let mut table = txn.open_table(WORKSPACES)?;
    let key = (workspace.organization_id.as_str(), workspace.id.as_str());
    if table.get(key)?.is_some() {
        return Err(StoreError::AlreadyExists.into());
    }
    table.insert(key, encode(workspace)?.as_slice())?;
    drop(table);
    audit::append(txn, event)
}

pub(super) fn get_workspace(
    txn: &ReadTransaction,
    org: &OrgId,
    id: &WorkspaceId,
) -> TxResult<Option<Workspace>> {
    read(&txn.open_table(WORKSPACES)?, (org.as_str(), id.as_str()))
}

pub(super) fn list_workspaces(txn: &ReadTransaction, org: &OrgId) -> TxResult<Vec<Workspace>> {
    list_in_org(&txn.open_table(WORKSPACES)?, org)
}

/// An owned [`MemberChange`], to move onto the blocking pool.
#[derive(Debug)]
pub(super) struct MemberWrite {
    organization_id: OrgId,
    principal: Principal,
    member: Option<Membership>,
    expected_version: Option<u64>,
    audit: AuditEvent,
    keys: Vec<keys::Update>,
}

impl From<MemberChange<'_>> for MemberWrite {
    fn from(change: MemberChange<'_>) -> Self {
        Self {
            organization_id: change.organization_id.clone(),
            principal: change.principal.clone(),
            member: change.member.cloned(),
            expected_version: change.expected_version,
            audit: change.audit.clone(),
            keys: change.keys.iter().map(|&u| keys::Update::from(u)).collect(),
        }
    }
}

/// Puts or deletes the membership and applies the key updates; any
/// refusal aborts the whole transaction. A key that is gone or moved is a
/// `VersionConflict`: `NotFound` is kept for the membership's absence.
pub(super) fn change_member(txn: &WriteTransaction, change: &MemberWrite) -> TxResult<()> {
    match &change.member {
        Some(member) => put_member(txn, member, change.expected_version, &change.audit)?,
        None => delete_member(
            txn,
            &change.organization_id,
            &change.principal,
            &change.audit,
        )?,
    }
    for update in &change.keys {
        keys::update(txn, update).map_err(|Failure(err)| match err {
            StoreError::NotFound => Failure(StoreError::VersionConflict),
            other => Failure(other),
        })?;
    }
    Ok(())
}

fn put_member(
    txn: &WriteTransaction,
    member: &Membership,
    expected_version: Option<u64>,
    event: &AuditEvent,
) -> TxResult<()> {
    require_org(txn, &member.organization_id)?;
    let stored = load_member(txn, &member.organization_id, &member.principal)?;
    if stored.map(|m| m.version) != expected_version {
        return Err(StoreError::VersionConflict.into());
    }
    txn.open_table(MEMBERS)?.insert(
        (member.organization_id.as_str(), member.principal.as_str()),
        encode(member)?.as_slice(),
    )?;
    audit::append(txn, event)
}

/// Reads a membership inside a write transaction.
fn load_member(
    txn: &WriteTransaction,
    org: &OrgId,
    principal: &Principal,
) -> TxResult<Option<Membership>> {
    read(
        &txn.open_table(MEMBERS)?,
        (org.as_str(), principal.as_str()),
    )
}

/// Fails with `MembershipChanged` unless the fenced membership is still
/// there at the fenced version.
pub(super) fn check_fence(txn: &WriteTransaction, fence: Option<&MemberFence>) -> TxResult<()> {
    let Some(fence) = fence else {
        return Ok(());
    };
    let current = load_member(txn, &fence.organization_id, &fence.principal)?;
    if current.map(|m| m.version) != Some(fence.version) {
        return Err(StoreError::MembershipChanged.into());
    }
    Ok(())
}

pub(super) fn get_member(
    txn: &ReadTransaction,
    org: &OrgId,
    principal: &Principal,
) -> TxResult<Option<Membership>> {
    read(
        &txn.open_table(MEMBERS)?,
        (org.as_str(), principal.as_str()),
    )
}

pub(super) fn list_members(txn: &ReadTransaction, org: &OrgId) -> TxResult<Vec<Membership>> {
    list_in_org(&txn.open_table(MEMBERS)?, org)
}

fn delete_member(
    txn: &WriteTransaction,
    org: &OrgId,
    principal: &Principal,
    event: &AuditEvent,
) -> TxResult<()> {
    let removed = txn
        .open_table(MEMBERS)?
        .remove((org.as_str(), principal.as_str()))?
        .is_some();
    if !removed {
        return Err(StoreError::NotFound.into());
    }
    audit::append(txn, event)
}

/// Every record of one organization in a `(org, name)` table, in name order.
fn list_in_org<T: serde::de::DeserializeOwned>(
    table: &impl ReadableTable<(&'static str, &'static str), &'static [u8]>,
    org: &OrgId,
) -> TxResult<Vec<T>> {
    let mut records = Vec::new();
    for entry in table.range::<(&str, &str)>((org.as_str(), "")..)? {
        let (key, value) = entry?;
        if key.value().0 != org.as_str() {
            break;
        }
        records.push(decode(value.value())?);
    }
    Ok(records)
}
