//! Where the client's settings come from: `KEYPLANE_ENDPOINT`, and the
//! standard AWS chain (environment, shared files and named profiles), with
//! the region overridable. One test, because it changes the process
//! environment.

mod support;

use keyplane_client::api::tenancy::CreateOrganization;
use keyplane_client::{Client, Error, ENDPOINT_ENV};
use support::{TestServer, ADMIN, REGION};

fn org(name: &str) -> CreateOrganization {
    CreateOrganization {
        name: name.to_owned(),
        key_quota: None,
    }
}

#[tokio::test]
async fn settings_come_from_the_environment_and_the_aws_chain() {
    let server = TestServer::start().await;
    for var in [
        ENDPOINT_ENV,
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ] {
        std::env::remove_var(var);
    }
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");

    // No endpoint: a configuration error naming the variable.
    let err = Client::builder()
        .region(REGION)
        .credentials(server.credentials(ADMIN).clone())
        .build()
        .await
        .expect_err("no endpoint");
    assert!(matches!(err, Error::Configuration(_)), "{err:?}");
    assert!(err.to_string().contains(ENDPOINT_ENV), "{err}");

    // A named profile in the shared files, as `--profile` would choose it.
    let admin = server.credentials(ADMIN);
    let dir = tempfile::tempdir().expect("temp dir");
    let credentials_file = dir.path().join("credentials");
    let config_file = dir.path().join("config");
    std::fs::write(
        &credentials_file,
        format!(
            "[kp-admin]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            admin.access_key_id(),
            admin.secret_access_key()
        ),
    )
    .expect("credentials file");
    std::fs::write(
        &config_file,
        format!("[profile kp-admin]\nregion = {REGION}\n"),
    )
    .expect("config file");
    std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", &credentials_file);
    std::env::set_var("AWS_CONFIG_FILE", &config_file);
    std::env::set_var(ENDPOINT_ENV, &server.endpoint);

    let by_profile = Client::builder()
        .profile("kp-admin")
        .build()
        .await
        .expect("client");
    assert_eq!(by_profile.region(), REGION);
    by_profile
        .create_organization(&org("By profile"))
        .await
        .expect("signed with the profile's credentials");

    // The region can be overridden; the server then refuses the scope.
    let elsewhere = Client::builder()
        .profile("kp-admin")
        .region("eu-west-1")
        .build()
        .await
        .expect("client");
    let err = elsewhere
        .create_organization(&org("Elsewhere"))
        .await
        .expect_err("wrong region");
    assert_eq!(err.code(), Some("SIGNATURE_WRONG_SCOPE"));

    // AWS_PROFILE, through from_env.
    std::env::set_var("AWS_PROFILE", "kp-admin");
    let from_env = Client::from_env().await.expect("client");
    from_env
        .create_organization(&org("From AWS_PROFILE"))
        .await
        .expect("signed");

    // A missing profile: the credentials error comes on the first call.
    let missing = Client::builder()
        .profile("no-such-profile")
        .region(REGION)
        .build()
        .await
        .expect("client");
    let err = missing
        .create_organization(&org("Nobody"))
        .await
        .expect_err("no credentials");
    assert!(matches!(err, Error::Credentials(_)), "{err:?}");
}
