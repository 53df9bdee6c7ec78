//! Regression tests for the security review of the landed API: each test
//! replays one finding from outside, through the real Router with real
//! SigV4, and checks the promise that must hold instead. The numbers in the
//! comments are the review's items.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::{member_path, org_key, with, ws_key, Req, TestApp, TestResponse, ADMIN};
use keyplane_core::id::{OrgId, WorkspaceId};
use keyplane_core::principal::Principal;
use keyplane_core::store::KeyStore;
use keyplane_store::EmbeddedStore;
use serde_json::{json, Value};

/// An organization with a workspace, an owner `olivia` and an editor
/// `eddie` limited to `models:small`.
struct Tenant {
    app: TestApp,
    org: String,
    ws: String,
}

async fn tenant() -> Tenant {
    tenant_on(TestApp::new()).await
}

async fn tenant_on(app: TestApp) -> Tenant {
    let (org, ws) = app.setup_org().await;
    app.member(&org, "olivia", "owner", &[]).await;
    app.member_with(
        &org,
        "eddie",
        "member",
        &[(&ws, "editor")],
        Some(&["models:small"]),
    )
    .await;
    Tenant { app, org, ws }
}

impl Tenant {
    async fn call(&self, by: &str, method: &str, path: &str, body: Option<Value>) -> TestResponse {
        self.app.call(Some(by), method, path, body, &[]).await
    }

    async fn roll(&self, by: &str, id: &str) -> TestResponse {
        let path = format!("/v1/keys/{id}/roll");
        self.call(by, "POST", &path, Some(json!({}))).await
    }

    async fn patch(&self, by: &str, id: &str, body: Value) -> TestResponse {
        self.call(by, "PATCH", &format!("/v1/keys/{id}"), Some(body))
            .await
    }

    async fn report_leak(&self, key: &str) {
        let body = json!({ "key": key, "source": "a paste site" });
        self.app
            .call(None, "POST", "/v1/keys/report-leak", Some(body), &[])
            .await
            .expect(202);
    }

    /// A personal workspace key, created by `by`.
    async fn personal_key_of(&self, by: &str) -> (String, String) {
        let body = with(ws_key(&self.org, &self.ws), json!({"type": "personal"}));
        self.app.new_key(by, body).await
    }

    /// A personal workspace key with every permission, created by `by`.
    async fn personal_key(&self, by: &str) -> (String, String) {
        let body = with(
            ws_key(&self.org, &self.ws),
            json!({"type": "personal", "permissions": ["*"]}),
        );
        self.app.new_key(by, body).await
    }
}

// 1. Roll hands out keys above the caller's rights.

#[tokio::test]
async fn a_limited_editor_cannot_roll_an_owners_personal_key() {
    let t = tenant().await;
    let (plaintext, id) = t.personal_key("olivia").await;

    let answer = t.roll("eddie", &id).await;
    answer.expect_problem(403, "PERMISSIONS_EXCEED_CREATOR");
    assert!(answer.json.get("key").is_none());
    assert!(
        !answer.body_text.contains("kp_test_"),
        "{}",
        answer.body_text
    );
    assert_eq!(t.app.verify_code(&plaintext).await, "VALID");
    let view = t.call(ADMIN, "GET", &format!("/v1/keys/{id}"), None).await;
    assert_eq!(
        view.expect(200).json["version"],
        json!(1),
        "nothing changed"
    );
}

#[tokio::test]
async fn only_the_creator_rolls_or_enables_a_personal_key_while_owners_may_disable_and_revoke_it() {
    let t = tenant().await;
    t.app.member(&t.org, "oscar", "owner", &[]).await;
    let (_, id) = t.personal_key("olivia").await;

    for by in ["oscar", ADMIN] {
        t.roll(by, &id).await.expect_problem(403, "CREATOR_ONLY");
    }
    t.patch("oscar", &id, json!({"enabled": false}))
        .await
        .expect(200);
    t.patch("oscar", &id, json!({"enabled": true}))
        .await
        .expect_problem(403, "CREATOR_ONLY");
    t.patch("olivia", &id, json!({"enabled": true}))
        .await
        .expect(200);
    let rolled = t.roll("olivia", &id).await;
    let fresh = rolled.expect(200).str("key");
    assert_eq!(t.app.verify_code(&fresh).await, "VALID");
    t.call("oscar", "DELETE", &format!("/v1/keys/{id}"), None)
        .await
        .expect(200);
    assert_eq!(t.app.verify_code(&fresh).await, "REVOKED");
}

