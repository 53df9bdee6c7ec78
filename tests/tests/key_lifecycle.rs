//! Core-level tests of the key lifecycle: create, read, list, patch,
//! enable/disable, roll with grace, two-phase create, expiry and revoke.
#![allow(clippy::unwrap_used)]

use chrono::Duration;
use keyplane_core::key::{DisplayStatus, KeyRole};
use keyplane_core::service::{ListKeys, PatchKey, RollKey, VerifyCode};
use keyplane_tests::Rolled;
use keyplane_tests::{caller, workspace_key, World, ADMIN};

#[tokio::test]
async fn created_key_verifies_and_is_shown_masked_afterwards() {
    let world = World::new();
    let (org, ws) = world.org().await;
    let created = world.create(ADMIN, workspace_key(&org, &ws)).await.unwrap();

    let verdict = world.verify(&created.key).await;
    assert_eq!(verdict.code, VerifyCode::Valid);
    assert!(verdict.valid);
    assert_eq!(verdict.actor.as_deref(), Some("ci"));
    assert_eq!(verdict.workspace_id.as_ref(), Some(&ws));

    let view = world
        .keyplane
        .get_key(&caller(ADMIN), &created.view.id)
        .await
        .unwrap();
    let plaintext = created.key.expose();
    assert!(view.hint.starts_with(&plaintext[..11]));
    assert!(view.hint.ends_with(&plaintext[plaintext.len() - 4..]));
    assert!(!serde_json_contains(&view, plaintext));
    assert_eq!(view.status, DisplayStatus::Active);
}

#[tokio::test]
async fn name_defaults_to_the_key_id() {
    let world = World::new();
    let (org, ws) = world.org().await;
    let created = world
        .create(
            ADMIN,
            keyplane_core::service::CreateKey {
                name: None,
                ..workspace_key(&org, &ws)
            },
        )
        .await
        .unwrap();
    assert_eq!(created.view.name, created.view.id.to_string());
}

