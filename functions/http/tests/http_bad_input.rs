//! Bad input through the Router: every rejection is problem+json with a
//! stable code and a request id, nothing is created by a refused request,
//! idempotent creates make one key, and a plaintext key sent in a bad
//! request is never echoed.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::Duration;
use common::{member_path, with, ws_key, Req, TestApp, ADMIN};
use keyplane_core::id::{KeyId, OrgId, WorkspaceId};
use keyplane_http::BODY_LIMIT;
use serde_json::{json, Value};

/// One bad request and the problem it must get.
struct Case {
    label: &'static str,
    req: Req,
    status: u16,
    code: &'static str,
}

fn case(label: &'static str, req: Req, status: u16, code: &'static str) -> Case {
    Case {
        label,
        req,
        status,
        code,
    }
}

/// A signed create-key request by `by` with `body`.
fn create(by: &str, body: &Value) -> Req {
    Req::new("POST", "/v1/keys").by(by).json(body)
}

/// Org with workspace `ws`, and `limited`: an editor of `ws` who may grant
/// `models:gpt-4o` only.
async fn world() -> (TestApp, String, String) {
    let app = TestApp::new();
    let (org, ws) = app.setup_org().await;
    let permissions: &[&str] = &["models:gpt-4o"];
    app.member_with(
        &org,
        "limited",
        "member",
        &[(&ws, "editor")],
        Some(permissions),
    )
    .await;
    (app, org, ws)
}

