//! Changing keys: optimistic concurrency, rolls, revocation, and the
//! store-maintained fields that updates must not touch.

use std::sync::Arc;

use chrono::Duration;
use keyplane_core::key::{KeyStatus, LiveSecret, REVOKED_RETENTION};
use keyplane_core::store::{CreditOutcome, KeyStore, StoreError};
use tokio::task::JoinSet;

use super::fixtures::{
    all_audit, at, fresh_hash, given_key, given_org, key_count, next_version, update_key,
    KeyBuilder,
};

/// Updating a key that does not exist is `NotFound` and writes nothing.
pub async fn update_of_missing_key_is_not_found<S: KeyStore>(store: S) {
    let org = given_org(&store, 10).await;
    let ghost = KeyBuilder::new(&org.id).build();
    let next = next_version(&ghost, 5, |k| k.name = "ghost".to_owned());
    assert_eq!(
        update_key(&store, &next, &[], true).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(store.get_key(&ghost.id).await, Ok(None));
    assert_eq!(store.get_secret(&ghost.secrets[0].hash).await, Ok(None));
    assert_eq!(key_count(&store, &org.id).await, 0);
    assert_eq!(all_audit(&store, &org.id).await.len(), 1);
}

/// Two updates from the same read: the first wins, the second is a
/// `VersionConflict` and changes nothing.
pub async fn stale_version_is_a_conflict<S: KeyStore>(store: S) {
    let org = given_org(&store, 10).await;
    let key = given_key(&store, KeyBuilder::new(&org.id).build()).await;
    let winner = next_version(&key, 10, |k| k.name = "winner".to_owned());
    let loser = next_version(&key, 11, |k| {
        k.name = "loser".to_owned();
        k.status = KeyStatus::Revoked;
        k.revoked_at = Some(at(11));
    });
    update_key(&store, &winner, &[], false)
        .await
        .expect("first update");
    assert_eq!(
        update_key(&store, &loser, &[], true).await,
        Err(StoreError::VersionConflict)
    );
    assert_eq!(store.get_key(&key.id).await, Ok(Some(winner)));
    let secret = store.get_secret(&key.secrets[0].hash).await;
    assert_eq!(
        secret.map(|s| s.map(|s| (s.status, s.key_version))),
        Ok(Some((KeyStatus::Active, 2)))
    );
    assert_eq!(key_count(&store, &org.id).await, 1);
    // org.create, key.create, and one update.
    assert_eq!(all_audit(&store, &org.id).await.len(), 3);
}

/// 20 concurrent updates from the same read: exactly one wins.
pub async fn concurrent_updates_have_one_winner<S: KeyStore>(store: S) {
    let store = Arc::new(store);
    let org = given_org(&*store, 10).await;
    let key = given_key(&*store, KeyBuilder::new(&org.id).build()).await;
    let mut tasks = JoinSet::new();
    for n in 0..20 {
        let store = Arc::clone(&store);
        let next = next_version(&key, 10, |k| k.name = format!("writer-{n}"));
        tasks.spawn(async move {
            let outcome = update_key(&*store, &next, &[], false).await;
            (next, outcome)
        });
    }
    let mut winners = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined.expect("task") {
            (next, Ok(())) => winners.push(next),
            (_, Err(StoreError::VersionConflict)) => {}
            (_, Err(other)) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1);
    assert_eq!(store.get_key(&key.id).await, Ok(winners.pop()));
}

/// A roll: the new secret is written and the old one is rewritten with the
/// end of its grace period; both verify with their own snapshot until the
/// old one is deleted.
pub async fn roll_keeps_both_secrets_until_deleted<S: KeyStore>(store: S) {
    let org = given_org(&store, 10).await;
    let key = given_key(&store, KeyBuilder::new(&org.id).build()).await;
    let old = key.secrets[0].hash;
    let new = fresh_hash();
    let grace_end = at(100 + 3_600);
    let rolled = next_version(&key, 100, |k| {
        k.secrets = vec![
            LiveSecret::current(new),
            LiveSecret {
                expires_at: Some(grace_end),
                ..LiveSecret::current(old)
            },
        ];
        k.hint = "kp_test_new…abcd".to_owned();
    });
    update_key(&store, &rolled, &[], false).await.expect("roll");

    let expected = rolled.secret_records();
    assert_eq!(store.get_secret(&new).await, Ok(Some(expected[0].clone())));
    let previous = store.get_secret(&old).await.expect("get_secret");
    assert_eq!(previous.as_ref(), Some(&expected[1]));
    let previous = previous.expect("the old secret is still there");
    assert_eq!(previous.secret_expires_at, Some(grace_end));
    assert_eq!(previous.ttl, Some(grace_end.timestamp()));
    assert_eq!(previous.key_version, 2);

    let settled = next_version(&rolled, 200, |k| k.secrets.truncate(1));
    update_key(&store, &settled, &[old], false)
        .await
        .expect("drop the old secret");
    assert_eq!(store.get_secret(&old).await, Ok(None));
    assert_eq!(
        store.get_secret(&new).await,
        Ok(settled.secret_records().pop())
    );
    assert_eq!(store.get_key(&key.id).await, Ok(Some(settled)));
}

/// A revoke rewrites every live secret with the revoked status and the
/// retention `ttl`.
pub async fn revoke_rewrites_snapshots<S: KeyStore>(store: S) {
    let org = given_org(&store, 10).await;
    let key = given_key(&store, KeyBuilder::new(&org.id).build()).await;
    let revoked_at = at(500);
    let revoked = next_version(&key, 500, |k| {
        k.status = KeyStatus::Revoked;
        k.revoked_at = Some(revoked_at);
    });
    update_key(&store, &revoked, &[], true)
        .await
        .expect("revoke");
    let secret = store
        .get_secret(&key.secrets[0].hash)
        .await
        .expect("get_secret")
        .expect("a revoked key's secret is kept");
    assert_eq!(secret.status, KeyStatus::Revoked);
    assert_eq!(secret.key_version, 2);
    assert_eq!(
        secret.ttl,
        Some((revoked_at + REVOKED_RETENTION).timestamp())
    );
    assert_eq!(
        store.get_key(&key.id).await.map(|k| k.map(|k| k.status)),
        Ok(Some(KeyStatus::Revoked))
    );
    assert_eq!(key_count(&store, &org.id).await, 0);
}

/// `update_key` ignores the record's credits left and last use: the store
/// keeps the values that spends and usage reports left there.
pub async fn update_leaves_credits_and_last_use_alone<S: KeyStore>(store: S) {
    let org = given_org(&store, 10).await;
    let key = given_key(&store, KeyBuilder::new(&org.id).credits(10).build()).await;
    let used = at(60);
    assert_eq!(
        store.spend_credits(&key.id, 4, used).await,
        Ok(CreditOutcome::Spent { remaining: 6 })
    );
    // A record read before the spend, carrying stale (and made-up) values.
    let stale = next_version(&key, 120, |k| {
        k.name = "renamed".to_owned();
        k.credits_remaining = Some(999);
        k.last_used_at = Some(used - Duration::days(1));
    });
    update_key(&store, &stale, &[], false)
        .await
        .expect("update");
    let stored = store
        .get_key(&key.id)
        .await
        .expect("get_key")
        .expect("the key exists");
    assert_eq!(stored.name, "renamed");
    assert_eq!(stored.credits_remaining, Some(6));
    assert_eq!(stored.last_used_at, Some(used));
    assert_eq!(
        store.spend_credits(&key.id, 6, at(180)).await,
        Ok(CreditOutcome::Spent { remaining: 0 })
    );
}
