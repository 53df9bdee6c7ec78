//! The data plane: verify, whoami and leak reports.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::id::{KeyId, OrgId, WorkspaceId};
use crate::key::{KeyRole, KeyScope, KeyType};
use crate::key_format::ApiKey;

/// A verify request.
#[derive(Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct VerifyKey {
    /// The presented key.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub key: ApiKey,
    /// Permissions the caller needs; all must be granted.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// The workspace being accessed; the key must reach it, and an
    /// organization-wide key reaches only its own organization's workspaces.
    pub workspace_id: Option<WorkspaceId>,
    /// Credits to spend; a metered key answers `USAGE_EXCEEDED` when it has
    /// fewer left. Without a cost, verify stays one read and does not look
    /// at the balance, so gateways in front of metered keys send a cost on
    /// every call.
    #[serde(
        default,
        deserialize_with = "crate::limits::within_opt::<_, u64, 1, { crate::limits::MAX_COST }>"
    )]
    pub cost: Option<u64>,
}

impl VerifyKey {
    /// Verifies `key` alone: no permission, workspace or cost to check.
    pub fn new(key: ApiKey) -> Self {
        Self {
            key,
            permissions: Vec::new(),
            workspace_id: None,
            cost: None,
        }
    }
}

/// The verdict. A bad key is an answer, not an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VerifyCode {
    /// The key may be used.
    Valid,
    /// Not a Keyplane key (prefix, length, alphabet or checksum).
    Malformed,
    /// Well-formed but unknown.
    NotFound,
    /// Created in two phases and not activated.
    Pending,
    /// Disabled.
    Disabled,
    /// Revoked.
    Revoked,
    /// Past its expiry, or past the grace period of a roll.
    Expired,
    /// Valid, but not for this workspace or these permissions.
    Forbidden,
    /// Not enough credits left.
    UsageExceeded,
}

impl VerifyCode {
    /// The code as it appears on the wire (and as a problem's `code`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "VALID",
            Self::Malformed => "MALFORMED",
            Self::NotFound => "NOT_FOUND",
            Self::Pending => "PENDING",
            Self::Disabled => "DISABLED",
            Self::Revoked => "REVOKED",
            Self::Expired => "EXPIRED",
            Self::Forbidden => "FORBIDDEN",
            Self::UsageExceeded => "USAGE_EXCEEDED",
        }
    }
}

/// The verify answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Verdict {
    /// True only for `VALID`.
    pub valid: bool,
    /// Why.
    pub code: VerifyCode,
    /// For `MALFORMED`: `WRONG_PREFIX`, `WRONG_LENGTH`, `BAD_ALPHABET` or `BAD_CHECKSUM`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The key, once found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<KeyId>,
    /// Its organization.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<OrgId>,
    /// The workspace of a workspace key, or the requested one when the key
    /// is valid for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<WorkspaceId>,
    /// Reach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<KeyScope>,
    /// The creator (personal keys) or the key's name (service keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Personal or service.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub key_type: Option<KeyType>,
    /// Role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<KeyRole>,
    /// Permission patterns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
    /// Expiry of the key (or of this secret, during a roll grace period).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Credits left after this call, for metered keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credits_remaining: Option<u64>,
}

/// A leak report.
#[derive(Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReportLeak {
    /// The leaked plaintext key.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub key: ApiKey,
    /// Where it was found (a URL, a scanner name…).
    pub source: Option<String>,
}

/// Answer to a leak report.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LeakReceived {
    /// Always `received`.
    pub status: String,
}
