//! Who may do what. Pure functions over a caller's membership; the use cases
//! call these before touching storage.
//!
//! Platform admins (configured, not stored) act as owners of every
//! organization. API keys never reach this module: management is
//! authenticated with IAM only.
//!
//! One rule guards every action that hands out a plaintext (create, roll)
//! or widens a key (role, permissions, expiry, enable, activate):
//! [`may_mint`] — the caller could create this exact key now. Rights are
//! never handed on beyond the giver's own: [`may_grant`] for keys,
//! [`may_grant_membership`] for members.

use chrono::{DateTime, Utc};

use crate::key::{effective_role, KeyRecord, KeyRole, KeyScope, KeyStatus, KeyType};
use crate::principal::Principal;
use crate::tenancy::{Membership, OrgRole, WorkspaceRole};
use crate::Error;

/// A caller's standing in one organization.
#[derive(Debug, Clone, Copy)]
pub enum Standing<'a> {
    /// A configured platform admin.
    Admin,
    /// A member.
    Member(&'a Membership),
    /// Not a member.
    Outsider,
}

impl Standing<'_> {
    fn is_owner(&self) -> bool {
        match self {
            Standing::Admin => true,
            Standing::Member(m) => m.org_role == OrgRole::Owner,
            Standing::Outsider => false,
        }
    }

    fn is_member(&self) -> bool {
        !matches!(self, Standing::Outsider)
    }

    /// The role the caller holds over all of `scope`.
    pub fn role_over(&self, scope: &KeyScope) -> Option<KeyRole> {
        match self {
            Standing::Admin => Some(KeyRole::Owner),
            Standing::Member(m) => effective_role(m, scope),
            Standing::Outsider => None,
        }
    }

    /// Permission patterns the caller may hand out.
    pub fn permissions(&self) -> Vec<String> {
        match self {
            Standing::Admin => vec!["*".to_owned()],
            Standing::Member(m) => m.permissions.clone(),
            Standing::Outsider => Vec::new(),
        }
    }
}

/// Read the organization, list its workspaces: any member.
pub fn may_read_org(standing: Standing<'_>) -> Result<(), Error> {
    if standing.is_member() {
        Ok(())
    } else {
        Err(not_a_member())
    }
}

/// Rename the organization, manage members and workspaces, read the audit
/// log: owners.
pub fn may_administer_org(standing: Standing<'_>) -> Result<(), Error> {
    may_read_org(standing)?;
    if standing.is_owner() {
        Ok(())
    } else {
        Err(Error::forbidden(
            "OWNER_REQUIRED",
            "only organization owners may do this",
        ))
    }
}

/// Read or list a key with this scope: a viewer of its workspace(s), or for
/// organization-wide keys any member.
pub fn may_read_key(standing: Standing<'_>, scope: &KeyScope) -> Result<(), Error> {
    may_read_org(standing)?;
    let readable = match scope {
        KeyScope::Organization => true,
        _ => standing.role_over(scope).is_some(),
    };
    if readable {
        Ok(())
    } else {
        Err(Error::forbidden(
            "VIEWER_REQUIRED",
            "you need at least the viewer role on the key's workspaces",
        ))
    }
}

/// Create or change a key with this scope: workspace keys need `editor` on
/// the workspace (or org `owner`); organization keys need org `owner`.
pub fn may_manage_key(standing: Standing<'_>, scope: &KeyScope) -> Result<(), Error> {
    may_read_org(standing)?;
    if scope.is_organization_key() {
        return if standing.is_owner() {
            Ok(())
        } else {
            Err(Error::forbidden(
                "OWNER_REQUIRED",
                "organization keys can only be managed by organization owners",
            ))
        };
    }
    match standing.role_over(scope) {
        Some(role) if role >= KeyRole::from(WorkspaceRole::Editor) => Ok(()),
        _ => Err(Error::forbidden(
            "EDITOR_REQUIRED",
            "workspace keys can only be managed by the workspace's editors or organization owners",
        )),
    }
}

