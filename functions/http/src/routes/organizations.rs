//! Organizations, workspaces and members.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use keyplane_api::tenancy::Member;
use keyplane_core::id::OrgId;
use keyplane_core::principal::Principal;
use keyplane_core::service::{CreateOrganization, CreateWorkspace, PutMember, UpdateOrganization};
use keyplane_core::tenancy::{Organization, Workspace};

use crate::error::ApiError;
use crate::extract::Signed;
use crate::openapi::errors;
use crate::AppState;
use keyplane_api::tenancy::Items;

/// Create an organization (platform admins).
#[utoipa::path(post, path = "/v1/organizations", tag = "organizations", operation_id = "create_organization",
    request_body = CreateOrganization, security(("sigv4" = [])),
    responses((status = 201, body = Organization), errors::Signed, errors::JsonBody, errors::Replayed))]
pub async fn create(
    State(state): State<AppState>,
    req: Signed,
) -> Result<(StatusCode, Json<Organization>), ApiError> {
    let body = req.json()?;
    let org = req
        .once(
            &state,
            state.keyplane.create_organization(&req.caller, body),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(org)))
}

/// Read an organization (members).
#[utoipa::path(get, path = "/v1/organizations/{org}", tag = "organizations", operation_id = "get_organization",
    params(("org" = OrgId, Path, description = "organization id")), security(("sigv4" = [])),
    responses((status = 200, body = Organization), errors::Signed, errors::NotFound))]
pub async fn get(
    State(state): State<AppState>,
    Path(org): Path<String>,
    req: Signed,
) -> Result<Json<Organization>, ApiError> {
    Ok(Json(
        state
            .keyplane
            .get_organization(&req.caller, &OrgId::parse(&org)?)
            .await?,
    ))
}

/// Rename (owners) or set the key quota (platform admins).
#[utoipa::path(patch, path = "/v1/organizations/{org}", tag = "organizations", operation_id = "update_organization",
    request_body = UpdateOrganization,
    params(("org" = OrgId, Path, description = "organization id")), security(("sigv4" = [])),
    responses((status = 200, body = Organization), errors::Signed, errors::JsonBody, errors::NotFound, errors::Replayed))]
pub async fn update(
    State(state): State<AppState>,
    Path(org): Path<String>,
    req: Signed,
) -> Result<Json<Organization>, ApiError> {
    let org = OrgId::parse(&org)?;
    let body = req.json()?;
    Ok(Json(
        req.once(
            &state,
            state.keyplane.update_organization(&req.caller, &org, body),
        )
        .await?,
    ))
}

/// Create a workspace (owners).
#[utoipa::path(post, path = "/v1/organizations/{org}/workspaces", tag = "organizations", operation_id = "create_workspace",
    request_body = CreateWorkspace,
    params(("org" = OrgId, Path, description = "organization id")), security(("sigv4" = [])),
    responses((status = 201, body = Workspace), errors::Signed, errors::JsonBody, errors::NotFound, errors::Replayed))]
pub async fn create_workspace(
    State(state): State<AppState>,
    Path(org): Path<String>,
    req: Signed,
) -> Result<(StatusCode, Json<Workspace>), ApiError> {
    let org = OrgId::parse(&org)?;
    let body = req.json()?;
    let ws = req
        .once(
            &state,
            state.keyplane.create_workspace(&req.caller, &org, body),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(ws)))
}

/// List workspaces (members).
#[utoipa::path(get, path = "/v1/organizations/{org}/workspaces", tag = "organizations", operation_id = "list_workspaces",
    params(("org" = OrgId, Path, description = "organization id")), security(("sigv4" = [])),
    responses((status = 200, body = Items<Workspace>), errors::Signed, errors::NotFound))]
pub async fn list_workspaces(
    State(state): State<AppState>,
    Path(org): Path<String>,
    req: Signed,
) -> Result<Json<Items<Workspace>>, ApiError> {
    let items = state
        .keyplane
        .list_workspaces(&req.caller, &OrgId::parse(&org)?)
        .await?;
    Ok(Json(Items {
        items,
        next_cursor: None,
    }))
}

/// List members (owners).
#[utoipa::path(get, path = "/v1/organizations/{org}/members", tag = "organizations", operation_id = "list_members",
    params(("org" = OrgId, Path, description = "organization id")), security(("sigv4" = [])),
    responses((status = 200, body = Items<Member>), errors::Signed, errors::NotFound))]
pub async fn list_members(
    State(state): State<AppState>,
    Path(org): Path<String>,
    req: Signed,
) -> Result<Json<Items<Member>>, ApiError> {
    let items = state
        .keyplane
        .list_members(&req.caller, &OrgId::parse(&org)?)
        .await?;
    Ok(Json(Items {
        items: items.into_iter().map(Member::from).collect(),
        next_cursor: None,
    }))
}

/// Set a member's roles (owners). Nobody but a platform admin grants
/// permissions beyond their own, to anyone, themselves included. Lowering a
/// member disables, before this answers, the personal keys that now exceed
/// their rights.
#[utoipa::path(put, path = "/v1/organizations/{org}/members/{principal}", tag = "organizations", operation_id = "put_member",
    request_body = PutMember,
    params(("org" = OrgId, Path, description = "organization id"),
           ("principal" = Principal, Path, description = "IAM ARN, URL-encoded")),
    security(("sigv4" = [])),
    responses((status = 200, body = Member), errors::Signed, errors::JsonBody, errors::NotFound, errors::Conflict, errors::Replayed))]
pub async fn put_member(
    State(state): State<AppState>,
    Path((org, principal)): Path<(String, String)>,
    req: Signed,
) -> Result<Json<Member>, ApiError> {
    let (org, principal) = (OrgId::parse(&org)?, Principal::parse(&principal)?);
    let body = req.json()?;
    let member = req
        .once(
            &state,
            state
                .keyplane
                .put_member(&req.caller, &org, &principal, body),
        )
        .await?;
    Ok(Json(member.into()))
}

/// Remove a member (owners); their personal keys are disabled before this
/// answers. A retry after an interrupted removal finishes it.
#[utoipa::path(delete, path = "/v1/organizations/{org}/members/{principal}", tag = "organizations", operation_id = "delete_member",
    params(("org" = OrgId, Path, description = "organization id"),
           ("principal" = Principal, Path, description = "IAM ARN, URL-encoded")),
    security(("sigv4" = [])),
    responses((status = 204, description = "removed"), errors::Signed, errors::NotFound, errors::Conflict, errors::Replayed))]
pub async fn delete_member(
    State(state): State<AppState>,
    Path((org, principal)): Path<(String, String)>,
    req: Signed,
) -> Result<StatusCode, ApiError> {
    let (org, principal) = (OrgId::parse(&org)?, Principal::parse(&principal)?);
    req.once(
        &state,
        state.keyplane.delete_member(&req.caller, &org, &principal),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
