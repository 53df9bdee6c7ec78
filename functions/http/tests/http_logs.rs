//! What the Router logs: spans name the route template and the request id,
//! never a header, a body, the raw path or an extension method, so a key a
//! client puts in any of those never reaches a log line. One access line
//! per response: INFO for management, DEBUG for the hot data-plane routes,
//! ERROR with the request id for any 5xx.
//!
//! One test in this binary: it captures logs with a thread-local subscriber,
//! and other tests' threads would change tracing's cached interest.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use common::failing_store::FailingStore;
use common::{capture_logs, ws_key, Req, TestApp, ADMIN};
use serde_json::json;

// Current-thread runtime: the subscriber is set for this thread only, and
// every request runs on it.
#[tokio::test]
async fn a_key_sent_anywhere_in_a_request_is_not_logged() {
    let (logs, _guard) = capture_logs();

    let app = TestApp::new();
    let (org, ws) = app.setup_org().await;
    let (key, key_id) = app.new_key(ADMIN, ws_key(&org, &ws)).await;
    let bearer = format!("Bearer {key}");
    let requests = [
        Req::new("POST", "/v1/keys/verify").json(&json!({"key": key})),
        Req::new("POST", "/v1/keys/verify").json(&json!({"key": key, "extra": 1})),
        Req::new("GET", "/v1/whoami").header("authorization", &bearer),
        Req::new("GET", "/v1/keys").header("authorization", &bearer),
        Req::new("GET", &format!("/v1/keys/{key}")).by(ADMIN),
        Req::new("GET", &format!("/v1/keys?organization_id={key}")).by(ADMIN),
        Req::new("GET", &format!("/v1/{key}")),
        Req::new(&key, "/v1/keys/verify"),
        Req::new("POST", &format!("/v1/keys/{key_id}/roll"))
            .by(ADMIN)
            .json(&json!({"grace_seconds": 60})),
    ];
    let mut rolled = None;
    for req in requests {
        let answer = app.send(req).await;
        if answer.json.get("key").is_some() {
            rolled = Some(answer.str("key"));
        }
    }
    let rolled = rolled.unwrap();

    // A store failure: a 503, logged at ERROR with its request id.
    let (store, faults) = FailingStore::new();
    let failing = TestApp::with_store(Arc::new(store));
    let (org, ws) = failing.setup_org().await;
    let (failing_key, _) = failing.new_key(ADMIN, ws_key(&org, &ws)).await;
    faults.secrets.store(true, Ordering::SeqCst);
    let unavailable = failing
        .send(Req::new("POST", "/v1/keys/verify").json(&json!({"key": failing_key})))
        .await;
    unavailable.expect_problem(503, "STORE_UNAVAILABLE");
    let failed_id = unavailable.header("x-request-id").unwrap().to_owned();

    let logged = logs.text();
    // The capture works, and spans say which route, by its template.
    assert!(logged.contains("/v1/keys/{key_id}"), "{logged}");
    assert!(logged.contains(r#"route="unmatched""#), "{logged}");
    let access = |route: &str| -> Vec<&str> {
        logged
            .lines()
            .filter(|l| l.contains("keyplane_http::observe: response"))
            .filter(|l| l.contains(&format!("route=\"{route}\"")))
            .collect()
    };
    let verify_lines = access("/v1/keys/verify");
    assert!(verify_lines.len() >= 3, "{logged}");
    let (errors, quiet): (Vec<&str>, Vec<&str>) =
        verify_lines.iter().partition(|l| l.contains(" ERROR "));
    assert!(quiet.iter().all(|l| l.contains(" DEBUG ")), "{quiet:#?}");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].contains("status=503"), "{}", errors[0]);
    assert!(errors[0].contains(&failed_id), "{}", errors[0]);
    let roll = access("/v1/keys/{key_id}/roll");
    assert!(
        roll.len() == 1 && roll[0].contains(" INFO ") && roll[0].contains("status=200"),
        "{roll:#?}"
    );
    for secret in [key.as_str(), rolled.as_str(), failing_key.as_str()] {
        assert!(!logged.contains(secret), "a key was logged:\n{logged}");
    }
    for header_text in ["Signature=", "AWS4-HMAC-SHA256", "Bearer"] {
        assert!(!logged.contains(header_text), "{header_text} logged");
    }
}
