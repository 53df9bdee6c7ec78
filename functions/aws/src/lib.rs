//! The AWS SDK configuration every Keyplane component shares.
//!
//! One place decides how Keyplane talks to AWS: the standard environment
//! (region, `AWS_PROFILE`, the credential chain, endpoint overrides) via
//! [`loader`] / [`load`], retries and timeouts tuned per use via
//! [`Profile`], and [`endpoint_override`], which keeps a blank
//! `AWS_ENDPOINT_URL` or `AWS_ENDPOINT_URL_<SERVICE>` from crashing a
//! client.
//!
//! A service client is built in three steps:
//!
//! ```no_run
//! use keyplane_aws::{endpoint_override, Profile, Service};
//!
//! # async fn demo() {
//! let config = keyplane_aws::load(Profile::Lambda).await;
//! let mut builder = aws_sdk_dynamodb::config::Builder::from(&config);
//! endpoint_override(&config, Service::DYNAMODB).apply(|url| {
//!     builder.set_endpoint_url(url);
//! });
//! let client = aws_sdk_dynamodb::Client::from_conf(builder.build());
//! # }
//! ```

mod endpoint;
mod profile;
#[cfg(feature = "test-util")]
pub mod testing;

use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};

pub use endpoint::{
    endpoint_override, EndpointOverride, EndpointSettings, Service, GENERAL_ENDPOINT_VAR,
};
pub use profile::Profile;

/// The loader for Keyplane's AWS configuration: the standard environment
/// (`AWS_REGION`, `AWS_PROFILE`, the credential chain, `AWS_ENDPOINT_URL`,
/// …) with `profile`'s retries and timeouts.
///
/// Adjust it before loading where the environment must not decide (tests
/// set an endpoint, a region and static credentials):
///
/// ```no_run
/// # async fn demo() {
/// let config = keyplane_aws::loader(keyplane_aws::Profile::Emulator)
///     .endpoint_url("http://127.0.0.1:5000")
///     .region(aws_config::Region::new("us-east-1"))
///     .load()
///     .await;
/// # }
/// ```
pub fn loader(profile: Profile) -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(profile.retry_config())
        .timeout_config(profile.timeout_config())
}

/// Keyplane's AWS configuration from the standard environment, with
/// `profile`'s retries and timeouts; see [`loader`].
pub async fn load(profile: Profile) -> SdkConfig {
    loader(profile).load().await
}

#[cfg(test)]
mod tests {
    use aws_config::Region;

    use super::*;

    /// Loads with an endpoint set in code, a region and static
    /// credentials, so nothing slow or host-specific is consulted.
    async fn load_with_endpoint(profile: Profile, endpoint: &str) -> SdkConfig {
        loader(profile)
            .endpoint_url(endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(aws_credential_types::Credentials::new(
                "AKIDKEYPLANETEST",
                "keyplane-test-secret",
                None,
                None,
                "keyplane-aws-tests",
            ))
            .load()
            .await
    }

    #[tokio::test]
    async fn loading_keeps_the_profile() {
        let config = load_with_endpoint(Profile::Lambda, "http://127.0.0.1:5000").await;
        assert_eq!(config.retry_config(), Some(&Profile::Lambda.retry_config()));
        assert_eq!(
            config.timeout_config(),
            Some(&Profile::Lambda.timeout_config())
        );
    }

    #[tokio::test]
    async fn an_endpoint_set_in_code_wins_over_the_environment() {
        // Whatever AWS_ENDPOINT_URL* the test process inherited.
        let config = load_with_endpoint(Profile::Interactive, "http://127.0.0.1:5000").await;
        for service in [Service::DYNAMODB, Service::SECRETS_MANAGER] {
            assert_eq!(
                endpoint_override(&config, service),
                EndpointOverride::Url("http://127.0.0.1:5000".to_owned())
            );
        }
    }
}