fn body_cases(org: &str, ws: &str) -> Vec<Case> {
    let good = ws_key(org, ws);
    let json_bytes = serde_json::to_vec(&good).unwrap();
    let huge = with(good.clone(), json!({"name": "x".repeat(BODY_LIMIT)}));
    vec![
        case(
            "malformed JSON",
            create(ADMIN, &good).raw(&b"{\"organization_id\": "[..]),
            400,
            "MALFORMED_JSON",
        ),
        case(
            "unknown field",
            create(ADMIN, &with(good.clone(), json!({"colour": "red"}))),
            400,
            "INVALID_FIELD",
        ),
        case(
            "wrong type",
            create(ADMIN, &with(good.clone(), json!({"credits": "lots"}))),
            400,
            "INVALID_FIELD",
        ),
        case(
            "unknown enum value",
            create(ADMIN, &with(good.clone(), json!({"role": "emperor"}))),
            400,
            "INVALID_FIELD",
        ),
        case(
            "missing field",
            create(ADMIN, &with(good.clone(), json!({"role": null}))),
            400,
            "INVALID_FIELD",
        ),
        case(
            "missing content-type",
            Req::new("POST", "/v1/keys")
                .by(ADMIN)
                .raw(json_bytes.clone()),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        case(
            "wrong content-type",
            Req::new("POST", "/v1/keys")
                .by(ADMIN)
                .raw(json_bytes)
                .content_type(Some("text/plain")),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        case(
            "oversized body",
            create(ADMIN, &huge),
            413,
            "BODY_TOO_LARGE",
        ),
    ]
}

fn rule_cases(app: &TestApp, org: &str, ws: &str) -> Vec<Case> {
    let good = ws_key(org, ws);
    let past = (app.now() - Duration::seconds(1)).to_rfc3339();
    let now = app.now().to_rfc3339();
    let ws_path = format!("/v1/organizations/{org}/workspaces");
    vec![
        case(
            "name of 129 characters",
            create(ADMIN, &with(good.clone(), json!({"name": "n".repeat(129)}))),
            400,
            "NAME_TOO_LONG",
        ),
        case(
            "name with a control character",
            create(ADMIN, &with(good.clone(), json!({"name": "ci\u{7}bot"}))),
            400,
            "NAME_HAS_CONTROL_CHARACTERS",
        ),
        case(
            "workspace name of 129 characters",
            Req::new("POST", &ws_path)
                .by(ADMIN)
                .json(&json!({"name": "w".repeat(129)})),
            400,
            "NAME_TOO_LONG",
        ),
        case(
            "expiry in the past",
            create(ADMIN, &with(good.clone(), json!({"expires_at": past}))),
            400,
            "EXPIRY_IN_PAST",
        ),
        case(
            "expiry now",
            create(ADMIN, &with(good.clone(), json!({"expires_at": now}))),
            400,
            "EXPIRY_IN_PAST",
        ),
        case(
            "zero credits",
            create(ADMIN, &with(good.clone(), json!({"credits": 0}))),
            400,
            "INVALID_CREDITS",
        ),
        case(
            "workspace key without a workspace",
            create(ADMIN, &with(good.clone(), json!({"workspace_id": null}))),
            400,
            "INVALID_SCOPE",
        ),
        case(
            "grace of 86401 seconds",
            Req::new("POST", &format!("/v1/keys/{}/roll", KeyId::generate()))
                .by(ADMIN)
                .json(&json!({"grace_seconds": 86_401})),
            400,
            "GRACE_OUT_OF_RANGE",
        ),
    ]
}

fn reference_cases(org: &str, ws: &str) -> Vec<Case> {
    let good = ws_key(org, ws);
    let unknown_org = OrgId::generate();
    let unknown_ws = WorkspaceId::generate();
    vec![
        case(
            "unknown organization",
            create(
                ADMIN,
                &with(good.clone(), json!({"organization_id": unknown_org})),
            ),
            404,
            "ORGANIZATION_NOT_FOUND",
        ),
        case(
            "malformed organization id",
            create(
                ADMIN,
                &with(good.clone(), json!({"organization_id": "acme"})),
            ),
            400,
            "INVALID_FIELD",
        ),
        case(
            "unknown workspace",
            create(
                ADMIN,
                &with(good.clone(), json!({"workspace_id": unknown_ws})),
            ),
            404,
            "WORKSPACE_NOT_FOUND",
        ),
        case(
            "permissions beyond the creator's",
            create("limited", &good),
            403,
            "PERMISSIONS_EXCEED_CREATOR",
        ),
        case(
            "role beyond the creator's",
            create(
                "limited",
                &with(
                    good.clone(),
                    json!({"role": "owner", "permissions": ["models:gpt-4o"]}),
                ),
            ),
            403,
            "ROLE_EXCEEDS_CREATOR",
        ),
        case(
            "bad key id in the path",
            Req::new("GET", "/v1/keys/not-a-key").by(ADMIN),
            400,
            "INVALID_KEY_ID",
        ),
        case(
            "bad organization id in the path",
            Req::new("GET", "/v1/organizations/acme").by(ADMIN),
            400,
            "INVALID_ORGANIZATION_ID",
        ),
        case(
            "bad principal in the path",
            Req::new("PUT", &format!("/v1/organizations/{org}/members/alice"))
                .by(ADMIN)
                .json(&json!({"org_role": "member"})),
            400,
            "INVALID_PRINCIPAL",
        ),
        case(
            "unknown query parameter",
            Req::new("GET", &format!("/v1/keys?organization_id={org}&colour=red")).by(ADMIN),
            400,
            "INVALID_QUERY",
        ),
        case(
            "query parameter of the wrong type",
            Req::new("GET", &format!("/v1/keys?organization_id={org}&limit=many")).by(ADMIN),
            400,
            "INVALID_QUERY",
        ),
        case(
            "limit out of range",
            Req::new("GET", &format!("/v1/keys?organization_id={org}&limit=1000")).by(ADMIN),
            400,
            "INVALID_LIMIT",
        ),
        case(
            "unknown route",
            Req::new("GET", "/v1/nope"),
            404,
            "ROUTE_NOT_FOUND",
        ),
        case(
            "unknown route, signed",
            Req::new("POST", "/v1/keys/verify/more")
                .by(ADMIN)
                .json(&good),
            404,
            "ROUTE_NOT_FOUND",
        ),
        case(
            "wrong method",
            Req::new("PUT", "/v1/keys"),
            405,
            "METHOD_NOT_ALLOWED",
        ),
        case(
            "wrong method on the data plane",
            Req::new("GET", "/v1/keys/verify"),
            405,
            "METHOD_NOT_ALLOWED",
        ),
    ]
}

#[tokio::test]
async fn bad_input_is_a_problem_and_creates_nothing() {
    let (app, org, ws) = world().await;
    let audit_before = app.audit(&org).await.len();
    let mut cases = body_cases(&org, &ws);
    cases.extend(rule_cases(&app, &org, &ws));
    cases.extend(reference_cases(&org, &ws));
    let mut failures = Vec::new();
    for case in cases {
        let answer = app.send(case.req).await;
        let result = std::panic::catch_unwind(|| {
            answer.expect_problem(case.status, case.code);
        });
        if result.is_err() {
            failures.push(format!("{}: {}", case.label, answer.body_text));
        }
    }
    assert!(
        failures.is_empty(),
        "failed cases:\n{}",
        failures.join("\n")
    );

    assert_eq!(
        app.keys(&org).await,
        Vec::<Value>::new(),
        "a key was created"
    );
    assert_eq!(
        app.workspaces(&org).await.len(),
        1,
        "a workspace was created"
    );
    assert_eq!(app.audit(&org).await.len(), audit_before);
}

#[tokio::test]
async fn a_refused_change_leaves_the_key_as_it_was() {
    let (app, org, ws) = world().await;
    let (key, key_id) = app.new_key(ADMIN, ws_key(&org, &ws)).await;
    let path = format!("/v1/keys/{key_id}");
    let before = app.call(Some(ADMIN), "GET", &path, None, &[]).await;
    let past = (app.now() - Duration::hours(1)).to_rfc3339();
    let refused = [
        (
            "POST",
            format!("{path}/roll"),
            json!({"grace_seconds": 86_401}),
            "GRACE_OUT_OF_RANGE",
        ),
        (
            "PATCH",
            path.clone(),
            json!({"name": "n".repeat(129)}),
            "NAME_TOO_LONG",
        ),
        (
            "PATCH",
            path.clone(),
            json!({"expires_at": past}),
            "EXPIRY_IN_PAST",
        ),
        (
            "PATCH",
            path.clone(),
            json!({"if_version": 7, "name": "x"}),
            "VERSION_CONFLICT",
        ),
        (
            "PATCH",
            path.clone(),
            json!({"colour": "red"}),
            "INVALID_FIELD",
        ),
    ];
    for (method, route, body, code) in refused {
        let answer = app.call(Some(ADMIN), method, &route, Some(body), &[]).await;
        let status = if code == "VERSION_CONFLICT" { 409 } else { 400 };
        answer.expect_problem(status, code);
    }
    let after = app.call(Some(ADMIN), "GET", &path, None, &[]).await;
    assert_eq!(after.json, before.json);
    assert_eq!(app.verify_code(&key).await, "VALID");
}

#[tokio::test]
async fn a_retried_create_makes_one_key() {
    let (app, org, ws) = world().await;
    let body = ws_key(&org, &ws);
    let token = [("idempotency-key", "create-ci-key-1")];
    let first = app
        .call(Some(ADMIN), "POST", "/v1/keys", Some(body.clone()), &token)
        .await;
    first.expect(201);
    assert!(first.header("idempotent-replayed").is_none());
    let key = first.str("key");

    let second = app
        .call(Some(ADMIN), "POST", "/v1/keys", Some(body.clone()), &token)
        .await;
    second.expect(200);
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert!(
        second.json.get("key").is_none(),
        "replay shows the plaintext"
    );
    assert!(!second.body_text.contains(&key));
    assert_eq!(second.str("id"), first.str("key_id"));
    // The same shape as the first answer, minus the plaintext.
    assert_eq!(second.str("key_id"), first.str("key_id"));
    let mut without_key = first.json.clone();
    without_key.as_object_mut().unwrap().remove("key");
    assert_eq!(second.json, without_key);

    let keys = app.keys(&org).await;
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["id"], first.json["key_id"]);

    let other_body = with(body.clone(), json!({"name": "another"}));
    app.call(Some(ADMIN), "POST", "/v1/keys", Some(other_body), &token)
        .await
        .expect_problem(400, "IDEMPOTENCY_KEY_MISMATCH");
    assert_eq!(app.keys(&org).await.len(), 1);

    // Tokens belong to their principal: another caller's same token is new.
    app.member(&org, "bob", "owner", &[]).await;
    let bobs = app
        .call(Some("bob"), "POST", "/v1/keys", Some(body), &token)
        .await;
    bobs.expect(201);
    assert_eq!(app.keys(&org).await.len(), 2);
}

/// Sends `req`; `Err` unless the answer is a 4xx problem that nowhere
/// contains `secret`.
async fn refused_without_echo(
    app: &TestApp,
    label: &str,
    req: Req,
    secret: &str,
) -> Result<(), String> {
    let answer = app.send(req).await;
    if !answer.status.is_client_error() {
        return Err(format!(
            "{label}: expected a 4xx, got {}: {}",
            answer.status, answer.body_text
        ));
    }
    if answer.header("content-type") != Some(keyplane_http::PROBLEM_JSON) {
        return Err(format!("{label}: not problem+json: {}", answer.body_text));
    }
    if answer.body_text.contains(secret) {
        return Err(format!(
            "{label}: the error body echoes the key: {}",
            answer.body_text
        ));
    }
    for (name, value) in &answer.headers {
        if value
            .as_bytes()
            .windows(secret.len())
            .any(|w| w == secret.as_bytes())
        {
            return Err(format!("{label}: header {name} echoes the key"));
        }
    }
    Ok(())
}

/// Runs every case, then fails listing all that echoed the key.
async fn none_echo(app: &TestApp, cases: Vec<(&str, Req)>, secret: &str) {
    let mut failures = Vec::new();
    for (label, req) in cases {
        if let Err(failure) = refused_without_echo(app, label, req, secret).await {
            failures.push(failure);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn a_plaintext_key_in_a_bad_request_is_never_echoed() {
    let (app, org, ws) = world().await;
    let (key, _) = app.new_key(ADMIN, ws_key(&org, &ws)).await;
    let good = ws_key(&org, &ws);
    let mut as_field_name = good.clone();
    as_field_name[key.as_str()] = json!("x");

    let cases = vec![
        (
            "as a role",
            create(ADMIN, &with(good.clone(), json!({"role": key}))),
        ),
        (
            "as credits",
            create(ADMIN, &with(good.clone(), json!({"credits": key}))),
        ),
        (
            "as permissions",
            create(ADMIN, &with(good.clone(), json!({"permissions": key}))),
        ),
        (
            "as activate",
            create(ADMIN, &with(good.clone(), json!({"activate": key}))),
        ),
        (
            "as an expiry",
            create(ADMIN, &with(good.clone(), json!({"expires_at": key}))),
        ),
        ("as a field name", create(ADMIN, &as_field_name)),
        (
            "verify with an unknown field",
            Req::new("POST", "/v1/keys/verify").json(&json!({"key": key, "extra": true})),
        ),
        (
            "verify with the key as a field name",
            Req::new("POST", "/v1/keys/verify").json(&json!({"key": "x", key.as_str(): 1})),
        ),
        (
            "verify with the key as a cost",
            Req::new("POST", "/v1/keys/verify").json(&json!({"key": "x", "cost": key})),
        ),
        (
            "verify with the key as a permission list",
            Req::new("POST", "/v1/keys/verify").json(&json!({"key": key, "permissions": key})),
        ),
        (
            "verify as malformed JSON",
            Req::new("POST", "/v1/keys/verify")
                .raw(format!("{{\"key\": \"{key}\", "))
                .content_type(Some("application/json")),
        ),
        (
            "verify without content-type",
            Req::new("POST", "/v1/keys/verify").raw(format!("{{\"key\": \"{key}\"}}")),
        ),
        (
            "report-leak with an unknown field",
            Req::new("POST", "/v1/keys/report-leak").json(&json!({"key": key, "by": "me"})),
        ),
    ];
    none_echo(&app, cases, &key).await;
    assert_eq!(app.verify_code(&key).await, "VALID");
}

#[tokio::test]
async fn a_plaintext_key_in_place_of_an_id_is_never_echoed() {
    let (app, org, ws) = world().await;
    let (key, _) = app.new_key(ADMIN, ws_key(&org, &ws)).await;
    let good = ws_key(&org, &ws);
    let cases = vec![
        (
            "as organization_id",
            create(ADMIN, &with(good.clone(), json!({"organization_id": key}))),
        ),
        (
            "as workspace_id",
            create(ADMIN, &with(good.clone(), json!({"workspace_id": key}))),
        ),
        (
            "as a key id in the path",
            Req::new("GET", &format!("/v1/keys/{key}")).by(ADMIN),
        ),
        (
            "as an organization in the path",
            Req::new("GET", &format!("/v1/organizations/{key}")).by(ADMIN),
        ),
        ("as a principal in the path", {
            Req::new("PUT", &member_path(&org, &key))
                .by(ADMIN)
                .json(&json!({"org_role": "member"}))
        }),
        (
            "as organization_id in the query",
            Req::new("GET", &format!("/v1/keys?organization_id={key}")).by(ADMIN),
        ),
        (
            "as a usage report's key_id",
            Req::new("POST", "/v1/usage")
                .by(common::REPORTER)
                .json(&json!({"key_id": key, "model": "gpt-4o"})),
        ),
        (
            "as a verify workspace_id",
            Req::new("POST", "/v1/keys/verify").json(&json!({"key": key, "workspace_id": key})),
        ),
    ];
    none_echo(&app, cases, &key).await;
}

#[tokio::test]
async fn refusals_speak_in_the_fields_terms() {
    let (app, org, ws) = world().await;
    let (_, id) = app.new_key(ADMIN, ws_key(&org, &ws)).await;
    let roll = format!("/v1/keys/{id}/roll");
    for grace in [json!(-1), json!(86_401), json!(1.5)] {
        let answer = app
            .call(
                Some(ADMIN),
                "POST",
                &roll,
                Some(json!({ "grace_seconds": grace })),
                &[],
            )
            .await;
        answer.expect_problem(400, "GRACE_OUT_OF_RANGE");
        assert_eq!(
            answer.json["detail"],
            json!("grace_seconds must be between 0 and 86400")
        );
    }
    let no_scope = ws_key(&org, &ws).as_object().unwrap().clone();
    let mut no_scope = Value::Object(no_scope);
    no_scope.as_object_mut().unwrap().remove("scope");
    let answer = app
        .call(Some(ADMIN), "POST", "/v1/keys", Some(no_scope), &[])
        .await;
    answer.expect_problem(400, "INVALID_FIELD");
    let detail = answer.json["detail"].as_str().unwrap();
    assert!(
        detail.contains("missing field `scope`") && detail.contains("add \"scope\""),
        "{detail}"
    );

    let many = format!("/v1/keys?organization_id={org}&limit=many");
    let answer = app.call(Some(ADMIN), "GET", &many, None, &[]).await;
    answer.expect_problem(400, "INVALID_QUERY");
    let detail = answer.json["detail"].as_str().unwrap();
    assert!(
        detail.contains("whole number") && !detail.contains("usize"),
        "{detail}"
    );
    let negative_quota = json!({"name": "Acme", "key_quota": -5});
    app.call(
        Some(ADMIN),
        "POST",
        "/v1/organizations",
        Some(negative_quota),
        &[],
    )
    .await
    .expect_problem(400, "INVALID_KEY_QUOTA");
}
