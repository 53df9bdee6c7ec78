//! The per-organization key quota, under concurrency.

use std::sync::Arc;

use keyplane_core::key::KeyStatus;
use keyplane_core::store::{KeyStore, StoreError};
use tokio::task::JoinSet;

use super::fixtures::{
    all_audit, at, create_key, given_key, given_org, key_count, next_version, update_key,
    KeyBuilder,
};

/// 50 concurrent creates against a quota of 10: exactly 10 succeed, the
/// other 40 are `QuotaExceeded` and leave no trace.
pub async fn quota_holds_under_concurrent_creates<S: KeyStore>(store: S) {
    let store = Arc::new(store);
    let org = given_org(&*store, 10).await;
    let mut tasks = JoinSet::new();
    for _ in 0..50 {
        let store = Arc::clone(&store);
        let key = KeyBuilder::new(&org.id).build();
        tasks.spawn(async move {
            let outcome = create_key(&*store, &key, None).await;
            (key, outcome)
        });
    }
    let (mut created, mut refused) = (Vec::new(), Vec::new());
    while let Some(joined) = tasks.join_next().await {
        match joined.expect("task") {
            (key, Ok(())) => created.push(key),
            (key, Err(StoreError::QuotaExceeded { quota: 10 })) => refused.push(key),
            (_, Err(other)) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((created.len(), refused.len()), (10, 40));
    assert_eq!(key_count(&*store, &org.id).await, 10);
    for key in &created {
        assert!(store.get_key(&key.id).await.expect("get").is_some());
    }
    for key in &refused {
        assert_eq!(store.get_key(&key.id).await, Ok(None));
        assert_eq!(store.get_secret(&key.secrets[0].hash).await, Ok(None));
    }
    // org.create and the ten key.create events only.
    assert_eq!(all_audit(&*store, &org.id).await.len(), 11);
}

/// An update with `release_quota` (a revoke) frees a slot; other updates
/// do not.
pub async fn release_quota_frees_a_slot<S: KeyStore>(store: S) {
    let org = given_org(&store, 1).await;
    let first = given_key(&store, KeyBuilder::new(&org.id).build()).await;
    let waiting = KeyBuilder::new(&org.id).build();
    assert_eq!(
        create_key(&store, &waiting, None).await,
        Err(StoreError::QuotaExceeded { quota: 1 })
    );

    let renamed = next_version(&first, 10, |k| k.name = "renamed".to_owned());
    update_key(&store, &renamed, &[], false)
        .await
        .expect("rename");
    assert_eq!(key_count(&store, &org.id).await, 1);

    let revoked = next_version(&renamed, 20, |k| {
        k.status = KeyStatus::Revoked;
        k.revoked_at = Some(at(20));
    });
    update_key(&store, &revoked, &[], true)
        .await
        .expect("revoke");
    assert_eq!(key_count(&store, &org.id).await, 0);
    create_key(&store, &waiting, None)
        .await
        .expect("the freed slot is usable");
    assert_eq!(key_count(&store, &org.id).await, 1);
}
