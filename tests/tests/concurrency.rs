//! Concurrency through the use cases: quotas hold, credits never go below
//! zero, idempotent creates mint one key, and no personal key outlives its
//! creator's rights whatever the interleaving.
#![allow(clippy::unwrap_used)]

use futures::future::join_all;
use keyplane_core::id::{OrgId, WorkspaceId};
use keyplane_core::key::KeyType;
use keyplane_core::service::CreatedKey;
use keyplane_core::service::{CreateKey, CreateOutcome, IdempotencyToken, ListKeys, VerifyCode};
use keyplane_core::tenancy::{OrgRole, WorkspaceRole};
use keyplane_core::Error;
use keyplane_tests::{caller, principal, workspace_key, World, ADMIN};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_creates_against_a_quota_of_ten_make_exactly_ten_keys() {
    let world = World::new();
    let (org, ws) = world.org_with_quota(Some(10)).await;
    let attempts = (0..50).map(|_| {
        let world = world.clone();
        let req = workspace_key(&org, &ws);
        tokio::spawn(async move { world.create(ADMIN, req).await })
    });
    let results: Vec<_> = join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let created = results.iter().filter(|r| r.is_ok()).count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(e) if e.code == "KEY_QUOTA_EXCEEDED"))
        .count();
    assert_eq!((created, refused), (10, 40));
    let org_now = world
        .keyplane
        .get_organization(&caller(ADMIN), &org)
        .await
        .unwrap();
    assert_eq!(org_now.key_count, 10);

    // Revoking one frees one slot, and only one.
    let first = results.iter().find_map(|r| r.as_ref().ok()).unwrap();
    world
        .keyplane
        .revoke_key(&caller(ADMIN), &first.view.id)
        .await
        .unwrap();
    assert!(world.create(ADMIN, workspace_key(&org, &ws)).await.is_ok());
    assert_eq!(
        world
            .create(ADMIN, workspace_key(&org, &ws))
            .await
            .unwrap_err()
            .code,
        "KEY_QUOTA_EXCEEDED"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_metered_verifies_never_drive_credits_below_zero() {
    let world = World::new();
    let (org, ws) = world.org().await;
    let key = world
        .create(
            ADMIN,
            CreateKey {
                credits: Some(20),
                ..workspace_key(&org, &ws)
            },
        )
        .await
        .unwrap();
    let plaintext = key.key.expose().to_owned();
    let verifies = (0..60).map(|_| {
        let world = world.clone();
        let plaintext = plaintext.clone();
        tokio::spawn(async move {
            let key = keyplane_core::key_format::ApiKey::from_plaintext(plaintext);
            world.verify_with(&key, vec![], None, Some(1)).await
        })
    });
    let verdicts: Vec<_> = join_all(verifies)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let valid = verdicts
        .iter()
        .filter(|v| v.code == VerifyCode::Valid)
        .count();
    let exceeded = verdicts
        .iter()
        .filter(|v| v.code == VerifyCode::UsageExceeded)
        .count();
    assert_eq!((valid, exceeded), (20, 40));
    let view = world
        .keyplane
        .get_key(&caller(ADMIN), &key.view.id)
        .await
        .unwrap();
    assert_eq!(view.credits_remaining, Some(0));
    assert!(view.last_used_at.is_some());

    // A cost larger than what is left spends nothing.
    let big = world
        .create(
            ADMIN,
            CreateKey {
                credits: Some(5),
                ..workspace_key(&org, &ws)
            },
        )
        .await
        .unwrap();
    assert_eq!(
        world
            .verify_with(&big.key, vec![], None, Some(6))
            .await
            .code,
        VerifyCode::UsageExceeded
    );
    let left = world.verify_with(&big.key, vec![], None, Some(5)).await;
    assert_eq!(
        (left.code, left.credits_remaining),
        (VerifyCode::Valid, Some(0))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retries_with_one_idempotency_key_mint_one_key() {
    let world = World::new();
    let (org, ws) = world.org().await;
    let admin = caller(ADMIN);
    let attempts = (0..10).map(|_| {
        let world = world.clone();
        let admin = admin.clone();
        let req = workspace_key(&org, &ws);
        tokio::spawn(async move {
            world
                .keyplane
                .create_key(
                    &admin,
                    req,
                    Some(&IdempotencyToken::Client("retry-1".to_owned())),
                )
                .await
        })
    });
    let outcomes: Vec<_> = join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    let fresh = outcomes
        .iter()
        .filter(|o| matches!(o, CreateOutcome::Created(_)))
        .count();
    assert_eq!(fresh, 1);
    let listed = world
        .keyplane
        .list_keys(
            &admin,
            ListKeys {
                organization_id: org.clone(),
                workspace_id: None,
                status: None,
                cursor: None,
                limit: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);

    let different = CreateKey {
        name: Some("other".into()),
        ..workspace_key(&org, &ws)
    };
    let err = world
        .keyplane
        .create_key(
            &admin,
            different,
            Some(&IdempotencyToken::Client("retry-1".to_owned())),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, "IDEMPOTENCY_KEY_MISMATCH");

    // Tokens are remembered for a day; after that the same token mints anew.
    world.clock.advance(chrono::Duration::hours(24));
    let later = world
        .keyplane
        .create_key(
            &admin,
            workspace_key(&org, &ws),
            Some(&IdempotencyToken::Client("retry-1".to_owned())),
        )
        .await
        .unwrap();
    assert!(matches!(later, CreateOutcome::Created(_)));
}

const BOB: &str = "arn:aws:iam::444444444444:user/bob";

/// A world where bob edits a workspace, and his personal key request.
async fn bob_the_editor(permissions: &[&str]) -> (World, OrgId, WorkspaceId, CreateKey) {
    let world = World::new();
    let (org, ws) = world.org().await;
    world
        .member(
            &org,
            BOB,
            OrgRole::Member,
            &[(&ws, WorkspaceRole::Editor)],
            None,
        )
        .await
        .unwrap();
    let personal = CreateKey {
        key_type: KeyType::Personal,
        permissions: permissions.iter().map(|p| p.to_string()).collect(),
        ..workspace_key(&org, &ws)
    };
    (world, org, ws, personal)
}

/// Sixteen creates of `personal` by bob racing `change`; their results,
/// collected after `change` has returned (and succeeded).
async fn creates_racing<F>(
    world: &World,
    personal: &CreateKey,
    change: F,
) -> Vec<Result<CreatedKey, Error>>
where
    F: std::future::Future<Output = Result<(), Error>> + Send + 'static,
{
    let creates: Vec<_> = (0..16)
        .map(|_| {
            let (world, req) = (world.clone(), personal.clone());
            tokio::spawn(async move { world.create(BOB, req).await })
        })
        .collect();
    tokio::spawn(change).await.unwrap().unwrap();
    join_all(creates)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect()
}

/// Many personal creates racing one removal: whatever interleaving the
/// scheduler picks, once the removal has returned no personal key of the
/// removed member verifies `VALID` — neither those created before nor any
/// whose creation was decided before and written after.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn personal_creates_racing_a_removal_leave_no_valid_key() {
    for _round in 0..10 {
        let (world, org, _, personal) = bob_the_editor(&["models:*"]).await;
        let removal = {
            let world = world.clone();
            async move {
                world
                    .keyplane
                    .delete_member(&caller(ADMIN), &org, &principal(BOB))
                    .await
            }
        };
        for created in creates_racing(&world, &personal, removal).await {
            match created {
                Ok(key) => assert_ne!(world.verify(&key.key).await.code, VerifyCode::Valid),
                Err(err) => assert!(
                    ["MEMBERSHIP_CHANGED", "ORGANIZATION_NOT_FOUND"].contains(&err.code),
                    "{err:?}"
                ),
            }
        }
    }
}

/// A role cut racing personal creates with the old rights: afterwards no
/// live personal key carries more than the member now holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn personal_creates_racing_a_role_cut_never_keep_the_old_rights() {
    for _round in 0..10 {
        let (world, org, ws, personal) = bob_the_editor(&["models:*"]).await;
        let cut = {
            let world = world.clone();
            async move {
                let editor = [(&ws, WorkspaceRole::Editor)];
                let small = Some(vec!["models:small".to_owned()]);
                world
                    .member(&org, BOB, OrgRole::Member, &editor, small)
                    .await
            }
        };
        for created in creates_racing(&world, &personal, cut).await {
            match created {
                Ok(key) => assert_eq!(world.verify(&key.key).await.code, VerifyCode::Disabled),
                // Decided on the old rights and refused at the write, or
                // decided on the new ones.
                Err(err) => assert!(
                    ["MEMBERSHIP_CHANGED", "PERMISSIONS_EXCEED_CREATOR"].contains(&err.code),
                    "{err:?}"
                ),
            }
        }
    }
}
