//! Replays of signed management writes, through the real Router with real
//! SigV4: a byte-identical copy of a write that is not idempotent by itself
//! is refused with 409 `REQUEST_REPLAYED` for as long as its signature is
//! accepted, and changes nothing; a fresh signature of the same body goes
//! through; a request the store failed can be sent again, a refused one
//! must be signed again. Creates and rolls keep answering their replays
//! as idempotent repeats.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use chrono::Duration;
use common::failing_store::FailingStore;
use common::{member_path, with, ws_key, Req, TestApp, TestResponse, ADMIN, REPORTER};
use keyplane_core::service::{REQUEST_CLAIM_TTL, REQUEST_REPLAYED};
use serde_json::{json, Value};

/// Sends `req`, then the very same bytes again: the first answer, after
/// checking that the replay was refused.
async fn sent_and_replayed(app: &TestApp, req: &Req) -> TestResponse {
    let first = app.send(req.clone()).await;
    app.send(req.clone())
        .await
        .expect_problem(409, REQUEST_REPLAYED);
    first
}

fn patch(id: &str, body: Value) -> Req {
    Req::new("PATCH", &format!("/v1/keys/{id}"))
        .by(ADMIN)
        .json(&body)
}

async fn get(app: &TestApp, path: &str) -> Value {
    app.call(Some(ADMIN), "GET", path, None, &[])
        .await
        .expect(200)
        .json
        .clone()
}

