//! The `api` function: the same Router as `keyplane serve`, on DynamoDB,
//! behind API Gateway (HTTP API or REST API, Lambda proxy integration).
//!
//! - Management routes take the caller from API Gateway's `AWS_IAM`
//!   authorization ([`GatewayIdentity`]); without it they answer 401
//!   `IAM_CONTEXT_MISSING`. The caller's `Authorization` header still
//!   reaches the Router unchanged: its `SignedHeaders` decide whether an
//!   `Idempotency-Key` counts, and its signature names a request for
//!   implicit idempotency.
//! - Routes are matched without the stage: an HTTP API on a named stage
//!   puts it in front of the path, and lambda_http puts it in front of REST
//!   paths unless `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH` is set. The path is
//!   rebuilt from the event's raw path either way.
//! - The Lambda request id becomes the request's `x-request-id`, so audit
//!   events and problem bodies quote the id CloudWatch logs carry.
//! - An event lambda_http cannot convert is answered 400 `INVALID_EVENT`
//!   before it is converted ([`event::check`]).

pub mod event;
mod identity;

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use http::uri::PathAndQuery;
use http::{HeaderValue, Uri};
use keyplane_core::clock::{Clock, SystemClock};
use keyplane_core::store::KeyStore;
use keyplane_core::Keyplane;
use keyplane_http::{AppState, ClientIp, Limits};
use keyplane_store::DynamoStore;
use lambda_http::request::{LambdaRequest, RequestContext};
use lambda_http::{service_fn, LambdaEvent, Request, RequestExt};
use tower::util::MapRequest;
use tower::ServiceExt;

pub use identity::GatewayIdentity;

use crate::config::ApiConfig;

/// The service `lambda_http::run` serves: the Router behind [`prepare`].
pub type Api = MapRequest<Router, fn(Request) -> Request>;

/// The Router's state on the configured DynamoDB table, with the system
/// clock and [`GatewayIdentity`].
pub async fn state(config: &ApiConfig) -> AppState {
    let store = DynamoStore::from_env(config.common.table.clone()).await;
    let mut state = state_with(Arc::new(store), Arc::new(SystemClock), config);
    state.keyplane = config.hot_path.apply(state.keyplane);
    state
}

/// The Router's state on any store and clock (tests use the embedded store).
pub fn state_with(store: Arc<dyn KeyStore>, clock: Arc<dyn Clock>, config: &ApiConfig) -> AppState {
    AppState {
        keyplane: Keyplane::new(store, clock.clone(), config.core_config()),
        identity: Arc::new(GatewayIdentity),
        clock,
    }
}

/// The Router with `limits`, ready for `lambda_http::run`.
pub fn app(state: AppState, limits: Limits) -> Api {
    keyplane_http::app_with_limits(state, limits).map_request(prepare as fn(Request) -> Request)
}

/// Serves the Router as the Lambda function until the runtime stops. Noted
/// last uses are written, when due, before each invocation returns: once it
/// has, the container may be frozen.
pub async fn run(state: AppState, limits: Limits) -> Result<(), lambda_http::Error> {
    let keyplane = state.keyplane.clone();
    let service = app(state, limits).then(move |response| {
        let keyplane = keyplane.clone();
        async move {
            keyplane.flush_last_used_if_due().await;
            response
        }
    });
    // What `lambda_http::run` serves, behind the check that keeps events
    // it cannot convert from panicking inside it.
    let adapter = lambda_http::Adapter::from(service);
    lambda_runtime::run(service_fn(move |invocation: LambdaEvent<LambdaRequest>| {
        let adapter = adapter.clone();
        async move {
            if let Err(unusable) = event::check(&invocation.payload) {
                tracing::warn!(error = %unusable, "refused an API Gateway event");
                let origin = invocation.payload.request_origin();
                return Ok(event::Answer::Refused(event::refusal(&origin, unusable)));
            }
            adapter.oneshot(invocation).await.map(event::Answer::Served)
        }
    }))
    .await
}

/// The name of the header the Router takes request ids from.
const X_REQUEST_ID: &str = "x-request-id";

/// Fits a converted event to the Router: the stage comes off the path, the
/// Lambda request id becomes the request id, and the caller's address (as
/// API Gateway saw the connection, not a forwarded header) becomes the
/// source the rate limits count by.
pub fn prepare(mut req: Request) -> Request {
    if let Some(uri) = routed_uri(&req) {
        *req.uri_mut() = uri;
    }
    if let Some(ip) = source_ip(&req) {
        req.extensions_mut().insert(ClientIp(ip));
    }
    let lambda_request_id = req
        .lambda_context_ref()
        .map(|context| context.request_id.as_str())
        .filter(|id| !id.is_empty())
        .and_then(|id| HeaderValue::from_str(id).ok());
    if let Some(id) = lambda_request_id {
        req.headers_mut().insert(X_REQUEST_ID, id);
    }
    req
}

/// The address API Gateway received the request from.
fn source_ip(req: &Request) -> Option<IpAddr> {
    let text = match req.request_context_ref()? {
        RequestContext::ApiGatewayV1(context) => context.identity.source_ip.as_deref(),
        RequestContext::ApiGatewayV2(context) => context.http.source_ip.as_deref(),
        _ => None,
    }?;
    text.parse().ok()
}

/// The request's URI with the path the routes are written for, or `None`
/// to leave it as lambda_http built it.
fn routed_uri(req: &Request) -> Option<Uri> {
    let raw_path = req.raw_http_path();
    let path = match req.request_context_ref()? {
        RequestContext::ApiGatewayV1(_) => raw_path,
        RequestContext::ApiGatewayV2(context) => {
            crate::stage::strip(context.stage.as_deref(), raw_path)
        }
        _ => return None,
    };
    if path.is_empty() {
        return None;
    }
    let path_and_query = match req.uri().query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    };
    let mut parts = req.uri().clone().into_parts();
    // A path API Gateway passed undecodable stays as lambda_http encoded
    // it; it matches no route either way.
    parts.path_and_query = Some(PathAndQuery::try_from(path_and_query).ok()?);
    Uri::from_parts(parts).ok()
}
