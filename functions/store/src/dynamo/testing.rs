//! Test support: [`DynamoStore`]s on the `moto` emulator, one fresh table
//! each. Compiled with the `conformance` feature, for test crates only.
//!
//! `tests/run` (or `. tests/moto && start_moto`) starts moto on 127.0.0.1
//! and exports `KEYPLANE_MOTO_ENDPOINT`. Without it a test prints a skip
//! note and passes — unless `KEYPLANE_REQUIRE_MOTO` is set, as `tests/run`
//! does, so a run that should have used moto cannot pass silently.
//!
//! Every store gets its own table with a random name: tests run in parallel
//! (nextest even runs each in its own process), so nothing may reset moto
//! or share a table.
//!
//! Each store's client sends one request at a time (see [`one_at_a_time`]):
//! moto serves requests on many threads but evaluates a condition and
//! applies the write without a lock, and undoes a cancelled transaction by
//! restoring a snapshot of the whole table, so two concurrent requests to
//! one table can interleave inside each other — 31 spends of 30 credits,
//! 11 keys under a quota of 10. DynamoDB makes each request atomic; one
//! request at a time gives moto that property. The concurrency cases still
//! race: their tasks' requests reach the emulator in arbitrary order, so a
//! store that read, decided and wrote back in separate requests would
//! still be caught.

use std::sync::Arc;

use aws_sdk_dynamodb::config::{BehaviorVersion, Builder, Credentials, Region};
use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpClient, HttpConnector, HttpConnectorFuture, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use keyplane_aws::Profile;
use rand::distr::{Alphanumeric, SampleString};
use tokio::sync::Mutex;

use super::{schema, DynamoStore};

/// The SDK, for tests that build their own clients or read the table
/// directly (the fault tests scan it for items without their key).
pub use aws_sdk_dynamodb as sdk;
pub use keyplane_aws::testing::{
    moto_endpoint, MOTO_ENDPOINT_VAR as ENDPOINT_VAR, REQUIRE_MOTO_VAR as REQUIRE_VAR,
};

/// A client configuration for `endpoint`: region `us-east-1`, static test
/// credentials, one request at a time, and the generous retries and
/// timeouts of [`Profile::Emulator`]: moto is a Python server sharing two
/// cores with parallel test processes, and a slow answer from it says
/// nothing about our code. The fault tests use [`Profile::Lambda`] instead.
/// Nothing comes from the environment, so a developer's AWS settings
/// cannot send a test elsewhere.
pub fn client_config(endpoint: &str) -> Builder {
    aws_sdk_dynamodb::Config::builder()
        .http_client(one_at_a_time(
            aws_smithy_http_client::Builder::new().build_http(),
        ))
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(
            "keyplane-test",
            "keyplane-test-secret",
            None,
            None,
            "keyplane-tests",
        ))
        .retry_config(Profile::Emulator.retry_config())
        .timeout_config(Profile::Emulator.timeout_config())
}

/// A table name no other test uses.
pub fn unique_table_name() -> String {
    format!(
        "keyplane-test-{}",
        Alphanumeric.sample_string(&mut rand::rng(), 16)
    )
}

/// A store on a fresh table (made with [`schema::create_table`]) through
/// `client`.
///
/// # Panics
///
/// When the table cannot be created.
pub async fn fresh_store(client: Client) -> DynamoStore {
    let table = unique_table_name();
    schema::create_table(&client, &table)
        .await
        .unwrap_or_else(|err| panic!("creating table {table} on moto: {err}"));
    DynamoStore::new(client, table)
}

/// A store on a fresh table of moto, or `None` (after a skip note) when
/// moto is not configured. See [`moto_endpoint`] for when it panics.
pub async fn moto_store(test: &str) -> Option<DynamoStore> {
    let endpoint = moto_endpoint(test)?;
    Some(fresh_store(Client::from_conf(client_config(&endpoint).build())).await)
}

/// `inner`, sending one request at a time in the order they come (tokio's
/// mutex is fair). See the module docs for why moto needs it.
pub fn one_at_a_time(inner: SharedHttpClient) -> SharedHttpClient {
    let turn = Arc::new(Mutex::new(()));
    http_client_fn(move |settings, components| {
        SharedHttpConnector::new(OneAtATime {
            inner: inner.http_connector(settings, components),
            turn: Arc::clone(&turn),
        })
    })
}

#[derive(Debug)]
struct OneAtATime {
    inner: SharedHttpConnector,
    turn: Arc<Mutex<()>>,
}

impl HttpConnector for OneAtATime {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (inner, turn) = (self.inner.clone(), Arc::clone(&self.turn));
        HttpConnectorFuture::new(async move {
            let _turn = turn.lock_owned().await;
            inner.call(request).await
        })
    }
}
