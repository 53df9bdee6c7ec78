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

/// The update writing `key` over its previous version.
fn update<'a>(
    key: &'a keyplane_core::key::KeyRecord,
    puts: &'a [keyplane_core::key::SecretRecord],
    audit: &'a keyplane_core::audit::AuditEvent,
) -> KeyUpdate<'a> {
    KeyUpdate {
        key,
        expected_version: key.version - 1,
        put_secrets: puts,
        delete_secrets: &[],
        release_quota: false,
        audit,
        idempotency: None,
        fence: None,
    }
}

/// A personal key of `who`'s, created.
async fn personal_key_of<S: KeyStore>(
    store: &S,
    org: &keyplane_core::id::OrgId,
    who: &keyplane_core::principal::Principal,
) -> keyplane_core::key::KeyRecord {
    given_key(
        store,
        KeyBuilder::new(org)
            .created_by(who.clone())
            .key_type(KeyType::Personal)
            .build(),
    )
    .await
}

/// A membership change and the key changes it carries are one atomic
/// unit: a stale key version, a stale membership version, a membership to
/// delete that is gone or a missing organization refuses all of it, and
/// nothing is written; otherwise all of it is written, with every event.
pub async fn member_change_is_atomic_with_its_keys<S: KeyStore>(store: S) {
    use keyplane_core::key::{DisabledReason, KeyStatus};
    use keyplane_core::store::MemberChange;

    let org = given_org(&store, 10).await;
    let bob = principal("bob");
    let joined = member(&org.id, &bob, &[]);
    let put = event(&org.id, "member.put", bob.as_str(), t0());
    store
        .put_member(&joined, None, &put)
        .await
        .expect("put bob");
    let first = personal_key_of(&store, &org.id, &bob).await;
    let second = personal_key_of(&store, &org.id, &bob).await;
    let disabled = |key: &keyplane_core::key::KeyRecord, from: u64| {
        let mut next = next_version(key, 5, |k| {
            k.status = KeyStatus::Disabled;
            k.disabled_reason = Some(DisabledReason::CreatorAccessLost);
        });
        next.version = from + 1;
        next
    };
    let (first_off, second_off) = (disabled(&first, 1), disabled(&second, 1));
    let stale_second = disabled(&second, 4);
    let puts = [first_off.secret_records(), second_off.secret_records()];
    let stale_puts = stale_second.secret_records();
    let events = [
        event(&org.id, "key.disable", first.id.as_str(), at(5)),
        event(&org.id, "key.disable", second.id.as_str(), at(5)),
    ];
    let removal = event(&org.id, "member.delete", bob.as_str(), at(5));
    let remove = |keys| MemberChange {
        organization_id: &org.id,
        principal: &bob,
        member: None,
        expected_version: None,
        audit: &removal,
        keys,
    };
    let unchanged = |what: &str| {
        let store = &store;
        let (org, bob, first, second) = (&org, &bob, &first, &second);
        let what = what.to_owned();
        async move {
            assert!(
                store.get_member(&org.id, bob).await.expect("get").is_some(),
                "{what}"
            );
            for key in [first, second] {
                assert_eq!(
                    store.get_key(&key.id).await,
                    Ok(Some(key.clone())),
                    "{what}"
                );
                let secret = store.get_secret(&key.secrets[0].hash).await;
                assert_eq!(
                    secret.map(|s| s.map(|s| (s.status, s.key_version))),
                    Ok(Some((KeyStatus::Active, 1))),
                    "{what}"
                );
            }
            // org.create, member.put, two key.create.
            assert_eq!(all_audit(store, &org.id).await.len(), 4, "{what}");
        }
    };

    // A stale key version refuses the removal too.
    let keys = [
        update(&first_off, &puts[0], &events[0]),
        update(&stale_second, &stale_puts, &events[1]),
    ];
    assert_eq!(
        store.change_member(remove(&keys)).await,
        Err(StoreError::VersionConflict)
    );
    unchanged("stale key").await;

    // A stale membership version refuses the keys too.
    let cut = keyplane_core::tenancy::Membership {
        version: 2,
        permissions: vec!["models:small".to_owned()],
        ..joined.clone()
    };
    let keys = [update(&first_off, &puts[0], &events[0])];
    let stale_put = MemberChange {
        organization_id: &org.id,
        principal: &bob,
        member: Some(&cut),
        expected_version: Some(7),
        audit: &put,
        keys: &keys,
    };
    assert_eq!(
        store.change_member(stale_put).await,
        Err(StoreError::VersionConflict)
    );
    unchanged("stale membership").await;

    // All of it.
    let keys = [
        update(&first_off, &puts[0], &events[0]),
        update(&second_off, &puts[1], &events[1]),
    ];
    assert_eq!(store.change_member(remove(&keys)).await, Ok(()));
    assert_eq!(store.get_member(&org.id, &bob).await, Ok(None));
    for key in [&first_off, &second_off] {
        let stored = store.get_key(&key.id).await.expect("get").expect("kept");
        assert_eq!((stored.status, stored.version), (KeyStatus::Disabled, 2));
        let secret = store.get_secret(&key.secrets[0].hash).await;
        assert_eq!(
            secret.map(|s| s.map(|s| (s.status, s.key_version))),
            Ok(Some((KeyStatus::Disabled, 2)))
        );
    }
    assert_eq!(all_audit(&store, &org.id).await.len(), 7);

    // The membership is gone now: a second removal is refused whole.
    let again = next_version(&first_off, 6, |k| k.name = "again".to_owned());
    let again_puts = again.secret_records();
    let keys = [update(&again, &again_puts, &events[0])];
    assert_eq!(
        store.change_member(remove(&keys)).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.get_key(&first.id).await.map(|k| k.map(|k| k.version)),
        Ok(Some(2))
    );
    assert_eq!(all_audit(&store, &org.id).await.len(), 7);
}
