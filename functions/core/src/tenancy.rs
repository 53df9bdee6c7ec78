//! Organizations, workspaces and memberships.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::id::{OrgId, WorkspaceId};
use crate::principal::Principal;
pub use keyplane_api::tenancy::{OrgRole, Organization, Workspace, WorkspaceRole};

/// Default per-organization key quota.
pub const DEFAULT_KEY_QUOTA: u32 = 1000;
pub use keyplane_api::limits::MAX_KEY_QUOTA;

/// A principal's roles in one organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// The organization.
    pub organization_id: OrgId,
    /// The member.
    pub principal: Principal,
    /// Role in the organization.
    pub org_role: OrgRole,
    /// Role per workspace; owners need none.
    #[serde(default)]
    pub workspace_roles: BTreeMap<WorkspaceId, WorkspaceRole>,
    /// Permission patterns this member may hand to keys; `["*"]` by default.
    pub permissions: Vec<String>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change. Minting and widening a key are written only
    /// if the acting member's version is still the one the decision was
    /// made on, so a concurrent removal or role cut always wins.
    #[serde(default)]
    pub version: u64,
}

/// What owners see of a membership: everything but the internal version.
impl From<Membership> for keyplane_api::tenancy::Member {
    fn from(member: Membership) -> Self {
        Self {
            organization_id: member.organization_id,
            principal: member.principal,
            org_role: member.org_role,
            workspace_roles: member.workspace_roles,
            permissions: member.permissions,
            updated_at: member.updated_at,
        }
    }
}
