//! A key's whole life through the Router: create, verify, list, edit, roll,
//! disable, enable, revoke; two-phase create; usage; and the audit trail.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ws_key, TestApp, ADMIN, REPORTER};
use serde_json::{json, Value};

const ALICE_AGENT: &str = "alice-cli/2.0";

/// Alice, a workspace editor, calls with her own User-Agent and a request id
/// per step, so the audit log can be checked against both.
async fn as_alice(
    app: &TestApp,
    method: &str,
    path: &str,
    body: Option<Value>,
    request_id: &str,
) -> common::TestResponse {
    let headers = [("user-agent", ALICE_AGENT), ("x-request-id", request_id)];
    app.call(Some("alice"), method, path, body, &headers).await
}

/// An org with one workspace and Alice as its editor.
async fn world() -> (TestApp, String, String) {
    let app = TestApp::new();
    let (org, ws) = app.setup_org().await;
    app.member(&org, "alice", "member", &[(&ws, "editor")])
        .await;
    (app, org, ws)
}

#[tokio::test]
async fn a_key_lives_and_dies_through_the_api() {
    let (app, org, ws) = world().await;

    // Create: the plaintext once, in `key`; the id in `key_id` and `id`.
    let created = as_alice(
        &app,
        "POST",
        "/v1/keys",
        Some(ws_key(&org, &ws)),
        "lc-create",
    )
    .await;
    created.expect(201);
    let key = created.str("key");
    let key_id = created.str("key_id");
    assert!(key.starts_with("kp_test_"));
    assert_eq!(created.str("id"), key_id);
    assert_eq!(created.str("status"), "active");
    assert_eq!(created.json["version"], json!(1));
    assert!(!created.str("hint").contains(&key));
    assert_eq!(app.verify_code(&key).await, "VALID");

    // Get and list: masked only.
    let got = as_alice(&app, "GET", &format!("/v1/keys/{key_id}"), None, "lc-get").await;
    got.expect(200);
    assert!(got.json.get("key").is_none());
    assert!(!got.body_text.contains(&key));
    let list_path = format!("/v1/keys?organization_id={org}");
    let list = as_alice(&app, "GET", &list_path, None, "lc-list").await;
    list.expect(200);
    assert!(!list.body_text.contains(&key), "plaintext in the list");
    let items = list.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], json!(key_id));
    assert_eq!(items[0]["hint"], created.json["hint"]);
    assert!(items[0].get("key").is_none());

    let key = patch_then_roll(&app, &key_id, &key).await;
    disable_enable_revoke(&app, &key_id, &key).await;

    // The audit trail names Alice, her User-Agent and each request id.
    let audit = app.audit(&org).await;
    for (action, request_id) in [
        ("key.create", "lc-create"),
        ("key.update", "lc-patch"),
        ("key.roll", "lc-roll"),
        ("key.update", "lc-disable"),
        ("key.update", "lc-enable"),
        ("key.revoke", "lc-revoke"),
    ] {
        let event = audit
            .iter()
            .find(|e| e["request_id"] == json!(request_id))
            .unwrap_or_else(|| panic!("no audit event for {request_id}: {audit:?}"));
        assert_eq!(event["action"], json!(action));
        assert_eq!(event["actor"], json!(app.principal("alice")));
        assert_eq!(event["source"], json!(ALICE_AGENT));
        assert_eq!(event["target"], json!(key_id));
    }
    // Newest first.
    assert_eq!(audit[0]["action"], json!("key.revoke"));
}

