//! Every route once, through the client, against the real Router.

mod support;

use futures::TryStreamExt;
use keyplane_client::api::audit::AuditQuery;
use keyplane_client::api::key::DisplayStatus;
use keyplane_client::api::key_format::ApiKey;
use keyplane_client::api::keys::{ListKeys, PatchKey, RollKey};
use keyplane_client::api::tenancy::{CreateOrganization, UpdateOrganization};
use keyplane_client::api::usage::{ReportUsage, UsageRange};
use keyplane_client::api::verify::{ReportLeak, VerifyCode, VerifyKey};
use keyplane_client::{CreateOutcome, RollOutcome};
use support::{arn, org_with_editor, ws_key, TestServer, ADMIN, ALICE, REPORTER};

fn verify_req(key: &ApiKey) -> VerifyKey {
    VerifyKey {
        key: ApiKey::from_plaintext(key.expose()),
        permissions: vec!["models:gpt-4o".to_owned()],
        workspace_id: None,
        cost: None,
    }
}

#[tokio::test]
async fn every_route_through_the_client() {
    let server = TestServer::start().await;
    let admin = server.client(ADMIN).await;
    let alice = server.client(ALICE).await;
    let reporter = server.client(REPORTER).await;

    // Organizations, workspaces, members.
    let (org, ws) = org_with_editor(&admin).await;
    assert_eq!(
        admin.get_organization(&org).await.expect("get").name,
        "Acme"
    );
    let renamed = admin
        .update_organization(
            &org,
            &UpdateOrganization {
                name: Some("Acme Corp".to_owned()),
                key_quota: None,
            },
        )
        .await
        .expect("update");
    assert_eq!(renamed.name, "Acme Corp");
    let workspaces = alice.list_workspaces(&org).await.expect("workspaces");
    assert_eq!(workspaces.items.len(), 1);
    assert_eq!(workspaces.items[0].id, ws);
    let members = admin.list_members(&org).await.expect("members");
    assert!(members.items.iter().any(|m| m.principal == arn(ALICE)));

    // Create: 201 with the plaintext.
    let created = match alice.create_key(&ws_key(&org, &ws)).await.expect("create") {
        CreateOutcome::Created(created) => created,
        CreateOutcome::Replayed(view) => panic!("a first create was replayed: {view:?}"),
    };
    assert!(created.key.expose().starts_with("kp_test_"));
    let id = created.view.id.clone();
    assert_eq!(alice.get_key(&id).await.expect("get key").id, id);

    // Two-phase create, then activate.
    let mut pending = ws_key(&org, &ws);
    pending.activate = Some(false);
    let pending = alice
        .create_key(&pending)
        .await
        .expect("pending create")
        .into_created()
        .expect("created");
    assert_eq!(pending.view.status, DisplayStatus::Pending);
    let active = alice
        .activate_key(&pending.view.id, &Default::default())
        .await
        .expect("activate");
    assert_eq!(active.status, DisplayStatus::Active);

    // Listing, one page and streamed.
    let query = ListKeys {
        organization_id: org.clone(),
        workspace_id: Some(ws.clone()),
        status: None,
        cursor: None,
        limit: None,
    };
    assert_eq!(
        alice
            .list_keys_page(&query)
            .await
            .expect("page")
            .items
            .len(),
        2
    );
    let streamed: Vec<_> = alice.list_keys(query).try_collect().await.expect("stream");
    assert_eq!(streamed.len(), 2);

    // Edit.
    let patch = PatchKey {
        name: Some("ci-renamed".to_owned()),
        ..PatchKey::default()
    };
    assert_eq!(
        alice.update_key(&id, &patch).await.expect("patch").name,
        "ci-renamed"
    );

    // Data plane: verify and whoami with the plaintext.
    let verdict = alice
        .verify(&verify_req(&created.key))
        .await
        .expect("verify");
    assert!(verdict.valid, "{verdict:?}");
    let me = alice.whoami(&created.key).await.expect("whoami");
    assert_eq!(me.key_id.as_ref(), Some(&id));

    // Usage: reported (204), then read.
    reporter
        .report_usage(&ReportUsage {
            key_id: id.clone(),
            model: "gpt-4o".to_owned(),
            input_tokens: 10,
            output_tokens: 20,
            requests: None,
        })
        .await
        .expect("report usage");
    let usage = alice
        .key_usage(&id, &UsageRange::default())
        .await
        .expect("usage");
    assert_eq!(usage.items.len(), 1);
    assert_eq!(usage.items[0].output_tokens, 20);

    // Roll: 200 with a new plaintext; the old one works during the grace.
    let rolled = match alice
        .roll_key(&id, &RollKey { grace_seconds: 60 })
        .await
        .expect("roll")
    {
        RollOutcome::Rolled(rolled) => rolled,
        RollOutcome::Replayed(view) => panic!("a first roll was replayed: {view:?}"),
    };
    assert_ne!(rolled.key.expose(), created.key.expose());
    assert!(rolled.previous_expires_at.is_some());
    assert!(
        alice
            .verify(&verify_req(&rolled.key))
            .await
            .expect("verify")
            .valid
    );

    // Leak report (202): the new secret stops working, the key is disabled.
    let received = alice
        .report_leak(&ReportLeak {
            key: ApiKey::from_plaintext(rolled.key.expose()),
            source: Some("client test".to_owned()),
        })
        .await
        .expect("report leak");
    assert_eq!(received.status, "received");
    assert_eq!(
        alice.get_key(&id).await.expect("get").status,
        DisplayStatus::Disabled
    );

    // Revoke.
    let revoked = alice.revoke_key(&id).await.expect("revoke");
    assert_eq!(revoked.status, DisplayStatus::Revoked);
    let verdict = alice
        .verify(&verify_req(&created.key))
        .await
        .expect("verify");
    assert_eq!(verdict.code, VerifyCode::Revoked);

    // Audit, streamed.
    let events: Vec<_> = admin
        .audit_log(&org, AuditQuery::default())
        .try_collect()
        .await
        .expect("audit");
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    for action in ["key.create", "key.roll", "key.revoke", "member.put"] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }

    // Remove the member (204).
    admin
        .remove_member(&org, &arn(ALICE))
        .await
        .expect("remove member");
    let members = admin.list_members(&org).await.expect("members");
    assert!(!members.items.iter().any(|m| m.principal == arn(ALICE)));

    // Creating an organization is covered by the setup; a second one too.
    let other = admin
        .create_organization(&CreateOrganization {
            name: "Other".to_owned(),
            key_quota: Some(5),
        })
        .await
        .expect("create organization");
    assert_eq!(other.key_quota, 5);
}
