//! Organizations, workspaces and members as clients see them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::id::{OrgId, WorkspaceId};
use crate::principal::Principal;

/// A tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrgRole {
    /// Belongs to the organization; rights come from workspace roles.
    Member,
    /// Full control of the organization and all its workspaces.
    Owner,
}

/// Role in one workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WorkspaceRole {
    /// May read and list.
    Viewer,
    /// May also create and manage workspace keys.
    Editor,
}

/// A principal's roles in one organization, as owners see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    /// The organization.
    pub organization_id: OrgId,
    /// The member.
    pub principal: Principal,
    /// Role in the organization.
    pub org_role: OrgRole,
    /// Role per workspace; owners need none.
    #[serde(default)]
    pub workspace_roles: BTreeMap<WorkspaceId, WorkspaceRole>,
    /// Permission patterns this member may hand to keys.
    pub permissions: Vec<String>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Request to create an organization.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateOrganization {
    /// Display name.
    pub name: String,
    /// Most keys at once; 1000 when omitted.
    #[serde(
        default,
        deserialize_with = "crate::limits::within_opt::<_, u32, 1, { crate::limits::MAX_KEY_QUOTA as u64 }>"
    )]
    pub key_quota: Option<u32>,
}

/// Request to change an organization.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateOrganization {
    /// New name (owners).
    pub name: Option<String>,
    /// New key quota (platform admins only).
    #[serde(
        default,
        deserialize_with = "crate::limits::within_opt::<_, u32, 1, { crate::limits::MAX_KEY_QUOTA as u64 }>"
    )]
    pub key_quota: Option<u32>,
}

/// Request to create a workspace.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateWorkspace {
    /// Display name.
    pub name: String,
}

/// Request to set a member's roles.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PutMember {
    /// Role in the organization.
    pub org_role: OrgRole,
    /// Role per workspace.
    #[serde(default)]
    pub workspace_roles: BTreeMap<WorkspaceId, WorkspaceRole>,
    /// Permission patterns the member may give keys; everything (`*`) when
    /// omitted. Never more than the caller holds, unless the caller is a
    /// platform admin.
    pub permissions: Option<Vec<String>>,
}

/// A list answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Items<T> {
    /// The items.
    pub items: Vec<T>,
    /// Cursor of the next page; absent on the last.
    pub next_cursor: Option<String>,
}
