//! The DynamoDB store when DynamoDB cannot be reached: a closed port, or a
//! listener that accepts and never answers (both on 127.0.0.1, no emulator
//! needed). Every failure is `Unavailable` within a few seconds with the
//! Lambda retry and timeout settings, and verify fails closed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, TimeZone, Utc};
use keyplane_aws::Profile;
use keyplane_core::clock::ManualClock;
use keyplane_core::id::{KeyId, OrgId};
use keyplane_core::key_format::{ApiKey, KeyEnv};
use keyplane_core::principal::Principal;
use keyplane_core::service::VerifyKey;
use keyplane_core::store::{KeyStore, StoreError};
use keyplane_core::{Config, ErrorKind, Keyplane};
use keyplane_store::DynamoStore;
use tokio::net::TcpListener;

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("valid date")
}

/// Longest a failing call may take: generous, this is "no hang", not a
/// performance bound (the Lambda settings give up after about 5 s).
const NO_HANG: Duration = Duration::from_secs(15);

/// A store on `endpoint` with the Lambda retry and timeout settings.
fn lambda_store(endpoint: &str) -> DynamoStore {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("fault", "fault", None, None, "faults"))
        .retry_config(Profile::Lambda.retry_config())
        .timeout_config(Profile::Lambda.timeout_config())
        .build();
    DynamoStore::new(Client::from_conf(config), "keyplane-faults")
}

/// A loopback port with nothing listening on it.
async fn closed_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    drop(listener);
    format!("http://{address}")
}

/// A loopback listener that accepts connections and never answers; it
/// lives as long as the returned task.
async fn silent_listener() -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (format!("http://{address}"), task)
}

async fn expect_unavailable<T: std::fmt::Debug>(
    what: &str,
    call: impl std::future::Future<Output = Result<T, StoreError>>,
) -> String {
    let started = Instant::now();
    let outcome = call.await;
    let took = started.elapsed();
    assert!(took < NO_HANG, "{what} took {took:?}");
    match outcome {
        Err(StoreError::Unavailable(reason)) => {
            eprintln!("{what}: Unavailable after {took:?}: {reason}");
            reason
        }
        other => panic!("{what}: expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn a_closed_port_is_unavailable_at_once() {
    let store = lambda_store(&closed_port().await);
    let hash = ApiKey::mint(KeyEnv::Test).hash();
    let reason = expect_unavailable("get_secret", store.get_secret(&hash)).await;
    assert!(reason.contains("GetItem"), "{reason}");
    expect_unavailable(
        "get_organization",
        store.get_organization(&OrgId::generate()),
    )
    .await;
    expect_unavailable(
        "spend_credits",
        store.spend_credits(&KeyId::generate(), 1, start()),
    )
    .await;
}

#[tokio::test]
async fn a_listener_that_never_answers_times_out_as_unavailable() {
    let (endpoint, listener) = silent_listener().await;
    let store = lambda_store(&endpoint);
    let hash = ApiKey::mint(KeyEnv::Test).hash();
    let reason = expect_unavailable("get_secret", store.get_secret(&hash)).await;
    assert!(reason.contains("timed out"), "{reason}");
    listener.abort();
}

#[tokio::test]
async fn verify_fails_closed_when_dynamodb_is_unreachable() {
    let (silent, listener) = silent_listener().await;
    for endpoint in [closed_port().await, silent] {
        let keyplane = Keyplane::new(
            Arc::new(lambda_store(&endpoint)),
            Arc::new(ManualClock::new(start())),
            Config {
                admins: vec![
                    Principal::parse("arn:aws:iam::111111111111:user/admin").expect("a valid ARN")
                ],
                usage_reporters: Vec::new(),
                key_env: KeyEnv::Test,
                rotators: Vec::new(),
            },
        );
        let started = Instant::now();
        let outcome = keyplane
            .verify(VerifyKey {
                key: ApiKey::mint(KeyEnv::Test),
                permissions: Vec::new(),
                workspace_id: None,
                cost: None,
            })
            .await;
        assert!(started.elapsed() < NO_HANG);
        match outcome {
            Err(err) => assert_eq!(err.kind, ErrorKind::Unavailable, "{err:?}"),
            Ok(verdict) => panic!("verify answered {verdict:?} with the store down"),
        }
    }
    listener.abort();
}
