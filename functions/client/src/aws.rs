//! AWS settings from the standard places, in one function: environment,
//! shared config and credentials files (a named profile), SSO, assumed
//! roles, web identity, container and instance roles — loaded through
//! `keyplane-aws`, like every other Keyplane component. Only the region and
//! the credentials are taken: Keyplane's own endpoint is not an AWS service
//! endpoint, so `AWS_ENDPOINT_URL` (which points at an emulator in tests)
//! never applies to it.

use aws_config::Region;
use aws_credential_types::provider::SharedCredentialsProvider;
use keyplane_aws::Profile;

/// What the standard chain found.
#[derive(Debug)]
pub(crate) struct AwsSettings {
    /// The credentials chain; resolved lazily, on the first signed call.
    pub credentials: Option<SharedCredentialsProvider>,
    /// The region, e.g. from `AWS_REGION` or the profile.
    pub region: Option<String>,
}

/// Loads the standard AWS configuration, for `profile` when given
/// (otherwise `AWS_PROFILE` or `default`), with `region` overriding
/// whatever the environment says.
pub(crate) async fn load(profile: Option<&str>, region: Option<&str>) -> AwsSettings {
    let mut loader = keyplane_aws::loader(Profile::Interactive);
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_owned()));
    }
    let config = loader.load().await;
    AwsSettings {
        credentials: config.credentials_provider(),
        region: config.region().map(|r| r.as_ref().to_owned()),
    }
}
