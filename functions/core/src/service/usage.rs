//! Usage reporting and querying.

use chrono::Duration;

use crate::id::KeyId;
use crate::store::{StoreError, UsageIncrement};
use crate::Error;

use super::{Caller, Keyplane};
use keyplane_api::usage::{KeyUsage, ReportUsage, UsageRange};

/// Longest model name.
pub const MAX_MODEL_LEN: usize = 128;
pub use keyplane_api::limits::MAX_TOKENS_PER_REPORT;
/// Longest queryable range.
pub const MAX_USAGE_DAYS: i64 = 366;

impl Keyplane {
    /// Adds a usage report; platform admins and configured usage reporters.
    pub async fn report_usage(&self, caller: &Caller, req: ReportUsage) -> Result<(), Error> {
        let allowed = self.is_admin(&caller.principal)
            || self.config.usage_reporters.contains(&caller.principal);
        if !allowed {
            return Err(Error::forbidden(
                "USAGE_REPORTER_REQUIRED",
                "only configured usage reporters may report usage",
            ));
        }
        // Counted in characters and held to the character rule of every other
        // stored text (names, metadata): model names are echoed in usage rows.
        let model = req.model.trim();
        if model.is_empty()
            || model.chars().count() > MAX_MODEL_LEN
            || model.chars().any(crate::validate::is_hidden)
        {
            return Err(Error::invalid(
                "INVALID_MODEL",
                format!(
                    "model must be 1 to {MAX_MODEL_LEN} characters without control or format characters"
                ),
            ));
        }
        crate::validate::no_keys("model", model)?;
        let requests = req.requests.unwrap_or(1);
        if [req.input_tokens, req.output_tokens, requests]
            .iter()
            .any(|&n| n > MAX_TOKENS_PER_REPORT)
        {
            return Err(Error::invalid(
                "USAGE_TOO_LARGE",
                format!("counts in one report must be at most {MAX_TOKENS_PER_REPORT}"),
            ));
        }
        let now = self.clock.now();
        let increment = UsageIncrement {
            key_id: req.key_id.clone(),
            day: now.date_naive(),
            model: model.to_owned(),
            requests,
            input_tokens: req.input_tokens,
            output_tokens: req.output_tokens,
            at: now,
        };
        self.store
            .record_usage(&increment)
            .await
            .map_err(|err| match err {
                StoreError::NotFound => {
                    Error::not_found("KEY_NOT_FOUND", "key", req.key_id.as_str())
                }
                other => other.into(),
            })
    }

    /// Usage of a key per day and model; viewers of the key.
    pub async fn key_usage(
        &self,
        caller: &Caller,
        id: &KeyId,
        range: UsageRange,
    ) -> Result<KeyUsage, Error> {
        let to = range.to.unwrap_or_else(|| self.clock.now().date_naive());
        let from = range.from.unwrap_or(to - Duration::days(30));
        if from > to || (to - from).num_days() >= MAX_USAGE_DAYS {
            return Err(Error::invalid(
                "INVALID_RANGE",
                format!(
                    "from must not be after to, and the range must be under {MAX_USAGE_DAYS} days"
                ),
            ));
        }
        let key = self.readable_key(caller, id).await?;
        let items = self.store.query_usage(&key.id, from, to).await?;
        Ok(KeyUsage {
            key_id: key.id,
            from,
            to,
            items,
        })
    }
}