/// Edits name and permissions under `if_version`, then rolls with a grace
/// period; returns the new plaintext.
async fn patch_then_roll(app: &TestApp, key_id: &str, key: &str) -> String {
    let path = format!("/v1/keys/{key_id}");
    let patch = json!({"if_version": 1, "name": "renamed", "permissions": ["models:gpt-4o"]});
    let patched = as_alice(app, "PATCH", &path, Some(patch), "lc-patch").await;
    patched.expect(200);
    assert_eq!(patched.str("name"), "renamed");
    assert_eq!(patched.json["permissions"], json!(["models:gpt-4o"]));
    assert_eq!(patched.json["version"], json!(2));
    // A stale version is refused.
    let stale = json!({"if_version": 1, "name": "again"});
    let conflict = as_alice(app, "PATCH", &path, Some(stale), "lc-stale").await;
    conflict.expect_problem(409, "VERSION_CONFLICT");
    assert_eq!(conflict.json["request_id"], json!("lc-stale"));
    let allowed = json!({"key": key, "permissions": ["models:gpt-4o"]});
    assert_eq!(app.verify_with(allowed).await["code"], json!("VALID"));
    let denied = json!({"key": key, "permissions": ["models:claude"]});
    assert_eq!(app.verify_with(denied).await["code"], json!("FORBIDDEN"));

    let roll = json!({"grace_seconds": 60});
    let rolled = as_alice(app, "POST", &format!("{path}/roll"), Some(roll), "lc-roll").await;
    rolled.expect(200);
    let new_key = rolled.str("key");
    assert_ne!(new_key, key);
    assert_eq!(rolled.str("key_id"), key_id);
    assert!(rolled.json["previous_expires_at"].is_string());
    assert_eq!(app.verify_code(key).await, "VALID", "old key in its grace");
    assert_eq!(app.verify_code(&new_key).await, "VALID");
    app.advance(61);
    assert_eq!(app.verify_code(key).await, "EXPIRED", "old key after grace");
    assert_eq!(app.verify_code(&new_key).await, "VALID");
    new_key
}

async fn disable_enable_revoke(app: &TestApp, key_id: &str, key: &str) {
    let path = format!("/v1/keys/{key_id}");
    let off = json!({"enabled": false});
    let disabled = as_alice(app, "PATCH", &path, Some(off), "lc-disable").await;
    assert_eq!(disabled.expect(200).str("status"), "disabled");
    assert_eq!(app.verify_code(key).await, "DISABLED");

    let on = json!({"enabled": true});
    let enabled = as_alice(app, "PATCH", &path, Some(on), "lc-enable").await;
    assert_eq!(enabled.expect(200).str("status"), "active");
    assert_eq!(app.verify_code(key).await, "VALID");

    // Audit events are ordered by time; a second apart so the order is known.
    app.advance(1);
    let revoked = as_alice(app, "DELETE", &path, None, "lc-revoke").await;
    assert_eq!(revoked.expect(200).str("status"), "revoked");
    assert_eq!(app.verify_code(key).await, "REVOKED");

    let late = json!({"name": "too late"});
    as_alice(app, "PATCH", &path, Some(late), "lc-late")
        .await
        .expect_problem(409, "KEY_REVOKED");
    let roll = json!({"grace_seconds": 0});
    as_alice(
        app,
        "POST",
        &format!("{path}/roll"),
        Some(roll),
        "lc-late-roll",
    )
    .await
    .expect_problem(409, "KEY_REVOKED");
}

#[tokio::test]
async fn a_two_phase_create_is_pending_until_activated() {
    let (app, org, ws) = world().await;
    let body = common::with(ws_key(&org, &ws), json!({"activate": false}));
    let created = as_alice(&app, "POST", "/v1/keys", Some(body), "tp-create").await;
    created.expect(201);
    let (key, key_id) = (created.str("key"), created.str("key_id"));
    assert_eq!(created.str("status"), "pending");
    assert!(created.json["pending_until"].is_string());
    assert_eq!(app.verify_code(&key).await, "PENDING");

    let path = format!("/v1/keys/{key_id}/activate");
    let activated = as_alice(&app, "POST", &path, None, "tp-activate").await;
    assert_eq!(activated.expect(200).str("status"), "active");
    assert!(activated.json["pending_until"].is_null());
    assert_eq!(app.verify_code(&key).await, "VALID");
    // Activating again changes nothing.
    let again = as_alice(&app, "POST", &path, None, "tp-again").await;
    assert_eq!(again.expect(200).str("status"), "active");

    let audit = app.audit(&org).await;
    assert!(audit
        .iter()
        .any(|e| e["action"] == json!("key.activate") && e["request_id"] == json!("tp-activate")));
}

