//! Core-level tests of Secrets Manager rotation: binding a key to its
//! secret, turning rotation on (as strong as minting), and the rotator's
//! stage and finish steps, each safe to repeat.
#![allow(clippy::unwrap_used)]

use chrono::Duration;
use keyplane_core::id::KeyId;
use keyplane_core::key::KeyType;
use keyplane_core::key_format::{ApiKey, KeyEnv};
use keyplane_core::service::{
    ActivateKey, AuditQuery, CreateKey, PatchKey, RollKey, Rotation, VerifyCode,
};
use keyplane_core::tenancy::{OrgRole, WorkspaceRole};
use keyplane_core::Error;
use keyplane_tests::{caller, workspace_key, Rolled, World, ADMIN, ROTATOR};

const SECRET: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ci/key-AbCdEf";
const OTHER_SECRET: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:other-XyZ123";
const ALICE: &str = "arn:aws:iam::111111111111:user/alice";
const TOKEN: &str = "4f2d2a86-0c5e-4f8e-9a59-1f0f3b9d1c11";
const TOKEN_2: &str = "7b1e3c55-2d4f-4a6b-8c9d-0e1f2a3b4c5d";

fn rotation(token: &str) -> Rotation<'_> {
    Rotation {
        secret_arn: SECRET,
        token,
    }
}

fn bind(rotation: bool) -> ActivateKey {
    ActivateKey {
        secret_arn: Some(SECRET.to_owned()),
        rotation: Some(rotation),
    }
}

/// A key created pending by `arn` and activated with its secret bound.
async fn bound_key(world: &World, arn: &str, req: CreateKey, rotate: bool) -> (KeyId, ApiKey) {
    let created = world
        .create(
            arn,
            CreateKey {
                activate: Some(false),
                ..req
            },
        )
        .await
        .unwrap();
    let view = world
        .keyplane
        .activate_key(&caller(arn), &created.view.id, bind(rotate))
        .await
        .unwrap();
    let secret = view.secret.expect("bound");
    assert_eq!(secret.arn, SECRET);
    assert_eq!(secret.rotation, rotate);
    assert_eq!(secret.bound_by.as_str(), arn);
    (created.view.id, created.key)
}

async fn stage(world: &World, id: &KeyId, token: &str, pending: &ApiKey) -> Result<(), Error> {
    world
        .keyplane
        .stage_rotation(&caller(ROTATOR), id, rotation(token), pending)
        .await
        .map(|_| ())
}

async fn finish(
    world: &World,
    id: &KeyId,
    token: &str,
    pending: &ApiKey,
    grace: u32,
) -> Result<String, Error> {
    world
        .keyplane
        .finish_rotation(&caller(ROTATOR), id, rotation(token), pending, grace)
        .await
        .map(|view| view.hint)
}

#[tokio::test]
async fn a_full_rotation_makes_the_new_secret_current_and_gives_the_old_one_its_grace() {
    let world = World::new();
    let (org, ws) = world.org().await;
    let (id, old) = bound_key(&world, ADMIN, workspace_key(&org, &ws), true).await;
    let new = ApiKey::mint(KeyEnv::Test);

    stage(&world, &id, TOKEN, &new).await.unwrap();
    stage(&world, &id, TOKEN, &new).await.unwrap();
    // testSecret: the staged secret verifies, and the current one still does.
    assert_eq!(world.verify(&new).await.code, VerifyCode::Valid);
    assert_eq!(world.verify(&old).await.code, VerifyCode::Valid);

    world.clock.advance(Duration::minutes(10));
    let hint = finish(&world, &id, TOKEN, &new, 300).await.unwrap();
    assert_eq!(hint, new.hint());
    assert_eq!(finish(&world, &id, TOKEN, &new, 300).await.unwrap(), hint);

    // The grace counts from finishSecret, not from setSecret.
    world.clock.advance(Duration::seconds(299));
    assert_eq!(world.verify(&old).await.code, VerifyCode::Valid);
    world.clock.advance(Duration::seconds(2));
    assert!(!world.verify(&old).await.valid);
    assert_eq!(world.verify(&new).await.code, VerifyCode::Valid);

    let audit = world
        .keyplane
        .audit_log(
            &caller(ADMIN),
            &org,
            AuditQuery {
                cursor: None,
                limit: None,
            },
        )
        .await
        .unwrap();
    let by_rotator: Vec<&str> = audit
        .items
        .iter()
        .filter(|event| event.actor == ROTATOR)
        .map(|event| event.action.as_str())
        .collect();
    assert_eq!(by_rotator, ["key.rotation.finish", "key.rotation.stage"]);
}

#[tokio::test]
async fn a_zero_grace_stops_the_old_secret_at_finish() {
    let world = World::new();
    let (org, ws) = world.org().await;
    let (id, old) = bound_key(&world, ADMIN, workspace_key(&org, &ws), true).await;
    let new = ApiKey::mint(KeyEnv::Test);
    stage(&world, &id, TOKEN, &new).await.unwrap();
    finish(&world, &id, TOKEN, &new, 0).await.unwrap();
    assert_eq!(world.verify(&old).await.code, VerifyCode::NotFound);
    assert_eq!(world.verify(&new).await.code, VerifyCode::Valid);
}

