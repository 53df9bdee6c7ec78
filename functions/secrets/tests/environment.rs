//! `SecretsClient` from awkward environments. Each case sets
//! process-wide variables, so they run one after another in this binary of
//! their own.

use std::time::Duration;

use keyplane_aws::testing::{closed_endpoint, set_env as set, Recorder};
use keyplane_aws::Profile;
use keyplane_secrets::{SecretsClient, SecretsError, Stage};

/// AWS's own Secrets Manager endpoint for the test region.
const AWS_ENDPOINT: &str = "https://secretsmanager.us-east-1.amazonaws.com/";

/// Where one read goes through a client configured from the environment,
/// which must fail as `Unavailable` rather than panic.
async fn endpoint_used() -> String {
    let recorder = Recorder::default();
    let config = recorder.load(Profile::Interactive).await;
    let err = SecretsClient::from_sdk_config(&config)
        .read("keyplane-test/env", Stage::Current)
        .await
        .expect_err("nothing is sent");
    assert!(matches!(err, SecretsError::Unavailable(_)), "{err:?}");
    recorder.uris().first().cloned().expect("a request")
}

#[tokio::test]
async fn from_env_copes_with_blank_endpoints_and_missing_settings() {
    keyplane_aws::testing::isolate_from_host();

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

    // Exactly where requests go, blank values skipped.
    let service = "http://127.0.0.1:4001/";
    let general = "http://127.0.0.1:4002/";
    // (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_SECRETS_MANAGER, where requests go)
    let cases = [
        (Some(general), Some(service), service),
        (Some(""), Some(service), service),
        (Some(general), Some(" "), general),
        (Some(""), None, AWS_ENDPOINT),
        (None, Some(""), AWS_ENDPOINT),
        (Some(""), Some(""), AWS_ENDPOINT),
        (None, None, AWS_ENDPOINT),
    ];
    for (general_var, service_var, expected) in cases {
        set("AWS_ENDPOINT_URL", general_var);
        set("AWS_ENDPOINT_URL_SECRETS_MANAGER", service_var);
        assert_eq!(
            endpoint_used().await,
            expected,
            "AWS_ENDPOINT_URL={general_var:?} AWS_ENDPOINT_URL_SECRETS_MANAGER={service_var:?}"
        );
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