#[tokio::test]
async fn reported_usage_is_counted_per_model() {
    let (app, org, ws) = world().await;
    let (_, key_id) = app.new_key("alice", ws_key(&org, &ws)).await;

    for (model, input, output) in [("gpt-4o", 10, 5), ("gpt-4o", 7, 3), ("claude", 100, 50)] {
        let report = json!({
            "key_id": key_id, "model": model,
            "input_tokens": input, "output_tokens": output,
        });
        let answer = app
            .call(Some(REPORTER), "POST", "/v1/usage", Some(report), &[])
            .await;
        answer.expect(204);
        assert!(answer.body_text.is_empty());
    }
    // Alice may read usage but not report it.
    let report = json!({"key_id": key_id, "model": "gpt-4o"});
    as_alice(&app, "POST", "/v1/usage", Some(report), "u-report")
        .await
        .expect_problem(403, "USAGE_REPORTER_REQUIRED");

    let usage = as_alice(
        &app,
        "GET",
        &format!("/v1/keys/{key_id}/usage"),
        None,
        "u-get",
    )
    .await;
    usage.expect(200);
    assert_eq!(usage.str("key_id"), key_id);
    let rows = usage.json["items"].as_array().unwrap();
    let row = |model: &str| {
        rows.iter()
            .find(|r| r["model"] == json!(model))
            .unwrap_or_else(|| panic!("no row for {model}: {rows:?}"))
            .clone()
    };
    assert_eq!(rows.len(), 2);
    let gpt = row("gpt-4o");
    assert_eq!(gpt["day"], json!("2026-01-01"));
    assert_eq!(gpt["requests"], json!(2));
    assert_eq!(gpt["input_tokens"], json!(17));
    assert_eq!(gpt["output_tokens"], json!(8));
    let claude = row("claude");
    assert_eq!(claude["requests"], json!(1));
    assert_eq!(claude["input_tokens"], json!(100));
    assert_eq!(claude["output_tokens"], json!(50));

    // Reporting sets last use.
    let got = app
        .call(Some(ADMIN), "GET", &format!("/v1/keys/{key_id}"), None, &[])
        .await;
    assert!(got.expect(200).json["last_used_at"].is_string());
}

#[tokio::test]
async fn an_admin_sets_up_tenancy_through_the_api() {
    let app = TestApp::new();
    let (org, ws) = app.setup_org().await;
    let alice = app
        .member(&org, "alice", "member", &[(&ws, "viewer")])
        .await;

    let members = app
        .call(
            Some(ADMIN),
            "GET",
            &format!("/v1/organizations/{org}/members"),
            None,
            &[],
        )
        .await;
    let items = members.expect(200).json["items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["principal"], json!(alice));
    assert_eq!(items[0]["workspace_roles"][&ws], json!("viewer"));

    let org_view = app
        .call(
            Some("alice"),
            "GET",
            &format!("/v1/organizations/{org}"),
            None,
            &[],
        )
        .await;
    assert_eq!(org_view.expect(200).str("id"), org);

    let audit = app.audit(&org).await;
    // All at the same instant, so in no particular order.
    let mut actions: Vec<&str> = audit.iter().filter_map(|e| e["action"].as_str()).collect();
    actions.sort_unstable();
    assert_eq!(
        actions,
        ["member.put", "organization.create", "workspace.create"]
    );
    assert!(audit.iter().all(|e| e["actor"] == json!(common::ADMIN_ARN)));
    assert!(audit
        .iter()
        .all(|e| e["source"] == json!(common::USER_AGENT)));
}
