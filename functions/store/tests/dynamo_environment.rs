//! `DynamoStore` from awkward environments: blank endpoint variables, which
//! the SDK alone takes for URLs and panics on. Each case sets process-wide
//! variables, so they run one after another in this binary of their own.
//! No emulator and no network needed.

use std::time::Duration;

use keyplane_aws::testing::{closed_endpoint, set_env as set, Recorder};
use keyplane_aws::Profile;
use keyplane_core::key_format::{ApiKey, KeyEnv};
use keyplane_core::store::{KeyStore, StoreError};
use keyplane_store::DynamoStore;

/// AWS's own DynamoDB endpoint for the test region.
const AWS_ENDPOINT: &str = "https://dynamodb.us-east-1.amazonaws.com/";

/// Where one verify-path read goes through a store configured from the
/// environment, which must fail as `Unavailable` rather than panic.
async fn endpoint_used() -> String {
    let recorder = Recorder::default();
    let config = recorder.load(Profile::Lambda).await;
    let store = DynamoStore::from_sdk_config(&config, "keyplane-environment");
    let outcome = store.get_secret(&ApiKey::mint(KeyEnv::Test).hash()).await;
    assert!(
        matches!(outcome, Err(StoreError::Unavailable(_))),
        "{outcome:?}"
    );
    recorder.uris().first().cloned().expect("a request")
}

#[tokio::test]
async fn blank_endpoint_variables_are_ignored() {
    keyplane_aws::testing::isolate_from_host();

    let service = "http://127.0.0.1:4001/";
    let general = "http://127.0.0.1:4002/";
    // (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_DYNAMODB, where requests go)
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
        set("AWS_ENDPOINT_URL_DYNAMODB", service_var);
        assert_eq!(
            endpoint_used().await,
            expected,
            "AWS_ENDPOINT_URL={general_var:?} AWS_ENDPOINT_URL_DYNAMODB={service_var:?}"
        );
    }

    // And through `from_env`, as `keyplane serve` and Lambda build it.
    std::env::set_var("AWS_ENDPOINT_URL", "");
    std::env::set_var("AWS_ENDPOINT_URL_DYNAMODB", closed_endpoint());
    let store = DynamoStore::from_env("keyplane-environment").await;
    let outcome = tokio::time::timeout(
        Duration::from_secs(15),
        store.get_secret(&ApiKey::mint(KeyEnv::Test).hash()),
    )
    .await
    .expect("no hang");
    assert!(
        matches!(&outcome, Err(StoreError::Unavailable(reason)) if reason.contains("GetItem")),
        "{outcome:?}"
    );
}