#[tokio::test]
async fn nobody_widens_or_revives_a_key_beyond_their_own_rights() {
    let t = tenant().await;
    let wide = with(
        ws_key(&t.org, &t.ws),
        json!({"expires_at": (t.app.now() + chrono::Duration::days(1)).to_rfc3339()}),
    );
    let (plaintext, id) = t.app.new_key(ADMIN, wide).await;

    // Eddie holds `models:small` only: he may narrow and disable a
    // `models:*` key, but not roll it, widen it again, extend it or enable it.
    t.roll("eddie", &id)
        .await
        .expect_problem(403, "PERMISSIONS_EXCEED_CREATOR");
    let later = (t.app.now() + chrono::Duration::days(30)).to_rfc3339();
    t.patch("eddie", &id, json!({"expires_at": later}))
        .await
        .expect_problem(403, "PERMISSIONS_EXCEED_CREATOR");
    t.patch("eddie", &id, json!({"enabled": false}))
        .await
        .expect(200);
    t.patch("eddie", &id, json!({"enabled": true}))
        .await
        .expect_problem(403, "PERMISSIONS_EXCEED_CREATOR");
    t.patch(
        "eddie",
        &id,
        json!({"enabled": true, "permissions": ["models:small"]}),
    )
    .await
    .expect(200);
    t.patch("eddie", &id, json!({"permissions": ["models:*"]}))
        .await
        .expect_problem(403, "PERMISSIONS_EXCEED_CREATOR");
    t.patch("eddie", &id, json!({"role": "owner"}))
        .await
        .expect_problem(403, "ROLE_EXCEEDS_CREATOR");

    let small = json!({"key": plaintext, "permissions": ["models:small"]});
    assert_eq!(t.app.verify_with(small).await["code"], json!("VALID"));
    let big = json!({"key": plaintext, "permissions": ["models:big"]});
    assert_eq!(t.app.verify_with(big).await["code"], json!("FORBIDDEN"));
    let rolled = t.roll("eddie", &id).await;
    assert_eq!(
        t.app.verify_code(&rolled.expect(200).str("key")).await,
        "VALID"
    );
}

// 2. An organization-wide key verified VALID for any workspace_id.

#[tokio::test]
async fn an_organization_key_verifies_only_for_its_own_workspaces() {
    let t = tenant().await;
    let (key, _) = t.app.new_key(ADMIN, org_key(&t.org)).await;
    let (other_org, foreign_ws) = t.app.setup_org().await;
    assert_ne!(other_org, t.org);

    let own = t
        .app
        .verify_with(json!({"key": key, "workspace_id": t.ws}))
        .await;
    assert_eq!(
        (&own["code"], &own["workspace_id"]),
        (&json!("VALID"), &json!(t.ws))
    );

    let nowhere = WorkspaceId::generate().to_string();
    for ws in [foreign_ws, nowhere] {
        let verdict = t
            .app
            .verify_with(json!({"key": key, "workspace_id": ws}))
            .await;
        assert_eq!(verdict["code"], json!("FORBIDDEN"), "{ws}");
        assert_eq!(verdict["valid"], json!(false));
        assert!(verdict.get("workspace_id").is_none(), "echoed: {verdict}");
    }
    assert_eq!(t.app.verify(&key).await["code"], json!("VALID"));
}

// 3. Personal keys outlived their creator's membership.

#[tokio::test]
async fn no_personal_key_survives_a_removal_that_races_with_creates() {
    for _round in 0..5 {
        let t = tenant().await;
        let bob = t
            .app
            .member(&t.org, "bob", "member", &[(&t.ws, "editor")])
            .await;
        let body = with(ws_key(&t.org, &t.ws), json!({"type": "personal"}));
        let creates = (0..12).map(|_| t.app.create_key_answer("bob", body.clone()));
        let path = member_path(&t.org, &bob);
        let removal = t.call(ADMIN, "DELETE", &path, None);
        let (answers, removed) = tokio::join!(futures::future::join_all(creates), removal);
        removed.expect(204);
        for answer in answers {
            match answer.status.as_u16() {
                201 => {
                    let key = answer.str("key");
                    assert_ne!(t.app.verify_code(&key).await, "VALID", "a key outlived bob");
                }
                403 | 404 | 409 => {}
                other => panic!("unexpected {other}: {}", answer.body_text),
            }
        }
    }
}

