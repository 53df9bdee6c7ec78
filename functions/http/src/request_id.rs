//! Request ids: taken from `x-request-id` when
//! [`keyplane_core::validate::request_id`] accepts it (plain, short, not
//! key-shaped), minted otherwise; echoed in the response header and in
//! problem+json bodies, recorded in the request's tracing span and stored in
//! audit events.

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use rand::distr::{Alphanumeric, SampleString};

use crate::error::PROBLEM_JSON;

/// The request id header.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being served, in its extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Middleware: assigns the id and stamps it on the response.
pub async fn assign(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .and_then(keyplane_core::validate::request_id)
        .unwrap_or_else(|| format!("req_{}", Alphanumeric.sample_string(&mut rand::rng(), 20)));
    req.extensions_mut().insert(RequestId(id.clone()));
    let response = next.run(req).await;
    stamp(response, &id).await
}

async fn stamp(response: Response, id: &str) -> Response {
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == PROBLEM_JSON.as_bytes());
    let (mut parts, body) = response.into_parts();
    if let Ok(value) = HeaderValue::from_str(id) {
        parts.headers.insert(X_REQUEST_ID.clone(), value);
    }
    if !is_problem {
        return Response::from_parts(parts, body);
    }
    // Problem bodies are small and built by us; add the id so a user can
    // quote it without looking at headers.
    let bytes = to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(mut value) => {
            value["request_id"] = serde_json::Value::String(id.to_owned());
            serde_json::to_vec(&value).unwrap_or_else(|_| bytes.to_vec())
        }
        Err(_) => bytes.to_vec(),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}
