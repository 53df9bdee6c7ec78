//! The data plane through the Router: every verify code, whoami, leak
//! reports, failing closed when the store fails, health and the OpenAPI
//! document.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use common::failing_store::{FailingStore, Faults};
use common::{org_key, with, ws_key, TestApp, TestResponse, ADMIN};
use keyplane_core::id::{KeyId, OrgId};
use keyplane_core::key_format::{ApiKey, KeyEnv};
use serde_json::{json, Value};

/// An org, workspaces `ws` and `other_ws`, and a workspace key in `ws`.
struct World {
    app: TestApp,
    org: String,
    ws: String,
    other_ws: String,
}

async fn world() -> World {
    world_on(TestApp::new()).await
}

async fn world_on(app: TestApp) -> World {
    let (org, ws) = app.setup_org().await;
    let other_ws = app.workspace(&org, "staging").await;
    World {
        app,
        org,
        ws,
        other_ws,
    }
}

impl World {
    /// A workspace key in `ws`, with `changes` to the default request.
    async fn key(&self, changes: Value) -> (String, String) {
        let body = with(ws_key(&self.org, &self.ws), changes);
        self.app.new_key(ADMIN, body).await
    }

    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> TestResponse {
        self.app.call(Some(ADMIN), method, path, body, &[]).await
    }
}

/// Asserts a verdict's validity and code.
#[track_caller]
fn assert_verdict(verdict: &Value, code: &str) {
    assert_eq!(verdict["code"], json!(code), "{verdict}");
    assert_eq!(verdict["valid"], json!(code == "VALID"), "{verdict}");
}

#[tokio::test]
async fn a_valid_key_is_described() {
    let w = world().await;
    let (key, key_id) = w.key(json!({})).await;
    let verdict = w.app.verify(&key).await;
    assert_verdict(&verdict, "VALID");
    assert_eq!(verdict["key_id"], json!(key_id));
    assert_eq!(verdict["organization_id"], json!(w.org));
    assert_eq!(verdict["workspace_id"], json!(w.ws));
    assert_eq!(verdict["actor"], json!("ci"));
    assert_eq!(verdict["type"], json!("service"));
    assert_eq!(verdict["role"], json!("editor"));
    assert_eq!(verdict["permissions"], json!(["models:*"]));
    assert!(verdict.get("reason").is_none());

    let scoped = json!({"key": key, "workspace_id": w.ws, "permissions": ["models:gpt-4o"]});
    assert_verdict(&w.app.verify_with(scoped).await, "VALID");
}

#[tokio::test]
async fn malformed_keys_say_why() {
    let w = world().await;
    let (key, _) = w.key(json!({})).await;
    let last = key.chars().last().unwrap();
    let typo = format!(
        "{}{}",
        &key[..key.len() - 1],
        if last == 'a' { 'b' } else { 'a' }
    );
    let bad_char = format!("kp_test_-{}", &key["kp_test_-".len()..]);
    for (presented, reason) in [
        ("nope", "WRONG_PREFIX"),
        ("kp_test_short", "WRONG_LENGTH"),
        (bad_char.as_str(), "BAD_ALPHABET"),
        (typo.as_str(), "BAD_CHECKSUM"),
    ] {
        let verdict = w.app.verify(presented).await;
        assert_verdict(&verdict, "MALFORMED");
        assert_eq!(verdict["reason"], json!(reason), "{presented}");
        assert!(verdict.get("key_id").is_none());
    }
}

#[tokio::test]
async fn an_unknown_key_is_not_found() {
    let w = world().await;
    let unknown = ApiKey::mint(KeyEnv::Test);
    let verdict = w.app.verify(unknown.expose()).await;
    assert_verdict(&verdict, "NOT_FOUND");
    assert!(verdict.get("key_id").is_none());
    assert!(verdict.get("organization_id").is_none());
}

