//! The Router's own behaviour, apart from any use case: data-plane paths
//! that look like key ids, unknown routes and methods, request ids, the
//! body limit at its edge, and the shape of every problem.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ws_key, Req, TestApp, ADMIN};
use keyplane_core::id::KeyId;
use keyplane_http::BODY_LIMIT;
use serde_json::json;

/// `/v1/keys/verify` and `/v1/keys/report-leak` share a prefix with
/// `/v1/keys/{key_id}`; the static segments must win for every method, so a
/// signed DELETE of "verify" is a wrong method, not a revoke of a key id.
#[tokio::test]
async fn data_plane_paths_are_never_taken_for_key_ids() {
    let app = TestApp::new();
    let (org, ws) = app.setup_org().await;
    let (key, key_id) = app.new_key(ADMIN, ws_key(&org, &ws)).await;

    for path in ["/v1/keys/verify", "/v1/keys/report-leak"] {
        for method in ["GET", "PATCH", "DELETE", "PUT"] {
            let answer = app.send(Req::new(method, path).by(ADMIN)).await;
            answer.expect_problem(405, "METHOD_NOT_ALLOWED");
            assert_eq!(answer.header("allow"), Some("POST"), "{method} {path}");
        }
    }
    // Unsigned, the data plane answers; a key id route would want SigV4.
    let verdict = app
        .call(
            None,
            "POST",
            "/v1/keys/verify",
            Some(json!({"key": key})),
            &[],
        )
        .await;
    assert_eq!(verdict.expect(200).json["code"], json!("VALID"));
    // The key is untouched by all of the above.
    let view = app
        .call(Some(ADMIN), "GET", &format!("/v1/keys/{key_id}"), None, &[])
        .await;
    assert_eq!(view.expect(200).str("status"), "active");

    // Below a data-plane path the key id routes apply again, signed.
    app.send(Req::new("POST", "/v1/keys/verify/roll"))
        .await
        .expect_problem(401, "SIGNATURE_REQUIRED");
    app.send(Req::new("POST", "/v1/keys/verify/roll").by(ADMIN))
        .await
        .expect_problem(400, "INVALID_KEY_ID");
    // And a real key id is not a data-plane route.
    let path = format!("/v1/keys/{}", KeyId::generate());
    let answer = app.send(Req::new("POST", &path).by(ADMIN)).await;
    answer.expect_problem(405, "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let app = TestApp::new();
    let missing = app.send(Req::new("GET", "/v2/keys")).await;
    missing.expect_problem(404, "ROUTE_NOT_FOUND");
    assert_eq!(
        missing.json["type"],
        json!("https://keyplane.dev/problems/route-not-found")
    );
    assert_eq!(missing.json["title"], json!("Not Found"));

    let wrong = app.send(Req::new("DELETE", "/healthz")).await;
    wrong.expect_problem(405, "METHOD_NOT_ALLOWED");
    assert_eq!(wrong.header("allow"), Some("GET,HEAD"));
}

#[tokio::test]
async fn request_ids_are_kept_when_sane_and_minted_otherwise() {
    let app = TestApp::new();
    let health = |id: Option<&str>| {
        let mut req = Req::new("GET", "/healthz");
        if let Some(id) = id {
            req = req.header("x-request-id", id);
        }
        app.send(req)
    };

    // A sane id is echoed, on success as on error.
    let ok = health(Some("trace-42.a_b")).await;
    assert_eq!(ok.expect(200).header("x-request-id"), Some("trace-42.a_b"));
    let problem = app
        .send(Req::new("GET", "/nowhere").header("x-request-id", "trace-43"))
        .await;
    problem.expect_problem(404, "ROUTE_NOT_FOUND");
    assert_eq!(problem.json["request_id"], json!("trace-43"));

    // Anything else is replaced, never reflected.
    let too_long = "a".repeat(65);
    for insane in ["has space", "semi;colon", "quote\"d", too_long.as_str()] {
        let answer = health(Some(insane)).await;
        let id = answer
            .expect(200)
            .header("x-request-id")
            .unwrap()
            .to_owned();
        assert!(id.starts_with("req_"), "{insane:?} gave {id}");
    }

    // Minted ids differ per request.
    let first = health(None)
        .await
        .header("x-request-id")
        .unwrap()
        .to_owned();
    let second = health(None)
        .await
        .header("x-request-id")
        .unwrap()
        .to_owned();
    assert!(first.starts_with("req_") && second.starts_with("req_"));
    assert_ne!(first, second);
}

/// A body of exactly [`BODY_LIMIT`] bytes is read; one byte more is 413,
/// on the data plane as on the management routes.
#[tokio::test]
async fn the_body_limit_is_exact() {
    let app = TestApp::new();
    let padded = |len: usize| {
        let mut body = br#"{"key": "kp_test_x"}"#.to_vec();
        body.resize(len, b' ');
        Req::new("POST", "/v1/keys/verify")
            .raw(body)
            .content_type(Some("application/json"))
    };
    let at_limit = app.send(padded(BODY_LIMIT)).await;
    assert_eq!(at_limit.expect(200).json["code"], json!("MALFORMED"));
    app.send(padded(BODY_LIMIT + 1))
        .await
        .expect_problem(413, "BODY_TOO_LARGE");

    let management = Req::new("POST", "/v1/organizations")
        .by(ADMIN)
        .json(&json!({"name": "x".repeat(BODY_LIMIT)}));
    app.send(management)
        .await
        .expect_problem(413, "BODY_TOO_LARGE");
}

/// Problems never carry the raw serde message: values are not quoted, only
/// field names and expectations.
#[tokio::test]
async fn field_errors_name_the_field_path() {
    let app = TestApp::new();
    let (org, _) = app.setup_org().await;
    let body = json!({"org_role": "member", "workspace_roles": {"ws_x": "emperor"}});
    let path = common::member_path(&org, &common::arn("bob"));
    let answer = app.call(Some(ADMIN), "PUT", &path, Some(body), &[]).await;
    answer.expect_problem(400, "INVALID_FIELD");
    let detail = answer.str("detail");
    assert!(detail.contains("workspace_roles"), "{detail}");
    assert!(!detail.contains("emperor"), "{detail}");
}
