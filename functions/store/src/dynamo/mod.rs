//! The DynamoDB store: every [`KeyStore`](keyplane_core::store::KeyStore)
//! method on one table whose layout lives in [`schema`].
//!
//! Each method is one atomic DynamoDB request: a conditional single-item
//! write, or a `TransactWriteItems` whose cancellation reasons are mapped,
//! item by item, to the domain's errors. The conditions are evaluated by
//! DynamoDB on its side, so they hold under any concurrency: no method reads
//! an item, decides, and writes it back.
//!
//! The verify path ([`get_secret`](keyplane_core::store::KeyStore::get_secret))
//! is exactly one strongly consistent `GetItem` and no write, so a revoke is
//! seen by the very next verify. Nothing relies on DynamoDB TTL deleting
//! items on time (it deletes up to days late): items carry `ttl` for
//! housekeeping, and the core checks expiry with its own clock.
//!
//! Faults of the backend (error responses, throttling, timeouts, refused
//! connections) are [`StoreError::Unavailable`],
//! which the core turns into a failed request — never a valid key.
//!
//! Set up: [`DynamoStore::from_env`] in Lambda (with
//! [`sdk_config_for_lambda`]'s retries and timeouts), or
//! [`DynamoStore::new`] with any SDK client; the table comes from the infra
//! module, or from [`schema::create_table`] / [`schema::ensure_table`].

mod codec;
mod errors;
mod items;
mod key_store;
mod keys;
mod listing;
mod metering;
mod retry;
pub mod schema;
mod tenancy;
#[cfg(feature = "conformance")]
pub mod testing;
mod txn;

use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::Client;
use keyplane_core::store::StoreError;

use codec::Item;
use errors::sdk_error;

/// A [`KeyStore`](keyplane_core::store::KeyStore) on one DynamoDB table.
/// Cheap to clone: clones share the SDK client and its connection pool.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: Arc<str>,
}

impl DynamoStore {
    /// A store on `table` through `client`. The table must exist with the
    /// layout of [`schema::create_table`].
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: Arc::from(table.into()),
        }
    }

    /// A store on `table` with a client configured from the standard AWS
    /// environment (`AWS_REGION`, credentials, `AWS_ENDPOINT_URL`, …) and
    /// the retry and timeout settings of [`sdk_config_for_lambda`].
    pub async fn from_env(table: impl Into<String>) -> Self {
        Self::new(Client::new(&sdk_config_for_lambda().await), table)
    }

    /// The SDK client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// One item by its primary key, read strongly consistently.
    async fn get_item(&self, key: Item) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(self.table())
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| sdk_error("GetItem", &err))?;
        Ok(output.item)
    }

    /// Every item of partition `pk` whose sort key starts with `prefix`, in
    /// sort-key order, read strongly consistently page by page.
    async fn query_prefix(&self, pk: String, prefix: &str) -> Result<Vec<Item>, StoreError> {
        let mut expr = codec::Expr::new();
        let condition = format!(
            "{} = {} AND begins_with({}, {})",
            expr.name(schema::PK),
            expr.value("pk", codec::s(pk)),
            expr.name(schema::SK),
            expr.value("prefix", codec::s(prefix)),
        );
        self.query_all(&condition, &expr).await
    }

    /// Every item matching `key_condition`, following `LastEvaluatedKey`.
    async fn query_all(
        &self,
        key_condition: &str,
        expr: &codec::Expr,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(self.table())
                .key_condition_expression(key_condition)
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|err| sdk_error("Query", &err))?;
            items.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }
}

/// Standard retry mode with at most 3 attempts, starting from a 50 ms
/// backoff (DynamoDB answers in milliseconds; the SDK's default of one
/// second would eat a Lambda's budget) and never waiting more than 1 s.
/// Throttling, 5xx answers and transport faults are retried; the standard
/// mode's token bucket stops retry storms when DynamoDB is really down.
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(50))
        .with_max_backoff(Duration::from_secs(1))
}

/// Timeouts that bound every call, so a hung connection fails closed
/// instead of holding a request (and a Lambda invocation) open: 1 s to
/// connect, 2 s per attempt, 5 s for a whole operation with its retries.
pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(5))
        .build()
}

/// The SDK configuration for Lambda (and anything else latency-bound):
/// region, credentials and endpoint from the standard environment, with
/// [`retry_config`] and [`timeout_config`].
pub async fn sdk_config_for_lambda() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(retry_config())
        .timeout_config(timeout_config())
        .load()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_settings_bound_every_call() {
        let retries = retry_config();
        assert_eq!(retries.max_attempts(), 3);
        assert_eq!(retries.initial_backoff(), Duration::from_millis(50));
        let timeouts = timeout_config();
        assert_eq!(timeouts.connect_timeout(), Some(Duration::from_secs(1)));
        assert_eq!(
            timeouts.operation_attempt_timeout(),
            Some(Duration::from_secs(2))
        );
        assert_eq!(timeouts.operation_timeout(), Some(Duration::from_secs(5)));
    }
}