#[tokio::test]
async fn pending_disabled_and_revoked_keys_are_refused() {
    let w = world().await;
    let (pending, _) = w.key(json!({"activate": false})).await;
    assert_verdict(&w.app.verify(&pending).await, "PENDING");

    let (disabled, disabled_id) = w.key(json!({})).await;
    let patch = Some(json!({"enabled": false}));
    w.admin("PATCH", &format!("/v1/keys/{disabled_id}"), patch)
        .await
        .expect(200);
    assert_verdict(&w.app.verify(&disabled).await, "DISABLED");

    let (revoked, revoked_id) = w.key(json!({})).await;
    w.admin("DELETE", &format!("/v1/keys/{revoked_id}"), None)
        .await
        .expect(200);
    let verdict = w.app.verify(&revoked).await;
    assert_verdict(&verdict, "REVOKED");
    assert_eq!(verdict["key_id"], json!(revoked_id));
}

#[tokio::test]
async fn a_key_expires_with_the_clock() {
    let w = world().await;
    let expires_at = w.app.now() + chrono::Duration::hours(1);
    let (key, _) = w.key(json!({"expires_at": expires_at.to_rfc3339()})).await;
    let verdict = w.app.verify(&key).await;
    assert_verdict(&verdict, "VALID");
    assert_eq!(
        verdict["expires_at"]
            .as_str()
            .map(|t| t.parse::<DateTime<Utc>>().unwrap()),
        Some(expires_at)
    );
    w.app.advance(3599);
    assert_verdict(&w.app.verify(&key).await, "VALID");
    w.app.advance(1);
    assert_verdict(&w.app.verify(&key).await, "EXPIRED");
}

#[tokio::test]
async fn a_key_is_forbidden_outside_its_scope_and_permissions() {
    let w = world().await;
    let (key, _) = w.key(json!({})).await;
    let other = json!({"key": key, "workspace_id": w.other_ws});
    let verdict = w.app.verify_with(other).await;
    assert_verdict(&verdict, "FORBIDDEN");
    // The answer names the key's own workspace, never the one asked about.
    assert_eq!(verdict["workspace_id"], json!(w.ws));
    let missing = json!({"key": key, "permissions": ["models:gpt-4o", "files:read"]});
    assert_verdict(&w.app.verify_with(missing).await, "FORBIDDEN");

    // An organization key limited to `ws` reaches it and nothing else.
    let limited = with(org_key(&w.org), json!({"workspace_ids": [w.ws]}));
    let (org_wide, _) = w.app.new_key(ADMIN, limited).await;
    let inside = json!({"key": org_wide, "workspace_id": w.ws});
    assert_verdict(&w.app.verify_with(inside).await, "VALID");
    let outside = json!({"key": org_wide, "workspace_id": w.other_ws});
    assert_verdict(&w.app.verify_with(outside).await, "FORBIDDEN");
}

#[tokio::test]
async fn credits_run_out() {
    let w = world().await;
    let (key, key_id) = w.key(json!({"credits": 3})).await;
    let spend = json!({"key": key, "cost": 1});
    for remaining in [2, 1, 0] {
        let verdict = w.app.verify_with(spend.clone()).await;
        assert_verdict(&verdict, "VALID");
        assert_eq!(verdict["credits_remaining"], json!(remaining));
    }
    let verdict = w.app.verify_with(spend).await;
    assert_verdict(&verdict, "USAGE_EXCEEDED");
    assert!(verdict.get("credits_remaining").is_none());

    let view = w.admin("GET", &format!("/v1/keys/{key_id}"), None).await;
    assert_eq!(view.expect(200).json["credits_remaining"], json!(0));
    assert!(view.json["last_used_at"].is_string());
    w.app
        .call(
            None,
            "POST",
            "/v1/keys/verify",
            Some(json!({"key": key, "cost": 0})),
            &[],
        )
        .await
        .expect_problem(400, "INVALID_COST");
}

async fn whoami(app: &TestApp, authorization: Option<&str>) -> TestResponse {
    let headers: Vec<(&str, &str)> = authorization
        .map(|a| ("authorization", a))
        .into_iter()
        .collect();
    app.call(None, "GET", "/v1/whoami", None, &headers).await
}

