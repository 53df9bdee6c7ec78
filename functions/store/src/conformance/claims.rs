//! Claims of signed requests: each is claimed once until it expires, by
//! exactly one of concurrent claimants.

use std::sync::Arc;

use keyplane_core::store::KeyStore;
use tokio::task::JoinSet;

use super::fixtures::at;

/// A fresh digest, so cases never collide on a shared table.
fn digest() -> String {
    keyplane_core::id::EventId::generate().to_string()
}

/// A claim holds until it expires: a second claim is refused while it is
/// live, and succeeds at its expiry. Other digests are unaffected.
pub async fn a_request_is_claimed_once_until_its_claim_expires<S: KeyStore>(store: S) {
    let (first, other) = (digest(), digest());
    let claim = |digest: &str, now: i64, until: i64| {
        let digest = digest.to_owned();
        let store = &store;
        async move {
            store
                .claim_request(&digest, at(now), at(until))
                .await
                .expect("claim_request")
        }
    };
    assert!(claim(&first, 0, 60).await, "the first claim");
    assert!(!claim(&first, 0, 60).await, "the same claim again");
    assert!(!claim(&first, 59, 119).await, "while the claim is live");
    assert!(claim(&other, 1, 61).await, "another request");
    assert!(claim(&first, 60, 120).await, "at its expiry, it is gone");
    assert!(!claim(&first, 61, 121).await, "the new claim holds");
    // Expired claims may be swept as others are made; a live one stays.
    let lasting = digest();
    assert!(claim(&lasting, 100, 1000).await);
    for n in 0..40 {
        assert!(claim(&digest(), 200 + n, 201 + n).await);
    }
    assert!(!claim(&lasting, 300, 1200).await, "still live");
    assert!(claim(&other, 300, 360).await, "long expired");
}

/// A released claim may be claimed again at once; releasing what is not
/// claimed is no error.
pub async fn a_released_request_can_be_claimed_again<S: KeyStore>(store: S) {
    let digest = digest();
    store
        .release_request(&digest)
        .await
        .expect("release of nothing");
    assert_eq!(store.claim_request(&digest, at(0), at(900)).await, Ok(true));
    store.release_request(&digest).await.expect("release");
    assert_eq!(store.claim_request(&digest, at(1), at(901)).await, Ok(true));
    assert_eq!(
        store.claim_request(&digest, at(2), at(902)).await,
        Ok(false)
    );
}

/// 20 concurrent claims of one request: exactly one wins.
pub async fn concurrent_claims_have_one_winner<S: KeyStore>(store: S) {
    let store = Arc::new(store);
    for round in 0..3 {
        let digest = digest();
        let mut tasks = JoinSet::new();
        for _ in 0..20 {
            let (store, digest) = (Arc::clone(&store), digest.clone());
            tasks.spawn(async move {
                store
                    .claim_request(&digest, at(round), at(round + 900))
                    .await
            });
        }
        let mut winners = 0;
        while let Some(joined) = tasks.join_next().await {
            if joined.expect("task").expect("claim_request") {
                winners += 1;
            }
        }
        assert_eq!(winners, 1, "round {round}");
    }
}
