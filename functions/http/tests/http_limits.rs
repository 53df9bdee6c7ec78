//! Abuse limits through the real Router: per-source rates on the data
//! plane, per-principal rates on management, the header ceiling and the
//! request deadline. Every refusal is problem+json with a stable code and
//! changes nothing.

mod common;

use std::num::NonZeroU32;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use common::failing_store::FailingStore;
use common::{ws_key, Req, TestApp, ADMIN};
use keyplane_http::{Limits, Rate};
use serde_json::json;

fn n(value: u32) -> NonZeroU32 {
    NonZeroU32::new(value).expect("not zero")
}

/// Tight budgets, so a test reaches them in a few calls.
fn tight() -> Limits {
    Limits {
        data_plane: Some(Rate::per_minute(n(1), n(3))),
        leak_reports: Some(Rate::per_minute(n(1), n(2))),
        management: Some(Rate::per_minute(n(1), n(8))),
        ..Limits::default()
    }
}

fn verify(key: &str, ip: &str) -> Req {
    Req::new("POST", "/v1/keys/verify")
        .json(&json!({ "key": key }))
        .sent_from(ip)
}

#[tokio::test]
async fn verify_past_its_budget_is_429_with_retry_after_and_other_sources_go_on() {
    let app = TestApp::with_limits(tight());
    let (org, ws) = app.setup_org().await;
    let (key, _) = app.new_key(ADMIN, ws_key(&org, &ws)).await;

    for _ in 0..3 {
        let answer = app.send(verify(&key, "192.0.2.7")).await;
        answer.expect(200);
        assert_eq!(answer.json["code"], "VALID");
    }
    let refused = app.send(verify(&key, "192.0.2.7")).await;
    refused.expect_problem(429, "RATE_LIMITED");
    let wait: u64 = refused
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("whole seconds");
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    assert!(refused.json["request_id"].is_string());
    assert!(
        !refused.body_text.contains(&key),
        "a refusal never echoes the key"
    );

    // whoami shares the budget: same address, same refusal.
    let whoami = Req::new("GET", "/v1/whoami")
        .header("authorization", &format!("Bearer {key}"))
        .sent_from("192.0.2.7");
    app.send(whoami).await.expect_problem(429, "RATE_LIMITED");

    // Another address, and another IPv6 /64, have budgets of their own.
    app.send(verify(&key, "192.0.2.8")).await.expect(200);
    app.send(verify(&key, "2001:db8:0:1::1")).await.expect(200);
    app.send(verify(&key, "2001:db8:0:1::2")).await.expect(200);
    app.send(verify(&key, "2001:db8:0:1::3")).await.expect(200);
    app.send(verify(&key, "2001:db8:0:1::4"))
        .await
        .expect_problem(429, "RATE_LIMITED");
    app.send(verify(&key, "2001:db8:0:2::1")).await.expect(200);

    // Health and the contract are never limited.
    for _ in 0..5 {
        app.send(Req::new("GET", "/healthz").sent_from("192.0.2.7"))
            .await
            .expect(200);
    }
}

#[tokio::test]
async fn a_flood_of_leak_reports_disables_no_key_without_its_audit_event() {
    let app = TestApp::with_limits(Limits {
        management: None,
        ..tight()
    });
    let (org, ws) = app.setup_org().await;
    let mut keys = Vec::new();
    for _ in 0..6 {
        keys.push(app.new_key(ADMIN, ws_key(&org, &ws)).await.0);
    }

    // Two addresses report all six keys, all at once.
    let reports = keys.iter().enumerate().flat_map(|(i, key)| {
        ["198.51.100.1", "198.51.100.2"].map(|ip| {
            let app = &app;
            let req = Req::new("POST", "/v1/keys/report-leak")
                .json(&json!({ "key": key, "source": format!("scanner-{i}") }))
                .sent_from(ip);
            async move { app.send(req).await }
        })
    });
    let answers = futures::future::join_all(reports).await;
    let accepted = answers.iter().filter(|a| a.status == 202).count();
    let refused = answers.iter().filter(|a| a.status == 429).count();
    assert_eq!(
        accepted + refused,
        12,
        "every report is either taken or refused"
    );
    assert_eq!(accepted, 4, "two per address within the burst");
    for answer in answers.iter().filter(|a| a.status == 429) {
        answer.expect_problem(429, "RATE_LIMITED");
    }

    // Each check from its own address, so the checks fit their budget.
    let mut disabled = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let verdict = app.send(verify(key, &format!("203.0.113.{i}"))).await;
        if verdict.expect(200).json["code"] != "VALID" {
            disabled.push(key);
        }
    }
    let audit = app.audit(&org).await;
    let leak_events = audit
        .iter()
        .filter(|e| {
            e["action"]
                .as_str()
                .is_some_and(|a| a.starts_with("key.leak_reported"))
        })
        .count();
    assert!(!disabled.is_empty(), "accepted reports took effect");
    assert!(
        disabled.len() <= leak_events,
        "{} keys disabled, {leak_events} leak events audited",
        disabled.len()
    );
    assert_eq!(
        leak_events, accepted,
        "every accepted report is audited, no more"
    );
}

