//! Spending credits.

use std::sync::Arc;

use keyplane_core::id::KeyId;
use keyplane_core::store::{CreditOutcome, KeyStore, StoreError};
use tokio::task::JoinSet;

use super::fixtures::{at, given_key, given_org, KeyBuilder};

/// 100 concurrent spends of 1 against 30 credits: exactly 30 are spent,
/// 70 are exhausted, and the balance ends at zero, never below.
pub async fn credits_never_go_below_zero_under_concurrency<S: KeyStore>(store: S) {
    let store = Arc::new(store);
    let org = given_org(&*store, 10).await;
    let key = given_key(&*store, KeyBuilder::new(&org.id).credits(30).build()).await;
    let mut tasks = JoinSet::new();
    for n in 0..100 {
        let (store, id) = (Arc::clone(&store), key.id.clone());
        tasks.spawn(async move { store.spend_credits(&id, 1, at(n)).await });
    }
    let mut remainders = Vec::new();
    let mut exhausted = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined.expect("task") {
            Ok(CreditOutcome::Spent { remaining }) => remainders.push(remaining),
            Ok(CreditOutcome::Exhausted) => exhausted += 1,
            Err(err) => panic!("unexpected {err:?}"),
        }
    }
    assert_eq!((remainders.len(), exhausted), (30, 70));
    // Each spend saw its own balance: 29 down to 0, each exactly once.
    remainders.sort_unstable();
    assert_eq!(remainders, (0..30).collect::<Vec<u64>>());
    let stored = store
        .get_key(&key.id)
        .await
        .expect("get_key")
        .expect("the key exists");
    assert_eq!(stored.credits_remaining, Some(0));
    assert!(stored.last_used_at.is_some());
}

/// A spend larger than the balance is refused and changes nothing, not even
/// the last use; an exact spend empties the balance.
pub async fn exhausted_spend_changes_nothing<S: KeyStore>(store: S) {
    let org = given_org(&store, 10).await;
    let key = given_key(&store, KeyBuilder::new(&org.id).credits(5).build()).await;
    assert_eq!(
        store.spend_credits(&key.id, 10, at(1)).await,
        Ok(CreditOutcome::Exhausted)
    );
    let untouched = store.get_key(&key.id).await.expect("get_key");
    assert_eq!(
        untouched.map(|k| (k.credits_remaining, k.last_used_at)),
        Some((Some(5), None))
    );
    assert_eq!(
        store.spend_credits(&key.id, 5, at(2)).await,
        Ok(CreditOutcome::Spent { remaining: 0 })
    );
    assert_eq!(
        store.spend_credits(&key.id, 1, at(3)).await,
        Ok(CreditOutcome::Exhausted)
    );
    let spent = store.get_key(&key.id).await.expect("get_key");
    assert_eq!(
        spent.map(|k| (k.credits_remaining, k.last_used_at)),
        Some((Some(0), Some(at(2))))
    );
}

/// Spending on an unmetered or a missing key is `NotFound`.
pub async fn spend_needs_a_metered_key<S: KeyStore>(store: S) {
    let org = given_org(&store, 10).await;
    let unmetered = given_key(&store, KeyBuilder::new(&org.id).build()).await;
    assert_eq!(
        store.spend_credits(&unmetered.id, 1, at(1)).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.spend_credits(&KeyId::generate(), 1, at(1)).await,
        Err(StoreError::NotFound)
    );
    let stored = store.get_key(&unmetered.id).await.expect("get_key");
    assert_eq!(
        stored.map(|k| (k.credits_remaining, k.last_used_at)),
        Some((None, None))
    );
}
