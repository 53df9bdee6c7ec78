//! `POST /v1/keys/verify` with any body, through the public Router
//! (`keyplane_http::app_with_limits`, called with `oneshot`) on an in-memory store
//! holding real keys; corpus bodies name them by placeholder (`$KEY`, …).
//!
//! Properties, beyond "no panic": no body gets a 5xx (the store never
//! fails here, so any 5xx is a bug), every answer is JSON, and no answer
//! holds a well-formed key, whether from the request or from the store.
#![no_main]

use std::sync::{Arc, LazyLock};

use axum::body::Body;
use axum::Router;
use chrono::{DateTime, Utc};
use http::header::CONTENT_TYPE;
use http::{Method, Request};
use keyplane_core::principal::Principal;
use keyplane_fuzz::keys::well_formed_keys;
use keyplane_fuzz::world::World;
use keyplane_http::auth::{AuthError, Identify};
use keyplane_http::{AppState, Limits};
use libfuzzer_sys::fuzz_target;

/// The data plane needs no caller identity.
#[derive(Debug)]
struct NoSignatures;

impl Identify for NoSignatures {
    fn identify(
        &self,
        _parts: &http::request::Parts,
        _body: &[u8],
        _now: DateTime<Utc>,
    ) -> Result<Principal, AuthError> {
        Err(AuthError::Missing)
    }
}

struct Target {
    world: World,
    app: Router,
}

static TARGET: LazyLock<Target> = LazyLock::new(|| {
    let world = World::new();
    // No rate limits: one source sends every input.
    let state = AppState {
        keyplane: world.keyplane.clone(),
        identity: Arc::new(NoSignatures),
        clock: world.clock.clone(),
    };
    let app = keyplane_http::app_with_limits(state, Limits::without_rates());
    Target { world, app }
});

fuzz_target!(|data: &[u8]| {
    let target = &*TARGET;
    let body = target.world.substitute(&keyplane_fuzz::text(data));
    let request = Request::builder()
        .method(Method::POST)
        .uri("/v1/keys/verify")
        .header(CONTENT_TYPE, "application/json")
        .body(Body::from(body.clone()))
        .expect("a request");
    let (status, answer) = target.world.serve(&target.app, request);
    assert!(!status.is_server_error(), "{status} for a verify body");
    let answer = std::str::from_utf8(&answer).expect("a UTF-8 answer");
    assert!(
        serde_json::from_str::<serde_json::Value>(answer).is_ok(),
        "a JSON answer"
    );
    assert!(
        well_formed_keys(answer).is_empty(),
        "an answer holds a well-formed key"
    );
    for key in target.world.keys() {
        assert!(!answer.contains(key), "an answer holds a stored key");
    }
});