#[tokio::test]
async fn whoami_names_the_holder() {
    let w = world().await;
    let (service, service_id) = w.key(json!({})).await;
    let answer = whoami(&w.app, Some(&format!("Bearer {service}"))).await;
    answer.expect(200);
    assert_eq!(answer.str("key_id"), service_id);
    assert_eq!(answer.str("actor"), "ci");
    assert!(!answer.body_text.contains(&service));
    // The scheme is case-insensitive.
    let shouted = whoami(&w.app, Some(&format!("BEARER {service}"))).await;
    assert_eq!(shouted.expect(200).str("key_id"), service_id);

    let alice = w
        .app
        .member(&w.org, "alice", "member", &[(&w.ws, "editor")])
        .await;
    let personal = with(ws_key(&w.org, &w.ws), json!({"type": "personal"}));
    let (key, _) = w.app.new_key("alice", personal).await;
    let answer = whoami(&w.app, Some(&format!("Bearer {key}"))).await;
    assert_eq!(answer.expect(200).str("actor"), alice);
}

#[tokio::test]
async fn whoami_refuses_unusable_keys_with_a_bearer_challenge() {
    let w = world().await;
    let (key, key_id) = w.key(json!({})).await;
    w.admin("DELETE", &format!("/v1/keys/{key_id}"), None)
        .await
        .expect(200);
    let unknown = ApiKey::mint(KeyEnv::Test);
    for (authorization, code) in [
        (format!("Bearer {key}"), "REVOKED"),
        (format!("Bearer {}", unknown.expose()), "NOT_FOUND"),
        ("Bearer nope".to_owned(), "MALFORMED"),
    ] {
        let answer = whoami(&w.app, Some(&authorization)).await;
        answer.expect_problem(401, code);
        assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
        assert!(!answer.body_text.contains(&key));
    }
    for authorization in [None, Some("Basic dXNlcjpwYXNz"), Some("Bearer")] {
        let answer = whoami(&w.app, authorization).await;
        answer.expect_problem(401, "BEARER_REQUIRED");
        assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
    }
}

async fn report_leak(app: &TestApp, key: &str) -> TestResponse {
    let body = json!({"key": key, "source": "https://github.com/acme/app/commit/1"});
    app.call(None, "POST", "/v1/keys/report-leak", Some(body), &[])
        .await
}

#[tokio::test]
async fn a_leak_report_reveals_nothing_and_disables_a_real_key() {
    let w = world().await;
    let (key, key_id) = w.key(json!({})).await;
    let unknown = ApiKey::mint(KeyEnv::Test);

    let answers = [
        report_leak(&w.app, "not a key at all").await,
        report_leak(&w.app, unknown.expose()).await,
        report_leak(&w.app, &key).await,
    ];
    for answer in &answers {
        answer.expect(202);
        assert_eq!(answer.body_text, answers[0].body_text);
        assert_eq!(
            answer.header("content-type"),
            answers[0].header("content-type")
        );
    }
    assert_eq!(answers[0].json, json!({"status": "received"}));

    assert_verdict(&w.app.verify(&key).await, "DISABLED");
    let view = w.admin("GET", &format!("/v1/keys/{key_id}"), None).await;
    assert_eq!(view.expect(200).str("disabled_reason"), "leak_reported");
    let audit = w.app.audit(&w.org).await;
    let event = audit
        .iter()
        .find(|e| e["action"] == json!("key.leak_reported"))
        .unwrap_or_else(|| panic!("no leak event: {audit:?}"));
    assert_eq!(event["actor"], json!("anonymous"));
    assert_eq!(event["target"], json!(key_id));
    assert_eq!(
        event["source"],
        json!("https://github.com/acme/app/commit/1")
    );

    // The leaked secret never works again: enabling is refused until a roll.
    let enable = Some(json!({"enabled": true}));
    w.admin("PATCH", &format!("/v1/keys/{key_id}"), enable)
        .await
        .expect_problem(409, "KEY_LEAKED");
    assert_verdict(&w.app.verify(&key).await, "DISABLED");
}

async fn failing_world() -> (World, Arc<Faults>) {
    let (store, faults) = FailingStore::new();
    (world_on(TestApp::with_store(Arc::new(store))).await, faults)
}

/// Asserts a 503 that is neither a verdict nor a leak of the store's reason.
#[track_caller]
fn assert_unavailable(answer: &TestResponse) {
    answer.expect_problem(503, "STORE_UNAVAILABLE");
    assert!(answer.json.get("valid").is_none());
    assert!(
        !answer.body_text.contains("injected"),
        "{}",
        answer.body_text
    );
}

