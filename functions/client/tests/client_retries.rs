//! Retries: creates and rolls are repeated with the same signed
//! `Idempotency-Key` and come back as replays, never as a second key;
//! calls that would act twice are repeated only when they certainly did
//! nothing; every attempt has a signature of its own, so a retried write
//! is never refused as a replay; attempts are bounded.

mod support;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use futures::TryStreamExt;
use keyplane_client::api::audit::AuditQuery;
use keyplane_client::api::key_format::ApiKey;
use keyplane_client::api::keys::{ListKeys, RollKey};
use keyplane_client::api::tenancy::CreateWorkspace;
use keyplane_client::api::usage::{ReportUsage, UsageRange};
use keyplane_client::api::verify::VerifyKey;
use keyplane_client::{CreateOutcome, Error, IdempotencyKey, RollOutcome};
use support::{arn, org_with_editor, ws_key, Fault, TestServer, ADMIN, ALICE, REPORTER};

fn all_keys(org: &keyplane_client::api::id::OrgId) -> ListKeys {
    ListKeys {
        organization_id: org.clone(),
        workspace_id: None,
        status: None,
        cursor: None,
        limit: Some(100),
    }
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_replayed_and_mints_one_key() {
    let server = TestServer::start().await;
    let admin = server.client(ADMIN).await;
    let alice = server.client(ALICE).await;
    let (org, ws) = org_with_editor(&admin).await;

    server
        .faults
        .plan(Method::POST, "/v1/keys", Fault::LoseAnswer);
    let outcome = alice.create_key(&ws_key(&org, &ws)).await.expect("create");
    assert_eq!(server.faults.hits(&Method::POST, "/v1/keys"), 2);
    let CreateOutcome::Replayed(view) = &outcome else {
        panic!("expected a replay, got {outcome:?}");
    };
    assert!(outcome.is_replayed());

    let keys = admin.list_keys_page(&all_keys(&org)).await.expect("keys");
    assert_eq!(keys.items.len(), 1, "exactly one key exists");
    assert_eq!(keys.items[0].id, view.id);
    assert_eq!(
        admin.get_organization(&org).await.expect("org").key_count,
        1
    );
}

#[tokio::test]
async fn a_roll_that_timed_out_is_replayed_and_rolls_once() {
    let server = TestServer::start().await;
    let admin = server.client(ADMIN).await;
    let alice = server
        .builder(ALICE)
        .timeout(Duration::from_millis(500))
        .build()
        .await
        .expect("client");
    let (org, ws) = org_with_editor(&admin).await;
    let created = alice
        .create_key(&ws_key(&org, &ws))
        .await
        .expect("create")
        .into_created()
        .expect("a first create is not a replay");

    server.faults.plan(Method::POST, "/roll", Fault::Hang);
    let outcome = alice
        .roll_key(&created.view.id, &RollKey { grace_seconds: 0 })
        .await
        .expect("roll");
    assert_eq!(server.faults.hits(&Method::POST, "/roll"), 2);
    let RollOutcome::Replayed(view) = &outcome else {
        panic!("expected a replay, got {outcome:?}");
    };
    assert_eq!(view.id, created.view.id);

    let rolls = admin
        .audit_log(&org, AuditQuery::default())
        .try_filter(|event| futures::future::ready(event.action == "key.roll"))
        .try_collect::<Vec<_>>()
        .await
        .expect("audit");
    assert_eq!(rolls.len(), 1, "rolled exactly once");
    // The roll did happen: the old secret (no grace) no longer works.
    let verdict = alice
        .verify(&VerifyKey {
            key: ApiKey::from_plaintext(created.key.expose()),
            permissions: Vec::new(),
            workspace_id: None,
            cost: None,
        })
        .await
        .expect("verify");
    assert!(!verdict.valid, "{verdict:?}");
}

#[tokio::test]
async fn a_given_idempotency_key_is_replayed_across_calls_and_fresh_ones_are_not() {
    let server = TestServer::start().await;
    let admin = server.client(ADMIN).await;
    let alice = server.client(ALICE).await;
    let (org, ws) = org_with_editor(&admin).await;
    let request = ws_key(&org, &ws);

    let token = IdempotencyKey::new("nightly-job-2026-01-01").expect("token");
    let first = alice
        .create_key_with_idempotency_key(&request, &token)
        .await
        .expect("first");
    let second = alice
        .create_key_with_idempotency_key(&request, &token)
        .await
        .expect("second");
    assert!(!first.is_replayed());
    assert!(second.is_replayed());
    assert_eq!(first.view().id, second.view().id);

    // The very same request without a token of the caller's own: each
    // call generates one, so both mint, even within the same second.
    let third = alice.create_key(&request).await.expect("third");
    let fourth = alice.create_key(&request).await.expect("fourth");
    assert!(!third.is_replayed() && !fourth.is_replayed());
    assert_ne!(third.view().id, fourth.view().id);
    let keys = admin.list_keys_page(&all_keys(&org)).await.expect("keys");
    assert_eq!(keys.items.len(), 3);
}

#[tokio::test]
async fn a_throttled_workspace_create_is_retried_because_it_was_never_served() {
    let server = TestServer::start().await;
    let admin = server.client(ADMIN).await;
    let (org, _) = org_with_editor(&admin).await;

    server
        .faults
        .plan(Method::POST, "/workspaces", Fault::Throttle);
    let ws = admin
        .create_workspace(
            &org,
            &CreateWorkspace {
                name: "staging".to_owned(),
            },
        )
        .await
        .expect("create after a 429");
    assert_eq!(ws.name, "staging");
    assert_eq!(server.faults.hits(&Method::POST, "/workspaces"), 3);
    let workspaces = admin.list_workspaces(&org).await.expect("list");
    assert_eq!(workspaces.items.len(), 2);
}

#[tokio::test]
async fn a_workspace_create_that_timed_out_is_not_repeated() {
    let server = TestServer::start().await;
    let admin = server.client(ADMIN).await;
    let (org, _) = org_with_editor(&admin).await;
    let impatient = server
        .builder(ADMIN)
        .timeout(Duration::from_millis(300))
        .build()
        .await
        .expect("client");

    server.faults.plan(Method::POST, "/workspaces", Fault::Hang);
    let err = impatient
        .create_workspace(
            &org,
            &CreateWorkspace {
                name: "staging".to_owned(),
            },
        )
        .await
        .expect_err("timeout");
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    // One from the setup, one that timed out; never a third.
    assert_eq!(server.faults.hits(&Method::POST, "/workspaces"), 2);
}

#[tokio::test]
async fn a_usage_report_whose_answer_was_lost_is_not_counted_twice() {
    let server = TestServer::start().await;
    let admin = server.client(ADMIN).await;
    let alice = server.client(ALICE).await;
    let reporter = server.client(REPORTER).await;
    let (org, ws) = org_with_editor(&admin).await;
    let key = alice
        .create_key(&ws_key(&org, &ws))
        .await
        .expect("create")
        .view()
        .id
        .clone();

    server
        .faults
        .plan(Method::POST, "/v1/usage", Fault::LoseAnswer);
    let err = reporter
        .report_usage(&ReportUsage {
            key_id: key.clone(),
            model: "gpt-4o".to_owned(),
            input_tokens: 1,
            output_tokens: 1,
            requests: None,
        })
        .await
        .expect_err("lost answer");
    assert_eq!(err.status(), Some(StatusCode::BAD_GATEWAY));
    assert_eq!(err.code(), Some("HTTP_502"));
    assert_eq!(server.faults.hits(&Method::POST, "/v1/usage"), 1);
    let usage = alice
        .key_usage(&key, &UsageRange::default())
        .await
        .expect("usage");
    assert_eq!(usage.items.len(), 1);
    assert_eq!(usage.items[0].requests, 1);
}

#[tokio::test]
async fn a_member_removal_whose_answer_was_lost_still_succeeds() {
    let server = TestServer::start().await;
    let admin = server.client(ADMIN).await;
    let (org, _) = org_with_editor(&admin).await;

    server.faults.plan(Method::DELETE, "", Fault::LoseAnswer);
    admin
        .remove_member(&org, &arn(ALICE))
        .await
        .expect("removed");
    // Each attempt is signed afresh, even within the same second: the
    // server refuses the very same signed write twice (REQUEST_REPLAYED).
    let attempts = server.faults.authorizations(&Method::DELETE, "");
    assert_eq!(attempts.len(), 2);
    assert_ne!(attempts[0], attempts[1]);
    let members = admin.list_members(&org).await.expect("members");
    assert!(!members.items.iter().any(|m| m.principal == arn(ALICE)));
}

#[tokio::test]
async fn attempts_are_bounded() {
    let server = TestServer::start().await;
    let admin = server.client(ADMIN).await;
    let (org, _) = org_with_editor(&admin).await;
    for _ in 0..5 {
        server.faults.plan(Method::GET, "/members", Fault::Throttle);
    }
    let err = admin.list_members(&org).await.expect_err("throttled");
    assert_eq!(err.status(), Some(StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(server.faults.hits(&Method::GET, "/members"), 4);
}
