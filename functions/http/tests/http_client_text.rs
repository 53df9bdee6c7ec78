//! Client text that the service stores or echoes, through the Router: names
//! and metadata holding control or format characters (line breaks, escapes,
//! NUL, bidi overrides) are refused with a stable code, changing nothing.
//! (A key sent as a request id: `http_request_id.rs`.)
#![allow(clippy::unwrap_used)]

mod common;

use common::{with, ws_key, TestApp, TestResponse, ADMIN};
use serde_json::{json, Value};

#[tokio::test]
async fn sane_request_ids_are_still_kept_and_audited() {
    let app = TestApp::new();
    let org = app.create_org("Acme").await;
    let path = format!("/v1/organizations/{org}/workspaces");
    let headers = [("x-request-id", "trace-7.ok")];
    let created = app
        .call(
            Some(ADMIN),
            "POST",
            &path,
            Some(json!({"name": "prod"})),
            &headers,
        )
        .await;
    assert_eq!(
        created.expect(201).header("x-request-id"),
        Some("trace-7.ok")
    );
    let audit = app.audit(&org).await;
    assert!(
        audit.iter().any(|e| e["request_id"] == json!("trace-7.ok")),
        "{audit:?}"
    );
}

/// Bodies carrying a control or format character in one field, each with
/// the code it must get and the field its message must name.
fn hidden_character_cases() -> Vec<(Value, &'static str, &'static str)> {
    const METADATA: &str = "METADATA_HAS_CONTROL_CHARACTERS";
    const NAME: &str = "NAME_HAS_CONTROL_CHARACTERS";
    vec![
        (
            json!({"metadata": {"note": "a\r\nb"}}),
            METADATA,
            "metadata value for 'note'",
        ),
        (
            json!({"metadata": {"note": "\u{1b}[31m"}}),
            METADATA,
            "metadata value for 'note'",
        ),
        (
            json!({"metadata": {"note": "a\u{0}b"}}),
            METADATA,
            "metadata value for 'note'",
        ),
        (
            json!({"metadata": {"note": "exe.\u{202e}txt"}}),
            METADATA,
            "metadata value for 'note'",
        ),
        (
            json!({"metadata": {"note": "a\u{200b}b"}}),
            METADATA,
            "metadata value for 'note'",
        ),
        (
            json!({"metadata": {"no\u{202e}te": "x"}}),
            METADATA,
            "metadata key 'no",
        ),
        (
            json!({"metadata": {"team\n": "x"}}),
            METADATA,
            "metadata key 'team",
        ),
        (json!({"name": "ci\u{202e}bot"}), NAME, "name"),
        (json!({"name": "ci\u{2066}bot"}), NAME, "name"),
        (json!({"name": "ci\u{feff}bot"}), NAME, "name"),
    ]
}

/// The problem names the field and never repeats the raw character.
#[track_caller]
fn assert_refused(answer: &TestResponse, code: &str, field: &str) {
    answer.expect_problem(400, code);
    let detail = answer.json["detail"].as_str().unwrap();
    assert!(detail.contains(field), "{detail}");
    for raw in [
        '\r', '\n', '\u{1b}', '\u{0}', '\u{202e}', '\u{2066}', '\u{feff}',
    ] {
        assert!(!answer.body_text.contains(raw), "{}", answer.body_text);
    }
}

#[tokio::test]
async fn a_new_key_with_control_or_format_characters_is_refused_and_not_created() {
    let app = TestApp::new();
    let (org, ws) = app.setup_org().await;
    for (change, code, field) in hidden_character_cases() {
        let body = with(ws_key(&org, &ws), change.clone());
        let answer = app
            .call(Some(ADMIN), "POST", "/v1/keys", Some(body), &[])
            .await;
        assert_refused(&answer, code, field);
    }
    assert_eq!(app.keys(&org).await, Vec::<Value>::new());
    let path = format!("/v1/organizations/{org}");
    let org_view = app.call(Some(ADMIN), "GET", &path, None, &[]).await;
    assert_eq!(org_view.expect(200).json["key_count"], json!(0));
}

#[tokio::test]
async fn a_patch_with_control_or_format_characters_is_refused_and_changes_nothing() {
    let app = TestApp::new();
    let (org, ws) = app.setup_org().await;
    let body = with(ws_key(&org, &ws), json!({"metadata": {"note": "ok"}}));
    let (_, key_id) = app.new_key(ADMIN, body).await;
    let path = format!("/v1/keys/{key_id}");
    let before = app.call(Some(ADMIN), "GET", &path, None, &[]).await;
    before.expect(200);

    for (change, code, field) in hidden_character_cases() {
        let patch = with(json!({"if_version": 1}), change.clone());
        let answer = app
            .call(Some(ADMIN), "PATCH", &path, Some(patch), &[])
            .await;
        assert_refused(&answer, code, field);
    }
    let after = app.call(Some(ADMIN), "GET", &path, None, &[]).await;
    assert_eq!(after.expect(200).json, before.json);
    assert_eq!(after.json["metadata"], json!({"note": "ok"}));
    assert_eq!(after.json["version"], json!(1));
}

#[tokio::test]
async fn organization_and_workspace_names_with_format_characters_are_refused() {
    const NAME: &str = "NAME_HAS_CONTROL_CHARACTERS";
    let app = TestApp::new();
    let (org, _) = app.setup_org().await;
    for bad in ["Acme\u{202e}", "Ac\u{200f}me", "Ac\u{0}me", "Ac\u{1b}[2Jme"] {
        let body = json!({"name": bad});
        let created = app
            .call(
                Some(ADMIN),
                "POST",
                "/v1/organizations",
                Some(body.clone()),
                &[],
            )
            .await;
        assert_refused(&created, NAME, "name");
        let org_path = format!("/v1/organizations/{org}");
        let renamed = app
            .call(Some(ADMIN), "PATCH", &org_path, Some(body.clone()), &[])
            .await;
        assert_refused(&renamed, NAME, "name");
        let ws_path = format!("{org_path}/workspaces");
        let workspace = app
            .call(Some(ADMIN), "POST", &ws_path, Some(body), &[])
            .await;
        assert_refused(&workspace, NAME, "name");
    }
    let path = format!("/v1/organizations/{org}");
    let org_view = app.call(Some(ADMIN), "GET", &path, None, &[]).await;
    assert_eq!(org_view.expect(200).json["name"], json!("Acme"));
    let workspaces = app.workspaces(&org).await;
    assert_eq!(workspaces.len(), 1, "{workspaces:?}");
    assert_eq!(workspaces[0]["name"], json!("prod"));
}