#[tokio::test]
async fn a_retried_removal_finishes_what_an_interrupted_one_left() {
    let store = Arc::new(EmbeddedStore::in_memory().unwrap());
    let t = tenant_on(TestApp::with_store(store.clone())).await;
    let bob = t
        .app
        .member(&t.org, "bob", "member", &[(&t.ws, "editor")])
        .await;
    let (first, _) = t.personal_key_of("bob").await;
    let (second, _) = t.personal_key_of("bob").await;

    // The first DELETE removed the membership and stopped there.
    let org = OrgId::parse(&t.org).unwrap();
    let event = keyplane_core::audit::AuditEvent {
        id: keyplane_core::id::EventId::generate(),
        organization_id: org.clone(),
        at: t.app.now(),
        actor: "test".to_owned(),
        action: "member.delete".to_owned(),
        target: bob.clone(),
        source: None,
        request_id: None,
        ttl: i64::MAX,
    };
    let who = Principal::parse(&bob).unwrap();
    store.delete_member(&org, &who, &event).await.unwrap();
    assert_eq!(
        t.app.verify_code(&first).await,
        "VALID",
        "the interrupted state"
    );

    t.call(ADMIN, "DELETE", &member_path(&t.org, &bob), None)
        .await
        .expect(204);
    for key in [&first, &second] {
        assert_eq!(t.app.verify_code(key).await, "DISABLED");
    }
    t.call(ADMIN, "DELETE", &member_path(&t.org, &bob), None)
        .await
        .expect_problem(404, "MEMBER_NOT_FOUND");
}

// 4. Leak reports.

#[tokio::test]
async fn an_ended_secret_reported_as_leaked_leaves_its_replacement_alone() {
    let t = tenant().await;
    let (old, id) = t.app.new_key(ADMIN, ws_key(&t.org, &t.ws)).await;
    let path = format!("/v1/keys/{id}/roll");
    let rolled = t
        .call(ADMIN, "POST", &path, Some(json!({"grace_seconds": 60})))
        .await;
    let new = rolled.expect(200).str("key");
    t.app.advance(61);
    assert_eq!(t.app.verify_code(&old).await, "EXPIRED");

    t.report_leak(&old).await;
    assert_eq!(t.app.verify_code(&new).await, "VALID");
    let audit = t.app.audit(&t.org).await;
    assert_eq!(audit[0]["action"], json!("key.leak_reported_no_effect"));
}

#[tokio::test]
async fn a_leaked_grace_secret_stops_at_once_and_the_new_one_keeps_working() {
    let t = tenant().await;
    let (old, id) = t.app.new_key(ADMIN, ws_key(&t.org, &t.ws)).await;
    let path = format!("/v1/keys/{id}/roll");
    let rolled = t
        .call(ADMIN, "POST", &path, Some(json!({"grace_seconds": 3600})))
        .await;
    let new = rolled.expect(200).str("key");

    t.report_leak(&old).await;
    assert_ne!(t.app.verify_code(&old).await, "VALID");
    assert_eq!(t.app.verify_code(&new).await, "VALID");
}

#[tokio::test]
async fn a_leak_reported_while_disabled_is_remembered_until_a_roll() {
    let t = tenant().await;
    let (leaked, id) = t.app.new_key(ADMIN, ws_key(&t.org, &t.ws)).await;
    t.patch(ADMIN, &id, json!({"enabled": false}))
        .await
        .expect(200);
    t.report_leak(&leaked).await;

    t.patch(ADMIN, &id, json!({"enabled": true}))
        .await
        .expect_problem(409, "KEY_LEAKED");
    assert_eq!(t.app.verify_code(&leaked).await, "DISABLED");
    let view = t.call(ADMIN, "GET", &format!("/v1/keys/{id}"), None).await;
    assert_eq!(view.expect(200).str("disabled_reason"), "leak_reported");

    let fresh = t.roll(ADMIN, &id).await.expect(200).str("key");
    t.patch(ADMIN, &id, json!({"enabled": true}))
        .await
        .expect(200);
    assert_eq!(t.app.verify_code(&fresh).await, "VALID");
    assert_eq!(t.app.verify_code(&leaked).await, "NOT_FOUND");
}

