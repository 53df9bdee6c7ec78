//! Organizations, workspaces and memberships.

use keyplane_core::id::OrgId;
use keyplane_core::store::{KeyStore, StoreError};
use keyplane_core::tenancy::{OrgRole, WorkspaceRole};

use super::fixtures::{
    all_audit, at, event, given_org, member, organization, principal, t0, workspace,
};

/// Create, read and update an organization; the key count is the store's.
pub async fn organization_create_get_update<S: KeyStore>(store: S) {
    let mut org = organization(10);
    org.key_count = 7; // the store starts every organization at zero
    store
        .create_organization(&org, &event(&org.id, "org.create", org.id.as_str(), t0()))
        .await
        .expect("create_organization");
    let stored = store.get_organization(&org.id).await.expect("get");
    assert_eq!(stored.as_ref().map(|o| o.key_count), Some(0));
    assert_eq!(
        stored.map(|o| (o.name, o.key_quota, o.created_by)),
        Some((org.name.clone(), 10, org.created_by.clone()))
    );

    let renamed = store
        .update_organization(
            &org.id,
            Some("Acme Corp"),
            None,
            &event(&org.id, "org.update", org.id.as_str(), at(1)),
        )
        .await
        .expect("rename");
    assert_eq!(
        (renamed.name.as_str(), renamed.key_quota),
        ("Acme Corp", 10)
    );
    let requota = store
        .update_organization(
            &org.id,
            None,
            Some(25),
            &event(&org.id, "org.update", org.id.as_str(), at(2)),
        )
        .await
        .expect("change quota");
    assert_eq!(
        (requota.name.as_str(), requota.key_quota),
        ("Acme Corp", 25)
    );
    assert_eq!(
        store.get_organization(&org.id).await.expect("get"),
        Some(requota)
    );
    assert_eq!(all_audit(&store, &org.id).await.len(), 3);
}

/// A taken organization id is refused, and the first one is untouched.
pub async fn organization_duplicate_is_already_exists<S: KeyStore>(store: S) {
    let org = given_org(&store, 10).await;
    let mut twin = org.clone();
    twin.name = "Impostor".to_owned();
    let second = store
        .create_organization(&twin, &event(&org.id, "org.create", org.id.as_str(), t0()))
        .await;
    assert_eq!(second, Err(StoreError::AlreadyExists));
    let stored = store.get_organization(&org.id).await.expect("get");
    assert_eq!(stored.map(|o| o.name), Some(org.name));
    assert_eq!(all_audit(&store, &org.id).await.len(), 1);
}

/// Reading a missing organization is `None`; updating it is `NotFound`.
pub async fn organization_missing_is_not_found<S: KeyStore>(store: S) {
    let missing = OrgId::generate();
    assert_eq!(store.get_organization(&missing).await, Ok(None));
    let update = store
        .update_organization(
            &missing,
            Some("x"),
            None,
            &event(&missing, "org.update", missing.as_str(), t0()),
        )
        .await;
    assert_eq!(update, Err(StoreError::NotFound));
    assert!(all_audit(&store, &missing).await.is_empty());
}

/// Workspaces are read per organization and listed by id.
pub async fn workspaces_create_get_list<S: KeyStore>(store: S) {
    let org = given_org(&store, 10).await;
    let other = given_org(&store, 10).await;
    let mut created = Vec::new();
    for name in ["prod", "staging", "dev"] {
        let ws = workspace(&org.id, name);
        store
            .create_workspace(
                &ws,
                &event(&org.id, "workspace.create", ws.id.as_str(), t0()),
            )
            .await
            .expect("create_workspace");
        created.push(ws);
    }
    let foreign = workspace(&other.id, "theirs");
    store
        .create_workspace(
            &foreign,
            &event(&other.id, "workspace.create", foreign.id.as_str(), t0()),
        )
        .await
        .expect("create_workspace");

    let first = &created[0];
    assert_eq!(
        store.get_workspace(&org.id, &first.id).await,
        Ok(Some(first.clone()))
    );
    assert_eq!(store.get_workspace(&other.id, &first.id).await, Ok(None));
    created.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(store.list_workspaces(&org.id).await, Ok(created));
    assert_eq!(store.list_workspaces(&other.id).await, Ok(vec![foreign]));
    assert_eq!(all_audit(&store, &org.id).await.len(), 4);
}

