//! Leaked-key reports: anyone who finds a key may report it, and a real key
//! is disabled at once.

use serde::Deserialize;
use utoipa::ToSchema;

use crate::key::KeyStatus;
use crate::key_format::ApiKey;
use crate::{Error, ErrorKind};

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
        let outcome = if matches!(key.status, KeyStatus::Active | KeyStatus::Pending) {
            self.disable_for(&key, LEAK_REPORTED, event).await
        } else {
            self.store.append_audit(&event).await.map_err(Error::from)
        };
        match outcome {
            // Only an outage may differ from the usual answer; anything else
            // (say, losing a race with a concurrent change five times) would
            // tell the reporter that the key exists.
            Err(err) if err.kind == ErrorKind::Unavailable => Err(err),
            Err(err) => {
                tracing::warn!(key_id = %key.id, code = err.code, "leak report could not disable the key");
                Ok(())
            }
            Ok(()) => Ok(()),
        }
    }
}
