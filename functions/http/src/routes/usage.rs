//! Usage reports and per-key usage queries.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use keyplane_core::id::KeyId;
use keyplane_core::service::{KeyUsage, ReportUsage, UsageRange};

use crate::error::ApiError;
use crate::extract::{parse_query, Signed};
use crate::openapi::errors;
use crate::AppState;

/// Report usage of a key (configured usage reporters).
#[utoipa::path(post, path = "/v1/usage", tag = "usage", operation_id = "report_usage", request_body = ReportUsage,
    security(("sigv4" = [])),
    responses((status = 204, description = "recorded"), errors::Signed, errors::JsonBody, errors::NotFound, errors::Replayed))]
pub async fn report(State(state): State<AppState>, req: Signed) -> Result<StatusCode, ApiError> {
    let usage = req.json::<ReportUsage>()?;
    req.once(&state, state.keyplane.report_usage(&req.caller, usage))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Usage of a key per day and model.
#[utoipa::path(get, path = "/v1/keys/{key_id}/usage", tag = "usage", operation_id = "get_key_usage",
    params(("key_id" = KeyId, Path), UsageRange), security(("sigv4" = [])),
    responses((status = 200, body = KeyUsage), errors::Signed, errors::NotFound))]
pub async fn key_usage(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    req: Signed,
) -> Result<Json<KeyUsage>, ApiError> {
    let range: UsageRange = parse_query(query.as_deref())?;
    Ok(Json(
        state
            .keyplane
            .key_usage(&req.caller, &KeyId::parse(&id)?, range)
            .await?,
    ))
}
