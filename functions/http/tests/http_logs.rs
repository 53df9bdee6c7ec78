//! What the Router logs: spans name the route template and the request id,
//! never a header, a body, the raw path or an extension method, so a key a
//! client puts in any of those never reaches a log line.
#![allow(clippy::unwrap_used)]

mod common;

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

    let logged = logs.text();
    // The capture works, and spans say which route, by its template.
    assert!(logged.contains("/v1/keys/{key_id}"), "{logged}");
    assert!(logged.contains(r#"route="unmatched""#), "{logged}");
    for secret in [key.as_str(), rolled.as_str()] {
        assert!(!logged.contains(secret), "a key was logged:\n{logged}");
    }
    for header_text in ["Signature=", "AWS4-HMAC-SHA256", "Bearer"] {
        assert!(!logged.contains(header_text), "{header_text} logged");
    }
}
