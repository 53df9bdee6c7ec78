//! Listing keys: order, pagination, filters, and cursors.

use std::collections::{BTreeSet, HashSet};

use keyplane_core::id::{KeyId, OrgId, WorkspaceId};
use keyplane_core::key::{KeyRecord, KeyScope, KeyStatus};
use keyplane_core::principal::Principal;
use keyplane_core::store::{KeyQuery, KeyStore, StoreError};

use super::fixtures::{at, given_key, given_org, principal, KeyBuilder};

/// Which keys to list, before any cursor.
fn query(org: &OrgId, limit: usize) -> KeyQuery {
    KeyQuery {
        organization_id: org.clone(),
        workspace_id: None,
        status: None,
        created_by: None,
        cursor: None,
        limit,
    }
}

/// Every page of `query`, following the cursors to the end.
async fn pages<S: KeyStore>(store: &S, mut query: KeyQuery) -> Vec<Vec<KeyRecord>> {
    let mut pages = Vec::new();
    loop {
        let page = store.list_keys(&query).await.expect("list_keys");
        assert!(page.items.len() <= query.limit, "a page exceeds its limit");
        pages.push(page.items);
        match page.next_cursor {
            Some(next) => query.cursor = Some(next),
            None => return pages,
        }
    }
}

/// The ids of every key `query` lists, in order.
async fn listed<S: KeyStore>(store: &S, query: KeyQuery) -> Vec<KeyId> {
    pages(store, query)
        .await
        .into_iter()
        .flatten()
        .map(|k| k.id)
        .collect()
}

/// 25 keys at limit 10: pages of 10, 10 and 5, newest first, each key
/// exactly once, the last page without a cursor. Pairs of keys share a
/// creation time, so ties must page cleanly too.
pub async fn keys_page_newest_first<S: KeyStore>(store: S) {
    let org = given_org(&store, 100).await;
    let mut created = Vec::new();
    for n in 0..25 {
        let key = KeyBuilder::new(&org.id).created_at(at(n / 2 * 60)).build();
        created.push(given_key(&store, key).await);
    }

    let pages = pages(&store, query(&org.id, 10)).await;
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![10, 10, 5]
    );
    let listed: Vec<&KeyRecord> = pages.iter().flatten().collect();
    let unique: HashSet<&KeyId> = listed.iter().map(|k| &k.id).collect();
    assert_eq!(unique.len(), 25, "a key was listed twice");
    assert_eq!(
        unique,
        created.iter().map(|k| &k.id).collect::<HashSet<_>>()
    );
    for pair in listed.windows(2) {
        assert!(pair[0].created_at >= pair[1].created_at, "not newest first");
    }
    // Listed records are whole, as `get_key` returns them.
    for key in listed {
        assert_eq!(
            store.get_key(&key.id).await.as_ref(),
            Ok(&Some(key.clone()))
        );
    }
}

/// Filters by workspace (through the scope), stored status and creator,
/// alone and together, also when they leave most of a page out.
pub async fn keys_filter_by_workspace_status_and_creator<S: KeyStore>(store: S) {
    let org = given_org(&store, 100).await;
    let (ws1, ws2) = (WorkspaceId::generate(), WorkspaceId::generate());
    let (alice, bob) = (principal("alice"), principal("bob"));
    let both: BTreeSet<WorkspaceId> = [ws1.clone(), ws2.clone()].into();
    let specs: [(KeyScope, KeyStatus, &Principal); 5] = [
        (single(&ws1), KeyStatus::Active, &alice),
        (single(&ws2), KeyStatus::Active, &alice),
        (KeyScope::Organization, KeyStatus::Disabled, &bob),
        (
            KeyScope::Workspaces {
                workspace_ids: both,
            },
            KeyStatus::Revoked,
            &bob,
        ),
        (
            KeyScope::Workspaces {
                workspace_ids: [ws2.clone()].into(),
            },
            KeyStatus::Pending,
            &alice,
        ),
    ];
    let mut ids = Vec::new();
    for (n, (scope, status, creator)) in specs.into_iter().enumerate() {
        let key = KeyBuilder::new(&org.id)
            .scope(scope)
            .status(status)
            .created_by(creator.clone())
            .created_at(at(i64::try_from(n).expect("small") * 60))
            .build();
        ids.push(given_key(&store, key).await.id);
    }
    // Newest first: the last created comes first.
    let expect = |picks: &[usize]| {
        picks
            .iter()
            .rev()
            .map(|&n| ids[n].clone())
            .collect::<Vec<_>>()
    };

    let filtered =
        |ws: Option<&WorkspaceId>, status: Option<KeyStatus>, by: Option<&Principal>| KeyQuery {
            workspace_id: ws.cloned(),
            status,
            created_by: by.cloned(),
            ..query(&org.id, 1)
        };
    assert_eq!(
        listed(&store, filtered(Some(&ws1), None, None)).await,
        expect(&[0, 2, 3])
    );
    assert_eq!(
        listed(&store, filtered(Some(&ws2), None, None)).await,
        expect(&[1, 2, 3, 4])
    );
    assert_eq!(
        listed(&store, filtered(None, Some(KeyStatus::Active), None)).await,
        expect(&[0, 1])
    );
    assert_eq!(
        listed(&store, filtered(None, None, Some(&bob))).await,
        expect(&[2, 3])
    );
    assert_eq!(
        listed(
            &store,
            filtered(Some(&ws1), Some(KeyStatus::Active), Some(&alice))
        )
        .await,
        expect(&[0])
    );
    assert_eq!(
        listed(&store, filtered(Some(&WorkspaceId::generate()), None, None)).await,
        expect(&[2])
    );
    assert_eq!(
        listed(
            &store,
            filtered(None, Some(KeyStatus::Revoked), Some(&alice))
        )
        .await,
        Vec::<KeyId>::new()
    );
}

fn single(workspace: &WorkspaceId) -> KeyScope {
    KeyScope::Workspace {
        workspace_id: workspace.clone(),
    }
}

/// An organization's listing holds its own keys only.
pub async fn keys_stay_in_their_organization<S: KeyStore>(store: S) {
    let ours = given_org(&store, 10).await;
    let theirs = given_org(&store, 10).await;
    let mine = given_key(&store, KeyBuilder::new(&ours.id).build()).await;
    let other = given_key(&store, KeyBuilder::new(&theirs.id).build()).await;
    assert_eq!(listed(&store, query(&ours.id, 10)).await, vec![mine.id]);
    assert_eq!(listed(&store, query(&theirs.id, 10)).await, vec![other.id]);
    assert_eq!(
        listed(&store, query(&OrgId::generate(), 10)).await,
        Vec::<KeyId>::new()
    );
}

/// A cursor the store did not issue is `NotFound`, which the core reports
/// as an invalid cursor.
pub async fn malformed_cursor_is_not_found<S: KeyStore>(store: S) {
    let org = given_org(&store, 10).await;
    given_key(&store, KeyBuilder::new(&org.id).build()).await;
    let bad = KeyQuery {
        cursor: Some("not a cursor!".to_owned()),
        ..query(&org.id, 10)
    };
    assert_eq!(store.list_keys(&bad).await, Err(StoreError::NotFound));
    assert_eq!(
        store.list_audit(&org.id, Some("not a cursor!"), 10).await,
        Err(StoreError::NotFound)
    );
}