/// The organization role of `arn` in `org`, if a member.
async fn org_role(app: &TestApp, org: &str, arn: &str) -> Option<String> {
    let members = get(app, &format!("/v1/organizations/{org}/members")).await;
    members["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["principal"] == json!(arn))
        .map(|m| m["org_role"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_replayed_organization_create_makes_no_second_organization() {
    let app = TestApp::new();
    let create = Req::new("POST", "/v1/organizations")
        .by(ADMIN)
        .json(&json!({"name": "Acme"}));
    let org = sent_and_replayed(&app, &create).await.expect(201).str("id");
    let events = app.audit(&org).await.len();

    // The same body, signed again, is a second request.
    let again = Req::new("POST", "/v1/organizations")
        .by(ADMIN)
        .json(&json!({"name": "Acme"}));
    assert_ne!(app.send(again).await.expect(201).str("id"), org);
    assert_eq!(app.audit(&org).await.len(), events);
}

#[tokio::test]
async fn a_replayed_workspace_create_makes_no_second_workspace() {
    let app = TestApp::new();
    let org = app.create_org("Acme").await;
    let path = format!("/v1/organizations/{org}/workspaces");
    let create = Req::new("POST", &path)
        .by(ADMIN)
        .json(&json!({"name": "prod"}));
    sent_and_replayed(&app, &create).await.expect(201);
    assert_eq!(app.workspaces(&org).await.len(), 1);

    let again = Req::new("POST", &path)
        .by(ADMIN)
        .json(&json!({"name": "prod"}));
    app.send(again).await.expect(201);
    assert_eq!(app.workspaces(&org).await.len(), 2);
}

#[tokio::test]
async fn a_replayed_patch_cannot_undo_a_later_one() {
    let app = TestApp::new();
    let (org, ws) = app.setup_org().await;
    let (_, id) = app.new_key(ADMIN, ws_key(&org, &ws)).await;
    let disable = patch(&id, json!({"enabled": false, "name": "off"}));
    app.send(disable.clone()).await.expect(200);
    app.send(patch(&id, json!({"enabled": true, "name": "on"})))
        .await
        .expect(200);
    let events = app.audit(&org).await.len();

    app.send(disable)
        .await
        .expect_problem(409, REQUEST_REPLAYED);
    let key = get(&app, &format!("/v1/keys/{id}")).await;
    assert_eq!(
        (&key["name"], &key["status"]),
        (&json!("on"), &json!("active"))
    );
    assert_eq!(app.audit(&org).await.len(), events, "nothing audited");
}

#[tokio::test]
async fn replayed_revokes_activates_and_org_updates_are_refused() {
    let app = TestApp::new();
    let (org, ws) = app.setup_org().await;

    let pending = app
        .create_key(ADMIN, with(ws_key(&org, &ws), json!({"activate": false})))
        .await;
    let pending = pending["key_id"].as_str().unwrap().to_owned();
    let activate = Req::new("POST", &format!("/v1/keys/{pending}/activate")).by(ADMIN);
    sent_and_replayed(&app, &activate).await.expect(200);

    let (_, id) = app.new_key(ADMIN, ws_key(&org, &ws)).await;
    let revoke = Req::new("DELETE", &format!("/v1/keys/{id}")).by(ADMIN);
    sent_and_replayed(&app, &revoke).await.expect(200);
    assert_eq!(
        get(&app, &format!("/v1/keys/{id}")).await["status"],
        json!("revoked")
    );

    let org_path = format!("/v1/organizations/{org}");
    let rename = |name: &str| {
        Req::new("PATCH", &org_path)
            .by(ADMIN)
            .json(&json!({"name": name}))
    };
    let first = rename("First");
    app.send(first.clone()).await.expect(200);
    app.send(rename("Second")).await.expect(200);
    app.send(first).await.expect_problem(409, REQUEST_REPLAYED);
    assert_eq!(get(&app, &org_path).await["name"], json!("Second"));
}

#[tokio::test]
async fn replayed_membership_changes_cannot_undo_later_ones() {
    let app = TestApp::new();
    let (org, ws) = app.setup_org().await;
    app.member(&org, "olivia", "owner", &[]).await;
    let bob = app.principal("bob");
    let path = member_path(&org, &bob);
    let put = |role: &str| {
        Req::new("PUT", &path)
            .by(ADMIN)
            .json(&json!({"org_role": role, "workspace_roles": {&ws: "editor"}}))
    };
    let as_owner = put("owner");
    sent_and_replayed(&app, &as_owner).await.expect(200);
    app.send(put("member")).await.expect(200);
    app.send(as_owner)
        .await
        .expect_problem(409, REQUEST_REPLAYED);
    assert_eq!(org_role(&app, &org, &bob).await.as_deref(), Some("member"));

    let remove = Req::new("DELETE", &path).by(ADMIN);
    app.send(remove.clone()).await.expect(204);
    app.send(put("member")).await.expect(200);
    app.send(remove).await.expect_problem(409, REQUEST_REPLAYED);
    assert_eq!(org_role(&app, &org, &bob).await.as_deref(), Some("member"));
}

#[tokio::test]
async fn a_replayed_usage_report_is_counted_once() {
    let app = TestApp::new();
    let (org, ws) = app.setup_org().await;
    let (_, id) = app.new_key(ADMIN, ws_key(&org, &ws)).await;
    let body = json!({"key_id": id, "model": "gpt-4o", "input_tokens": 10, "output_tokens": 5});
    let report = Req::new("POST", "/v1/usage").by(REPORTER).json(&body);
    sent_and_replayed(&app, &report).await.expect(204);
    // The same report signed again is another use.
    app.send(Req::new("POST", "/v1/usage").by(REPORTER).json(&body))
        .await
        .expect(204);
    let usage = get(&app, &format!("/v1/keys/{id}/usage")).await;
    assert_eq!(usage["items"][0]["requests"], json!(2), "{usage}");
}

#[tokio::test]
async fn creates_and_rolls_still_answer_their_replays_as_repeats() {
    let app = TestApp::new();
    let (org, ws) = app.setup_org().await;
    let create = Req::new("POST", "/v1/keys")
        .by(ADMIN)
        .json(&ws_key(&org, &ws));
    let created = app.send(create.clone()).await;
    let id = created.expect(201).str("key_id");
    let repeat = app.send(create).await;
    assert_eq!(
        repeat.expect(200).header("idempotent-replayed"),
        Some("true")
    );
    assert!(repeat.json.get("key").is_none());

    let roll = Req::new("POST", &format!("/v1/keys/{id}/roll"))
        .by(ADMIN)
        .json(&json!({}));
    app.send(roll.clone()).await.expect(200).str("key");
    let repeat = app.send(roll).await;
    assert_eq!(
        repeat.expect(200).header("idempotent-replayed"),
        Some("true")
    );
    assert!(repeat.json.get("key").is_none());
    assert_eq!(app.keys(&org).await.len(), 1);
}

/// A signature dated 5 minutes ahead is accepted for 10 minutes from its
/// first arrival: its replay is refused all that time, then the signature
/// itself has expired.
#[tokio::test]
async fn a_replay_is_refused_for_as_long_as_its_signature_is_accepted() {
    assert!(REQUEST_CLAIM_TTL > keyplane_local::sigv4::MAX_CLOCK_SKEW * 2);
    let app = TestApp::new();
    let create = Req::new("POST", "/v1/organizations")
        .by(ADMIN)
        .json(&json!({"name": "Acme"}))
        .signed_offset(Duration::minutes(5));
    app.send(create.clone()).await.expect(201);
    // The harness signs when it sends: the same x-amz-date, seen from ten
    // minutes later, is five minutes back.
    let replay = create.signed_offset(Duration::minutes(-5));
    app.advance(10 * 60);
    app.send(replay.clone())
        .await
        .expect_problem(409, REQUEST_REPLAYED);
    app.advance(1);
    app.send(replay.signed_offset(Duration::minutes(-5) - Duration::seconds(1)))
        .await
        .expect_problem(401, "SIGNATURE_EXPIRED");
}

/// Without a nonce, requests differ by their `x-amz-date` alone: the same
/// write signed a second later is another request, in the same second it
/// is the same one.
#[tokio::test]
async fn identical_writes_are_one_request_within_a_second() {
    let app = TestApp::new();
    let create = || {
        Req::new("POST", "/v1/organizations")
            .without_nonce()
            .by(ADMIN)
            .json(&json!({"name": "Acme"}))
    };
    app.send(create()).await.expect(201);
    app.send(create())
        .await
        .expect_problem(409, REQUEST_REPLAYED);
    app.advance(1);
    app.send(create()).await.expect(201);
}

#[tokio::test]
async fn concurrent_copies_of_a_write_are_handled_once() {
    let app = TestApp::new();
    let org = app.create_org("Acme").await;
    let create = Req::new("POST", &format!("/v1/organizations/{org}/workspaces"))
        .by(ADMIN)
        .json(&json!({"name": "prod"}));
    let answers = futures::future::join_all((0..8).map(|_| app.send(create.clone()))).await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status.as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        7,
        "{statuses:?}"
    );
    assert_eq!(app.workspaces(&org).await.len(), 1);
}

#[tokio::test]
async fn a_store_failure_while_claiming_does_nothing_and_the_request_may_come_again() {
    let (store, faults) = FailingStore::new();
    let app = TestApp::with_store(Arc::new(store));
    let org = app.create_org("Acme").await;
    let create = Req::new("POST", &format!("/v1/organizations/{org}/workspaces"))
        .by(ADMIN)
        .json(&json!({"name": "prod"}));
    faults.claims.store(true, Ordering::SeqCst);
    app.send(create.clone())
        .await
        .expect_problem(503, "STORE_UNAVAILABLE");
    faults.claims.store(false, Ordering::SeqCst);
    assert!(app.workspaces(&org).await.is_empty(), "nothing done");
    sent_and_replayed(&app, &create).await.expect(201);
}

#[tokio::test]
async fn a_write_the_store_failed_gives_its_claim_back() {
    let (store, faults) = FailingStore::new();
    let app = TestApp::with_store(Arc::new(store));
    let org = app.create_org("Acme").await;
    let create = Req::new("POST", &format!("/v1/organizations/{org}/workspaces"))
        .by(ADMIN)
        .json(&json!({"name": "prod"}));
    faults.creates.store(true, Ordering::SeqCst);
    app.send(create.clone())
        .await
        .expect_problem(503, "STORE_UNAVAILABLE");
    faults.creates.store(false, Ordering::SeqCst);
    // A client that sends the very same bytes again is let through once.
    sent_and_replayed(&app, &create).await.expect(201);
    assert_eq!(app.workspaces(&org).await.len(), 1);
}

#[tokio::test]
async fn a_refused_write_keeps_its_claim_and_a_fresh_signature_goes_through() {
    let app = TestApp::new();
    let long = "x".repeat(200);
    let bad = Req::new("POST", "/v1/organizations")
        .by(ADMIN)
        .json(&json!({"name": long}));
    app.send(bad.clone())
        .await
        .expect_problem(400, "NAME_TOO_LONG");
    app.send(bad).await.expect_problem(409, REQUEST_REPLAYED);
    let fixed = Req::new("POST", "/v1/organizations")
        .by(ADMIN)
        .json(&json!({"name": "Acme"}));
    app.send(fixed).await.expect(201);

    // A refusal that a later change would lift cannot be replayed into
    // effect either: the enable refused while the key was leaked stays
    // refused after the roll; the client signs it again.
    let (org, ws) = app.setup_org().await;
    let (leaked, id) = app.new_key(ADMIN, ws_key(&org, &ws)).await;
    app.send(patch(&id, json!({"enabled": false})))
        .await
        .expect(200);
    app.call(
        None,
        "POST",
        "/v1/keys/report-leak",
        Some(json!({"key": leaked})),
        &[],
    )
    .await
    .expect(202);
    let enable = patch(&id, json!({"enabled": true}));
    app.send(enable.clone())
        .await
        .expect_problem(409, "KEY_LEAKED");
    let roll = Req::new("POST", &format!("/v1/keys/{id}/roll"))
        .by(ADMIN)
        .json(&json!({}));
    app.send(roll).await.expect(200);
    app.send(enable).await.expect_problem(409, REQUEST_REPLAYED);
    assert_eq!(
        get(&app, &format!("/v1/keys/{id}")).await["status"],
        json!("disabled")
    );
    app.send(patch(&id, json!({"enabled": true})))
        .await
        .expect(200);
}
