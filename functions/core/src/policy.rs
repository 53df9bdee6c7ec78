//! Who may do what. Pure functions over a caller's membership; the use cases
//! call these before touching storage.
//!
//! Platform admins (configured, not stored) act as owners of every
//! organization. API keys never reach this module: management is
//! authenticated with IAM only.

use crate::key::{effective_role, KeyRole, KeyScope};
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
                "the key's role is higher than the role its creator holds over the key's scope",
            ))
        }
    }
    if !crate::permission::covers(&grantor.permissions(), permissions) {
        return Err(Error::forbidden(
            "PERMISSIONS_EXCEED_CREATOR",
            "the key's permissions go beyond its creator's permissions",
        ));
    }
    Ok(())
}

fn not_a_member() -> Error {
    Error::forbidden("NOT_A_MEMBER", "you are not a member of this organization")
}
