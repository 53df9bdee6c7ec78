//! Usage counters.

use keyplane_core::id::KeyId;
use keyplane_core::store::{KeyStore, StoreError, UsageIncrement};
use keyplane_core::usage::UsageRow;

use super::fixtures::{at, day, given_key, given_org, KeyBuilder};

fn report(key: &KeyId, on: u32, model: &str, requests: u64, seconds: i64) -> UsageIncrement {
    UsageIncrement {
        key_id: key.clone(),
        day: day(on),
        model: model.to_owned(),
        requests,
        input_tokens: requests * 100,
        output_tokens: requests * 10,
        at: at(seconds),
    }
}

fn row(on: u32, model: &str, requests: u64) -> UsageRow {
    UsageRow {
        day: day(on),
        model: model.to_owned(),
        requests,
        input_tokens: requests * 100,
        output_tokens: requests * 10,
    }
}

/// Reports for the same key, day and model add up; other models and days
/// get rows of their own, listed by day then model; the last report's time
/// becomes the key's last use.
pub async fn usage_counters_add_up<S: KeyStore>(store: S) {
    let org = given_org(&store, 10).await;
    let key = given_key(&store, KeyBuilder::new(&org.id).build()).await;
    let other = given_key(&store, KeyBuilder::new(&org.id).build()).await;
    for usage in [
        report(&key.id, 2, "gpt", 1, 10),
        report(&key.id, 2, "gpt", 2, 20),
        report(&key.id, 2, "claude", 4, 30),
        report(&key.id, 1, "gpt", 8, 40),
        report(&other.id, 2, "gpt", 16, 50),
    ] {
        store.record_usage(&usage).await.expect("record_usage");
    }
    assert_eq!(
        store.query_usage(&key.id, day(1), day(31)).await,
        Ok(vec![
            row(1, "gpt", 8),
            row(2, "claude", 4),
            row(2, "gpt", 3)
        ])
    );
    assert_eq!(
        store.query_usage(&other.id, day(1), day(31)).await,
        Ok(vec![row(2, "gpt", 16)])
    );
    let stored = store.get_key(&key.id).await.expect("get_key");
    assert_eq!(stored.map(|k| k.last_used_at), Some(Some(at(40))));
}

/// Both ends of the range are included; a reversed range is empty.
pub async fn usage_query_bounds_are_inclusive<S: KeyStore>(store: S) {
    let org = given_org(&store, 10).await;
    let key = given_key(&store, KeyBuilder::new(&org.id).build()).await;
    for on in [4, 5, 6, 7, 8] {
        store
            .record_usage(&report(&key.id, on, "m", u64::from(on), 0))
            .await
            .expect("record_usage");
    }
    let days = |rows: Vec<UsageRow>| rows.into_iter().map(|r| r.day).collect::<Vec<_>>();
    assert_eq!(
        store.query_usage(&key.id, day(5), day(7)).await.map(days),
        Ok(vec![day(5), day(6), day(7)])
    );
    assert_eq!(
        store.query_usage(&key.id, day(8), day(8)).await.map(days),
        Ok(vec![day(8)])
    );
    assert_eq!(
        store.query_usage(&key.id, day(9), day(20)).await,
        Ok(vec![])
    );
    assert_eq!(store.query_usage(&key.id, day(7), day(5)).await, Ok(vec![]));
}

/// Usage of a missing key is `NotFound`.
pub async fn usage_needs_the_key<S: KeyStore>(store: S) {
    let missing = KeyId::generate();
    assert_eq!(
        store.record_usage(&report(&missing, 1, "m", 1, 0)).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.query_usage(&missing, day(1), day(31)).await,
        Ok(vec![])
    );
}

/// A last-use flush sets the last use of each existing key, leaves its
/// credits alone, never moves a last use back, and skips a key that does
/// not exist without creating it.
pub async fn last_use_flush_touches_existing_keys_only<S: KeyStore>(store: S) {
    let org = given_org(&store, 10).await;
    let metered = given_key(&store, KeyBuilder::new(&org.id).credits(7).build()).await;
    let plain = given_key(&store, KeyBuilder::new(&org.id).build()).await;
    let ghost = KeyId::generate();
    store
        .touch_last_used(&[
            (metered.id.clone(), at(5)),
            (ghost.clone(), at(5)),
            (plain.id.clone(), at(6)),
        ])
        .await
        .expect("touch_last_used");
    let stored = |id: KeyId| {
        let store = &store;
        async move { store.get_key(&id).await.expect("get_key") }
    };
    assert_eq!(
        stored(metered.id.clone())
            .await
            .map(|k| (k.credits_remaining, k.last_used_at)),
        Some((Some(7), Some(at(5))))
    );
    assert_eq!(
        stored(plain.id.clone()).await.map(|k| k.last_used_at),
        Some(Some(at(6)))
    );
    assert_eq!(stored(ghost).await, None);
    // A later flush moves it on; an earlier one (a flush that lost a race)
    // does not move it back, after a flush or after a spend.
    for (when, expected) in [(9, 9), (7, 9)] {
        store
            .touch_last_used(&[(plain.id.clone(), at(when))])
            .await
            .expect("touch_last_used");
        assert_eq!(
            stored(plain.id.clone()).await.map(|k| k.last_used_at),
            Some(Some(at(expected)))
        );
    }
    store
        .spend_credits(&metered.id, 1, at(20))
        .await
        .expect("spend");
    store
        .touch_last_used(&[(metered.id.clone(), at(15))])
        .await
        .expect("touch_last_used");
    assert_eq!(
        stored(metered.id).await.map(|k| k.last_used_at),
        Some(Some(at(20)))
    );
}
