//! Organizations, workspaces and memberships.

use crate::audit::AuditEvent;
use crate::id::{OrgId, WorkspaceId};
use crate::key::{DisabledReason, KeyRecord, KeyStatus, KeyType};
use crate::permission;
use crate::policy::{self, Standing};
use crate::principal::Principal;
use crate::store::{KeyUpdate, MemberChange, StoreError, MAX_WRITE_ITEMS};
use crate::tenancy::{
    Membership, OrgRole, Organization, Workspace, DEFAULT_KEY_QUOTA, MAX_KEY_QUOTA,
};
use crate::{validate, Error};

use super::lifecycle::{Change, Prepared};
use super::{Caller, Keyplane};
use keyplane_api::tenancy::{CreateOrganization, CreateWorkspace, PutMember, UpdateOrganization};

/// Tries at a membership change whose keys keep moving under it.
const MEMBER_CHANGE_ATTEMPTS: usize = 5;

fn validate_quota(quota: u32) -> Result<u32, Error> {
    if (1..=MAX_KEY_QUOTA).contains(&quota) {
        Ok(quota)
    } else {
        Err(Error::invalid(
            "INVALID_KEY_QUOTA",
            format!("key_quota must be between 1 and {MAX_KEY_QUOTA}"),
        ))
    }
}

impl Keyplane {
    /// Creates an organization; platform admins only.
    pub async fn create_organization(
        &self,
        caller: &Caller,
        req: CreateOrganization,
    ) -> Result<Organization, Error> {
        if !self.is_admin(&caller.principal) {
            return Err(Error::forbidden(
                "PLATFORM_ADMIN_REQUIRED",
                "only platform admins may create organizations",
            ));
        }
        let name = validate::name("name", &req.name)?;
        let key_quota = validate_quota(req.key_quota.unwrap_or(DEFAULT_KEY_QUOTA))?;
        let org = Organization {
            id: OrgId::generate(),
            name,
            key_quota,
            key_count: 0,
            created_at: self.clock.now(),
            created_by: caller.principal.clone(),
        };
        let event = self.audit_event(caller, &org.id, "organization.create", org.id.as_str());
        self.store.create_organization(&org, &event).await?;
        Ok(org)
    }

    /// Reads an organization; any member.
    pub async fn get_organization(
        &self,
        caller: &Caller,
        org: &OrgId,
    ) -> Result<Organization, Error> {
        let access = self.access(&caller.principal, org).await?;
        policy::may_read_org(access.standing())?;
        Ok(access.org)
    }

    /// Renames an organization (owners) or sets its quota (platform admins).
    pub async fn update_organization(
        &self,
        caller: &Caller,
        org: &OrgId,
        req: UpdateOrganization,
    ) -> Result<Organization, Error> {
        let access = self.access(&caller.principal, org).await?;
        policy::may_administer_org(access.standing())?;
        let name = req
            .name
            .as_deref()
            .map(|n| validate::name("name", n))
            .transpose()?;
        let quota = req.key_quota.map(validate_quota).transpose()?;
        if quota.is_some() && !matches!(access.standing(), Standing::Admin) {
            return Err(Error::forbidden(
                "PLATFORM_ADMIN_REQUIRED",
                "only platform admins may change an organization's key quota",
            ));
        }
        if name.is_none() && quota.is_none() {
            return Ok(access.org);
        }
        let event = self.audit_event(caller, org, "organization.update", org.as_str());
        Ok(self
            .store
            .update_organization(org, name.as_deref(), quota, &event)
            .await?)
    }

    /// Creates a workspace; owners.
    pub async fn create_workspace(
        &self,
        caller: &Caller,
        org: &OrgId,
        req: CreateWorkspace,
    ) -> Result<Workspace, Error> {
        let access = self.access(&caller.principal, org).await?;
        policy::may_administer_org(access.standing())?;
        let workspace = Workspace {
            id: WorkspaceId::generate(),
            organization_id: org.clone(),
            name: validate::name("name", &req.name)?,
            created_at: self.clock.now(),
        };
        let event = self.audit_event(caller, org, "workspace.create", workspace.id.as_str());
        self.store.create_workspace(&workspace, &event).await?;
        Ok(workspace)
    }

    /// Lists workspaces; any member.
    pub async fn list_workspaces(
        &self,
        caller: &Caller,
        org: &OrgId,
    ) -> Result<Vec<Workspace>, Error> {
        let access = self.access(&caller.principal, org).await?;
        policy::may_read_org(access.standing())?;
        Ok(self.store.list_workspaces(org).await?)
    }

