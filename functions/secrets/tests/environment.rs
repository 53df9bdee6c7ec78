//! `SecretsClient::from_env` against awkward environments. Each case sets
//! process-wide variables, so they run one after another in this binary of
//! their own.

use std::time::Duration;

use keyplane_secrets::{SecretsClient, SecretsError, Stage};

/// A loopback endpoint nothing listens on.
fn closed_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    format!("http://{}", listener.local_addr().expect("addr"))
}

#[tokio::test]
async fn from_env_copes_with_blank_endpoints_and_missing_settings() {
    // Static credentials and no instance metadata, so nothing slow or
    // host-specific is consulted.
    std::env::set_var("AWS_ACCESS_KEY_ID", "AKIDKEYPLANETEST");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "keyplane-test-secret-access-key");
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    std::env::set_var("AWS_CONFIG_FILE", "/nonexistent/keyplane-test-config");
    std::env::set_var(
        "AWS_SHARED_CREDENTIALS_FILE",
        "/nonexistent/keyplane-test-credentials",
    );
    std::env::remove_var("AWS_PROFILE");
    std::env::set_var("AWS_REGION", "us-east-1");

    // A blank general endpoint next to a usable service-specific one, then
    // the other way round: the SDK alone would panic on the first request.
    for (general, service) in [
        ("", closed_endpoint()),
        (&*closed_endpoint(), String::new()),
    ] {
        std::env::set_var("AWS_ENDPOINT_URL", general);
        std::env::set_var("AWS_ENDPOINT_URL_SECRETS_MANAGER", &service);
        let client = SecretsClient::from_env().await;
        let err = tokio::time::timeout(
            Duration::from_secs(15),
            client.read("keyplane-test/env", Stage::Current),
        )
        .await
        .expect("no hang")
        .expect_err("nothing listens there");
        assert!(matches!(err, SecretsError::Unavailable(_)), "{err:?}");
    }
    std::env::remove_var("AWS_ENDPOINT_URL_SECRETS_MANAGER");
    std::env::set_var("AWS_ENDPOINT_URL", closed_endpoint());

    // No region: refused locally with a pointer to AWS_REGION.
    std::env::remove_var("AWS_REGION");
    std::env::remove_var("AWS_DEFAULT_REGION");
    let err = SecretsClient::from_env()
        .await
        .describe("keyplane-test/env")
        .await
        .expect_err("no region");
    assert!(
        matches!(&err, SecretsError::InvalidRequest(m) if m.contains("AWS_REGION")),
        "{err:?}"
    );
    std::env::set_var("AWS_REGION", "us-east-1");

    // No credentials anywhere: reported as a credentials problem, not as
    // the network being down.
    std::env::remove_var("AWS_ACCESS_KEY_ID");
    std::env::remove_var("AWS_SECRET_ACCESS_KEY");
    let err = SecretsClient::from_env()
        .await
        .read("keyplane-test/env", Stage::Current)
        .await
        .expect_err("no credentials");
    assert!(matches!(err, SecretsError::AccessDenied { .. }), "{err:?}");
    assert!(err.to_string().contains("credentials"), "{err}");
}