/// A workspace of a missing organization is `NotFound`, and not written.
pub async fn workspace_needs_its_organization<S: KeyStore>(store: S) {
    let missing = OrgId::generate();
    let ws = workspace(&missing, "orphan");
    let created = store
        .create_workspace(
            &ws,
            &event(&missing, "workspace.create", ws.id.as_str(), t0()),
        )
        .await;
    assert_eq!(created, Err(StoreError::NotFound));
    assert_eq!(store.get_workspace(&missing, &ws.id).await, Ok(None));
    assert!(all_audit(&store, &missing).await.is_empty());
}

/// Memberships are replaced by `put_member`, listed by principal, and
/// deleted once.
pub async fn members_put_get_list_delete<S: KeyStore>(store: S) {
    let org = given_org(&store, 10).await;
    let ws = workspace(&org.id, "prod");
    let (bob, alice) = (principal("bob"), principal("alice"));
    let put = |m, expected| {
        let store = &store;
        let org = org.id.clone();
        async move {
            let audit = event(&org, "member.put", "m", t0());
            store.put_member(&m, expected, &audit).await
        }
    };
    put(member(&org.id, &bob, &[]), None)
        .await
        .expect("put bob");
    put(member(&org.id, &alice, &[&ws.id]), None)
        .await
        .expect("put alice");
    // A second "first" put, or a put over a version that moved, loses.
    assert_eq!(
        put(member(&org.id, &bob, &[]), None).await,
        Err(StoreError::VersionConflict)
    );

    let mut promoted = member(&org.id, &bob, &[&ws.id]);
    promoted.org_role = OrgRole::Owner;
    promoted
        .workspace_roles
        .insert(ws.id.clone(), WorkspaceRole::Editor);
    promoted.version = 2;
    put(promoted.clone(), Some(1)).await.expect("replace bob");
    assert_eq!(
        put(member(&org.id, &bob, &[]), Some(1)).await,
        Err(StoreError::VersionConflict)
    );
    assert_eq!(
        store.get_member(&org.id, &bob).await,
        Ok(Some(promoted.clone()))
    );

    let listed = store.list_members(&org.id).await.expect("list_members");
    let principals: Vec<_> = listed.iter().map(|m| m.principal.clone()).collect();
    assert_eq!(principals, vec![alice.clone(), bob.clone()]);
    assert_eq!(listed[1], promoted);

    let delete = |who| {
        let store = &store;
        let org = org.id.clone();
        async move {
            let audit = event(&org, "member.delete", "m", t0());
            store.delete_member(&org, &who, &audit).await
        }
    };
    assert_eq!(delete(bob.clone()).await, Ok(()));
    assert_eq!(store.get_member(&org.id, &bob).await, Ok(None));
    assert_eq!(delete(bob.clone()).await, Err(StoreError::NotFound));
    assert_eq!(store.list_members(&org.id).await.map(|ms| ms.len()), Ok(1));
    // org.create, three puts and one delete: the refused puts and the failed
    // delete wrote nothing.
    assert_eq!(all_audit(&store, &org.id).await.len(), 5);
}

/// A membership in a missing organization is `NotFound`, and not written.
pub async fn member_needs_its_organization<S: KeyStore>(store: S) {
    let missing = OrgId::generate();
    let bob = principal("bob");
    let put = store
        .put_member(
            &member(&missing, &bob, &[]),
            None,
            &event(&missing, "member.put", bob.as_str(), t0()),
        )
        .await;
    assert_eq!(put, Err(StoreError::NotFound));
    assert_eq!(store.get_member(&missing, &bob).await, Ok(None));
    assert!(all_audit(&store, &missing).await.is_empty());
}
