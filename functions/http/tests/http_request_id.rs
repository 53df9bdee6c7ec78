//! A key sent as a request id is replaced by a fresh id everywhere: the
//! response header, problem bodies, the audit log and the logs.
//!
//! Alone in its test binary: it captures logs with a thread-local
//! subscriber, and under `cargo test` other tests' threads in the same
//! process change tracing's cached interest in the callsites it needs.
#![allow(clippy::unwrap_used)]

mod common;

use common::{capture_logs, TestApp, TestResponse, ADMIN};
use keyplane_core::key_format::{ApiKey, KeyEnv};
use serde_json::json;

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
    let (logs, _guard) = capture_logs();

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