    /// Lists members; owners.
    pub async fn list_members(
        &self,
        caller: &Caller,
        org: &OrgId,
    ) -> Result<Vec<Membership>, Error> {
        let access = self.access(&caller.principal, org).await?;
        policy::may_administer_org(access.standing())?;
        Ok(self.store.list_members(org).await?)
    }

    /// Sets a member's roles; owners, and never beyond their own rights.
    /// Personal keys the member created that now exceed the member's rights
    /// are disabled in the same atomic write as the membership.
    pub async fn put_member(
        &self,
        caller: &Caller,
        org: &OrgId,
        principal: &Principal,
        req: PutMember,
    ) -> Result<Membership, Error> {
        let access = self.access(&caller.principal, org).await?;
        policy::may_administer_org(access.standing())?;
        for ws in req.workspace_roles.keys() {
            self.require_workspace(org, ws).await?;
        }
        let permissions =
            permission::normalise(&req.permissions.unwrap_or_else(|| vec!["*".to_owned()]))?;
        for _ in 0..MEMBER_CHANGE_ATTEMPTS {
            let existing = self.store.get_member(org, principal).await?;
            let expected = existing.as_ref().map(|m| m.version);
            let member = Membership {
                organization_id: org.clone(),
                principal: principal.clone(),
                org_role: req.org_role,
                workspace_roles: req.workspace_roles.clone(),
                permissions: permissions.clone(),
                updated_at: self.clock.now(),
                version: expected.map_or(1, |v| v + 1),
            };
            policy::may_grant_membership(access.standing(), &member)?;
            if member.org_role != OrgRole::Owner {
                self.keep_an_owner(org, principal).await?;
            }
            let event = self.audit_event(caller, org, "member.put", principal.as_str());
            match self
                .change_membership(caller, org, principal, Some(&member), expected, &event)
                .await
            {
                Ok(()) => {
                    self.recheck_personal_keys(caller, org, principal).await?;
                    return Ok(member);
                }
                // One of the keys moved, not the membership: decide again.
                Err(StoreError::VersionConflict)
                    if self
                        .store
                        .get_member(org, principal)
                        .await?
                        .map(|m| m.version)
                        == expected => {}
                Err(err) => return Err(err.into()),
            }
        }
        Err(StoreError::VersionConflict.into())
    }

    /// Removes a member; owners. Their personal keys are disabled in the
    /// same atomic write. A retry after an earlier removal that left live
    /// personal keys behind finishes the job: when the membership is
    /// already gone but live personal keys of the principal remain, they
    /// are disabled and the removal succeeds.
    pub async fn delete_member(
        &self,
        caller: &Caller,
        org: &OrgId,
        principal: &Principal,
    ) -> Result<(), Error> {
        let access = self.access(&caller.principal, org).await?;
        policy::may_administer_org(access.standing())?;
        self.keep_an_owner(org, principal).await?;
        let event = self.audit_event(caller, org, "member.delete", principal.as_str());
        for _ in 0..MEMBER_CHANGE_ATTEMPTS {
            match self
                .change_membership(caller, org, principal, None, None, &event)
                .await
            {
                Ok(()) => {
                    return self
                        .recheck_personal_keys(caller, org, principal)
                        .await
                        .map(drop)
                }
                Err(StoreError::NotFound) => {
                    let finished = self.recheck_personal_keys(caller, org, principal).await?;
                    if finished > 0 {
                        return Ok(());
                    }
                    return Err(Error::not_found(
                        "MEMBER_NOT_FOUND",
                        "member",
                        principal.as_str(),
                    ));
                }
                // One of the keys moved: decide again.
                Err(StoreError::VersionConflict) => {}
                Err(other) => return Err(other.into()),
            }
        }
        Err(StoreError::VersionConflict.into())
    }

