//! Making the two plaintext-returning actions, create and roll, safe to
//! repeat: a repeated request is answered with what the first one did,
//! never with a second plaintext.
//!
//! A token comes either from the client (`Idempotency-Key`) or, when the
//! client sent none, from the edge: the hash of the request's signature.
//! A byte-identical replay of a signed request carries the same signature,
//! so it is recognised even though nothing in front of us (API Gateway
//! included) stops replays within the signature's validity window.

use sha2::{Digest, Sha256};

use crate::id::KeyId;
use crate::principal::Principal;
use crate::store::IdempotencyRecord;
use crate::{validate, Error};

use super::view;
use super::Keyplane;
use keyplane_api::keys::KeyView;

/// Longest accepted `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;
/// How long a token is remembered. Signed requests go stale after five
/// minutes; clients' own retries may come much later.
const RETENTION_SECONDS: i64 = 24 * 3600;

/// What makes a create or roll request safe to repeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyToken {
    /// The client's `Idempotency-Key`; checked when the use case runs.
    Client(String),
    /// Derived by the edge from the request's signature (a digest, never the
    /// signature itself).
    Signature(String),
}

impl IdempotencyToken {
    /// The token as stored: the two kinds never collide.
    fn stored(&self) -> String {
        match self {
            IdempotencyToken::Client(token) => format!("client:{token}"),
            IdempotencyToken::Signature(digest) => format!("signature:{digest}"),
        }
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        let IdempotencyToken::Client(token) = self else {
            return Ok(());
        };
        if token.is_empty()
            || token.len() > MAX_IDEMPOTENCY_KEY_LEN
            || !token.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(Error::invalid(
                "INVALID_IDEMPOTENCY_KEY",
                format!(
                    "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} printable ASCII characters"
                ),
            ));
        }
        validate::no_keys("Idempotency-Key", token)
    }
}

/// The request a token was first used for: the action, its target and its
/// parameters, hashed. A token reused for anything else is refused.
pub(crate) fn fingerprint(action: &str, target: &str, body: &impl serde::Serialize) -> String {
    let mut hasher = Sha256::new();
    for part in [action.as_bytes(), b"\0", target.as_bytes(), b"\0"] {
        hasher.update(part);
    }
    hasher.update(serde_json::to_vec(body).unwrap_or_default());
    hex::encode(hasher.finalize())
}

impl Keyplane {
    /// The live record `token` left, if any.
    pub(crate) async fn earlier_request(
        &self,
        principal: &Principal,
        token: Option<&IdempotencyToken>,
    ) -> Result<Option<IdempotencyRecord>, Error> {
        let Some(token) = token else {
            return Ok(None);
        };
        let now = self.clock.now().timestamp();
        let record = self
            .store
            .get_idempotency(principal, &token.stored())
            .await?;
        Ok(record.filter(|r| r.ttl > now))
    }

    /// The record to write with the change a token's request makes.
    pub(crate) fn idempotency_record(
        &self,
        principal: &Principal,
        token: Option<&IdempotencyToken>,
        fingerprint: &str,
        key_id: &KeyId,
    ) -> Option<IdempotencyRecord> {
        token.map(|token| IdempotencyRecord {
            principal: principal.clone(),
            token: token.stored(),
            fingerprint: fingerprint.to_owned(),
            key_id: key_id.clone(),
            ttl: self.clock.now().timestamp() + RETENTION_SECONDS,
        })
    }

    /// The answer to a repeated request: the key as it is now, masked.
    pub(crate) async fn replayed(
        &self,
        record: &IdempotencyRecord,
        fingerprint: &str,
    ) -> Result<KeyView, Error> {
        if record.fingerprint != fingerprint {
            return Err(Error::invalid(
                "IDEMPOTENCY_KEY_MISMATCH",
                "this Idempotency-Key was used for a different request; use a new key for a new request",
            ));
        }
        let key = self
            .store
            .get_key(&record.key_id)
            .await?
            .ok_or_else(|| Error::not_found("KEY_NOT_FOUND", "key", record.key_id.as_str()))?;
        Ok(view::masked(&key, self.clock.now()))
    }
}
