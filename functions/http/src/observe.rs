//! What every request goes through first: a request id, a span, one
//! access-log line, and the id stamped on the answer.
//!
//! Request ids are taken from `x-request-id` when
//! [`keyplane_core::validate::request_id`] accepts it (plain, short, not
//! key-shaped) and minted otherwise; they are echoed in the response header
//! and in problem+json bodies, recorded in the span and stored in audit
//! events.
//!
//! Spans and access lines carry the method, the route template and the
//! request id only: never headers (signatures, bearer keys), bodies (keys),
//! or the raw path, where a confused client may have pasted a key as an id.
//!
//! Levels: management requests are logged at INFO (on Lambda that line is
//! the request's record in CloudWatch). The hot data-plane routes — verify,
//! whoami, health — log at DEBUG, with their span, so a busy verifier does
//! not pay for a log line per key check (formatting and writing it cost as
//! much as the verify itself; measured in `tests/bench/run`); a 5xx is
//! logged at ERROR on every route, with its request id in the line itself.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::response::Response;
use keyplane_api::problem::Problem;
use rand::distr::Alphanumeric;
use rand::Rng;
use tower::{Layer, Service};
use tracing::{Instrument, Level};

/// The request id header.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being served, in its extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// A problem+json answer, kept beside its rendered body so the request id
/// can be added without parsing the body back.
#[derive(Debug, Clone)]
pub(crate) struct ProblemAnswer(pub(crate) Problem);

/// Routes called for every request our users serve.
fn is_hot(route: &str) -> bool {
    matches!(route, "/v1/keys/verify" | "/v1/whoami" | "/healthz")
}

/// The layer that observes every routed request (applied with
/// `Router::layer`, so it runs after routing and knows the route template).
/// A hand-written service rather than `middleware::from_fn`: it calls the
/// route at once instead of cloning it, which showed in the verify profile.
#[derive(Debug, Clone, Copy, Default)]
pub struct ObserveLayer;

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe { inner }
    }
}

/// See [`ObserveLayer`].
#[derive(Debug, Clone)]
pub struct Observe<S> {
    inner: S,
}

impl<S> Service<Request> for Observe<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let id = req
            .headers()
            .get(&X_REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .and_then(keyplane_core::validate::request_id)
            .unwrap_or_else(mint);
        // `MatchedPath` holds an `Arc<str>`: the clone is cheap and outlives
        // the request.
        let matched = req.extensions().get::<MatchedPath>().cloned();
        let hot = matched.as_ref().is_some_and(|m| is_hot(m.as_str()));
        let method = method_name(req.method());
        let span = {
            let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
            if hot {
                tracing::debug_span!("request", method, route, request_id = %id)
            } else {
                tracing::info_span!("request", method, route, request_id = %id)
            }
        };
        req.extensions_mut().insert(RequestId(id.clone()));

        let started = Instant::now();
        let answer = span.in_scope(|| self.inner.call(req));
        Box::pin(async move {
            let Ok(response) = answer.instrument(span.clone()).await;
            let latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            let status = response.status().as_u16();
            let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
            span.in_scope(|| {
                if response.status().is_server_error() {
                    tracing::error!(status, latency_us, route, request_id = %id, "response");
                } else if hot {
                    tracing::event!(Level::DEBUG, status, latency_us, "response");
                } else {
                    tracing::event!(Level::INFO, status, latency_us, "response");
                }
            });
            Ok(stamp(response, &id))
        })
    }
}

/// A fresh request id: `req_` and 20 random letters and digits.
fn mint() -> String {
    let mut id = String::with_capacity(24);
    id.push_str("req_");
    id.extend(
        rand::rng()
            .sample_iter(Alphanumeric)
            .take(20)
            .map(char::from),
    );
    id
}

/// Puts the id in the response header and, for problems, in the body.
fn stamp(response: Response, id: &str) -> Response {
    let (mut parts, body) = response.into_parts();
    if let Ok(value) = HeaderValue::from_str(id) {
        parts.headers.insert(X_REQUEST_ID.clone(), value);
    }
    let Some(ProblemAnswer(mut problem)) = parts.extensions.remove::<ProblemAnswer>() else {
        return Response::from_parts(parts, body);
    };
    problem.request_id = Some(id.to_owned());
    match serde_json::to_vec(&problem) {
        Ok(bytes) => {
            parts.headers.remove(axum::http::header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(bytes))
        }
        Err(_) => Response::from_parts(parts, body),
    }
}

/// The method for logs; an extension method is client text and is not
/// repeated.
fn method_name(method: &Method) -> &'static str {
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
