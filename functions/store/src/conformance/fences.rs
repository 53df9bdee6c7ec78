//! The guards around minting and widening keys: the acting member's
//! membership fence, personal keys found after their creator left, and
//! idempotent updates (rolls).

use keyplane_core::key::{KeyType, LiveSecret};
use keyplane_core::store::{KeyStore, KeyUpdate, MemberFence, NewKey, StoreError};

use super::fixtures::*;

/// The fence of `member` at `version`.
fn fence(member: &keyplane_core::tenancy::Membership, version: u64) -> MemberFence {
    MemberFence {
        organization_id: member.organization_id.clone(),
        principal: member.principal.clone(),
        version,
    }
}

/// A create carrying a fence happens only while the membership is at the
/// fenced version: after a role change or a removal it is
/// `MembershipChanged`, and nothing is written.
pub async fn fenced_create_needs_the_membership_unchanged<S: KeyStore>(store: S) {
    let org = given_org(&store, 10).await;
    let bob = member(&org.id, &principal("bob"), &[]);
    let put = event(&org.id, "member.put", "bob", t0());
    store.put_member(&bob, None, &put).await.expect("put bob");
    let create = |fence: MemberFence| {
        let store = &store;
        let org = org.id.clone();
        async move {
            let key = KeyBuilder::new(&org)
                .created_by(principal("bob"))
                .key_type(KeyType::Personal)
                .build();
            let secrets = key.secret_records();
            let audit = event(&org, "key.create", key.id.as_str(), t0());
            let written = store
                .create_key(NewKey {
                    key: &key,
                    secret: &secrets[0],
                    audit: &audit,
                    idempotency: None,
                    fence: Some(&fence),
                })
                .await;
            (written, key)
        }
    };
    let (written, first) = create(fence(&bob, 1)).await;
    assert_eq!(written, Ok(()));

    let cut = keyplane_core::tenancy::Membership {
        version: 2,
        permissions: vec!["models:small".to_owned()],
        ..bob.clone()
    };
    store.put_member(&cut, Some(1), &put).await.expect("cut");
    let (written, stale) = create(fence(&bob, 1)).await;
    assert_eq!(written, Err(StoreError::MembershipChanged));
    assert_eq!(store.get_key(&stale.id).await, Ok(None));
    assert_eq!(store.get_secret(&stale.secrets[0].hash).await, Ok(None));
    assert_eq!(key_count(&store, &org.id).await, 1);

    let gone = event(&org.id, "member.delete", "bob", t0());
    store
        .delete_member(&org.id, &principal("bob"), &gone)
        .await
        .expect("remove bob");
    let (written, _) = create(fence(&bob, 2)).await;
    assert_eq!(written, Err(StoreError::MembershipChanged));
    let listed = store.personal_keys(&org.id, &principal("bob")).await;
    assert_eq!(listed.map(|keys| keys.len()), Ok(1));
    assert!(store.get_key(&first.id).await.expect("read").is_some());
}

/// An update carrying a fence is refused the same way, and the key keeps
/// its version.
pub async fn fenced_update_needs_the_membership_unchanged<S: KeyStore>(store: S) {
    let org = given_org(&store, 10).await;
    let bob = member(&org.id, &principal("bob"), &[]);
    let put = event(&org.id, "member.put", "bob", t0());
    store.put_member(&bob, None, &put).await.expect("put bob");
    let key = given_key(&store, KeyBuilder::new(&org.id).build()).await;
    let next = next_version(&key, 10, |k| k.name = "renamed".to_owned());
    let update = |fence: MemberFence| {
        let store = &store;
        let next = next.clone();
        async move {
            let puts = next.secret_records();
            let audit = event(&next.organization_id, "key.update", "k", at(10));
            store
                .update_key(KeyUpdate {
                    key: &next,
                    expected_version: 1,
                    put_secrets: &puts,
                    delete_secrets: &[],
                    release_quota: false,
                    audit: &audit,
                    idempotency: None,
                    fence: Some(&fence),
                })
                .await
        }
    };
    assert_eq!(
        update(fence(&bob, 7)).await,
        Err(StoreError::MembershipChanged)
    );
    let stored = store.get_key(&key.id).await.expect("read").expect("there");
    assert_eq!(
        (stored.version, stored.name.as_str()),
        (1, key.name.as_str())
    );
    assert_eq!(update(fence(&bob, 1)).await, Ok(()));
}

