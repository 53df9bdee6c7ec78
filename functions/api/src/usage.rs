//! Per-key, per-model, per-day usage.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::id::KeyId;

/// Counters of one key for one model on one UTC day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageRow {
    /// UTC day.
    pub day: NaiveDate,
    /// Model name as reported.
    pub model: String,
    /// Requests.
    pub requests: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
}

/// One usage report from a platform service.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReportUsage {
    /// The key that was used.
    pub key_id: KeyId,
    /// The model that served the request.
    pub model: String,
    /// Input tokens.
    #[serde(
        default,
        deserialize_with = "crate::limits::within::<_, u64, 0, { crate::limits::MAX_TOKENS_PER_REPORT }>"
    )]
    pub input_tokens: u64,
    /// Output tokens.
    #[serde(
        default,
        deserialize_with = "crate::limits::within::<_, u64, 0, { crate::limits::MAX_TOKENS_PER_REPORT }>"
    )]
    pub output_tokens: u64,
    /// Requests this report stands for; 1 when omitted.
    #[serde(
        default,
        deserialize_with = "crate::limits::within_opt::<_, u64, 1, { crate::limits::MAX_TOKENS_PER_REPORT }>"
    )]
    pub requests: Option<u64>,
}

/// Usage query bounds (UTC days, inclusive).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct UsageRange {
    /// First day; 30 days before `to` when omitted. Not after `to`, and at
    /// most 365 days before it (`INVALID_RANGE`).
    pub from: Option<NaiveDate>,
    /// Last day; today when omitted.
    pub to: Option<NaiveDate>,
}

/// Usage of one key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyUsage {
    /// The key.
    pub key_id: KeyId,
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// Per day and model.
    pub items: Vec<UsageRow>,
}
