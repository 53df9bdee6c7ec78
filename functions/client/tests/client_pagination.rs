//! Pagination: the streams follow `next_cursor` across pages.

mod support;

use std::collections::BTreeSet;

use axum::http::Method;
use futures::TryStreamExt;
use keyplane_client::api::audit::AuditQuery;
use keyplane_client::api::keys::ListKeys;
use support::{org_with_editor, ws_key, TestServer, ADMIN, ALICE};

#[tokio::test]
async fn keys_stream_follows_next_cursor_across_pages() {
    let server = TestServer::start().await;
    let admin = server.client(ADMIN).await;
    let alice = server.client(ALICE).await;
    let (org, ws) = org_with_editor(&admin).await;
    let mut created = BTreeSet::new();
    for _ in 0..5 {
        let outcome = alice.create_key(&ws_key(&org, &ws)).await.expect("create");
        created.insert(outcome.view().id.clone());
    }
    let query = ListKeys {
        organization_id: org,
        workspace_id: Some(ws),
        status: None,
        cursor: None,
        limit: Some(2),
    };
    let first = alice.list_keys_page(&query).await.expect("page");
    assert_eq!(first.items.len(), 2);
    assert!(first.next_cursor.is_some());

    let before = server.faults.hits(&Method::GET, "/v1/keys");
    let listed: Vec<_> = alice.list_keys(query).try_collect().await.expect("stream");
    assert_eq!(server.faults.hits(&Method::GET, "/v1/keys") - before, 3);
    let ids: Vec<_> = listed.iter().map(|k| k.id.clone()).collect();
    assert_eq!(ids.iter().cloned().collect::<BTreeSet<_>>(), created);
    assert_eq!(ids.len(), 5, "no key twice");
    assert!(
        listed
            .windows(2)
            .all(|w| w[0].created_at >= w[1].created_at),
        "newest first"
    );
}

#[tokio::test]
async fn audit_stream_follows_next_cursor_across_pages() {
    let server = TestServer::start().await;
    let admin = server.client(ADMIN).await;
    let alice = server.client(ALICE).await;
    let (org, ws) = org_with_editor(&admin).await;
    for _ in 0..3 {
        let _created = alice.create_key(&ws_key(&org, &ws)).await.expect("create");
    }
    let whole = admin
        .audit_page(
            &org,
            &AuditQuery {
                cursor: None,
                limit: Some(100),
            },
        )
        .await
        .expect("one big page");
    assert!(whole.next_cursor.is_none());
    assert!(whole.items.len() >= 5, "{:?}", whole.items);

    let before = server.faults.hits(&Method::GET, "/audit");
    let paged: Vec<_> = admin
        .audit_log(
            &org,
            AuditQuery {
                cursor: None,
                limit: Some(2),
            },
        )
        .try_collect()
        .await
        .expect("stream");
    assert!(server.faults.hits(&Method::GET, "/audit") - before >= 3);
    assert_eq!(paged, whole.items);
}
