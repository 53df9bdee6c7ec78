//! The data plane: the key is the credential. No SigV4 here, and no route
//! here can change a key except a leak report, which can only disable one.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::{Extension, Json};
use keyplane_core::key_format::ApiKey;
use keyplane_core::service::{ReportLeak, Verdict, VerifyKey};

use crate::answer::JsonAnswer;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::observe::RequestId;
use crate::openapi::errors;
use crate::AppState;
use keyplane_api::verify::LeakReceived;

/// Verify a key. A bad key is an answer (`valid: false` and a code), not an
/// error; a store failure is a 503, never `valid: true`.
#[utoipa::path(post, path = "/v1/keys/verify", tag = "data plane", operation_id = "verify", request_body = VerifyKey,
    responses((status = 200, description = "the verdict, `valid` or not", body = Verdict), errors::DataPlaneBody))]
pub async fn verify(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<VerifyKey>,
) -> Result<JsonAnswer<Verdict>, ApiError> {
    Ok(JsonAnswer(state.keyplane.verify(req).await?))
}

/// Who holds this key (`Authorization: Bearer <key>`).
#[utoipa::path(get, path = "/v1/whoami", tag = "data plane", operation_id = "whoami", security(("bearer_key" = [])),
    responses((status = 200, description = "the key's verdict: always `VALID`", body = Verdict), errors::BearerKey))]
pub async fn whoami(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<JsonAnswer<Verdict>, ApiError> {
    // The scheme is case-insensitive (RFC 9110); the key is everything after.
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| ApiKey::from_plaintext(key.trim()));
    let Some(key) = bearer else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "BEARER_REQUIRED",
            "send the key as Authorization: Bearer <key>",
        )
        .challenge("Bearer"));
    };
    Ok(JsonAnswer(state.keyplane.whoami(key).await?))
}

/// Report a leaked key. Anyone may; the answer is the same whether or not
/// the key existed. A live secret never verifies `VALID` again: the current
/// secret disables its key until a roll replaces it; a previous secret in its
/// roll grace period ends at once. A secret whose grace had ended is only
/// audited.
#[utoipa::path(post, path = "/v1/keys/report-leak", tag = "data plane", operation_id = "report_leak", request_body = ReportLeak,
    responses((status = 202, description = "received, whether or not the key exists", body = LeakReceived), errors::DataPlaneBody))]
pub async fn report_leak(
    State(state): State<AppState>,
    request_id: Option<Extension<RequestId>>,
    JsonBody(report): JsonBody<ReportLeak>,
) -> Result<(StatusCode, Json<LeakReceived>), ApiError> {
    state
        .keyplane
        .report_leak(report, request_id.map(|Extension(id)| id.0))
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(LeakReceived {
            status: "received".to_owned(),
        }),
    ))
}
