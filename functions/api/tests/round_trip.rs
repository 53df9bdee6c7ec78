//! Every wire type survives JSON both ways: what the server writes, a client
//! reads back to the same value, and re-serialises to the same JSON. A
//! field that one side renames, skips or defaults differently breaks here
//! before it breaks a client.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use keyplane_api::audit::{AuditEvent, AuditPage, AuditQuery};
use keyplane_api::id::{EventId, KeyId, OrgId, WorkspaceId};
use keyplane_api::key::{DisabledReason, DisplayStatus, KeyRole, KeyScope, KeyType};
use keyplane_api::key_format::{ApiKey, KeyEnv};
use keyplane_api::keys::{
    CreateKey, KeyPage, KeyView, KeyWithSecret, ListKeys, PatchKey, RollKey, ScopeKind,
};
use keyplane_api::principal::Principal;
use keyplane_api::problem::Problem;
use keyplane_api::tenancy::{
    CreateOrganization, CreateWorkspace, Items, Member, OrgRole, Organization, PutMember,
    UpdateOrganization, Workspace, WorkspaceRole,
};
use keyplane_api::usage::{KeyUsage, ReportUsage, UsageRange, UsageRow};
use keyplane_api::verify::{LeakReceived, ReportLeak, Verdict, VerifyCode, VerifyKey};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

/// Serialises `value`, reads it back, and serialises again: both JSON
/// documents must be equal. Returns the JSON for further checks.
fn round_trip<T: Serialize + DeserializeOwned + Debug>(value: &T) -> Value {
    let first = serde_json::to_value(value).unwrap();
    let back: T = serde_json::from_value(first.clone())
        .unwrap_or_else(|e| panic!("{value:?} does not read back: {e}\n{first}"));
    let second = serde_json::to_value(&back).unwrap();
    assert_eq!(first, second, "{value:?}");
    first
}

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).single().unwrap()
}

fn alice() -> Principal {
    Principal::parse("arn:aws:iam::123456789012:user/alice").unwrap()
}

fn view(scope: KeyScope) -> KeyView {
    KeyView {
        id: KeyId::generate(),
        organization_id: OrgId::generate(),
        scope,
        key_type: KeyType::Personal,
        name: "ci".to_owned(),
        role: KeyRole::Editor,
        permissions: vec!["models:*".to_owned()],
        status: DisplayStatus::Disabled,
        disabled_reason: Some(DisabledReason::LeakReported),
        hint: "kp_test_abc…wxyz".to_owned(),
        actor: alice().to_string(),
        created_by: alice(),
        created_at: at(),
        updated_at: at(),
        last_used_at: Some(at()),
        expires_at: None,
        pending_until: None,
        revoked_at: None,
        credits: Some(10),
        credits_remaining: Some(3),
        metadata: BTreeMap::from([("team".to_owned(), "search".to_owned())]),
        secret: None,
        version: 4,
    }
}

fn scopes() -> Vec<KeyScope> {
    vec![
        KeyScope::Organization,
        KeyScope::Workspace {
            workspace_id: WorkspaceId::generate(),
        },
        KeyScope::Workspaces {
            workspace_ids: BTreeSet::from([WorkspaceId::generate(), WorkspaceId::generate()]),
        },
    ]
}

#[test]
fn key_management_bodies() {
    for scope in scopes() {
        round_trip(&view(scope));
    }
    round_trip(&KeyPage {
        items: vec![view(KeyScope::Organization)],
        next_cursor: Some("c1".to_owned()),
    });
    round_trip(&CreateKey {
        organization_id: OrgId::generate(),
        scope: ScopeKind::Organization,
        workspace_id: None,
        workspace_ids: Some(BTreeSet::from([WorkspaceId::generate()])),
        key_type: KeyType::Service,
        name: Some("billing".to_owned()),
        role: KeyRole::Viewer,
        permissions: vec!["files:read".to_owned()],
        expires_at: Some(at()),
        credits: Some(1_000),
        metadata: BTreeMap::new(),
        activate: Some(false),
    });
    round_trip(&RollKey { grace_seconds: 600 });
    round_trip(&ListKeys {
        organization_id: OrgId::generate(),
        workspace_id: Some(WorkspaceId::generate()),
        status: Some(DisplayStatus::Expired),
        cursor: None,
        limit: Some(10),
    });
}

#[test]
fn a_patch_tells_null_from_absent() {
    let remove_expiry = PatchKey {
        expires_at: Some(None),
        ..PatchKey::default()
    };
    assert_eq!(round_trip(&remove_expiry), json!({"expires_at": null}));
    assert_eq!(round_trip(&PatchKey::default()), json!({}));
    let full = PatchKey {
        if_version: Some(3),
        enabled: Some(true),
        name: Some("renamed".to_owned()),
        role: Some(KeyRole::Owner),
        permissions: Some(vec!["*".to_owned()]),
        expires_at: Some(Some(at())),
        metadata: Some(BTreeMap::new()),
        secret_arn: None,
        rotation: None,
    };
    round_trip(&full);
}

