//! The DynamoDB store against scripted answers in DynamoDB's own wire
//! format, for what moto never says: transaction conflicts, throttling,
//! server errors, and cancellation reasons carrying the refused item.
//!
//! Each test hands the SDK client a fake HTTP connection that records the
//! operation of every request and answers from a script, so the tests show
//! both the outcome and exactly which calls (retries included) led to it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use keyplane_aws::Profile;
use keyplane_core::key_format::{ApiKey, KeyEnv};
use keyplane_core::store::{CreditOutcome, KeyStore, KeyUpdate, NewKey, StoreError};
use keyplane_store::conformance::fixtures::{
    at, event, idempotency, next_version, organization, principal, KeyBuilder,
};
use keyplane_store::DynamoStore;
use serde_json::json;

/// A fake DynamoDB: answers requests from a script, records their operations.
#[derive(Debug, Clone, Default)]
struct Script {
    answers: Arc<Mutex<VecDeque<(u16, serde_json::Value)>>>,
    seen: Arc<Mutex<Vec<String>>>,
    tokens: Arc<Mutex<Vec<String>>>,
}

impl Script {
    fn new(answers: impl IntoIterator<Item = (u16, serde_json::Value)>) -> Self {
        let script = Self::default();
        script.answers.lock().expect("not poisoned").extend(answers);
        script
    }

    /// A store whose client talks to this script, with the Lambda settings.
    fn store(&self) -> DynamoStore {
        let connection = self.clone();
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:9")
            .credentials_provider(Credentials::new("fake", "fake", None, None, "script"))
            .http_client(http_client_fn(move |_, _| {
                SharedHttpConnector::new(connection.clone())
            }))
            .retry_config(Profile::Lambda.retry_config())
            .timeout_config(Profile::Lambda.timeout_config())
            .build();
        DynamoStore::new(Client::from_conf(config), "keyplane-script")
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().expect("not poisoned").clone()
    }

    /// The `ClientRequestToken` of every request that had one.
    fn tokens(&self) -> Vec<String> {
        self.tokens.lock().expect("not poisoned").clone()
    }

    fn left(&self) -> usize {
        self.answers.lock().expect("not poisoned").len()
    }
}

impl HttpConnector for Script {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let operation = request
            .headers()
            .get("x-amz-target")
            .and_then(|target| target.split('.').nth(1))
            .unwrap_or("<no target>")
            .to_owned();
        self.seen.lock().expect("not poisoned").push(operation);
        let token = request
            .body()
            .bytes()
            .and_then(|body| serde_json::from_slice::<serde_json::Value>(body).ok())
            .and_then(|body| body["ClientRequestToken"].as_str().map(str::to_owned));
        if let Some(token) = token {
            self.tokens.lock().expect("not poisoned").push(token);
        }
        let Some((status, body)) = self.answers.lock().expect("not poisoned").pop_front() else {
            return HttpConnectorFuture::ready(Err(ConnectorError::other(
                "the script has no more answers".into(),
                None,
            )));
        };
        let mut response = HttpResponse::new(
            StatusCode::try_from(status).expect("a status code"),
            SdkBody::from(body.to_string()),
        );
        response
            .headers_mut()
            .insert("content-type", "application/x-amz-json-1.0");
        HttpConnectorFuture::ready(Ok(response))
    }
}

fn ok(body: serde_json::Value) -> (u16, serde_json::Value) {
    (200, body)
}

fn error(kind: &str, message: &str) -> (u16, serde_json::Value) {
    (
        400,
        json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{kind}"), "message": message}),
    )
}

/// A `TransactionCanceledException` with one reason per item.
fn cancelled(reasons: serde_json::Value) -> (u16, serde_json::Value) {
    (
        400,
        json!({
            "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons",
            "CancellationReasons": reasons,
        }),
    )
}

fn none() -> serde_json::Value {
    json!({"Code": "None"})
}

fn conflict() -> serde_json::Value {
    json!({"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"})
}

fn refused(item: Option<serde_json::Value>) -> serde_json::Value {
    let mut reason =
        json!({"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"});
    if let Some(item) = item {
        reason["Item"] = item;
    }
    reason
}

/// An organization item with `key_quota` and as many keys.
fn full_org_item(key_quota: u32) -> serde_json::Value {
    let org = organization(key_quota);
    let doc = json!({"id": org.id, "created_at": org.created_at, "created_by": org.created_by});
    json!({
        "pk": {"S": format!("ORG#{}", org.id)},
        "sk": {"S": "ORG"},
        "doc": {"S": doc.to_string()},
        "name": {"S": org.name},
        "key_quota": {"N": key_quota.to_string()},
        "key_count": {"N": key_quota.to_string()},
    })
}

