//! Refusing replays of signed management writes.
//!
//! SigV4 accepts a signed request for [`SIGNATURE_SKEW`] either side of its
//! `x-amz-date`, and nothing in front of us (API Gateway included)
//! remembers which signatures it has seen. So a write that is not already
//! idempotent (creates and rolls are: see [`super::IdempotencyToken`])
//! first claims its signature in the store, where every instance of a
//! fleet sees the claim; a second arrival finds it and is refused with
//! `REQUEST_REPLAYED`, having changed nothing.
//!
//! The claim is made before the write, not in its transaction: one small
//! conditional put, the same for every use case, instead of a condition
//! threaded through each store method. What that costs is honesty about
//! failures, settled by one rule: the signature is given back only when
//! the store failed (`Unavailable`, 503), the one failure a client answers
//! by sending the same request again. Every other refusal (bad input, no
//! rights, a conflict) keeps the claim: the same bytes would be refused
//! again, or — worse — succeed later in a changed state, which is exactly
//! the replay this prevents; a client that fixes its request signs new
//! bytes. A write whose store call timed out after it committed gives its
//! claim back too, so the same request can run once more within the window,
//! as the client's own retry would. A request cut off by the server's
//! deadline keeps its claim (its outcome is unknown).

use std::future::Future;

use chrono::Duration;

use crate::error::{Error, ErrorKind};

use super::Keyplane;

/// How far a SigV4 `x-amz-date` may be from the server's clock, either
/// way: what API Gateway and the local verifier accept.
pub const SIGNATURE_SKEW: Duration = Duration::minutes(5);

/// How long a claimed signature stays claimed. A signature dated `d` is
/// accepted from `d - 5 min` to `d + 5 min`; first seen at the earliest
/// moment, it is still accepted ten minutes later. Five more minutes cover
/// instances (and API Gateway) whose clocks disagree with the one that
/// made the claim.
pub const REQUEST_CLAIM_TTL: Duration = Duration::minutes(15);

/// The code of a refused replay.
pub const REQUEST_REPLAYED: &str = "REQUEST_REPLAYED";

impl Keyplane {
    /// Runs `write` if the signed request named by `digest` (a digest of
    /// its signature) has not been handled before, claiming it for
    /// [`REQUEST_CLAIM_TTL`]; a request claimed before is refused with
    /// `REQUEST_REPLAYED` (409) and `write` never runs. A store failure
    /// while claiming is `STORE_UNAVAILABLE` (503), with nothing done. See
    /// the module docs for when a claim is given back.
    pub async fn once<T>(
        &self,
        digest: &str,
        write: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let now = self.clock.now();
        if !self
            .store
            .claim_request(digest, now, now + REQUEST_CLAIM_TTL)
            .await?
        {
            tracing::warn!("a signed request arrived again and was refused as a replay");
            return Err(Error::conflict(
                REQUEST_REPLAYED,
                "this signed request was already received and is handled only once; \
                 sign the request again (a new signature) to repeat it",
            ));
        }
        let result = write.await;
        if let Err(err) = &result {
            if err.kind == ErrorKind::Unavailable {
                if let Err(release) = self.store.release_request(digest).await {
                    // Best effort: the client gets the write's own error;
                    // only resending the very same bytes is now refused.
                    tracing::warn!(
                        error = %release,
                        "could not give back the claim of a request the store failed"
                    );
                }
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_outlives_every_moment_its_signature_is_accepted() {
        // First seen 5 minutes before its date, accepted until 5 after.
        assert!(REQUEST_CLAIM_TTL >= SIGNATURE_SKEW * 2 + Duration::minutes(1));
    }
}
