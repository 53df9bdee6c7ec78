//! Usage reports.

use http::Method;
use keyplane_api::usage::ReportUsage;

use crate::client::Call;
use crate::{Client, Error};

impl Client {
    /// `POST /v1/usage` (configured usage reporters): adds to the key's
    /// counters. Not retried after a timeout or 5xx: the report may have
    /// been counted, and a repeat would count it twice.
    pub async fn report_usage(&self, report: &ReportUsage) -> Result<(), Error> {
        let call = Call::new(Method::POST, "/v1/usage", "/v1/usage".to_owned())
            .json(report)?
            .once();
        self.send(call).await.map(drop)
    }
}
