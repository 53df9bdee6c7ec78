//! The audit trail of management actions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::id::{EventId, OrgId};

/// One management action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    /// `evt_…`
    pub id: EventId,
    /// Organization the target belongs to.
    pub organization_id: OrgId,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it: a principal ARN, or `anonymous` for a leak report.
    pub actor: String,
    /// What was done, e.g. `key.create`, `key.revoke`, `member.put`.
    pub action: String,
    /// The id (or principal) acted on.
    pub target: String,
    /// Where the request came from (its User-Agent), when known.
    pub source: Option<String>,
    /// The request id, to correlate with logs.
    pub request_id: Option<String>,
    /// Epoch seconds after which storage may delete the event.
    pub ttl: i64,
}

/// Audit query.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct AuditQuery {
    /// `next_cursor` of the previous page; any other value is refused
    /// (`INVALID_CURSOR`).
    pub cursor: Option<String>,
    /// Page size, 1–100 (default 50).
    pub limit: Option<usize>,
}

/// A page of audit events.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPage {
    /// Events, newest first.
    pub items: Vec<AuditEvent>,
    /// Cursor for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}
