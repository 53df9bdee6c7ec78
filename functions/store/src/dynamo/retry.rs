//! Retrying what the SDK does not: transaction conflicts.
//!
//! The SDK retries throttling and transport faults itself (see
//! [`keyplane_aws::Profile`]). It does not retry a transaction
//! cancelled because another transaction held one of its items
//! (`TransactionConflict`), nor a single-item write refused for the same
//! reason (`TransactionConflictException`): DynamoDB leaves that to the
//! caller. Nothing was written in either case, and every write here is
//! guarded by its conditions, so trying again is safe.

use std::time::Duration;

use rand::Rng;

/// Attempts in all, the first included.
const MAX_ATTEMPTS: u32 = 6;
/// Upper bound of the first pause; doubled at each retry.
const BASE_DELAY: Duration = Duration::from_millis(20);
/// Upper bound of any pause.
const MAX_DELAY: Duration = Duration::from_millis(400);

/// Counts attempts and sleeps between them with "full jitter" (a random
/// pause up to an exponentially growing bound), so that writers that
/// collided do not collide again in lockstep.
#[derive(Debug, Default)]
pub(super) struct Backoff {
    retries: u32,
}

impl Backoff {
    pub(super) fn new() -> Self {
        Self::default()
    }

    /// Sleeps before the next attempt; `false` (without sleeping) when the
    /// attempts are used up.
    pub(super) async fn pause(&mut self) -> bool {
        if self.retries + 1 >= MAX_ATTEMPTS {
            return false;
        }
        let bound = BASE_DELAY
            .saturating_mul(1 << self.retries.min(16))
            .min(MAX_DELAY);
        self.retries += 1;
        let millis = u64::try_from(bound.as_millis()).unwrap_or(u64::MAX);
        let pause = Duration::from_millis(rand::rng().random_range(0..=millis));
        tokio::time::sleep(pause).await;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn attempts_are_bounded() {
        let mut backoff = Backoff::new();
        let mut retries = 0;
        while backoff.pause().await {
            retries += 1;
        }
        assert_eq!(retries, MAX_ATTEMPTS - 1);
    }
}