async fn create_key(store: &DynamoStore, token: Option<&str>) -> Result<(), StoreError> {
    let org = organization(5);
    let key = KeyBuilder::new(&org.id).build();
    let secret = key.secret_records().remove(0);
    let audit = event(&org.id, "key.create", key.id.as_str(), at(0));
    let record = token.map(|token| idempotency(&key.created_by, token, &key.id));
    store
        .create_key(NewKey {
            key: &key,
            secret: &secret,
            audit: &audit,
            idempotency: record.as_ref(),
            fence: None,
        })
        .await
}

#[tokio::test]
async fn a_transaction_conflict_is_tried_again() {
    let script = Script::new([cancelled(json!([conflict(), none()])), ok(json!({}))]);
    let org = organization(5);
    let audit = event(&org.id, "org.create", org.id.as_str(), at(0));
    assert_eq!(
        script.store().create_organization(&org, &audit).await,
        Ok(())
    );
    assert_eq!(script.seen(), ["TransactWriteItems", "TransactWriteItems"]);
}

/// The SDK's retry of an attempt resends its token (DynamoDB then answers
/// "done" if the first try was committed); a new attempt after a conflict,
/// when nothing was written, gets a new one.
#[tokio::test]
async fn retries_of_one_attempt_share_its_request_token() {
    let script = Script::new([
        (
            500,
            json!({"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError", "message": "boom"}),
        ),
        cancelled(json!([conflict(), none()])),
        ok(json!({})),
    ]);
    let org = organization(5);
    let audit = event(&org.id, "org.create", org.id.as_str(), at(0));
    assert_eq!(
        script.store().create_organization(&org, &audit).await,
        Ok(())
    );
    let tokens = script.tokens();
    assert_eq!(tokens.len(), 3);
    assert_eq!(tokens[0], tokens[1], "an SDK retry changed the token");
    assert_ne!(tokens[1], tokens[2], "a new attempt reused the token");
}

