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
//! Set up: [`DynamoStore::from_env`] in Lambda and `keyplane serve` (with
//! [`keyplane_aws::Profile::Lambda`]'s retries and timeouts),
//! [`DynamoStore::from_sdk_config`] with a configuration loaded by
//! [`keyplane_aws`], or [`DynamoStore::new`] with any SDK client; the table
//! comes from the infra module, or from [`schema::create_table`] /
//! [`schema::ensure_table`].

mod claims;
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

use aws_config::SdkConfig;
use aws_sdk_dynamodb::Client;
use keyplane_aws::{endpoint_override, Profile, Service};
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
    /// the retries and timeouts of [`Profile::Lambda`]: for the hot path.
    pub async fn from_env(table: impl Into<String>) -> Self {
        Self::from_sdk_config(&keyplane_aws::load(Profile::Lambda).await, table)
    }

    /// A store on `table` with a client made from a loaded configuration.
    /// A blank `AWS_ENDPOINT_URL` or `AWS_ENDPOINT_URL_DYNAMODB` counts as
    /// unset, with a warning (the SDK would panic on the first request).
    pub fn from_sdk_config(config: &SdkConfig, table: impl Into<String>) -> Self {
        let mut builder = aws_sdk_dynamodb::config::Builder::from(config);
        endpoint_override(config, Service::DYNAMODB).apply(|url| {
            builder.set_endpoint_url(url);
        });
        Self::new(Client::from_conf(builder.build()), table)
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