/// Every personal key a principal created is found — in any status, after
/// the membership is gone — and nothing else: not service keys, not other
/// creators' keys.
pub async fn personal_keys_outlive_the_membership<S: KeyStore>(store: S) {
    let org = given_org(&store, 10).await;
    let (bob, alice) = (principal("bob"), principal("alice"));
    let personal = |who: &keyplane_core::principal::Principal| {
        KeyBuilder::new(&org.id)
            .created_by(who.clone())
            .key_type(KeyType::Personal)
    };
    let first = given_key(&store, personal(&bob).build()).await;
    let second = given_key(
        &store,
        personal(&bob)
            .status(keyplane_core::key::KeyStatus::Disabled)
            .build(),
    )
    .await;
    given_key(
        &store,
        KeyBuilder::new(&org.id).created_by(bob.clone()).build(),
    )
    .await;
    given_key(&store, personal(&alice).build()).await;
    let other_org = given_org(&store, 10).await;
    given_key(
        &store,
        KeyBuilder::new(&other_org.id)
            .created_by(bob.clone())
            .key_type(KeyType::Personal)
            .build(),
    )
    .await;

    let mut found: Vec<_> = store
        .personal_keys(&org.id, &bob)
        .await
        .expect("personal_keys")
        .into_iter()
        .map(|k| k.id)
        .collect();
    found.sort();
    let mut expected = vec![first.id, second.id];
    expected.sort();
    assert_eq!(found, expected);
    assert_eq!(
        store
            .personal_keys(&org.id, &principal("nobody"))
            .await
            .map(|keys| keys.len()),
        Ok(0)
    );
}

/// An update with an idempotency record writes it; a second update with
/// the same live token is `IdempotencyReplay` with the first record and
/// changes nothing.
pub async fn idempotent_update_replays_first_record<S: KeyStore>(store: S) {
    let org = given_org(&store, 10).await;
    let key = given_key(&store, KeyBuilder::new(&org.id).build()).await;
    let record = idempotency(&principal("alice"), "signature:abc", &key.id);
    let update = |next: keyplane_core::key::KeyRecord| {
        let store = &store;
        let record = record.clone();
        async move {
            let puts = next.secret_records();
            let audit = event(&next.organization_id, "key.roll", "k", next.updated_at);
            store
                .update_key(KeyUpdate {
                    key: &next,
                    expected_version: next.version - 1,
                    put_secrets: &puts,
                    delete_secrets: &[],
                    release_quota: false,
                    audit: &audit,
                    idempotency: Some(&record),
                    fence: None,
                })
                .await
        }
    };
    let rolled = next_version(&key, 10, |k| {
        k.secrets = vec![LiveSecret::current(fresh_hash())];
    });
    assert_eq!(update(rolled.clone()).await, Ok(()));
    let again = next_version(&rolled, 20, |k| {
        k.secrets = vec![LiveSecret::current(fresh_hash())];
    });
    assert_eq!(
        update(again.clone()).await,
        Err(StoreError::IdempotencyReplay(record.clone()))
    );
    let stored = store.get_key(&key.id).await.expect("read").expect("there");
    assert_eq!(stored.version, 2);
    assert_eq!(store.get_secret(&again.secrets[0].hash).await, Ok(None));
    assert_eq!(
        store
            .get_idempotency(&principal("alice"), "signature:abc")
            .await,
        Ok(Some(record))
    );
}

/// A leak mark on a secret is kept on the key and in the secret item.
pub async fn leak_marks_are_stored<S: KeyStore>(store: S) {
    let org = given_org(&store, 10).await;
    let key = given_key(&store, KeyBuilder::new(&org.id).build()).await;
    let marked = next_version(&key, 10, |k| k.secrets[0].leaked = true);
    update_key(&store, &marked, &[], false)
        .await
        .expect("update");
    let stored = store.get_key(&key.id).await.expect("read").expect("there");
    assert!(stored.secrets[0].leaked);
    let secret = store
        .get_secret(&key.secrets[0].hash)
        .await
        .expect("read")
        .expect("there");
    assert!(secret.leaked);
}