#[tokio::test]
async fn verify_fails_closed_when_the_store_fails() {
    let (w, faults) = failing_world().await;
    let (key, _) = w.key(json!({})).await;
    assert_verdict(&w.app.verify(&key).await, "VALID");

    faults.secrets.store(true, Ordering::SeqCst);
    let body = json!({"key": key});
    assert_unavailable(
        &w.app
            .call(None, "POST", "/v1/keys/verify", Some(body), &[])
            .await,
    );
    let bearer = format!("Bearer {key}");
    assert_unavailable(&whoami(&w.app, Some(&bearer)).await);

    faults.secrets.store(false, Ordering::SeqCst);
    assert_verdict(&w.app.verify(&key).await, "VALID");
}

#[tokio::test]
async fn a_metered_verify_fails_closed_when_spending_fails() {
    let (w, faults) = failing_world().await;
    let (key, _) = w.key(json!({"credits": 5})).await;

    faults.credits.store(true, Ordering::SeqCst);
    let spend = json!({"key": key, "cost": 1});
    assert_unavailable(
        &w.app
            .call(None, "POST", "/v1/keys/verify", Some(spend.clone()), &[])
            .await,
    );

    faults.credits.store(false, Ordering::SeqCst);
    let verdict = w.app.verify_with(spend).await;
    assert_verdict(&verdict, "VALID");
    assert_eq!(
        verdict["credits_remaining"],
        json!(4),
        "the failed spend spent nothing"
    );
}

#[tokio::test]
async fn health_answers() {
    let app = TestApp::new();
    let answer = app.call(None, "GET", "/healthz", None, &[]).await;
    answer.expect(200);
    assert_eq!(answer.json, json!({"status": "ok"}));
}

/// Every route of the Router with its methods, as in `keyplane_http::app`.
const ROUTES: [(&str, &[&str]); 17] = [
    ("/v1/organizations", &["post"]),
    ("/v1/organizations/{org}", &["get", "patch"]),
    ("/v1/organizations/{org}/workspaces", &["get", "post"]),
    ("/v1/organizations/{org}/members", &["get"]),
    (
        "/v1/organizations/{org}/members/{principal}",
        &["delete", "put"],
    ),
    ("/v1/organizations/{org}/audit", &["get"]),
    ("/v1/keys", &["get", "post"]),
    ("/v1/keys/{key_id}", &["delete", "get", "patch"]),
    ("/v1/keys/{key_id}/activate", &["post"]),
    ("/v1/keys/{key_id}/roll", &["post"]),
    ("/v1/keys/{key_id}/usage", &["get"]),
    ("/v1/usage", &["post"]),
    ("/v1/keys/verify", &["post"]),
    ("/v1/keys/report-leak", &["post"]),
    ("/v1/whoami", &["get"]),
    ("/healthz", &["get"]),
    ("/openapi.json", &["get"]),
];

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let app = TestApp::new();
    let answer = app.call(None, "GET", "/openapi.json", None, &[]).await;
    answer.expect(200);
    let doc = &answer.json;
    assert!(doc["openapi"].as_str().unwrap().starts_with('3'));
    let paths = doc["paths"].as_object().unwrap();

    let documented: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|m| ["get", "post", "put", "patch", "delete"].contains(&m.as_str()))
                .map(move |method| (path.clone(), method.clone()))
        })
        .collect();
    let routed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .flat_map(|(path, methods)| {
            methods
                .iter()
                .map(|m| ((*path).to_owned(), (*m).to_owned()))
        })
        .collect();
    assert_eq!(documented, routed);

    // And every documented operation is really routed.
    for (path, method) in &documented {
        let concrete = path
            .replace("{org}", OrgId::generate().as_str())
            .replace("{key_id}", KeyId::generate().as_str())
            .replace("{principal}", &common::encode(&common::arn("x")));
        let answer = app
            .call(Some(ADMIN), &method.to_uppercase(), &concrete, None, &[])
            .await;
        assert!(
            !["ROUTE_NOT_FOUND", "METHOD_NOT_ALLOWED"].contains(&answer.code()),
            "{method} {path} is documented but not routed"
        );
    }
}
