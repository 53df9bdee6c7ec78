//! The audit log: who did what to which key or tenant, newest first.

use axum::extract::{Path, RawQuery, State};
use axum::Json;
use keyplane_core::id::OrgId;
use keyplane_core::service::{AuditPage, AuditQuery};

use crate::error::ApiError;
use crate::extract::{parse_query, Signed};
use crate::openapi::errors;
use crate::AppState;

/// Audit events of an organization, newest first (owners).
#[utoipa::path(get, path = "/v1/organizations/{org}/audit", tag = "audit", operation_id = "list_audit_events",
    params(("org" = OrgId, Path, description = "organization id"), AuditQuery), security(("sigv4" = [])),
    responses((status = 200, body = AuditPage), errors::Signed, errors::NotFound))]
pub async fn list(
    State(state): State<AppState>,
    Path(org): Path<String>,
    RawQuery(query): RawQuery,
    req: Signed,
) -> Result<Json<AuditPage>, ApiError> {
    let query: AuditQuery = parse_query(query.as_deref())?;
    Ok(Json(
        state
            .keyplane
            .audit_log(&req.caller, &OrgId::parse(&org)?, query)
            .await?,
    ))
}
