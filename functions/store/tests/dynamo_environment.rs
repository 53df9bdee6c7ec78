//! `DynamoStore::from_env` against awkward environments: blank endpoint
//! variables, which the SDK alone takes for URLs and panics on. Each case
//! sets process-wide variables, so they run one after another in this
//! binary of their own. No emulator and no network needed.

use std::time::Duration;

use keyplane_core::key_format::{ApiKey, KeyEnv};
use keyplane_core::store::{KeyStore, StoreError};
use keyplane_store::DynamoStore;

/// A loopback endpoint nothing listens on.
fn closed_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    format!("http://{}", listener.local_addr().expect("addr"))
}

/// One verify-path read through a store from the environment, which must
/// fail as `Unavailable` (nothing is there) rather than panic or hang.
async fn read_fails_cleanly(case: &str) -> String {
    let store = DynamoStore::from_env("keyplane-environment").await;
    let hash = ApiKey::mint(KeyEnv::Test).hash();
    let outcome = tokio::time::timeout(Duration::from_secs(15), store.get_secret(&hash))
        .await
        .unwrap_or_else(|_| panic!("{case}: hung"));
    match outcome {
        Err(StoreError::Unavailable(reason)) => reason,
        other => panic!("{case}: expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn from_env_ignores_blank_endpoint_variables() {
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
    std::env::remove_var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    std::env::set_var("AWS_REGION", "us-east-1");

    // A blank general endpoint next to a usable service-specific one, then
    // the other way round: both reach the usable one.
    for (general, service) in [
        ("", closed_endpoint()),
        (&*closed_endpoint(), String::new()),
    ] {
        std::env::set_var("AWS_ENDPOINT_URL", general);
        std::env::set_var("AWS_ENDPOINT_URL_DYNAMODB", &service);
        let reason = read_fails_cleanly(&format!("general {general:?}, service {service:?}")).await;
        assert!(reason.contains("GetItem"), "{reason}");
    }

    // Only blank values: the store falls back to AWS's own endpoint. The
    // region is not a valid host name, so that endpoint cannot even be
    // resolved and nothing leaves the machine; what matters is the clean
    // error instead of the SDK's panic.
    std::env::set_var("AWS_REGION", "not a region");
    for service in [None, Some("")] {
        std::env::set_var("AWS_ENDPOINT_URL", "");
        match service {
            Some(value) => std::env::set_var("AWS_ENDPOINT_URL_DYNAMODB", value),
            None => std::env::remove_var("AWS_ENDPOINT_URL_DYNAMODB"),
        }
        read_fails_cleanly(&format!("general \"\", service {service:?}")).await;
    }
}