#[tokio::test]
async fn management_is_limited_per_principal_and_a_refused_create_mints_nothing() {
    let app = TestApp::with_limits(tight());
    let (org, ws) = app.setup_org().await;
    app.member(&org, "alice", "owner", &[]).await;
    app.member(&org, "bob", "owner", &[]).await;

    let mut minted = 0;
    let mut refusal = None;
    for _ in 0..10 {
        let answer = app.create_key_answer("alice", ws_key(&org, &ws)).await;
        match answer.status.as_u16() {
            201 => minted += 1,
            429 => {
                refusal = Some(answer);
                break;
            }
            other => panic!("unexpected {other}: {}", answer.body_text),
        }
    }
    let refusal = refusal.expect("alice ran out of budget");
    refusal.expect_problem(429, "RATE_LIMITED");
    assert!(refusal.header("retry-after").is_some());
    assert!(!refusal.body_text.contains("key_"), "no key in a refusal");

    // Bob, in the same organization, is unaffected.
    app.create_key_answer("bob", ws_key(&org, &ws))
        .await
        .expect(201);
    let keys = app.keys(&org).await;
    assert_eq!(keys.len(), minted + 1, "exactly the answered creates exist");
}

#[tokio::test]
async fn oversized_headers_are_431_and_change_nothing() {
    let app = TestApp::with_limits(Limits {
        max_header_bytes: 2048,
        ..Limits::default()
    });
    let (org, ws) = app.setup_org().await;
    let filler = "x".repeat(4096);
    let answer = app
        .send(
            Req::new("POST", "/v1/keys")
                .by(ADMIN)
                .json(&ws_key(&org, &ws))
                .header("x-filler", &filler),
        )
        .await;
    answer.expect_problem(431, "HEADERS_TOO_LARGE");
    assert!(!answer.body_text.contains(&filler));
    assert!(app.keys(&org).await.is_empty());
}

#[tokio::test]
async fn a_request_past_its_deadline_is_503_timed_out_not_an_answer() {
    let (store, faults) = FailingStore::new();
    let app = TestApp::with_store_and_limits(
        Arc::new(store),
        Limits {
            request_timeout: Duration::from_millis(200),
            ..Limits::default()
        },
    );
    let (org, ws) = app.setup_org().await;
    let (key, _) = app.new_key(ADMIN, ws_key(&org, &ws)).await;

    faults.hang.store(true, Ordering::SeqCst);
    let answer = app.send(verify(&key, "192.0.2.9")).await;
    answer.expect_problem(503, "TIMED_OUT");
    assert_eq!(answer.header("retry-after"), Some("1"));

    faults.hang.store(false, Ordering::SeqCst);
    app.send(verify(&key, "192.0.2.9")).await.expect(200);
}

#[tokio::test]
async fn without_rates_nothing_is_refused() {
    let app = TestApp::with_limits(Limits::without_rates());
    let (org, ws) = app.setup_org().await;
    let (key, _) = app.new_key(ADMIN, ws_key(&org, &ws)).await;
    for _ in 0..50 {
        app.send(verify(&key, "192.0.2.10")).await.expect(200);
    }
}
