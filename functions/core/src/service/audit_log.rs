//! Reading the audit log.

use crate::id::OrgId;
use crate::policy;
use crate::store::StoreError;
use crate::Error;

use super::rules::page_limit;
use super::{Caller, Keyplane};
use keyplane_api::audit::{AuditPage, AuditQuery};

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