#[tokio::test]
async fn patch_changes_what_verify_sees_at_once() {
    let world = World::new();
    let (org, ws) = world.org().await;
    let created = world.create(ADMIN, workspace_key(&org, &ws)).await.unwrap();
    let id = created.view.id.clone();
    let admin = caller(ADMIN);

    let patched = world
        .keyplane
        .patch_key(
            &admin,
            &id,
            PatchKey {
                name: Some("renamed".into()),
                role: Some(KeyRole::Viewer),
                permissions: Some(vec!["models:gpt-4o".into()]),
                if_version: Some(1),
                ..PatchKey::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(patched.version, 2);
    let verdict = world
        .verify_with(&created.key, vec!["models:gpt-4o".into()], None, None)
        .await;
    assert_eq!(verdict.code, VerifyCode::Valid);
    assert_eq!(verdict.actor.as_deref(), Some("renamed"));
    assert_eq!(verdict.role, Some(KeyRole::Viewer));
    let verdict = world
        .verify_with(&created.key, vec!["models:o3".into()], None, None)
        .await;
    assert_eq!(verdict.code, VerifyCode::Forbidden);

    // A stale if_version is refused and changes nothing.
    let stale = world
        .keyplane
        .patch_key(
            &admin,
            &id,
            PatchKey {
                name: Some("late".into()),
                if_version: Some(1),
                ..PatchKey::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(stale.code, "VERSION_CONFLICT");
    assert_eq!(
        world.keyplane.get_key(&admin, &id).await.unwrap().name,
        "renamed"
    );
}

#[tokio::test]
async fn disable_and_enable() {
    let world = World::new();
    let (org, ws) = world.org().await;
    let created = world.create(ADMIN, workspace_key(&org, &ws)).await.unwrap();
    let id = created.view.id.clone();
    let admin = caller(ADMIN);

    world
        .keyplane
        .patch_key(
            &admin,
            &id,
            PatchKey {
                enabled: Some(false),
                ..PatchKey::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(world.verify(&created.key).await.code, VerifyCode::Disabled);
    world
        .keyplane
        .patch_key(
            &admin,
            &id,
            PatchKey {
                enabled: Some(true),
                ..PatchKey::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(world.verify(&created.key).await.code, VerifyCode::Valid);
}

#[tokio::test]
async fn roll_keeps_the_old_secret_for_exactly_the_grace_period() {
    let world = World::new();
    let (org, ws) = world.org().await;
    let created = world.create(ADMIN, workspace_key(&org, &ws)).await.unwrap();
    let id = created.view.id.clone();

    let rolled = world
        .keyplane
        .roll_key(&caller(ADMIN), &id, RollKey { grace_seconds: 60 }, None)
        .await
        .rolled()
        .unwrap();
    assert_eq!(rolled.view.id, created.view.id, "same key id across rolls");
    assert_ne!(rolled.key.expose(), created.key.expose());
    assert_eq!(
        rolled.previous_expires_at,
        world.clock.now_for_tests() + Duration::seconds(60)
    );

    assert_eq!(world.verify(&created.key).await.code, VerifyCode::Valid);
    assert_eq!(world.verify(&rolled.key).await.code, VerifyCode::Valid);
    world.clock.advance(Duration::seconds(59));
    assert_eq!(world.verify(&created.key).await.code, VerifyCode::Valid);
    world.clock.advance(Duration::seconds(1));
    assert_eq!(world.verify(&created.key).await.code, VerifyCode::Expired);
    assert_eq!(world.verify(&rolled.key).await.code, VerifyCode::Valid);
}

#[tokio::test]
async fn roll_without_grace_stops_the_old_secret_at_once_and_a_second_roll_drops_the_oldest() {
    let world = World::new();
    let (org, ws) = world.org().await;
    let first = world.create(ADMIN, workspace_key(&org, &ws)).await.unwrap();
    let id = first.view.id.clone();
    let admin = caller(ADMIN);

    let second = world
        .keyplane
        .roll_key(&admin, &id, RollKey { grace_seconds: 0 }, None)
        .await
        .rolled()
        .unwrap();
    assert_eq!(world.verify(&first.key).await.code, VerifyCode::NotFound);
    let third = world
        .keyplane
        .roll_key(
            &admin,
            &id,
            RollKey {
                grace_seconds: 3600,
            },
            None,
        )
        .await
        .rolled()
        .unwrap();
    let fourth = world
        .keyplane
        .roll_key(
            &admin,
            &id,
            RollKey {
                grace_seconds: 3600,
            },
            None,
        )
        .await
        .rolled()
        .unwrap();
    assert_eq!(
        world.verify(&second.key).await.code,
        VerifyCode::NotFound,
        "only the latest previous secret keeps its grace"
    );
    assert_eq!(world.verify(&third.key).await.code, VerifyCode::Valid);
    assert_eq!(world.verify(&fourth.key).await.code, VerifyCode::Valid);
}

#[tokio::test]
async fn grace_out_of_range_is_refused() {
    let world = World::new();
    let (org, ws) = world.org().await;
    let created = world.create(ADMIN, workspace_key(&org, &ws)).await.unwrap();
    let err = world
        .keyplane
        .roll_key(
            &caller(ADMIN),
            &created.view.id,
            RollKey {
                grace_seconds: 86_401,
            },
            None,
        )
        .await
        .rolled()
        .unwrap_err();
    assert_eq!(err.code, "GRACE_OUT_OF_RANGE");
    assert_eq!(
        world.verify(&created.key).await.code,
        VerifyCode::Valid,
        "nothing changed"
    );
}

#[tokio::test]
async fn revoke_is_immediate_and_final() {
    let world = World::new();
    let (org, ws) = world.org().await;
    let created = world.create(ADMIN, workspace_key(&org, &ws)).await.unwrap();
    let id = created.view.id.clone();
    let admin = caller(ADMIN);
    let rolled = world
        .keyplane
        .roll_key(&admin, &id, RollKey { grace_seconds: 600 }, None)
        .await
        .rolled()
        .unwrap();

    let revoked = world.keyplane.revoke_key(&admin, &id).await.unwrap();
    assert_eq!(revoked.status, DisplayStatus::Revoked);
    assert_eq!(world.verify(&created.key).await.code, VerifyCode::Revoked);
    assert_eq!(world.verify(&rolled.key).await.code, VerifyCode::Revoked);

    for err in [
        world
            .keyplane
            .patch_key(
                &admin,
                &id,
                PatchKey {
                    enabled: Some(true),
                    ..PatchKey::default()
                },
            )
            .await
            .unwrap_err(),
        world
            .keyplane
            .roll_key(&admin, &id, RollKey::default(), None)
            .await
            .rolled()
            .unwrap_err(),
        world
            .keyplane
            .activate_key(&admin, &id, Default::default())
            .await
            .unwrap_err(),
    ] {
        assert_eq!(err.code, "KEY_REVOKED");
    }
    // Revoking again changes nothing.
    assert_eq!(
        world
            .keyplane
            .revoke_key(&admin, &id)
            .await
            .unwrap()
            .version,
        revoked.version
    );
    assert_eq!(world.verify(&rolled.key).await.code, VerifyCode::Revoked);
}

#[tokio::test]
async fn expiry_is_checked_with_the_clock() {
    let world = World::new();
    let (org, ws) = world.org().await;
    let now = world.clock.now_for_tests();
    let created = world
        .create(
            ADMIN,
            keyplane_core::service::CreateKey {
                expires_at: Some(now + Duration::hours(1)),
                ..workspace_key(&org, &ws)
            },
        )
        .await
        .unwrap();
    assert_eq!(world.verify(&created.key).await.code, VerifyCode::Valid);
    world.clock.advance(Duration::hours(1));
    assert_eq!(world.verify(&created.key).await.code, VerifyCode::Expired);
    let view = world
        .keyplane
        .get_key(&caller(ADMIN), &created.view.id)
        .await
        .unwrap();
    assert_eq!(view.status, DisplayStatus::Expired);

    let past = world
        .create(
            ADMIN,
            keyplane_core::service::CreateKey {
                expires_at: Some(now),
                ..workspace_key(&org, &ws)
            },
        )
        .await
        .unwrap_err();
    assert_eq!(past.code, "EXPIRY_IN_PAST");
}

#[tokio::test]
async fn two_phase_create_needs_activation_within_an_hour() {
    let world = World::new();
    let (org, ws) = world.org().await;
    let admin = caller(ADMIN);
    let pending = world
        .create(
            ADMIN,
            keyplane_core::service::CreateKey {
                activate: Some(false),
                ..workspace_key(&org, &ws)
            },
        )
        .await
        .unwrap();
    assert_eq!(pending.view.status, DisplayStatus::Pending);
    assert_eq!(world.verify(&pending.key).await.code, VerifyCode::Pending);
    let active = world
        .keyplane
        .activate_key(&admin, &pending.view.id.clone(), Default::default())
        .await
        .unwrap();
    assert_eq!(active.status, DisplayStatus::Active);
    assert_eq!(world.verify(&pending.key).await.code, VerifyCode::Valid);
    // Activating twice is harmless (the provider may retry).
    assert_eq!(
        world
            .keyplane
            .activate_key(&admin, &pending.view.id.clone(), Default::default())
            .await
            .unwrap()
            .version,
        active.version
    );

    let late = world
        .create(
            ADMIN,
            keyplane_core::service::CreateKey {
                activate: Some(false),
                ..workspace_key(&org, &ws)
            },
        )
        .await
        .unwrap();
    world.clock.advance(Duration::minutes(61));
    let err = world
        .keyplane
        .activate_key(&admin, &late.view.id.clone(), Default::default())
        .await
        .unwrap_err();
    assert_eq!(err.code, "PENDING_EXPIRED");
    assert_eq!(world.verify(&late.key).await.code, VerifyCode::Pending);
    let view = world
        .keyplane
        .get_key(&admin, &late.view.id.clone())
        .await
        .unwrap();
    assert_eq!(view.status, DisplayStatus::Expired);
}

#[tokio::test]
async fn listing_filters_and_pages_newest_first() {
    let world = World::new();
    let (org, ws) = world.org().await;
    let other_ws = world.workspace(&org, "staging").await;
    let admin = caller(ADMIN);
    let mut ids = Vec::new();
    for i in 0..7 {
        world.clock.advance(Duration::seconds(1));
        let target = if i % 2 == 0 { &ws } else { &other_ws };
        ids.push(
            world
                .create(ADMIN, workspace_key(&org, target))
                .await
                .unwrap()
                .view
                .id,
        );
    }
    world
        .keyplane
        .revoke_key(&admin, &ids[0].clone())
        .await
        .unwrap();

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = world
            .keyplane
            .list_keys(
                &admin,
                ListKeys {
                    organization_id: org.clone(),
                    workspace_id: None,
                    status: None,
                    cursor,
                    limit: Some(3),
                },
            )
            .await
            .unwrap();
        seen.extend(page.items.into_iter().map(|k| k.id));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(seen, newest_first);

    let in_ws = world
        .keyplane
        .list_keys(
            &admin,
            ListKeys {
                organization_id: org.clone(),
                workspace_id: Some(ws.clone()),
                status: None,
                cursor: None,
                limit: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(in_ws.items.len(), 4);
    let revoked = world
        .keyplane
        .list_keys(
            &admin,
            ListKeys {
                organization_id: org.clone(),
                workspace_id: None,
                status: Some(DisplayStatus::Revoked),
                cursor: None,
                limit: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        revoked
            .items
            .iter()
            .map(|k| k.id.clone())
            .collect::<Vec<_>>(),
        vec![ids[0].clone()]
    );

    let bad = world
        .keyplane
        .list_keys(
            &admin,
            ListKeys {
                organization_id: org,
                workspace_id: None,
                status: None,
                cursor: Some("garbage!".into()),
                limit: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(bad.code, "INVALID_CURSOR");
}

fn serde_json_contains(view: &keyplane_core::service::KeyView, needle: &str) -> bool {
    serde_json::to_string(view).unwrap().contains(needle)
}

trait NowForTests {
    fn now_for_tests(&self) -> chrono::DateTime<chrono::Utc>;
}

impl NowForTests for keyplane_core::clock::ManualClock {
    fn now_for_tests(&self) -> chrono::DateTime<chrono::Utc> {
        keyplane_core::clock::Clock::now(self)
    }
}