#[tokio::test]
async fn only_the_rotator_rotates_only_bound_keys_with_rotation_on() {
    let world = World::new();
    let (org, ws) = world.org().await;
    let new = ApiKey::mint(KeyEnv::Test);

    let (off, _) = bound_key(&world, ADMIN, workspace_key(&org, &ws), false).await;
    let err = stage(&world, &off, TOKEN, &new).await.unwrap_err();
    assert_eq!(err.code, "ROTATION_NOT_ENABLED");

    let unbound = world.create(ADMIN, workspace_key(&org, &ws)).await.unwrap();
    let err = stage(&world, &unbound.view.id, TOKEN, &new)
        .await
        .unwrap_err();
    assert_eq!(err.code, "SECRET_NOT_BOUND");

    let (on, _) = bound_key(&world, ADMIN, workspace_key(&org, &ws), true).await;
    let other = Rotation {
        secret_arn: OTHER_SECRET,
        token: TOKEN,
    };
    let err = world
        .keyplane
        .stage_rotation(&caller(ROTATOR), &on, other, &new)
        .await
        .unwrap_err();
    assert_eq!(err.code, "SECRET_NOT_BOUND");

    // Not even a platform admin may act as the rotator.
    let err = world
        .keyplane
        .stage_rotation(&caller(ADMIN), &on, rotation(TOKEN), &new)
        .await
        .unwrap_err();
    assert_eq!(err.code, "NOT_A_ROTATOR");

    let err = stage(&world, &on, "bad token!", &new).await.unwrap_err();
    assert_eq!(err.code, "INVALID_ROTATION_TOKEN");
    let malformed = ApiKey::from_plaintext("kp_test_not-a-key");
    let err = stage(&world, &on, TOKEN, &malformed).await.unwrap_err();
    assert_eq!(err.code, "ROTATION_SECRET_MALFORMED");
    assert_eq!(world.verify(&new).await.code, VerifyCode::NotFound);
}

#[tokio::test]
async fn rotation_stops_when_whoever_turned_it_on_could_no_longer_create_the_key() {
    let world = World::new();
    let (org, ws) = world.org().await;
    world
        .member(
            &org,
            ALICE,
            OrgRole::Member,
            &[(&ws, WorkspaceRole::Editor)],
            None,
        )
        .await
        .unwrap();
    let (id, _) = bound_key(&world, ALICE, workspace_key(&org, &ws), true).await;
    let new = ApiKey::mint(KeyEnv::Test);

    // Alice is demoted to a viewer: she could no longer create this key.
    world
        .member(
            &org,
            ALICE,
            OrgRole::Member,
            &[(&ws, WorkspaceRole::Viewer)],
            None,
        )
        .await
        .unwrap();
    let err = stage(&world, &id, TOKEN, &new).await.unwrap_err();
    assert_eq!(err.code, "ROTATION_NOT_AUTHORIZED");
    assert!(err.message.contains(ALICE), "{}", err.message);

    // An admin turns it on again, on their own authority.
    let patch = PatchKey {
        rotation: Some(true),
        ..PatchKey::default()
    };
    let view = world
        .keyplane
        .patch_key(&caller(ADMIN), &id, patch.clone())
        .await
        .unwrap();
    assert_eq!(view.secret.unwrap().bound_by.as_str(), ALICE);
    // Rotation was already on: the admin must turn it off and on to take it over.
    let off = PatchKey {
        rotation: Some(false),
        ..PatchKey::default()
    };
    world
        .keyplane
        .patch_key(&caller(ADMIN), &id, off)
        .await
        .unwrap();
    let view = world
        .keyplane
        .patch_key(&caller(ADMIN), &id, patch)
        .await
        .unwrap();
    assert_eq!(view.secret.unwrap().bound_by.as_str(), ADMIN);
    stage(&world, &id, TOKEN, &new).await.unwrap();
}

#[tokio::test]
async fn turning_rotation_on_needs_the_right_to_create_the_key() {
    let world = World::new();
    let (org, ws) = world.org().await;
    world
        .member(
            &org,
            ALICE,
            OrgRole::Member,
            &[(&ws, WorkspaceRole::Editor)],
            None,
        )
        .await
        .unwrap();
    // A personal key of the admin's: Alice may manage it but never mint it.
    let personal = CreateKey {
        key_type: KeyType::Personal,
        ..workspace_key(&org, &ws)
    };
    let (id, _) = bound_key(&world, ADMIN, personal, false).await;
    let on = PatchKey {
        rotation: Some(true),
        ..PatchKey::default()
    };
    let err = world
        .keyplane
        .patch_key(&caller(ALICE), &id, on)
        .await
        .unwrap_err();
    assert_eq!(err.code, "CREATOR_ONLY");
    let rebind = PatchKey {
        secret_arn: Some(Some(OTHER_SECRET.to_owned())),
        rotation: Some(true),
        ..PatchKey::default()
    };
    let err = world
        .keyplane
        .patch_key(&caller(ALICE), &id, rebind)
        .await
        .unwrap_err();
    assert_eq!(err.code, "CREATOR_ONLY");
    // Turning it off narrows, which a manager may do.
    let view = world.keyplane.get_key(&caller(ALICE), &id).await.unwrap();
    assert!(!view.secret.unwrap().rotation);
}

