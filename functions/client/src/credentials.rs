//! Credentials for signing, cached until shortly before they expire.
//!
//! The AWS SDKs put an identity cache in front of the provider chain; the
//! chain itself does not cache, and an assumed role or SSO session would
//! otherwise cost an STS call per request.

use std::fmt;
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use tokio::sync::Mutex;

use crate::Error;

/// Refresh this long before expiry, so a request never goes out signed
/// with credentials that expire in flight.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(5 * 60);
/// How long credentials without an expiry (static keys) are kept before
/// the chain is asked again.
const NO_EXPIRY_TTL: Duration = Duration::from_secs(15 * 60);

/// A provider and the last credentials it gave.
pub(crate) struct CredentialsCache {
    provider: SharedCredentialsProvider,
    cached: Mutex<Option<(Credentials, SystemTime)>>,
}

impl CredentialsCache {
    pub(crate) fn new(provider: SharedCredentialsProvider) -> Self {
        Self {
            provider,
            cached: Mutex::new(None),
        }
    }

    /// Current credentials. Concurrent callers wait for one refresh rather
    /// than each asking the chain.
    pub(crate) async fn get(&self) -> Result<Credentials, Error> {
        let mut cached = self.cached.lock().await;
        let now = SystemTime::now();
        if let Some((credentials, refresh_at)) = cached.as_ref() {
            if now < *refresh_at {
                return Ok(credentials.clone());
            }
        }
        let fresh = self
            .provider
            .provide_credentials()
            .await
            .map_err(Error::Credentials)?;
        let refresh_at = match fresh.expiry() {
            Some(expiry) => expiry.checked_sub(REFRESH_BEFORE_EXPIRY).unwrap_or(expiry),
            None => now + NO_EXPIRY_TTL,
        };
        *cached = Some((fresh.clone(), refresh_at));
        Ok(fresh)
    }
}

impl fmt::Debug for CredentialsCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialsCache").finish_non_exhaustive()
    }
}
