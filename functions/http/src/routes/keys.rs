//! Key management: create, list, read, edit, revoke, activate, roll.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use keyplane_core::id::KeyId;
use keyplane_core::service::{
    CreateKey, CreateOutcome, KeyPage, KeyView, ListKeys, PatchKey, RollKey, RollOutcome,
};

use crate::error::ApiError;
use crate::extract::{parse_query, Signed};
use crate::openapi::errors;
use crate::AppState;
use keyplane_api::keys::{ActivateKey, KeyWithSecret};

/// Header set on the answer to a replayed create.
pub static IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// Create a key. The answer holds the plaintext, once. A repeat of the
/// request — same signed `Idempotency-Key`, or without one the very same
/// signed request — answers 200 with the key it created, without the
/// plaintext, and `Idempotent-Replayed: true`. An `Idempotency-Key` must be
/// one of the SigV4 `SignedHeaders`.
#[utoipa::path(post, path = "/v1/keys", tag = "keys", operation_id = "create_key", request_body = CreateKey,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes retries safe; must be signed; reused for a different request, it is refused (`IDEMPOTENCY_KEY_MISMATCH`)")),
    security(("sigv4" = [])),
    responses((status = 201, description = "created: the plaintext is in `key`, this once", body = KeyWithSecret),
        (status = 200, description = "replay: the same shape without `key`", body = KeyWithSecret,
            headers(("Idempotent-Replayed" = String, description = "`true`"))),
        errors::Signed, errors::JsonBody, errors::NotFound, errors::Conflict))]
pub async fn create(State(state): State<AppState>, req: Signed) -> Result<Response, ApiError> {
    let token = req.idempotency_token()?;
    match state
        .keyplane
        .create_key(&req.caller, req.json()?, token.as_ref())
        .await?
    {
        CreateOutcome::Created(created) => {
            let body = KeyWithSecret {
                key: Some(created.key),
                key_id: created.view.id.clone(),
                previous_expires_at: None,
                view: created.view,
            };
            Ok((StatusCode::CREATED, Json(body)).into_response())
        }
        CreateOutcome::Replayed(view) => Ok(replayed(view)),
    }
}

/// The answer to a repeated create or roll: the first answer's shape
/// (`key_id` included) without the plaintext, which was never stored.
fn replayed(view: KeyView) -> Response {
    let header = [(
        IDEMPOTENT_REPLAYED.clone(),
        HeaderValue::from_static("true"),
    )];
    let body = KeyWithSecret {
        key: None,
        key_id: view.id.clone(),
        previous_expires_at: None,
        view,
    };
    (StatusCode::OK, header, Json(body)).into_response()
}

/// List keys, masked, newest first.
#[utoipa::path(get, path = "/v1/keys", tag = "keys", operation_id = "list_keys", params(ListKeys),
    security(("sigv4" = [])),
    responses((status = 200, body = KeyPage), errors::Signed, errors::NotFound))]
pub async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    req: Signed,
) -> Result<Json<KeyPage>, ApiError> {
    let query: ListKeys = parse_query(query.as_deref())?;
    Ok(Json(state.keyplane.list_keys(&req.caller, query).await?))
}

/// Read a key, masked.
#[utoipa::path(get, path = "/v1/keys/{key_id}", tag = "keys", operation_id = "get_key", params(("key_id" = KeyId, Path)),
    security(("sigv4" = [])),
    responses((status = 200, body = KeyView), errors::Signed, errors::NotFound))]
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Signed,
) -> Result<Json<KeyView>, ApiError> {
    let id = KeyId::parse(&id)?;
    Ok(Json(state.keyplane.get_key(&req.caller, &id).await?))
}

/// Edit a key: name, role, permissions, expiry, metadata, enabled.
#[utoipa::path(patch, path = "/v1/keys/{key_id}", tag = "keys", operation_id = "patch_key", params(("key_id" = KeyId, Path)),
    request_body = PatchKey, security(("sigv4" = [])),
    responses((status = 200, body = KeyView), errors::Signed, errors::JsonBody, errors::NotFound, errors::Conflict, errors::Replayed))]
pub async fn patch(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Signed,
) -> Result<Json<KeyView>, ApiError> {
    let id = KeyId::parse(&id)?;
    let patch = req.json()?;
    Ok(Json(
        req.once(&state, state.keyplane.patch_key(&req.caller, &id, patch))
            .await?,
    ))
}

/// Revoke a key: immediate and final. The key is not erased: it stays
/// readable, with status `revoked`, for the audit trail.
#[utoipa::path(delete, path = "/v1/keys/{key_id}", tag = "keys", operation_id = "revoke_key", params(("key_id" = KeyId, Path)),
    security(("sigv4" = [])),
    responses((status = 200, body = KeyView), errors::Signed, errors::NotFound, errors::Conflict, errors::Replayed))]
pub async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Signed,
) -> Result<Json<KeyView>, ApiError> {
    let id = KeyId::parse(&id)?;
    Ok(Json(
        req.once(&state, state.keyplane.revoke_key(&req.caller, &id))
            .await?,
    ))
}

/// Activate a pending key (second phase of a two-phase create), optionally
/// binding the Secrets Manager secret that now holds it.
#[utoipa::path(post, path = "/v1/keys/{key_id}/activate", tag = "keys", operation_id = "activate_key", params(("key_id" = KeyId, Path)),
    request_body(content = Option<ActivateKey>), security(("sigv4" = [])),
    responses((status = 200, body = KeyView), errors::Signed, errors::JsonBody, errors::NotFound, errors::Conflict, errors::Replayed))]
pub async fn activate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Signed,
) -> Result<Json<KeyView>, ApiError> {
    let id = KeyId::parse(&id)?;
    let body = req.json_or_default::<ActivateKey>()?;
    Ok(Json(
        req.once(&state, state.keyplane.activate_key(&req.caller, &id, body))
            .await?,
    ))
}

/// Roll a key: a new secret under the same id; the old one works for
/// `grace_seconds` more. Only a caller who could create this key now may
/// roll it; a personal key, only its creator. Repeats are answered like
/// create's: 200, masked, `Idempotent-Replayed: true`.
#[utoipa::path(post, path = "/v1/keys/{key_id}/roll", tag = "keys", operation_id = "roll_key", params(("key_id" = KeyId, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "makes retries safe; must be signed; reused for a different request, it is refused (`IDEMPOTENCY_KEY_MISMATCH`)")),
    request_body(content = Option<RollKey>), security(("sigv4" = [])),
    responses((status = 200, description = "rolled (the new plaintext in `key`), or a replay without it", body = KeyWithSecret,
            headers(("Idempotent-Replayed" = String, description = "`true` on a replay, absent otherwise"))),
        errors::Signed, errors::JsonBody, errors::NotFound, errors::Conflict))]
pub async fn roll(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Signed,
) -> Result<Response, ApiError> {
    let id = KeyId::parse(&id)?;
    let token = req.idempotency_token()?;
    let outcome = state
        .keyplane
        .roll_key(
            &req.caller,
            &id,
            req.json_or_default::<RollKey>()?,
            token.as_ref(),
        )
        .await?;
    match outcome {
        RollOutcome::Rolled(rolled) => Ok(Json(KeyWithSecret {
            key: Some(rolled.key),
            key_id: rolled.view.id.clone(),
            previous_expires_at: Some(rolled.previous_expires_at),
            view: rolled.view,
        })
        .into_response()),
        RollOutcome::Replayed(view) => Ok(replayed(view)),
    }
}