#[tokio::test]
async fn binding_needs_a_secret_arn_and_rotation_needs_a_binding() {
    let world = World::new();
    let (org, ws) = world.org().await;
    let created = world.create(ADMIN, workspace_key(&org, &ws)).await.unwrap();
    let admin = caller(ADMIN);
    let bad = PatchKey {
        secret_arn: Some(Some("ci/key".to_owned())),
        ..PatchKey::default()
    };
    let err = world
        .keyplane
        .patch_key(&admin, &created.view.id, bad)
        .await
        .unwrap_err();
    assert_eq!(err.code, "INVALID_SECRET_ARN");
    let on = PatchKey {
        rotation: Some(true),
        ..PatchKey::default()
    };
    let err = world
        .keyplane
        .patch_key(&admin, &created.view.id, on)
        .await
        .unwrap_err();
    assert_eq!(err.code, "ROTATION_NEEDS_SECRET");
    let view = world
        .keyplane
        .get_key(&admin, &created.view.id)
        .await
        .unwrap();
    assert_eq!(view.secret, None);
    assert_eq!(view.version, created.view.version);

    // An active key can be bound later, and a retried binding changes nothing.
    let first = world
        .keyplane
        .activate_key(&admin, &created.view.id, bind(true))
        .await
        .unwrap();
    let again = world
        .keyplane
        .activate_key(&admin, &created.view.id, bind(true))
        .await
        .unwrap();
    assert!(first.secret.unwrap().rotation);
    assert_eq!(again.version, first.version);
}

#[tokio::test]
async fn a_new_rotation_abandons_an_unfinished_one_and_a_token_stages_one_secret() {
    let world = World::new();
    let (org, ws) = world.org().await;
    let (id, old) = bound_key(&world, ADMIN, workspace_key(&org, &ws), true).await;
    let first = ApiKey::mint(KeyEnv::Test);
    let second = ApiKey::mint(KeyEnv::Test);

    stage(&world, &id, TOKEN, &first).await.unwrap();
    let err = stage(&world, &id, TOKEN, &second).await.unwrap_err();
    assert_eq!(err.code, "ROTATION_TOKEN_REUSED");

    stage(&world, &id, TOKEN_2, &second).await.unwrap();
    assert_eq!(world.verify(&first).await.code, VerifyCode::NotFound);
    let err = finish(&world, &id, TOKEN, &first, 60).await.unwrap_err();
    assert_eq!(err.code, "ROTATION_NOT_STAGED");
    finish(&world, &id, TOKEN_2, &second, 60).await.unwrap();
    assert_eq!(world.verify(&second).await.code, VerifyCode::Valid);
    assert_eq!(world.verify(&old).await.code, VerifyCode::Valid);
}

#[tokio::test]
async fn a_roll_or_an_unbinding_during_a_rotation_drops_the_staged_secret() {
    let world = World::new();
    let (org, ws) = world.org().await;
    let admin = caller(ADMIN);
    let (id, _) = bound_key(&world, ADMIN, workspace_key(&org, &ws), true).await;
    let staged = ApiKey::mint(KeyEnv::Test);
    stage(&world, &id, TOKEN, &staged).await.unwrap();
    let rolled = world
        .keyplane
        .roll_key(&admin, &id, RollKey::default(), None)
        .await
        .rolled()
        .unwrap();
    assert_eq!(world.verify(&staged).await.code, VerifyCode::NotFound);
    let err = finish(&world, &id, TOKEN, &staged, 60).await.unwrap_err();
    assert_eq!(err.code, "ROTATION_NOT_STAGED");
    assert_eq!(world.verify(&rolled.key).await.code, VerifyCode::Valid);

    let again = ApiKey::mint(KeyEnv::Test);
    stage(&world, &id, TOKEN_2, &again).await.unwrap();
    let unbind = PatchKey {
        secret_arn: Some(None),
        ..PatchKey::default()
    };
    let view = world.keyplane.patch_key(&admin, &id, unbind).await.unwrap();
    assert_eq!(view.secret, None);
    assert_eq!(world.verify(&again).await.code, VerifyCode::NotFound);
    let err = finish(&world, &id, TOKEN_2, &again, 60).await.unwrap_err();
    assert_eq!(err.code, "SECRET_NOT_BOUND");
}

#[tokio::test]
async fn a_revoked_key_is_never_rotated() {
    let world = World::new();
    let (org, ws) = world.org().await;
    let (id, _) = bound_key(&world, ADMIN, workspace_key(&org, &ws), true).await;
    world
        .keyplane
        .revoke_key(&caller(ADMIN), &id)
        .await
        .unwrap();
    let new = ApiKey::mint(KeyEnv::Test);
    let err = stage(&world, &id, TOKEN, &new).await.unwrap_err();
    assert_eq!(err.code, "KEY_REVOKED");
    assert_eq!(world.verify(&new).await.code, VerifyCode::NotFound);
}
