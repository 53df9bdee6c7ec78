//! The audit trail of management actions.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::id::{EventId, OrgId};

/// How long audit events are kept before storage TTL may delete them.
pub const AUDIT_RETENTION: Duration = Duration::days(400);

/// One management action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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
