//! Keyplane's HTTP layer: one axum Router for the management and data-plane
//! APIs, served by Lambda, by `keyplane serve` and by tests alike.

use std::sync::Arc;

use axum::extract::MatchedPath;
use axum::routing::{get, post, put};
use axum::Router;
use keyplane_core::clock::Clock;
use keyplane_core::Keyplane;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

pub mod auth;
mod error;
mod extract;
mod openapi;
mod request_id;
mod routes;

pub use error::{ApiError, PROBLEM_JSON};
pub use extract::BODY_LIMIT;
pub use keyplane_api::problem::Problem;
pub use openapi::ApiDoc;

use auth::Identify;
use request_id::RequestId;
use routes::{audit, data_plane, keys, meta, organizations, usage};

/// What every handler needs.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The use cases.
    pub keyplane: Keyplane,
    /// Who is calling a management route.
    pub identity: Arc<dyn Identify>,
    /// The clock SigV4 checks request times against.
    pub clock: Arc<dyn Clock>,
}

/// The whole API as one Router.
pub fn app(state: AppState) -> Router {
    let management = Router::new()
        .route("/v1/organizations", post(organizations::create))
        .route(
            "/v1/organizations/{org}",
            get(organizations::get).patch(organizations::update),
        )
        .route(
            "/v1/organizations/{org}/workspaces",
            post(organizations::create_workspace).get(organizations::list_workspaces),
        )
        .route(
            "/v1/organizations/{org}/members",
            get(organizations::list_members),
        )
        .route(
            "/v1/organizations/{org}/members/{principal}",
            put(organizations::put_member).delete(organizations::delete_member),
        )
        .route("/v1/organizations/{org}/audit", get(audit::list))
        .route("/v1/keys", post(keys::create).get(keys::list))
        .route(
            "/v1/keys/{key_id}",
            get(keys::get).patch(keys::patch).delete(keys::revoke),
        )
        .route("/v1/keys/{key_id}/activate", post(keys::activate))
        .route("/v1/keys/{key_id}/roll", post(keys::roll))
        .route("/v1/keys/{key_id}/usage", get(usage::key_usage))
        .route("/v1/usage", post(usage::report));
    let data_plane = Router::new()
        .route("/v1/keys/verify", post(data_plane::verify))
        .route("/v1/keys/report-leak", post(data_plane::report_leak))
        .route("/v1/whoami", get(data_plane::whoami));
    let meta = Router::new()
        .route("/healthz", get(meta::healthz))
        .route("/openapi.json", get(meta::openapi));

    // Spans carry the method, the route template and the request id only:
    // never headers (signatures, bearer keys), bodies (keys), or the raw
    // path, where a confused client may have pasted a key as an id.
    // One access-log line per response at INFO (status, latency), in that
    // span: on Lambda the only record of a request in CloudWatch.
    let trace = TraceLayer::new_for_http()
        .on_response(DefaultOnResponse::new().level(tracing::Level::INFO))
        .make_span_with(|req: &axum::http::Request<_>| {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map_or("unmatched", MatchedPath::as_str);
            let request_id = req
                .extensions()
                .get::<RequestId>()
                .map_or("", |id| id.0.as_str());
            tracing::info_span!(
                "request",
                method = method_name(req.method()),
                route,
                request_id
            )
        });

    management
        .merge(data_plane)
        .merge(meta)
        .fallback(meta::not_found)
        .method_not_allowed_fallback(meta::method_not_allowed)
        .with_state(state)
        .layer(trace)
        .layer(axum::middleware::from_fn(request_id::assign))
}

/// The method for logs; an extension method is client text and is not
/// repeated.
fn method_name(method: &axum::http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}
