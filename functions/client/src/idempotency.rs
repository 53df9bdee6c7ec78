//! `Idempotency-Key`: what makes a create or roll safe to retry.

use std::fmt;

use keyplane_api::key_format::contains_key;
use rand::distr::{Alphanumeric, SampleString};

use crate::Error;

/// Longest token the server accepts.
const MAX_LEN: usize = 255;
/// Length of generated tokens: 32 alphanumerics, ~190 bits.
const GENERATED_LEN: usize = 32;

/// The token a create or roll is sent with. The server remembers it per
/// principal for 24 hours and answers a repeat with the key it made, masked
/// ([`crate::CreateOutcome::Replayed`]), never with a second plaintext.
/// Reuse one only for the very same request.
#[derive(Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// A fresh random token (32 alphanumerics from the OS-seeded CSPRNG).
    pub fn generate() -> Self {
        Self(Alphanumeric.sample_string(&mut rand::rng(), GENERATED_LEN))
    }

    /// A token of your own, e.g. derived from a job id so that a restarted
    /// job repeats rather than duplicates its creates: 1 to 255 printable
    /// ASCII characters, and nothing shaped like an API key.
    pub fn new(token: impl Into<String>) -> Result<Self, Error> {
        let token = token.into();
        if token.is_empty() || token.len() > MAX_LEN || !token.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(Error::configuration(format!(
                "an Idempotency-Key must be 1 to {MAX_LEN} printable ASCII characters"
            )));
        }
        if contains_key(&token) {
            return Err(Error::configuration(
                "an Idempotency-Key must not contain an API key",
            ));
        }
        Ok(Self(token))
    }

    /// The token as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IdempotencyKey").field(&self.0).finish()
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use keyplane_api::key_format::{ApiKey, KeyEnv};

    use super::IdempotencyKey;

    #[test]
    fn generated_tokens_are_valid_and_distinct() {
        let (a, b) = (IdempotencyKey::generate(), IdempotencyKey::generate());
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert!(IdempotencyKey::new(a.as_str()).is_ok());
    }

    #[test]
    fn bad_tokens_are_refused() {
        let key = ApiKey::mint(KeyEnv::Test);
        for bad in ["", "has space", "é", &"x".repeat(256), key.expose()] {
            assert!(IdempotencyKey::new(bad).is_err());
        }
    }
}