    /// Writes a membership change (`member` `None` removes it) together
    /// with the disabling of every live personal key of `principal` that
    /// the new rights no longer cover, in one atomic write: the store never
    /// holds the new membership next to a key beyond it. A member with
    /// more such keys than one write holds (dozens) has the rest disabled
    /// first, each on its own, so a failure in between fails closed.
    async fn change_membership(
        &self,
        caller: &Caller,
        org: &OrgId,
        principal: &Principal,
        member: Option<&Membership>,
        expected_version: Option<u64>,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let standing = if self.is_admin(principal) {
            Standing::Admin
        } else {
            member.map_or(Standing::Outsider, Standing::Member)
        };
        let mut room = MAX_WRITE_ITEMS - MemberChange::BASE_ITEMS;
        let mut ready = Vec::new();
        for key in self.store.personal_keys(org, principal).await? {
            if !needs_disabling(&key, standing) {
                continue;
            }
            let prepared = self.prepare(self.disabling(caller, &key));
            let items = prepared.update().items();
            if items <= room {
                room -= items;
                ready.push(prepared);
                continue;
            }
            match self.try_commit(self.disabling(caller, &key)).await {
                // A key that moved or went is left to the recheck that
                // follows every membership change.
                Ok(_) | Err(StoreError::VersionConflict | StoreError::NotFound) => {}
                Err(err) => return Err(err),
            }
        }
        let keys: Vec<KeyUpdate<'_>> = ready.iter().map(Prepared::update).collect();
        self.store
            .change_member(MemberChange {
                organization_id: org,
                principal,
                member,
                expected_version,
                audit: event,
                keys: &keys,
            })
            .await
    }

    /// `key` disabled because its creator lost the rights it needs.
    fn disabling(&self, caller: &Caller, key: &KeyRecord) -> Change {
        let event = self.audit_event(caller, &key.organization_id, "key.disable", key.id.as_str());
        let mut disabled = key.clone();
        disabled.status = KeyStatus::Disabled;
        disabled.disabled_reason = Some(DisabledReason::CreatorAccessLost);
        Change::new(disabled, key.version, event)
    }

    /// An organization must keep at least one owner, or nobody could manage
    /// its organization keys or members again.
    async fn keep_an_owner(&self, org: &OrgId, leaving: &Principal) -> Result<(), Error> {
        let members = self.store.list_members(org).await?;
        let leaving_is_owner = members
            .iter()
            .any(|m| &m.principal == leaving && m.org_role == OrgRole::Owner);
        let other_owners = members
            .iter()
            .filter(|m| &m.principal != leaving && m.org_role == OrgRole::Owner)
            .count();
        if leaving_is_owner && other_owners == 0 {
            return Err(Error::conflict(
                "LAST_OWNER",
                "the organization's last owner cannot be removed or demoted; add another owner first",
            ));
        }
        Ok(())
    }

    pub(crate) async fn require_workspace(
        &self,
        org: &OrgId,
        ws: &WorkspaceId,
    ) -> Result<Workspace, Error> {
        self.store
            .get_workspace(org, ws)
            .await?
            .ok_or_else(|| Error::not_found("WORKSPACE_NOT_FOUND", "workspace", ws.as_str()))
    }

    /// Disables every live personal key of `principal` in `org` that its
    /// creator's current standing no longer covers; returns how many. Reads
    /// the membership and the keys strongly consistently and after the
    /// change that called it, so together with the membership fence on
    /// every mint no key decided on the old rights stays live: it catches
    /// a key minted on the old rights between the change's read of the
    /// keys and its write.
    async fn recheck_personal_keys(
        &self,
        caller: &Caller,
        org: &OrgId,
        principal: &Principal,
    ) -> Result<usize, Error> {
        let membership = self.store.get_member(org, principal).await?;
        let standing = if self.is_admin(principal) {
            Standing::Admin
        } else {
            membership
                .as_ref()
                .map_or(Standing::Outsider, Standing::Member)
        };
        let mut disabled = 0;
        for key in self.store.personal_keys(org, principal).await? {
            if !needs_disabling(&key, standing) {
                continue;
            }
            let event = self.audit_event(caller, org, "key.disable", key.id.as_str());
            let written = self
                .change_until_written(&key, &event, |k| {
                    if !needs_disabling(k, standing) {
                        return false;
                    }
                    k.status = KeyStatus::Disabled;
                    k.disabled_reason = Some(DisabledReason::CreatorAccessLost);
                    true
                })
                .await?;
            disabled += usize::from(written);
        }
        Ok(disabled)
    }
}

fn needs_disabling(key: &KeyRecord, creator: Standing<'_>) -> bool {
    key.key_type == KeyType::Personal
        && matches!(key.status, KeyStatus::Active | KeyStatus::Pending)
        && policy::may_grant(creator, &key.scope, key.role, &key.permissions).is_err()
}