#[test]
fn the_plaintext_appears_only_in_key_with_secret() {
    let key = ApiKey::mint(KeyEnv::Test);
    let plaintext = key.expose().to_owned();
    let created = KeyWithSecret {
        key: Some(key),
        key_id: KeyId::generate(),
        previous_expires_at: Some(at()),
        view: view(KeyScope::Organization),
    };
    let json = round_trip(&created);
    assert_eq!(json["key"], json!(plaintext));
    assert_eq!(json["key_id"], json!(created.key_id.as_str()));
    assert!(!format!("{created:?}").contains(&plaintext[8..]));

    let replayed = KeyWithSecret {
        key: None,
        previous_expires_at: None,
        ..created
    };
    assert!(round_trip(&replayed).get("key").is_none());
}

#[test]
fn tenancy_bodies() {
    round_trip(&Organization {
        id: OrgId::generate(),
        name: "Acme".to_owned(),
        key_quota: 100,
        key_count: 7,
        created_at: at(),
        created_by: alice(),
    });
    let workspace = Workspace {
        id: WorkspaceId::generate(),
        organization_id: OrgId::generate(),
        name: "prod".to_owned(),
        created_at: at(),
    };
    round_trip(&Items {
        items: vec![workspace],
        next_cursor: None,
    });
    let ws = WorkspaceId::generate();
    round_trip(&Member {
        organization_id: OrgId::generate(),
        principal: alice(),
        org_role: OrgRole::Member,
        workspace_roles: BTreeMap::from([(ws.clone(), WorkspaceRole::Editor)]),
        permissions: vec!["models:small".to_owned()],
        updated_at: at(),
    });
    round_trip(&PutMember {
        org_role: OrgRole::Owner,
        workspace_roles: BTreeMap::from([(ws, WorkspaceRole::Viewer)]),
        permissions: None,
    });
    round_trip(&CreateOrganization {
        name: "Acme".to_owned(),
        key_quota: Some(5),
    });
    round_trip(&UpdateOrganization {
        name: None,
        key_quota: Some(50),
    });
    round_trip(&CreateWorkspace {
        name: "staging".to_owned(),
    });
}

#[test]
fn usage_and_audit_bodies() {
    let day = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    round_trip(&KeyUsage {
        key_id: KeyId::generate(),
        from: day,
        to: day,
        items: vec![UsageRow {
            day,
            model: "gpt-4o".to_owned(),
            requests: 2,
            input_tokens: 10,
            output_tokens: 20,
        }],
    });
    round_trip(&ReportUsage {
        key_id: KeyId::generate(),
        model: "small".to_owned(),
        input_tokens: 1,
        output_tokens: 2,
        requests: Some(1),
    });
    round_trip(&UsageRange {
        from: Some(day),
        to: None,
    });
    round_trip(&AuditQuery {
        cursor: Some("c".to_owned()),
        limit: Some(5),
    });
    round_trip(&AuditPage {
        items: vec![AuditEvent {
            id: EventId::generate(),
            organization_id: OrgId::generate(),
            at: at(),
            actor: alice().to_string(),
            action: "key.create".to_owned(),
            target: KeyId::generate().to_string(),
            source: Some("curl/8".to_owned()),
            request_id: Some("req_1".to_owned()),
            ttl: 1,
        }],
        next_cursor: None,
    });
}

#[test]
fn data_plane_bodies() {
    let key = ApiKey::mint(KeyEnv::Live);
    round_trip(&VerifyKey {
        key: ApiKey::from_plaintext(key.expose()),
        permissions: vec!["models:gpt-4o".to_owned()],
        workspace_id: Some(WorkspaceId::generate()),
        cost: Some(3),
    });
    round_trip(&ReportLeak {
        key,
        source: Some("a paste site".to_owned()),
    });
    for code in [
        VerifyCode::Valid,
        VerifyCode::Malformed,
        VerifyCode::UsageExceeded,
    ] {
        round_trip(&Verdict {
            valid: code == VerifyCode::Valid,
            code,
            reason: (code == VerifyCode::Malformed).then(|| "BAD_CHECKSUM".to_owned()),
            key_id: Some(KeyId::generate()),
            organization_id: Some(OrgId::generate()),
            workspace_id: None,
            scope: Some(KeyScope::Organization),
            actor: Some("ci".to_owned()),
            key_type: Some(KeyType::Service),
            role: Some(KeyRole::Viewer),
            permissions: Some(Vec::new()),
            expires_at: Some(at()),
            credits_remaining: Some(0),
        });
    }
    round_trip(&LeakReceived {
        status: "received".to_owned(),
    });
    round_trip(&Problem {
        problem_type: "https://keyplane.dev/problems/key-not-found".to_owned(),
        title: "Not Found".to_owned(),
        status: 404,
        detail: "key 'key_x' does not exist or is not visible to you".to_owned(),
        code: "KEY_NOT_FOUND".to_owned(),
        request_id: Some("req_1".to_owned()),
    });
}

#[test]
fn out_of_range_numbers_are_refused_in_the_fields_terms() {
    let err = serde_json::from_value::<RollKey>(json!({"grace_seconds": 86_401})).unwrap_err();
    assert!(
        err.to_string().starts_with("must be between 0 and 86400"),
        "{err}"
    );
    let err = serde_json::from_value::<CreateOrganization>(json!({"name": "x", "key_quota": 0}))
        .unwrap_err();
    assert!(
        err.to_string().starts_with("must be between 1 and 1000000"),
        "{err}"
    );
}
