//! Organizations, workspaces and memberships.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::id::{OrgId, WorkspaceId};
use crate::principal::Principal;

/// Default per-organization key quota.
pub const DEFAULT_KEY_QUOTA: u32 = 1000;
/// Largest quota a platform admin may set.
pub const MAX_KEY_QUOTA: u32 = 1_000_000;

/// A tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Organization {
    /// `org_…`
    pub id: OrgId,
    /// Display name.
    pub name: String,
    /// Most keys that may exist (not revoked) at once.
    pub key_quota: u32,
    /// Keys that exist (not revoked) now; maintained by the store.
    pub key_count: u32,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// The platform admin who created it.
    pub created_by: Principal,
}

/// A workspace inside an organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Workspace {
    /// `ws_…`
    pub id: WorkspaceId,
    /// The organization it belongs to.
    pub organization_id: OrgId,
    /// Display name.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// Role in an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrgRole {
    /// Belongs to the organization; rights come from workspace roles.
    Member,
    /// Full control of the organization and all its workspaces.
    Owner,
}

/// Role in one workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkspaceRole {
    /// May read and list.
    Viewer,
    /// May also create and manage workspace keys.
    Editor,
}

/// A principal's roles in one organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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
