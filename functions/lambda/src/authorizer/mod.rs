//! The `authorizer` function: an API Gateway Lambda authorizer that lets a
//! request through to a customer's API only with a valid Keyplane key that
//! holds the permissions its route needs (`KEYPLANE_ROUTE_PERMISSIONS`).
//!
//! It answers the three events API Gateway sends ([`AuthorizerEvent`]):
//! REST `TOKEN` and `REQUEST` authorizers get an IAM policy whose single
//! statement names exactly the invoked `methodArn`; an HTTP API authorizer
//! on payload 2.0 gets a simple response (`isAuthorized`), so it must have
//! simple responses enabled. An allowed request carries `organization_id`,
//! `workspace_id` (empty for none), `key_id`, `actor` and `permissions`
//! (comma-separated) in the authorizer context.
//!
//! Decisions:
//! - No key, or not a well-formed Keyplane key: refused without touching
//!   the store. A REST authorizer answers with the error `Unauthorized`,
//!   which API Gateway turns into 401; an HTTP API one with
//!   `isAuthorized: false` (403).
//! - A route that no configured pattern matches: denied, without a read.
//! - Unknown, pending, disabled, revoked, expired keys, or keys without
//!   the route's permissions: denied (REST: 403 from the Deny policy).
//! - The store failing: the invocation fails (an error, not a Deny), so
//!   API Gateway answers 500 and caches nothing; a Deny would be cached
//!   for the TTL and lock a valid key out after the store recovers. No
//!   failure ever allows.
//!
//! Caching and revocation: API Gateway caches an authorizer's answer for
//! the configured TTL (default 300 s), keyed by the identity sources. A
//! revoked key keeps passing until its cached Allow expires, on top of the
//! one strongly consistent read each uncached call costs. For the
//! strictest revocation set the TTL to 0. With a short TTL (60 s or less),
//! a REQUEST authorizer's identity sources must include the method and the
//! path (REST `context.httpMethod`, `context.path`; HTTP API `$context.httpMethod`, `$context.path`),
//! otherwise the answer for one route is reused for another route that
//! needs other permissions. A TOKEN authorizer's cache key is the token
//! alone: with caching on, the policy returned for the first route is
//! reused for every route, and since that policy names only that route,
//! other routes are refused (403) until the entry expires — use REQUEST
//! authorizers, or TTL 0, for per-route permissions. Policies never use
//! wildcards, so a cached Allow can never open a route it was not decided
//! for.

mod event;
mod response;
pub mod routes;

use std::sync::Arc;

use keyplane_core::service::{Verdict, VerifyKey};
use keyplane_core::store::KeyStore;
use keyplane_core::{clock::Clock, clock::SystemClock, Keyplane};
use keyplane_store::DynamoStore;
use serde_json::Value;

pub use event::{AuthorizerEvent, UnsupportedEvent};
pub use response::Grant;
use routes::RouteTable;

use crate::config::{AuthorizerConfig, HotPath};

/// Why an invocation failed instead of answering. API Gateway caches no
/// failure.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizerError {
    /// REST authorizers: no key or a malformed one. API Gateway answers 401
    /// to exactly this message.
    #[error("Unauthorized")]
    Unauthorized,
    /// The key store failed; failing closed, and uncached.
    #[error("the key store is unavailable ({code}); failing closed")]
    Store {
        /// The core's error code.
        code: &'static str,
    },
    /// Not an event this function answers (a misconfigured trigger).
    #[error(transparent)]
    Event(#[from] UnsupportedEvent),
}

impl From<AuthorizerError> for lambda_runtime::Diagnostic {
    fn from(err: AuthorizerError) -> Self {
        let error_type = match &err {
            AuthorizerError::Unauthorized => "Unauthorized",
            AuthorizerError::Store { .. } => "StoreUnavailable",
            AuthorizerError::Event(_) => "UnsupportedEvent",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.to_owned(),
            error_message: err.to_string(),
        }
    }
}

/// The authorizer: verify, route table, answer.
#[derive(Debug, Clone)]
pub struct Authorizer {
    keyplane: Keyplane,
    routes: Arc<RouteTable>,
}

impl Authorizer {
    /// On the configured DynamoDB table.
    pub async fn from_config(config: &AuthorizerConfig) -> Self {
        let store = DynamoStore::from_env(config.common.table.clone()).await;
        Self::new(
            Arc::new(store),
            Arc::new(SystemClock),
            config.routes.clone(),
        )
        .with_hot_path(config.hot_path)
    }

