//! The vocabulary of keys: what a key reaches, what kind it is, what it may
//! do, and the status clients see.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::id::WorkspaceId;
use crate::tenancy::WorkspaceRole;

/// What a key can reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KeyScope {
    /// One workspace.
    Workspace {
        /// The workspace.
        workspace_id: WorkspaceId,
    },
    /// Every workspace of the organization, now and later.
    Organization,
    /// A chosen set of the organization's workspaces.
    Workspaces {
        /// The workspaces.
        workspace_ids: BTreeSet<WorkspaceId>,
    },
}

impl KeyScope {
    /// Does the key reach `workspace`?
    pub fn covers(&self, workspace: &WorkspaceId) -> bool {
        match self {
            KeyScope::Workspace { workspace_id } => workspace_id == workspace,
            KeyScope::Organization => true,
            KeyScope::Workspaces { workspace_ids } => workspace_ids.contains(workspace),
        }
    }

    /// Is this an organization key (rather than a workspace key)?
    pub fn is_organization_key(&self) -> bool {
        !matches!(self, KeyScope::Workspace { .. })
    }
}

/// Personal keys act as their creator; service keys stand for a system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum KeyType {
    /// Acts as its creator, never beyond the creator's rights.
    Personal,
    /// Not tied to a person; its name is the actor.
    Service,
}

/// What a key may do in its scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum KeyRole {
    /// Read.
    Viewer,
    /// Read and write.
    Editor,
    /// Everything in scope.
    Owner,
}

impl From<WorkspaceRole> for KeyRole {
    fn from(role: WorkspaceRole) -> Self {
        match role {
            WorkspaceRole::Viewer => KeyRole::Viewer,
            WorkspaceRole::Editor => KeyRole::Editor,
        }
    }
}

/// Why a key is disabled. Serialized with the names clients have always
/// seen in `disabled_reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DisabledReason {
    /// Someone with the right to manage the key disabled it.
    #[serde(rename = "disabled_by_user")]
    Manual,
    /// A live secret of the key was reported as leaked. The key can be
    /// enabled again only after a roll has replaced that secret.
    #[serde(alias = "rolled_after_leak")]
    LeakReported,
    /// A personal key whose creator left the organization or lost the
    /// rights the key carries.
    CreatorAccessLost,
}

/// Status as a client sees it: the stored status, or `expired` once the
/// key's expiry (or a pending key's activation window) has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DisplayStatus {
    /// See [`KeyStatus::Pending`].
    Pending,
    /// See [`KeyStatus::Active`].
    Active,
    /// See [`KeyStatus::Disabled`].
    Disabled,
    /// See [`KeyStatus::Revoked`].
    Revoked,
    /// Past its expiry.
    Expired,
}
