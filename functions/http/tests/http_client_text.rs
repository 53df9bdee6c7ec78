//! Client text that the service stores, echoes or logs, through the Router:
//! a key sent as a request id is replaced by a fresh id everywhere (header,
//! problem bodies, audit log, logs), and names and metadata holding control
//! or format characters (line breaks, escapes, NUL, bidi overrides) are
//! refused with a stable code, changing nothing.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{with, ws_key, TestApp, TestResponse, ADMIN};
use keyplane_core::key_format::{ApiKey, KeyEnv};
use serde_json::{json, Value};

/// Everything logged, at every level, from every crate.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The 32 random characters of a key.
fn body(key: &str) -> &str {
    &key[8..40]
}

/// The answer carries a freshly minted request id, not `sent`, and no part
/// of the key body anywhere.
#[track_caller]
fn assert_fresh_id(answer: &TestResponse, sent: &str, key: &str) -> String {
    let id = answer.header("x-request-id").unwrap().to_owned();
    assert!(id.starts_with("req_"), "{sent} was kept as {id}");
    assert!(!id.contains(body(key)));
    assert!(
        !answer.body_text.contains(body(key)),
        "{}",
        answer.body_text
    );
    id
}

// Current-thread runtime: the log subscriber is set for this thread only,
// and every request runs on it.
#[tokio::test]
async fn a_key_sent_as_request_id_is_replaced_and_never_stored_echoed_or_logged() {
    let logs = Captured::default();
    let writer = logs.clone();
    // Everything but the test's own client-side signer, which logs the
    // canonical request (and so the header) it signs.
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("trace,aws_sigv4::http_request=off")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = TestApp::new();
    let minted = ApiKey::mint(KeyEnv::Test);
    let key = minted.expose();
    let tail = &key[8..];
    // The key itself, and shapes an earlier redaction let through.
    let sent_ids = [
        key.to_owned(),
        format!("kp_test_kp_test_{tail}"),
        format!("kp_live_kp_test_{tail}"),
        format!("x{key}"),
    ];

    let mut fresh_ids = Vec::new();
    let mut org = None;
    for sent in &sent_ids {
        let headers = [("x-request-id", sent.as_str())];
        let body = json!({"name": "Acme"});
        let created = app
            .call(
                Some(ADMIN),
                "POST",
                "/v1/organizations",
                Some(body),
                &headers,
            )
            .await;
        created.expect(201);
        fresh_ids.push(assert_fresh_id(&created, sent, key));
        let org = org.get_or_insert_with(|| created.str("id")).clone();

        let path = format!("/v1/organizations/{org}/workspaces");
        let body = json!({"name": "prod"});
        let workspace = app
            .call(Some(ADMIN), "POST", &path, Some(body), &headers)
            .await;
        workspace.expect(201);
        fresh_ids.push(assert_fresh_id(&workspace, sent, key));

        // Problem bodies carry the fresh id, not the key.
        let missing = app
            .call(
                Some(ADMIN),
                "GET",
                "/v1/organizations/org_missing",
                None,
                &headers,
            )
            .await;
        let missing_id = assert_fresh_id(&missing, sent, key);
        assert_eq!(missing.json["request_id"], json!(missing_id));
        let unrouted = app.call(None, "GET", "/nowhere", None, &headers).await;
        unrouted.expect_problem(404, "ROUTE_NOT_FOUND");
        assert_fresh_id(&unrouted, sent, key);
    }

    // The audit log names the fresh ids and holds no trace of the key.
    let org = org.unwrap();
    let path = format!("/v1/organizations/{org}/audit?limit=100");
    let audit = app.call(Some(ADMIN), "GET", &path, None, &[]).await;
    audit.expect(200);
    assert!(!audit.body_text.contains(body(key)), "{}", audit.body_text);
    let recorded: Vec<String> = audit.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|event| event["request_id"].as_str().map(str::to_owned))
        .collect();
    let workspace_ids: Vec<&String> = fresh_ids.iter().skip(1).step_by(2).collect();
    for id in workspace_ids {
        assert!(recorded.contains(id), "{id} not in {recorded:?}");
    }

    let logged = logs.text();
    assert!(logged.contains(&fresh_ids[0]), "{logged}");
    assert!(!logged.contains(body(key)), "the key was logged:\n{logged}");
}

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
