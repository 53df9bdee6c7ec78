//! The audit trail of management actions.

use chrono::Duration;

pub use keyplane_api::audit::AuditEvent;

/// How long audit events are kept before storage TTL may delete them.
pub const AUDIT_RETENTION: Duration = Duration::days(400);
