//! Core-level tests of verify's answers, whoami, leak reports, usage and the
//! audit log, and of failing closed when the store fails.
#![allow(clippy::unwrap_used)]

use keyplane_core::key_format::{ApiKey, KeyEnv};
use keyplane_core::service::{
    AuditQuery, IdempotencyToken, PatchKey, ReportLeak, ReportUsage, RollKey, UsageRange,
    VerifyCode, VerifyKey,
};
use keyplane_tests::Rolled;
use keyplane_tests::{caller, workspace_key, World, ADMIN, REPORTER};

#[tokio::test]
async fn malformed_keys_are_rejected_with_their_reason_before_any_lookup() {
    let world = World::new();
    let wrong_checksum = format!("kp_live_{}", "A".repeat(38));
    let cases = [
        ("sk_live_abc", "WRONG_PREFIX"),
        ("kp_live_short", "WRONG_LENGTH"),
        (
            "kp_live_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
            "BAD_ALPHABET",
        ),
        (wrong_checksum.as_str(), "BAD_CHECKSUM"),
    ];
    for (text, reason) in cases {
        let verdict = world.verify(&ApiKey::from_plaintext(text)).await;
        assert_eq!(
            (verdict.code, verdict.reason.as_deref()),
            (VerifyCode::Malformed, Some(reason)),
            "{text}"
        );
        assert!(!verdict.valid);
    }
    assert_eq!(
        world.verify(&ApiKey::mint(KeyEnv::Test)).await.code,
        VerifyCode::NotFound
    );
}

#[tokio::test]
async fn whoami_answers_the_identity_or_an_unauthenticated_error() {
    let world = World::new();
    let (org, ws) = world.org().await;
    let key = world.create(ADMIN, workspace_key(&org, &ws)).await.unwrap();
    let me = world
        .keyplane
        .whoami(ApiKey::from_plaintext(key.key.expose()))
        .await
        .unwrap();
    assert_eq!(me.key_id.as_ref(), Some(&key.view.id));
    let err = world
        .keyplane
        .whoami(ApiKey::mint(KeyEnv::Test))
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind, err.code),
        (keyplane_core::ErrorKind::Unauthenticated, "NOT_FOUND")
    );
}

#[tokio::test]
async fn leak_reports_disable_real_keys_and_answer_the_same_for_anything() {
    let world = World::new();
    let (org, ws) = world.org().await;
    let key = world.create(ADMIN, workspace_key(&org, &ws)).await.unwrap();
    for text in [
        "junk".to_owned(),
        ApiKey::mint(KeyEnv::Test).expose().to_owned(),
        key.key.expose().to_owned(),
    ] {
        let report = ReportLeak {
            key: ApiKey::from_plaintext(text),
            source: Some("https://paste.example/1".into()),
        };
        assert_eq!(
            world
                .keyplane
                .report_leak(report, Some("req-leak".into()))
                .await,
            Ok(())
        );
    }
    assert_eq!(world.verify(&key.key).await.code, VerifyCode::Disabled);

    let admin = caller(ADMIN);
    let enable = PatchKey {
        enabled: Some(true),
        ..PatchKey::default()
    };
    assert_eq!(
        world
            .keyplane
            .patch_key(&admin, &key.view.id, enable.clone())
            .await
            .unwrap_err()
            .code,
        "KEY_LEAKED"
    );
    // Rolling replaces the leaked secret with no grace, then the key may be enabled.
    let rolled = world
        .keyplane
        .roll_key(
            &admin,
            &key.view.id,
            RollKey {
                grace_seconds: 3600,
            },
            None,
        )
        .await
        .rolled()
        .unwrap();
    world
        .keyplane
        .patch_key(&admin, &key.view.id, enable)
        .await
        .unwrap();
    assert_eq!(world.verify(&rolled.key).await.code, VerifyCode::Valid);
    assert_eq!(world.verify(&key.key).await.code, VerifyCode::NotFound);

    let audit = world
        .keyplane
        .audit_log(&admin, &org, AuditQuery::default())
        .await
        .unwrap();
    let leak = audit
        .items
        .iter()
        .find(|e| e.action == "key.leak_reported")
        .unwrap();
    assert_eq!(
        (leak.actor.as_str(), leak.target.as_str()),
        ("anonymous", key.view.id.as_str())
    );
    assert_eq!(leak.source.as_deref(), Some("https://paste.example/1"));
}

