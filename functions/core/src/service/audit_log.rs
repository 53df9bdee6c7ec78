//! Reading the audit log.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::AuditEvent;
use crate::id::OrgId;
use crate::policy;
use crate::store::StoreError;
use crate::Error;

use super::rules::page_limit;
use super::{Caller, Keyplane};

/// Audit query.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Cursor from the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–100 (default 50).
    pub limit: Option<usize>,
}

/// A page of audit events.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditPage {
    /// Events, newest first.
    pub items: Vec<AuditEvent>,
    /// Cursor for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl Keyplane {
    /// Audit events of an organization; owners.
    pub async fn audit_log(
        &self,
        caller: &Caller,
        org: &OrgId,
        query: AuditQuery,
    ) -> Result<AuditPage, Error> {
        let limit = page_limit(query.limit)?;
        let access = self.access(&caller.principal, org).await?;
        policy::may_administer_org(access.standing())?;
        let page = self
            .store
            .list_audit(org, query.cursor.as_deref(), limit)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => Error::invalid(
                    "INVALID_CURSOR",
                    "the cursor is not one this service issued",
                ),
                other => other.into(),
            })?;
        Ok(AuditPage {
            items: page.items,
            next_cursor: page.next_cursor,
        })
    }
}