#[tokio::test]
async fn a_second_leak_after_a_roll_needs_a_second_roll() {
    let t = tenant().await;
    let (first, id) = t.app.new_key(ADMIN, ws_key(&t.org, &t.ws)).await;
    t.report_leak(&first).await;
    let second = t.roll(ADMIN, &id).await.expect(200).str("key");
    t.report_leak(&second).await;

    t.patch(ADMIN, &id, json!({"enabled": true}))
        .await
        .expect_problem(409, "KEY_LEAKED");
    assert_eq!(t.app.verify_code(&second).await, "DISABLED");
    // The same roll signed in the same second would be a replay.
    t.app.advance(1);
    let third = t.roll(ADMIN, &id).await.expect(200).str("key");
    t.patch(ADMIN, &id, json!({"enabled": true}))
        .await
        .expect(200);
    assert_eq!(t.app.verify_code(&third).await, "VALID");
    assert_eq!(t.app.verify_code(&second).await, "NOT_FOUND");
}

// 5. Replays of signed requests.

#[tokio::test]
async fn a_replayed_signed_create_mints_one_key() {
    let t = tenant().await;
    let req = Req::new("POST", "/v1/keys")
        .by(ADMIN)
        .json(&ws_key(&t.org, &t.ws));
    let first = t.app.send(req.clone()).await;
    first.expect(201);
    let replay = t.app.send(req).await;
    replay.expect(200);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert!(replay.json.get("key").is_none(), "{}", replay.body_text);
    assert_eq!(replay.str("id"), first.str("key_id"));
    assert_eq!(t.app.keys(&t.org).await.len(), 1);
}

#[tokio::test]
async fn a_replayed_signed_roll_yields_no_second_plaintext() {
    let t = tenant().await;
    let (_, id) = t.app.new_key(ADMIN, ws_key(&t.org, &t.ws)).await;
    let req = Req::new("POST", &format!("/v1/keys/{id}/roll"))
        .by(ADMIN)
        .json(&json!({"grace_seconds": 0}));
    let rolled = t.app.send(req.clone()).await;
    let plaintext = rolled.expect(200).str("key");
    let replay = t.app.send(req).await;
    replay.expect(200);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert!(replay.json.get("key").is_none(), "{}", replay.body_text);
    assert_eq!(replay.json["version"], json!(2), "rolled once");
    assert_eq!(t.app.verify_code(&plaintext).await, "VALID");

    // A client's own retry with a signed Idempotency-Key behaves the same.
    let retry = |token: &str| {
        Req::new("POST", &format!("/v1/keys/{id}/roll"))
            .by(ADMIN)
            .header("idempotency-key", token)
            .json(&json!({}))
    };
    let once = t.app.send(retry("rotation-7")).await;
    once.expect(200).str("key");
    t.app.advance(30);
    let again = t.app.send(retry("rotation-7")).await;
    assert_eq!(
        again.expect(200).header("idempotent-replayed"),
        Some("true")
    );
    assert!(again.json.get("key").is_none());
}

#[tokio::test]
async fn an_idempotency_key_added_after_signing_is_refused() {
    let t = tenant().await;
    let req = Req::new("POST", "/v1/keys")
        .by(ADMIN)
        .json(&ws_key(&t.org, &t.ws))
        .header_after_signing("idempotency-key", "attacker-chosen");
    t.app
        .send(req)
        .await
        .expect_problem(400, "IDEMPOTENCY_KEY_NOT_SIGNED");
    assert!(t.app.keys(&t.org).await.is_empty());
}

// 6. An owner lifted their own permission ceiling.

#[tokio::test]
async fn an_owner_cannot_grant_beyond_their_own_permissions_not_even_to_themselves() {
    let t = tenant().await;
    let capped = t
        .app
        .member_with(&t.org, "carol", "owner", &[], Some(&["models:small"]))
        .await;
    let dave = t.app.principal("dave");
    for (who, body) in [
        (&capped, json!({"org_role": "owner"})),
        (&capped, json!({"org_role": "owner", "permissions": ["*"]})),
        (
            &dave,
            json!({"org_role": "member", "permissions": ["models:*"]}),
        ),
    ] {
        t.call("carol", "PUT", &member_path(&t.org, who), Some(body))
            .await
            .expect_problem(403, "PERMISSIONS_EXCEED_GRANTOR");
    }
    let within = json!({"org_role": "member", "permissions": ["models:small"]});
    t.call("carol", "PUT", &member_path(&t.org, &dave), Some(within))
        .await
        .expect(200);
    let wide = with(org_key(&t.org), json!({"permissions": ["*"]}));
    t.call("carol", "POST", "/v1/keys", Some(wide))
        .await
        .expect_problem(403, "PERMISSIONS_EXCEED_CREATOR");
    // Platform admins may grant anything.
    t.call(
        ADMIN,
        "PUT",
        &member_path(&t.org, &capped),
        Some(json!({"org_role": "owner"})),
    )
    .await
    .expect(200);
}