#[tokio::test]
async fn usage_is_counted_per_key_model_and_day() {
    let world = World::new();
    let (org, ws) = world.org().await;
    let key = world.create(ADMIN, workspace_key(&org, &ws)).await.unwrap();
    let report = |model: &str, input, output| ReportUsage {
        key_id: key.view.id.clone(),
        model: model.into(),
        input_tokens: input,
        output_tokens: output,
        requests: None,
    };
    let reporter = caller(REPORTER);
    world
        .keyplane
        .report_usage(&reporter, report("gpt-4o", 100, 10))
        .await
        .unwrap();
    world
        .keyplane
        .report_usage(&reporter, report("gpt-4o", 50, 5))
        .await
        .unwrap();
    world.clock.advance(chrono::Duration::days(1));
    world
        .keyplane
        .report_usage(&reporter, report("o3", 7, 3))
        .await
        .unwrap();

    let usage = world
        .keyplane
        .key_usage(&caller(ADMIN), &key.view.id, UsageRange::default())
        .await
        .unwrap();
    let rows: Vec<_> = usage
        .items
        .iter()
        .map(|r| {
            (
                r.model.as_str(),
                r.requests,
                r.input_tokens,
                r.output_tokens,
            )
        })
        .collect();
    assert_eq!(rows, vec![("gpt-4o", 2, 150, 15), ("o3", 1, 7, 3)]);
    assert!(world
        .keyplane
        .get_key(&caller(ADMIN), &key.view.id)
        .await
        .unwrap()
        .last_used_at
        .is_some());

    let err = world
        .keyplane
        .report_usage(
            &caller(ADMIN.replace("admin", "x").as_str()),
            report("gpt-4o", 1, 1),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, "USAGE_REPORTER_REQUIRED");
    let err = world
        .keyplane
        .key_usage(
            &caller(ADMIN),
            &key.view.id,
            UsageRange {
                from: Some(chrono::NaiveDate::MAX),
                to: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, "INVALID_RANGE");
}

#[tokio::test]
async fn every_management_action_is_audited_with_actor_source_and_request_id() {
    let world = World::new();
    let (org, ws) = world.org().await;
    let admin = caller(ADMIN);
    let tick = || world.clock.advance(chrono::Duration::seconds(1));
    tick();
    let key = world.create(ADMIN, workspace_key(&org, &ws)).await.unwrap();
    tick();
    world
        .keyplane
        .roll_key(&admin, &key.view.id, RollKey::default(), None)
        .await
        .rolled()
        .unwrap();
    tick();
    world
        .keyplane
        .revoke_key(&admin, &key.view.id)
        .await
        .unwrap();
    let audit = world
        .keyplane
        .audit_log(&admin, &org, AuditQuery::default())
        .await
        .unwrap();
    let mut actions: Vec<_> = audit.items.iter().map(|e| e.action.as_str()).collect();
    // Organization and workspace were created in the same instant.
    actions[3..].sort_unstable();
    assert_eq!(
        actions,
        vec![
            "key.revoke",
            "key.roll",
            "key.create",
            "organization.create",
            "workspace.create"
        ]
    );
    for event in &audit.items {
        assert_eq!(event.actor, ADMIN);
        assert_eq!(event.source.as_deref(), Some("keyplane-tests/1.0"));
        assert_eq!(event.request_id.as_deref(), Some("req-test"));
    }
}

#[tokio::test]
async fn bad_verify_constraints_are_errors_not_answers() {
    let world = World::new();
    let key = ApiKey::mint(KeyEnv::Test);
    let err = world
        .keyplane
        .verify(VerifyKey {
            key,
            permissions: vec![],
            workspace_id: None,
            cost: Some(0),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, "INVALID_COST");
}

#[tokio::test]
async fn a_key_pasted_into_any_stored_field_is_refused() {
    let world = World::new();
    let (org, ws) = world.org().await;
    let key = world.create(ADMIN, workspace_key(&org, &ws)).await.unwrap();
    let pasted = key.key.expose().to_owned();

    let report = ReportUsage {
        key_id: key.view.id.clone(),
        model: pasted.clone(),
        input_tokens: 1,
        output_tokens: 1,
        requests: None,
    };
    let err = world
        .keyplane
        .report_usage(&caller(REPORTER), report)
        .await
        .unwrap_err();
    assert_eq!(err.code, "LOOKS_LIKE_A_KEY");

    let err = world
        .keyplane
        .create_key(
            &caller(ADMIN),
            workspace_key(&org, &ws),
            Some(&IdempotencyToken::Client(pasted.clone())),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, "LOOKS_LIKE_A_KEY");
    assert!(!err.message.contains(&pasted[8..]));
}
