//! Creating and reading keys, their secrets and idempotency records.

use keyplane_core::id::{KeyId, OrgId};
use keyplane_core::store::{KeyStore, StoreError};

use super::fixtures::{
    all_audit, at, create_key, fresh_hash, given_key, given_org, idempotency, key_count, principal,
    KeyBuilder,
};

/// What `create_key` writes reads back equal: the key (with all its credits
/// left and no last use), its secret item (`ttl` included), its event and
/// its idempotency record; and the key counts against the quota.
pub async fn key_round_trip<S: KeyStore>(store: S) {
    let org = given_org(&store, 10).await;
    let expiry = at(30 * 86_400);
    let key = KeyBuilder::new(&org.id)
        .credits(500)
        .expires_at(expiry)
        .build();
    create_key(&store, &key, Some("token-1"))
        .await
        .expect("create_key");

    let stored = store.get_key(&key.id).await.expect("get_key");
    assert_eq!(stored.as_ref(), Some(&key));
    let stored = stored.expect("the key exists");
    assert_eq!(stored.credits_remaining, Some(500));
    assert_eq!(stored.last_used_at, None);

    let secret = key.secret_records().remove(0);
    assert_eq!(secret.ttl, Some(expiry.timestamp()));
    assert_eq!(store.get_secret(&secret.hash).await, Ok(Some(secret)));
    assert_eq!(store.get_secret(&fresh_hash()).await, Ok(None));

    assert_eq!(key_count(&store, &org.id).await, 1);
    let actions: Vec<_> = all_audit(&store, &org.id)
        .await
        .into_iter()
        .map(|e| (e.action, e.target))
        .collect();
    assert!(actions.contains(&("key.create".to_owned(), key.id.to_string())));
    assert_eq!(
        store.get_idempotency(&key.created_by, "token-1").await,
        Ok(Some(idempotency(&key.created_by, "token-1", &key.id)))
    );
    assert_eq!(
        store
            .get_idempotency(&principal("mallory"), "token-1")
            .await,
        Ok(None)
    );
    assert_eq!(store.get_key(&KeyId::generate()).await, Ok(None));
}

/// A key of a missing organization is `NotFound`, and nothing is written.
pub async fn key_needs_its_organization<S: KeyStore>(store: S) {
    let key = KeyBuilder::new(&OrgId::generate()).build();
    assert_eq!(
        create_key(&store, &key, Some("t")).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(store.get_key(&key.id).await, Ok(None));
    assert_eq!(store.get_secret(&key.secrets[0].hash).await, Ok(None));
    assert_eq!(store.get_idempotency(&key.created_by, "t").await, Ok(None));
}

/// A taken key id or a taken hash is `AlreadyExists`, and the failed
/// create neither counts against the quota nor writes anything.
pub async fn key_id_and_hash_are_unique<S: KeyStore>(store: S) {
    let org = given_org(&store, 10).await;
    let first = given_key(&store, KeyBuilder::new(&org.id).build()).await;

    let mut same_id = KeyBuilder::new(&org.id).build();
    same_id.id = first.id.clone();
    assert_eq!(
        create_key(&store, &same_id, None).await,
        Err(StoreError::AlreadyExists)
    );
    assert_eq!(store.get_secret(&same_id.secrets[0].hash).await, Ok(None));

    let same_hash = KeyBuilder::new(&org.id)
        .secret(first.secrets[0].hash)
        .build();
    assert_eq!(
        create_key(&store, &same_hash, None).await,
        Err(StoreError::AlreadyExists)
    );
    assert_eq!(store.get_key(&same_hash.id).await, Ok(None));

    assert_eq!(store.get_key(&first.id).await, Ok(Some(first.clone())));
    let secret = store.get_secret(&first.secrets[0].hash).await;
    assert_eq!(secret.map(|s| s.map(|s| s.key_id)), Ok(Some(first.id)));
    assert_eq!(key_count(&store, &org.id).await, 1);
    assert_eq!(all_audit(&store, &org.id).await.len(), 2);
}

/// A second create with the same (principal, token) answers with the first
/// record and writes nothing.
pub async fn idempotent_create_replays_first_record<S: KeyStore>(store: S) {
    let org = given_org(&store, 10).await;
    let first = KeyBuilder::new(&org.id).build();
    create_key(&store, &first, Some("retry-me"))
        .await
        .expect("first create");

    let second = KeyBuilder::new(&org.id).build();
    assert_eq!(
        create_key(&store, &second, Some("retry-me")).await,
        Err(StoreError::IdempotencyReplay(idempotency(
            &first.created_by,
            "retry-me",
            &first.id
        )))
    );
    assert_eq!(store.get_key(&second.id).await, Ok(None));
    assert_eq!(store.get_secret(&second.secrets[0].hash).await, Ok(None));
    assert_eq!(key_count(&store, &org.id).await, 1);
    assert_eq!(all_audit(&store, &org.id).await.len(), 2);

    // Tokens are scoped per principal.
    let other = KeyBuilder::new(&org.id)
        .created_by(principal("bob"))
        .build();
    create_key(&store, &other, Some("retry-me"))
        .await
        .expect("another principal's token");
    assert_eq!(key_count(&store, &org.id).await, 2);
}

/// Once its ttl has passed, a token may be used again.
pub async fn expired_idempotency_record_is_replaced<S: KeyStore>(store: S) {
    let org = given_org(&store, 10).await;
    let first = KeyBuilder::new(&org.id).build();
    create_key(&store, &first, Some("daily"))
        .await
        .expect("first create");
    let next_day = KeyBuilder::new(&org.id).created_at(at(86_400)).build();
    create_key(&store, &next_day, Some("daily"))
        .await
        .expect("an expired token does not replay");
    assert_eq!(
        store.get_idempotency(&first.created_by, "daily").await,
        Ok(Some(idempotency(&first.created_by, "daily", &next_day.id)))
    );
}