#[tokio::test]
async fn endless_conflicts_end_as_unavailable() {
    let script = Script::new((0..10).map(|_| cancelled(json!([conflict(), none()]))));
    let org = organization(5);
    let audit = event(&org.id, "org.create", org.id.as_str(), at(0));
    match script.store().create_organization(&org, &audit).await {
        Err(StoreError::Unavailable(reason)) => {
            assert!(reason.contains("TransactionConflict"), "{reason}")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    // Six attempts in all, then the store gives up.
    assert_eq!(script.seen().len(), 6);
    assert_eq!(script.left(), 4);
}

#[tokio::test]
async fn a_spend_that_meets_a_transaction_is_tried_again() {
    let script = Script::new([
        error(
            "TransactionConflictException",
            "Transaction is ongoing for the item",
        ),
        ok(json!({"Attributes": {"credits_remaining": {"N": "4"}}})),
    ]);
    let key = KeyBuilder::new(&organization(5).id).build();
    assert_eq!(
        script.store().spend_credits(&key.id, 1, at(0)).await,
        Ok(CreditOutcome::Spent { remaining: 4 })
    );
    assert_eq!(script.seen(), ["UpdateItem", "UpdateItem"]);
}

#[tokio::test]
async fn a_refused_spend_reads_the_balance_from_the_refused_item() {
    let refusal = |item: serde_json::Value| {
        (
            400,
            json!({
                "__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
                "message": "The conditional request failed",
                "Item": item,
            }),
        )
    };
    let script = Script::new([
        refusal(
            json!({"pk": {"S": "KEY#key_x"}, "sk": {"S": "STATS"}, "credits_remaining": {"N": "2"}}),
        ),
        refusal(json!({"pk": {"S": "KEY#key_x"}, "sk": {"S": "STATS"}})),
    ]);
    let store = script.store();
    let key = KeyBuilder::new(&organization(5).id).build();
    assert_eq!(
        store.spend_credits(&key.id, 3, at(0)).await,
        Ok(CreditOutcome::Exhausted)
    );
    assert_eq!(
        store.spend_credits(&key.id, 3, at(0)).await,
        Err(StoreError::NotFound)
    );
    // The refused item answered; no second read.
    assert_eq!(script.seen(), ["UpdateItem", "UpdateItem"]);
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk_then_unavailable() {
    let script = Script::new((0..5).map(|_| error("ThrottlingException", "Rate exceeded")));
    let hash = ApiKey::mint(KeyEnv::Test).hash();
    match script.store().get_secret(&hash).await {
        Err(StoreError::Unavailable(reason)) => {
            assert!(reason.contains("ThrottlingException"), "{reason}")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    // The Lambda retry settings: three attempts.
    assert_eq!(script.seen(), ["GetItem", "GetItem", "GetItem"]);
}

#[tokio::test]
async fn a_server_error_is_retried_by_the_sdk() {
    let script = Script::new([
        (
            500,
            json!({"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError", "message": "boom"}),
        ),
        ok(json!({})),
    ]);
    let org = organization(5);
    assert_eq!(script.store().get_organization(&org.id).await, Ok(None));
    assert_eq!(script.seen(), ["GetItem", "GetItem"]);
}

#[tokio::test]
async fn the_quota_comes_from_the_refused_organization() {
    let rest = || [none(), none(), none(), none()];
    let mut with_item = vec![refused(Some(full_org_item(5)))];
    with_item.extend(rest());
    let script = Script::new([cancelled(json!(with_item))]);
    assert_eq!(
        create_key(&script.store(), None).await,
        Err(StoreError::QuotaExceeded { quota: 5 })
    );
    assert_eq!(script.seen(), ["TransactWriteItems"]);

    // Without the old item (an emulator that ignores
    // ReturnValuesOnConditionCheckFailure), one read tells.
    let mut without_item = vec![refused(None)];
    without_item.extend(rest());
    let script = Script::new([
        cancelled(json!(without_item.clone())),
        ok(json!({"Item": full_org_item(7)})),
        cancelled(json!(without_item)),
        ok(json!({})),
    ]);
    let store = script.store();
    assert_eq!(
        create_key(&store, None).await,
        Err(StoreError::QuotaExceeded { quota: 7 })
    );
    assert_eq!(create_key(&store, None).await, Err(StoreError::NotFound));
    assert_eq!(
        script.seen(),
        [
            "TransactWriteItems",
            "GetItem",
            "TransactWriteItems",
            "GetItem"
        ]
    );
}

#[tokio::test]
async fn create_refusals_are_read_by_item_index_in_the_embedded_order() {
    let record = idempotency(
        &principal("alice"),
        "t",
        &KeyBuilder::new(&organization(1).id).build().id,
    );
    let record_item = json!({
        "pk": {"S": "IDEM#x"},
        "sk": {"S": "IDEM"},
        "doc": {"S": serde_json::to_string(&record).expect("encodes")},
        "ttl": {"N": record.ttl.to_string()},
    });
    // Everything refused at once: the replay wins.
    let all = json!([
        refused(Some(full_org_item(5))),
        refused(Some(json!({"pk": {"S": "KEY#k"}}))),
        refused(Some(json!({"pk": {"S": "HASH#h"}}))),
        refused(Some(json!({"pk": {"S": "KEY#k"}}))),
        none(),
        refused(Some(record_item)),
    ]);
    // Quota and a taken hash: the hash wins.
    let taken_and_full = json!([
        refused(Some(full_org_item(5))),
        none(),
        refused(Some(json!({"pk": {"S": "HASH#h"}}))),
        none(),
        none(),
    ]);
    let script = Script::new([cancelled(all), cancelled(taken_and_full)]);
    let store = script.store();
    assert_eq!(
        create_key(&store, Some("t")).await,
        Err(StoreError::IdempotencyReplay(record))
    );
    assert_eq!(
        create_key(&store, None).await,
        Err(StoreError::AlreadyExists)
    );
    assert_eq!(script.seen(), ["TransactWriteItems", "TransactWriteItems"]);
}

#[tokio::test]
async fn update_refusals_tell_a_stale_version_from_a_missing_key() {
    let key = KeyBuilder::new(&organization(5).id).build();
    let next = next_version(&key, 10, |k| k.name = "renamed".to_owned());
    let audit = event(&key.organization_id, "key.update", key.id.as_str(), at(10));
    let puts = next.secret_records();
    let update = KeyUpdate {
        key: &next,
        expected_version: 1,
        put_secrets: &puts,
        delete_secrets: &[],
        release_quota: false,
        audit: &audit,
        idempotency: None,
        fence: None,
    };
    let script = Script::new([
        cancelled(json!([
            refused(Some(json!({"pk": {"S": "KEY#k"}, "version": {"N": "3"}}))),
            none(),
            none()
        ])),
        cancelled(json!([refused(None), none(), none()])),
        ok(json!({})),
    ]);
    let store = script.store();
    assert_eq!(
        store.update_key(update).await,
        Err(StoreError::VersionConflict)
    );
    assert_eq!(store.update_key(update).await, Err(StoreError::NotFound));
    assert_eq!(
        script.seen(),
        ["TransactWriteItems", "TransactWriteItems", "GetItem"]
    );
}

#[tokio::test]
async fn a_cancellation_no_condition_explains_is_unavailable() {
    let script = Script::new([cancelled(json!([
        {"Code": "ValidationError", "Message": "Item size has exceeded the maximum allowed size"},
        none()
    ]))]);
    let org = organization(5);
    let audit = event(&org.id, "org.create", org.id.as_str(), at(0));
    match script.store().create_organization(&org, &audit).await {
        Err(StoreError::Unavailable(reason)) => {
            assert!(reason.contains("ValidationError"), "{reason}")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}
