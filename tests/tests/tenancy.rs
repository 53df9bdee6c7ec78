//! Core-level tests of organizations, memberships and who may do what with
//! keys, including personal keys that follow their creator's rights.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use keyplane_core::key::{DisabledReason, DisplayStatus, KeyRole, KeyType};
use keyplane_core::service::{
    CreateKey, CreateOrganization, PatchKey, ScopeKind, UpdateOrganization, VerifyCode,
};
use keyplane_core::tenancy::{OrgRole, WorkspaceRole};
use keyplane_tests::{caller, organization_key, principal, workspace_key, World, ADMIN};

const OWNER: &str = "arn:aws:iam::222222222222:user/owner";
const EDITOR: &str = "arn:aws:iam::222222222222:user/editor";
const VIEWER: &str = "arn:aws:iam::222222222222:user/viewer";
const OUTSIDER: &str = "arn:aws:iam::333333333333:user/outsider";

#[tokio::test]
async fn only_platform_admins_create_organizations_and_set_quotas() {
    let world = World::new();
    let err = world
        .keyplane
        .create_organization(
            &caller(OWNER),
            CreateOrganization {
                name: "Mine".into(),
                key_quota: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, "PLATFORM_ADMIN_REQUIRED");

    let (org, _) = world.org().await;
    world
        .member(&org, OWNER, OrgRole::Owner, &[], None)
        .await
        .unwrap();
    let err = world
        .keyplane
        .update_organization(
            &caller(OWNER),
            &org,
            UpdateOrganization {
                name: None,
                key_quota: Some(5),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, "PLATFORM_ADMIN_REQUIRED");
    let renamed = world
        .keyplane
        .update_organization(
            &caller(OWNER),
            &org,
            UpdateOrganization {
                name: Some("Acme Inc".into()),
                key_quota: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "Acme Inc");
    assert_eq!(renamed.key_quota, 1000);
}

#[tokio::test]
async fn outsiders_cannot_tell_an_organization_exists() {
    let world = World::new();
    let (org, ws) = world.org().await;
    let err = world
        .keyplane
        .get_organization(&caller(OUTSIDER), &org)
        .await
        .unwrap_err();
    assert_eq!(err.code, "ORGANIZATION_NOT_FOUND");
    let err = world
        .create(OUTSIDER, workspace_key(&org, &ws))
        .await
        .unwrap_err();
    assert_eq!(err.code, "ORGANIZATION_NOT_FOUND");
}

#[tokio::test]
async fn workspace_keys_need_workspace_editor_and_org_keys_need_owner() {
    let world = World::new();
    let (org, ws) = world.org().await;
    world
        .member(&org, OWNER, OrgRole::Owner, &[], None)
        .await
        .unwrap();
    world
        .member(
            &org,
            EDITOR,
            OrgRole::Member,
            &[(&ws, WorkspaceRole::Editor)],
            None,
        )
        .await
        .unwrap();
    world
        .member(
            &org,
            VIEWER,
            OrgRole::Member,
            &[(&ws, WorkspaceRole::Viewer)],
            None,
        )
        .await
        .unwrap();

    assert!(world.create(OWNER, workspace_key(&org, &ws)).await.is_ok());
    assert!(world.create(EDITOR, workspace_key(&org, &ws)).await.is_ok());
    assert_eq!(
        world
            .create(VIEWER, workspace_key(&org, &ws))
            .await
            .unwrap_err()
            .code,
        "EDITOR_REQUIRED"
    );

    assert!(world.create(OWNER, organization_key(&org)).await.is_ok());
    assert_eq!(
        world
            .create(EDITOR, organization_key(&org))
            .await
            .unwrap_err()
            .code,
        "OWNER_REQUIRED"
    );
    assert_eq!(
        world
            .create(VIEWER, organization_key(&org))
            .await
            .unwrap_err()
            .code,
        "OWNER_REQUIRED"
    );

    // Viewers may read and list, not change.
    let key = world
        .create(EDITOR, workspace_key(&org, &ws))
        .await
        .unwrap();
    assert!(world
        .keyplane
        .get_key(&caller(VIEWER), &key.view.id)
        .await
        .is_ok());
    let err = world
        .keyplane
        .revoke_key(&caller(VIEWER), &key.view.id)
        .await
        .unwrap_err();
    assert_eq!(err.code, "EDITOR_REQUIRED");
    let err = world
        .keyplane
        .get_key(&caller(OUTSIDER), &key.view.id)
        .await
        .unwrap_err();
    assert_eq!(err.code, "KEY_NOT_FOUND");
}

#[tokio::test]
async fn a_key_never_exceeds_its_creator() {
    let world = World::new();
    let (org, ws) = world.org().await;
    world
        .member(
            &org,
            EDITOR,
            OrgRole::Member,
            &[(&ws, WorkspaceRole::Editor)],
            Some(vec!["models:gpt-4o".into()]),
        )
        .await
        .unwrap();
    let too_high = CreateKey {
        role: KeyRole::Owner,
        permissions: vec![],
        ..workspace_key(&org, &ws)
    };
    assert_eq!(
        world.create(EDITOR, too_high).await.unwrap_err().code,
        "ROLE_EXCEEDS_CREATOR"
    );
    let too_broad = CreateKey {
        permissions: vec!["models:*".into()],
        ..workspace_key(&org, &ws)
    };
    assert_eq!(
        world.create(EDITOR, too_broad).await.unwrap_err().code,
        "PERMISSIONS_EXCEED_CREATOR"
    );
    let fine = CreateKey {
        permissions: vec!["models:gpt-4o".into()],
        ..workspace_key(&org, &ws)
    };
    let key = world.create(EDITOR, fine).await.unwrap();
    let widen = PatchKey {
        permissions: Some(vec!["models:*".into()]),
        ..PatchKey::default()
    };
    assert_eq!(
        world
            .keyplane
            .patch_key(&caller(EDITOR), &key.view.id, widen)
            .await
            .unwrap_err()
            .code,
        "PERMISSIONS_EXCEED_CREATOR"
    );
}

#[tokio::test]
async fn organization_keys_can_reach_chosen_workspaces_only() {
    let world = World::new();
    let (org, ws) = world.org().await;
    let other = world.workspace(&org, "staging").await;
    let chosen = CreateKey {
        scope: ScopeKind::Organization,
        workspace_ids: Some(BTreeSet::from([ws.clone()])),
        ..organization_key(&org)
    };
    let key = world.create(ADMIN, chosen).await.unwrap();
    assert_eq!(
        world
            .verify_with(&key.key, vec![], Some(ws), None)
            .await
            .code,
        VerifyCode::Valid
    );
    assert_eq!(
        world
            .verify_with(&key.key, vec![], Some(other.clone()), None)
            .await
            .code,
        VerifyCode::Forbidden
    );

    let all = world.create(ADMIN, organization_key(&org)).await.unwrap();
    assert_eq!(
        world
            .verify_with(&all.key, vec![], Some(other), None)
            .await
            .code,
        VerifyCode::Valid
    );
}

#[tokio::test]
async fn unknown_workspaces_and_bad_scopes_are_refused() {
    let world = World::new();
    let (org, ws) = world.org().await;
    let (_, foreign_ws) = world.org().await;
    assert_eq!(
        world
            .create(ADMIN, workspace_key(&org, &foreign_ws))
            .await
            .unwrap_err()
            .code,
        "WORKSPACE_NOT_FOUND"
    );
    let both = CreateKey {
        workspace_ids: Some(BTreeSet::from([ws.clone()])),
        ..workspace_key(&org, &ws)
    };
    assert_eq!(
        world.create(ADMIN, both).await.unwrap_err().code,
        "INVALID_SCOPE"
    );
}

#[tokio::test]
async fn personal_keys_act_as_their_creator_and_stop_when_the_creator_loses_access() {
    let world = World::new();
    let (org, ws) = world.org().await;
    world
        .member(
            &org,
            EDITOR,
            OrgRole::Member,
            &[(&ws, WorkspaceRole::Editor)],
            None,
        )
        .await
        .unwrap();
    let personal = CreateKey {
        key_type: KeyType::Personal,
        ..workspace_key(&org, &ws)
    };
    let editor_key = world.create(EDITOR, personal.clone()).await.unwrap();
    let viewer_role_key = world
        .create(
            EDITOR,
            CreateKey {
                role: KeyRole::Viewer,
                ..personal.clone()
            },
        )
        .await
        .unwrap();
    let service_key = world
        .create(EDITOR, workspace_key(&org, &ws))
        .await
        .unwrap();
    assert_eq!(
        world.verify(&editor_key.key).await.actor.as_deref(),
        Some(EDITOR)
    );

    // Lowered to viewer: the editor-role personal key goes, the viewer-role one stays.
    world
        .member(
            &org,
            EDITOR,
            OrgRole::Member,
            &[(&ws, WorkspaceRole::Viewer)],
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        world.verify(&editor_key.key).await.code,
        VerifyCode::Disabled
    );
    assert_eq!(
        world.verify(&viewer_role_key.key).await.code,
        VerifyCode::Valid
    );
    let view = world
        .keyplane
        .get_key(&caller(ADMIN), &editor_key.view.id)
        .await
        .unwrap();
    assert_eq!(view.status, DisplayStatus::Disabled);
    assert_eq!(
        view.disabled_reason,
        Some(DisabledReason::CreatorAccessLost)
    );
    let enable = PatchKey {
        enabled: Some(true),
        ..PatchKey::default()
    };
    // Nobody but its creator may enable a personal key, and the creator
    // may not while lacking the rights it carries.
    assert_eq!(
        world
            .keyplane
            .patch_key(&caller(ADMIN), &editor_key.view.id, enable.clone())
            .await
            .unwrap_err()
            .code,
        "CREATOR_ONLY"
    );
    assert_eq!(
        world
            .keyplane
            .patch_key(&caller(EDITOR), &editor_key.view.id, enable)
            .await
            .unwrap_err()
            .code,
        "EDITOR_REQUIRED"
    );

    // Removed: every personal key goes; service keys stay.
    world
        .keyplane
        .delete_member(&caller(ADMIN), &org, &principal(EDITOR))
        .await
        .unwrap();
    assert_eq!(
        world.verify(&viewer_role_key.key).await.code,
        VerifyCode::Disabled
    );
    assert_eq!(world.verify(&service_key.key).await.code, VerifyCode::Valid);
}

#[tokio::test]
async fn the_last_owner_cannot_leave() {
    let world = World::new();
    let (org, _) = world.org().await;
    world
        .member(&org, OWNER, OrgRole::Owner, &[], None)
        .await
        .unwrap();
    let err = world
        .keyplane
        .delete_member(&caller(ADMIN), &org, &principal(OWNER))
        .await
        .unwrap_err();
    assert_eq!(err.code, "LAST_OWNER");
    let err = world
        .member(&org, OWNER, OrgRole::Member, &[], None)
        .await
        .unwrap_err();
    assert_eq!(err.code, "LAST_OWNER");
    world
        .member(&org, EDITOR, OrgRole::Owner, &[], None)
        .await
        .unwrap();
    world
        .keyplane
        .delete_member(&caller(ADMIN), &org, &principal(OWNER))
        .await
        .unwrap();
    let err = world
        .keyplane
        .delete_member(&caller(ADMIN), &org, &principal(OWNER))
        .await
        .unwrap_err();
    assert_eq!(err.code, "MEMBER_NOT_FOUND");
}
