//! Keyplane's HTTP layer: one axum Router for the management and data-plane
//! APIs, served by Lambda, by `keyplane serve` and by tests alike.

use std::sync::Arc;

use axum::routing::{get, post, put};
use axum::Router;
use keyplane_core::clock::Clock;
use keyplane_core::Keyplane;

mod answer;
pub mod auth;
mod error;
mod extract;
mod guard;
mod observe;
mod openapi;
mod routes;

pub use error::{ApiError, PROBLEM_JSON};
pub use extract::BODY_LIMIT;
pub use guard::{parse_rate, BadRate, ClientIp, GuardLayer, Limits, Rate};
pub use keyplane_api::problem::Problem;
pub use openapi::ApiDoc;

use auth::Identify;
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

/// The whole API as one Router, with the default [`Limits`].
pub fn app(state: AppState) -> Router {
    app_with_limits(state, Limits::default())
}

/// The whole API as one Router, enforcing `limits`.
pub fn app_with_limits(state: AppState, limits: Limits) -> Router {
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

    management
        .merge(data_plane)
        .merge(meta)
        .fallback(meta::not_found)
        .method_not_allowed_fallback(meta::method_not_allowed)
        .with_state(state)
        .layer(GuardLayer::new(limits))
        .layer(observe::ObserveLayer)
}