/// A key may carry at most `role` and `permissions` that `grantor` holds.
pub fn may_grant(
    grantor: Standing<'_>,
    scope: &KeyScope,
    role: KeyRole,
    permissions: &[String],
) -> Result<(), Error> {
    match grantor.role_over(scope) {
        Some(held) if held >= role => {}
        _ => {
            return Err(Error::forbidden(
                "ROLE_EXCEEDS_CREATOR",
                "the key's role is higher than the role held over the key's scope by whoever gives it (you, or the creator of a personal key)",
            ))
        }
    }
    if !crate::permission::covers(&grantor.permissions(), permissions) {
        return Err(Error::forbidden(
            "PERMISSIONS_EXCEED_CREATOR",
            "the key's permissions go beyond those held by whoever gives them (you, or the creator of a personal key)",
        ));
    }
    Ok(())
}

/// A key as far as minting it is concerned: what it reaches, what it may
/// do there, and whom it acts as.
#[derive(Debug, Clone, Copy)]
pub struct Grant<'a> {
    /// Reach.
    pub scope: &'a KeyScope,
    /// Personal or service.
    pub key_type: KeyType,
    /// Role in scope.
    pub role: KeyRole,
    /// Permission patterns.
    pub permissions: &'a [String],
    /// Who created it; a personal key acts as this principal.
    pub creator: &'a Principal,
}

impl<'a> From<&'a KeyRecord> for Grant<'a> {
    fn from(key: &'a KeyRecord) -> Self {
        Self {
            scope: &key.scope,
            key_type: key.key_type,
            role: key.role,
            permissions: &key.permissions,
            creator: &key.created_by,
        }
    }
}

/// The one rule for every action that returns a plaintext or widens a key:
/// could `caller`, standing as `standing`, create this exact key now? It
/// must manage keys of this scope, hold the role and the permissions, and
/// for a personal key be its creator — a personal key acts as its creator,
/// so nobody else may obtain its secret or give it more (owners may still
/// disable or revoke it).
pub fn may_mint(standing: Standing<'_>, caller: &Principal, key: Grant<'_>) -> Result<(), Error> {
    may_manage_key(standing, key.scope)?;
    may_grant(standing, key.scope, key.role, key.permissions)?;
    if key.key_type == KeyType::Personal && key.creator != caller {
        return Err(Error::forbidden(
            "CREATOR_ONLY",
            "a personal key acts as its creator: only its creator may roll, enable, activate or widen it",
        ));
    }
    Ok(())
}

/// Does changing `before` into `after` give the key more than it had: a
/// higher role, a permission the old list did not grant, a later (or no)
/// expiry, or a move from a non-working status to active? Such a change is
/// allowed only under [`may_mint`].
pub fn widens(before: &KeyRecord, after: &KeyRecord) -> bool {
    let later = |a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>| match (a, b) {
        (Some(old), Some(new)) => new > old,
        (Some(_), None) => true,
        (None, _) => false,
    };
    after.role > before.role
        || !crate::permission::covers(&before.permissions, &after.permissions)
        || after.scope != before.scope
        || later(before.expires_at, after.expires_at)
        || (after.status == KeyStatus::Active && before.status != KeyStatus::Active)
        || delegates_rotation(before, after)
}

/// Does the change let the rotator hand out new secrets it could not
/// before: rotation turned on, or pointed at another secret? The rotator
/// acts on the authority of whoever did that, so it is as strong as minting.
fn delegates_rotation(before: &KeyRecord, after: &KeyRecord) -> bool {
    let rotating = |key: &KeyRecord| {
        key.secret
            .as_ref()
            .filter(|binding| binding.rotation)
            .map(|binding| (binding.arn.clone(), binding.bound_by.clone()))
    };
    let now = rotating(after);
    now.is_some() && now != rotating(before)
}

/// Set a membership: organization owners, and never beyond their own
/// rights — an owner may not hand anyone (themselves included) permissions
/// they do not hold. Platform admins may grant anything.
pub fn may_grant_membership(standing: Standing<'_>, member: &Membership) -> Result<(), Error> {
    may_administer_org(standing)?;
    if !crate::permission::covers(&standing.permissions(), &member.permissions) {
        return Err(Error::forbidden(
            "PERMISSIONS_EXCEED_GRANTOR",
            "a membership may not carry permissions beyond your own; list the permissions to give explicitly",
        ));
    }
    Ok(())
}

fn not_a_member() -> Error {
    Error::forbidden("NOT_A_MEMBER", "you are not a member of this organization")
}
