//! The audit log.

use futures::stream::BoxStream;
use http::Method;
use keyplane_api::audit::{AuditEvent, AuditPage, AuditQuery};
use keyplane_api::id::OrgId;

use crate::client::Call;
use crate::organizations::org_path;
use crate::pages::paginate;
use crate::{Client, Error};

impl Client {
    /// `GET /v1/organizations/{org}/audit` (owners): one page, newest
    /// first.
    pub async fn audit_page(&self, org: &OrgId, query: &AuditQuery) -> Result<AuditPage, Error> {
        let call = Call::new(
            Method::GET,
            "/v1/organizations/{org}/audit",
            format!("{}/audit", org_path(org)),
        )
        .query(query)?;
        self.send(call).await?.json()
    }

    /// `GET /v1/organizations/{org}/audit`, every page: a stream of events
    /// that follows `next_cursor` from `query.cursor` on.
    pub fn audit_log(
        &self,
        org: &OrgId,
        query: AuditQuery,
    ) -> BoxStream<'static, Result<AuditEvent, Error>> {
        let (client, org) = (self.clone(), org.clone());
        paginate(query.cursor.clone(), move |cursor| {
            let (client, org) = (client.clone(), org.clone());
            let query = AuditQuery {
                cursor,
                ..query.clone()
            };
            async move {
                let page = client.audit_page(&org, &query).await?;
                Ok((page.items, page.next_cursor))
            }
        })
    }
}