    /// With a verify cache and last-use recording.
    pub fn with_hot_path(mut self, hot_path: HotPath) -> Self {
        self.keyplane = hot_path.apply(self.keyplane);
        self
    }

    /// On any store and clock. Verify needs no deployment settings, so the
    /// core gets none.
    pub fn new(store: Arc<dyn KeyStore>, clock: Arc<dyn Clock>, routes: RouteTable) -> Self {
        let config = keyplane_core::Config {
            admins: Vec::new(),
            usage_reporters: Vec::new(),
            key_env: keyplane_core::key_format::KeyEnv::Live,
            rotators: Vec::new(),
        };
        Self {
            keyplane: Keyplane::new(store, clock, config),
            routes: Arc::new(routes),
        }
    }

    /// Answers one invocation with the JSON API Gateway expects.
    pub async fn handle(&self, event: Value) -> Result<Value, AuthorizerError> {
        let event = AuthorizerEvent::from_value(event).inspect_err(|err| {
            tracing::error!(error = %err, "not an authorizer event");
        })?;
        let decision = self.decide(&event).await;
        // Before the answer leaves: once it has, the container may freeze.
        self.keyplane.flush_last_used_if_due().await;
        Ok(response::render(&event, &decision?))
    }

    /// The decision for an event, logged once (key id and reason, never
    /// the key).
    pub async fn decide(&self, event: &AuthorizerEvent) -> Result<Decision, AuthorizerError> {
        let kind = if event.wants_policy() {
            "policy"
        } else {
            "simple"
        };
        let Some(key) = event.key().filter(|key| key.check().is_ok()) else {
            let reason = if event.key().is_some() {
                "MALFORMED"
            } else {
                "NO_KEY"
            };
            tracing::info!(
                decision = "deny",
                reason,
                response = kind,
                "authorizer decision"
            );
            return if event.wants_policy() {
                Err(AuthorizerError::Unauthorized)
            } else {
                Ok(Decision::deny(reason, None))
            };
        };
        let named_method =
            !event.wants_policy() || event.method_arn().is_some_and(|a| !a.is_empty());
        let Some((method, path)) = event.method_and_path().filter(|_| named_method) else {
            tracing::info!(
                decision = "deny",
                reason = "NO_ROUTE_IN_EVENT",
                "authorizer decision"
            );
            return Ok(Decision::deny("NO_ROUTE_IN_EVENT", None));
        };
        let Some(route) = self.routes.find(&method, &path) else {
            // The path is not logged: callers paste keys in odd places.
            tracing::info!(decision = "deny", reason = "ROUTE_NOT_CONFIGURED", method = %method, "authorizer decision");
            return Ok(Decision::deny("ROUTE_NOT_CONFIGURED", None));
        };
        let request = VerifyKey {
            key,
            permissions: route.permissions.clone(),
            workspace_id: None,
            cost: None,
        };
        let verdict = self.keyplane.verify(request).await.map_err(|err| {
            tracing::error!(route = %route.key, code = err.code, error = %err, decision = "error", "authorizer decision");
            AuthorizerError::Store { code: err.code }
        })?;
        let key_id = verdict.key_id.as_ref().map(|id| id.to_string());
        let reason = verdict.code.as_str();
        if verdict.valid {
            tracing::info!(decision = "allow", reason, key_id, route = %route.key, "authorizer decision");
            Ok(Decision::Allow(Grant::from_verdict(&verdict)))
        } else {
            tracing::info!(decision = "deny", reason, key_id, route = %route.key, "authorizer decision");
            Ok(Decision::deny(reason, key_id))
        }
    }
}

/// The outcome for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Let it through, with this context.
    Allow(Grant),
    /// Refuse it.
    Deny {
        /// A stable reason code, e.g. `REVOKED` or `ROUTE_NOT_CONFIGURED`.
        reason: &'static str,
        /// The key, when it was found.
        key_id: Option<String>,
    },
}

impl Decision {
    fn deny(reason: &'static str, key_id: Option<String>) -> Self {
        Self::Deny { reason, key_id }
    }
}

impl Grant {
    fn from_verdict(verdict: &Verdict) -> Self {
        let text = |value: Option<String>| value.unwrap_or_default();
        Self {
            key_id: text(verdict.key_id.as_ref().map(|id| id.to_string())),
            organization_id: text(verdict.organization_id.as_ref().map(|id| id.to_string())),
            workspace_id: text(verdict.workspace_id.as_ref().map(|id| id.to_string())),
            actor: text(verdict.actor.clone()),
            permissions: verdict.permissions.as_deref().unwrap_or_default().join(","),
        }
    }
}
