//! Credits and usage counters, both kept by DynamoDB's own arithmetic
//! (`SET x = x - :cost`, `ADD`) so concurrent writers never lose an update.

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, NaiveDate, Utc};
use futures::{StreamExt, TryStreamExt};
use keyplane_core::id::KeyId;
use keyplane_core::store::{CreditOutcome, StoreError, UsageIncrement};
use keyplane_core::usage::UsageRow;

use super::codec::{n, s, unsigned, Expr, Item};
use super::errors::{corrupt, sdk_error};
use super::items::{self, primary_key};
use super::retry::Backoff;
use super::schema::{
    key_pk, usage_first_sk, usage_last_sk, usage_sk, CREDITS_REMAINING, DAY, INPUT_TOKENS,
    LAST_USED_AT, LAST_USED_MS, MODEL, OUTPUT_TOKENS, PK, REQUESTS, SK, STATS_SK,
};
use super::txn::{self, exists, transact, Condition};
use super::DynamoStore;

/// Last-use writes in flight at once during a flush.
const TOUCH_CONCURRENCY: usize = 8;

impl DynamoStore {
    /// Spends `cost` credits with one conditional `UpdateItem` on the stats
    /// item: the balance goes down and the last use is set only if at least
    /// `cost` remain, so it never goes below zero and a refused spend
    /// changes nothing. A refusal is told apart by the item as it was: no
    /// item (no key) or no balance (unmetered) is `NotFound`, a balance too
    /// small is `Exhausted`.
    pub(super) async fn spend(
        &self,
        key: &KeyId,
        cost: u64,
        at: DateTime<Utc>,
    ) -> Result<CreditOutcome, StoreError> {
        let mut expr = Expr::new();
        let credits = expr.name(CREDITS_REMAINING);
        let cost = expr.value("cost", n(cost));
        let update = format!(
            "SET {credits} = {credits} - {cost}, {}",
            LastUsed::set(&mut expr, at).assignment
        );
        let enough = format!("{credits} >= {cost}");

        let mut backoff = Backoff::new();
        loop {
            let sent = self
                .client
                .update_item()
                .table_name(self.table())
                .set_key(Some(stats_key(key)))
                .update_expression(&update)
                .condition_expression(&enough)
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .return_values(ReturnValue::UpdatedNew)
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .send()
                .await;
            let err = match sent {
                Ok(output) => {
                    let remaining = output
                        .attributes()
                        .map(|item| unsigned(item, CREDITS_REMAINING))
                        .transpose()?
                        .flatten()
                        .ok_or_else(|| corrupt("a spend returned no balance"))?;
                    return Ok(CreditOutcome::Spent { remaining });
                }
                Err(err) => err,
            };
            match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(refused)) => {
                    let old = match refused.item().filter(|item| !item.is_empty()) {
                        Some(item) => Some(item.clone()),
                        None => self.get_item(stats_key(key)).await?,
                    };
                    return match old {
                        Some(stats) if unsigned(&stats, CREDITS_REMAINING)?.is_some() => {
                            Ok(CreditOutcome::Exhausted)
                        }
                        _ => Err(StoreError::NotFound),
                    };
                }
                Some(UpdateItemError::TransactionConflictException(_)) if backoff.pause().await => {
                }
                _ => return Err(sdk_error("UpdateItem", &err)),
            }
        }
    }

    /// Writes noted last uses: one conditional `UpdateItem` per key on its
    /// stats item, a few at a time (DynamoDB has no batched update). The
    /// condition skips a missing key (never creating one) and a last use
    /// that is already later.
    pub(super) async fn touch(&self, uses: &[(KeyId, DateTime<Utc>)]) -> Result<(), StoreError> {
        // The futures are built before the stream: a closure inside it would
        // not be general enough over lifetimes for `async_trait`'s boxing.
        let writes: Vec<_> = uses
            .iter()
            .map(|(key, at)| self.touch_one(key, *at))
            .collect();
        futures::stream::iter(writes)
            .buffer_unordered(TOUCH_CONCURRENCY)
            .try_collect::<()>()
            .await
    }

    async fn touch_one(&self, key: &KeyId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let Condition {
            expression: key_exists,
            mut expr,
        } = exists();
        let last_used = LastUsed::set(&mut expr, at);
        let update = format!("SET {}", last_used.assignment);
        // Only forward: a flush that lost a race to a later use (another
        // instance's flush, a spend, a usage report) changes nothing.
        let forward = format!(
            "{key_exists} AND (attribute_not_exists({ms}) OR {ms} < {at})",
            ms = last_used.millis_name,
            at = last_used.millis,
        );
        let sent = self
            .client
            .update_item()
            .table_name(self.table())
            .set_key(Some(stats_key(key)))
            .update_expression(update)
            .condition_expression(forward)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(())
            }
            Err(err) => Err(sdk_error("UpdateItem", &err)),
        }
    }

    /// Adds a report to the counters of (key, day, model) with `ADD`
    /// (creating the row on first use) and sets the key's last use, in one
    /// transaction that requires the key's stats item, so usage of a missing
    /// key is `NotFound` and writes nothing.
    pub(super) async fn add_usage(&self, usage: &UsageIncrement) -> Result<(), StoreError> {
        let table = self.table();
        let Condition {
            expression: key_exists,
            mut expr,
        } = exists();
        let touch = format!("SET {}", LastUsed::set(&mut expr, usage.at).assignment);
        let mark = txn::update(
            table,
            stats_key(&usage.key_id),
            &touch,
            Some(&key_exists),
            &expr,
        )?;

        let mut expr = Expr::new();
        let add = format!(
            "ADD {} {}, {} {}, {} {} SET {} = {}, {} = {}",
            expr.name(REQUESTS),
            expr.value("requests", n(usage.requests)),
            expr.name(INPUT_TOKENS),
            expr.value("input", n(usage.input_tokens)),
            expr.name(OUTPUT_TOKENS),
            expr.value("output", n(usage.output_tokens)),
            expr.name(DAY),
            expr.value("day", s(usage.day.format("%Y-%m-%d").to_string())),
            expr.name(MODEL),
            expr.value("model", s(&usage.model)),
        );
        let row = primary_key(key_pk(&usage.key_id), usage_sk(usage.day, &usage.model)?);
        let count = txn::update(table, row, &add, None, &expr)?;

        match transact(&self.client, vec![mark, count]).await? {
            Ok(()) => Ok(()),
            Err(cancelled) if cancelled.failed(0) => Err(StoreError::NotFound),
            Err(cancelled) => Err(cancelled.unexpected()),
        }
    }

    /// Rows of `key` from `from` to `to` inclusive, by day then model: the
    /// order of their sort keys.
    pub(super) async fn usage(
        &self,
        key: &KeyId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<UsageRow>, StoreError> {
        if from > to {
            return Ok(Vec::new());
        }
        let mut expr = Expr::new();
        let condition = format!(
            "{} = {} AND {} BETWEEN {} AND {}",
            expr.name(PK),
            expr.value("pk", s(key_pk(key))),
            expr.name(SK),
            expr.value("first", s(usage_first_sk(from)?)),
            expr.value("last", s(usage_last_sk(to)?)),
        );
        self.query_all(&condition, &expr)
            .await?
            .iter()
            .map(items::usage_row_from)
            .collect()
    }
}

/// The last use as an update sets it: the text clients read and the
/// number conditions compare.
struct LastUsed {
    assignment: String,
    millis_name: String,
    millis: String,
}

impl LastUsed {
    fn set(expr: &mut Expr, at: DateTime<Utc>) -> Self {
        let (text_name, millis_name) = (expr.name(LAST_USED_AT), expr.name(LAST_USED_MS));
        let text = expr.value("at", items::last_used(at));
        let millis = expr.value("at_ms", n(at.timestamp_millis()));
        Self {
            assignment: format!("{text_name} = {text}, {millis_name} = {millis}"),
            millis_name,
            millis,
        }
    }
}

fn stats_key(key: &KeyId) -> Item {
    primary_key(key_pk(key), STATS_SK)
}
