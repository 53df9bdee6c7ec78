//! Leaked-key reports: anyone who finds a key may report it, and a real key
//! is disabled at once.

use serde::Deserialize;
use utoipa::ToSchema;

use crate::key::KeyStatus;
use crate::key_format::ApiKey;
use crate::Error;

use super::lifecycle::LEAK_REPORTED;
use super::Keyplane;

/// A leak report.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportLeak {
    /// The leaked plaintext key.
    #[schema(value_type = String)]
    pub key: ApiKey,
    /// Where it was found (a URL, a scanner name…).
    pub source: Option<String>,
}

impl Keyplane {
    /// Handles a leak report. The caller learns nothing about whether the
    /// key existed: every well-formed or malformed report gets the same `Ok`.
    pub async fn report_leak(
        &self,
        req: ReportLeak,
        request_id: Option<String>,
    ) -> Result<(), Error> {
        if req.key.check().is_err() {
            return Ok(());
        }
        let Some(secret) = self.store.get_secret(&req.key.hash()).await? else {
            return Ok(());
        };
        let Some(key) = self.store.get_key(&secret.key_id).await? else {
            return Ok(());
        };
        let event = self.audit_event_by(
            "anonymous",
            req.source.clone(),
            request_id,
            &key.organization_id,
            "key.leak_reported",
            key.id.as_str(),
        );
        if matches!(key.status, KeyStatus::Active | KeyStatus::Pending) {
            self.disable_for(&key, LEAK_REPORTED, event).await
        } else {
            Ok(self.store.append_audit(&event).await?)
        }
    }
}
