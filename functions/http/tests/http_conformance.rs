//! Disagreements between the document and the server that the conformance
//! run (`tests/conformance/run`, schemathesis) found where the server was
//! wrong, each kept as a regression test.
#![allow(clippy::unwrap_used)]

mod common;

use common::{encode, member_path, ws_key, Req, TestApp, ADMIN, REPORTER};
use serde_json::json;

/// `"if_version": 3.0` is the integer 3 in JSON and in the document; every
/// other whole-number field took it, `if_version` alone refused it.
#[tokio::test]
async fn if_version_takes_a_whole_number_written_as_a_float() {
    let app = TestApp::new();
    let (org, ws) = app.setup_org().await;
    let (_, id) = app.new_key(ADMIN, ws_key(&org, &ws)).await;
    let path = format!("/v1/keys/{id}");
    let answer = app
        .call(
            Some(ADMIN),
            "PATCH",
            &path,
            Some(json!({"if_version": 1.0, "name": "renamed"})),
            &[],
        )
        .await;
    answer.expect(200);
    assert_eq!(answer.json["name"], "renamed");
}

/// One past the largest u64 is out of range. The range check read it as
/// `u64::MAX` (2^64 is where the float lands), harmless while no ranged
/// field reached `u64::MAX`; `if_version`, now ranged, does.
#[tokio::test]
async fn a_number_beyond_u64_is_refused() {
    let app = TestApp::new();
    let (org, ws) = app.setup_org().await;
    let (_, id) = app.new_key(ADMIN, ws_key(&org, &ws)).await;
    let req = Req::new("PATCH", &format!("/v1/keys/{id}"))
        .by(ADMIN)
        .raw(r#"{"if_version": 18446744073709551616}"#)
        .content_type(Some("application/json"));
    app.send(req).await.expect_problem(400, "INVALID_FIELD");
}

/// A bad permission or cost is the caller's bug whatever key comes with
/// it: verify used to answer `MALFORMED` for a malformed key before looking
/// at the rest of the request, so the same bad input got 200 or 400
/// depending on the key.
#[tokio::test]
async fn verify_checks_the_request_before_the_key() {
    let app = TestApp::new();
    for key in ["not-a-key", "kp_test_AAAA"] {
        let answer = app
            .call(
                None,
                "POST",
                "/v1/keys/verify",
                Some(json!({"key": key, "permissions": ["::"]})),
                &[],
            )
            .await;
        answer.expect_problem(400, "INVALID_PERMISSION");
    }
    let malformed = app.verify("not-a-key").await;
    assert_eq!(malformed["code"], "MALFORMED");
}

/// Model names are counted in characters, like every other text field (a
/// 100-character name in a non-Latin script was refused as too long), and
/// held to the same character rule: no format characters such as a
/// right-to-left override.
#[tokio::test]
async fn model_names_follow_the_text_rule_of_every_other_field() {
    let app = TestApp::new();
    let (org, ws) = app.setup_org().await;
    let (_, id) = app.new_key(ADMIN, ws_key(&org, &ws)).await;
    let report = |model: String| json!({"key_id": id, "model": model});
    let answer = app
        .call(
            Some(REPORTER),
            "POST",
            "/v1/usage",
            Some(report("模".repeat(100))),
            &[],
        )
        .await;
    answer.expect(204);
    for bad in ["gpt\u{202e}4o".to_owned(), "模".repeat(129), " ".to_owned()] {
        let answer = app
            .call(Some(REPORTER), "POST", "/v1/usage", Some(report(bad)), &[])
            .await;
        answer.expect_problem(400, "INVALID_MODEL");
    }
}

/// IAM ARNs are ASCII. A principal that only looks like a member (a
/// Cyrillic `а` in `аlice`) used to be accepted as a different member.
#[tokio::test]
async fn principals_are_printable_ascii() {
    let app = TestApp::new();
    let (org, _) = app.setup_org().await;
    for arn in [
        "arn:aws:iam::123456789012:user/\u{430}lice",
        "arn:aws:iam::123456789012:user/alice\u{a0}",
    ] {
        let answer = app
            .call(
                Some(ADMIN),
                "PUT",
                &member_path(&org, arn),
                Some(json!({"org_role": "member"})),
                &[],
            )
            .await;
        answer.expect_problem(400, "INVALID_PRINCIPAL");
    }
    let plain = "arn:aws:iam::123456789012:user/alice";
    let path = format!("/v1/organizations/{org}/members/{}", encode(plain));
    let answer = app
        .call(
            Some(ADMIN),
            "PUT",
            &path,
            Some(json!({"org_role": "member"})),
            &[],
        )
        .await;
    answer.expect(200);
}

/// serde's derived structs take a JSON array too, field by field: `[null,
/// null]` was a valid organization update and key activation, `["acme", 5]`
/// a rename with a new quota. Every body is an object.
#[tokio::test]
async fn a_body_is_an_object_never_an_array() {
    let app = TestApp::new();
    let (org, ws) = app.setup_org().await;
    let (_, id) = app.new_key(ADMIN, ws_key(&org, &ws)).await;
    for (method, path, body) in [
        (
            "PATCH",
            format!("/v1/organizations/{org}"),
            r#"["renamed", 5]"#,
        ),
        ("PATCH", format!("/v1/organizations/{org}"), "[null, null]"),
        ("POST", format!("/v1/keys/{id}/activate"), " [null, null]"),
        ("POST", format!("/v1/keys/{id}/roll"), "[60]"),
    ] {
        let req = Req::new(method, &path)
            .by(ADMIN)
            .raw(body)
            .content_type(Some("application/json"));
        app.send(req).await.expect_problem(400, "INVALID_FIELD");
    }
    let verify = Req::new("POST", "/v1/keys/verify")
        .raw(r#"["kp_test_x"]"#)
        .content_type(Some("application/json"));
    app.send(verify).await.expect_problem(400, "INVALID_FIELD");
    let org = app
        .call(
            Some(ADMIN),
            "GET",
            &format!("/v1/organizations/{org}"),
            None,
            &[],
        )
        .await;
    assert_ne!(org.json["name"], "renamed");
}
