//! The audit trail.

use std::collections::HashSet;

use keyplane_core::audit::AuditEvent;
use keyplane_core::id::EventId;
use keyplane_core::store::KeyStore;

use super::fixtures::{at, event, given_org};

/// Events page newest first within their organization: 13 events at limit
/// 5 give pages of 5, 5 and 3, each event once, events of the same instant
/// included, other organizations' events never.
pub async fn audit_pages_newest_first<S: KeyStore>(store: S) {
    let org = given_org(&store, 10).await;
    let other = given_org(&store, 10).await;
    let mut appended: Vec<AuditEvent> = Vec::new();
    for n in 0..12 {
        let e = event(&org.id, "key.disable", "key_x", at(60 + n / 3 * 60));
        store.append_audit(&e).await.expect("append_audit");
        appended.push(e);
        let theirs = event(&other.id, "key.disable", "key_y", at(60));
        store.append_audit(&theirs).await.expect("append_audit");
    }

    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .list_audit(&org.id, cursor.as_deref(), 5)
            .await
            .expect("list_audit");
        pages.push(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![5, 5, 3]
    );
    let listed: Vec<&AuditEvent> = pages.iter().flatten().collect();
    for pair in listed.windows(2) {
        assert!(pair[0].at >= pair[1].at, "not newest first");
    }
    assert!(listed.iter().all(|e| e.organization_id == org.id));
    let ids: HashSet<&EventId> = listed.iter().map(|e| &e.id).collect();
    assert_eq!(ids.len(), 13, "an event was listed twice");
    for e in &appended {
        assert!(listed.contains(&e), "{} missing", e.id);
    }
    // The oldest is the organization's creation.
    assert_eq!(listed.last().map(|e| e.action.as_str()), Some("org.create"));
}
