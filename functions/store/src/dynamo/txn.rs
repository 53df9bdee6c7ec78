//! `TransactWriteItems`: building its parts and reading why it was cancelled.
//!
//! A cancelled transaction wrote nothing, and DynamoDB says why per item,
//! in the order the items were sent. The callers build their items in a
//! fixed order and map the reasons back BY INDEX to domain errors
//! (`QuotaExceeded`, `VersionConflict`, …). Every conditioned item asks for
//! its old value on failure (`ReturnValuesOnConditionCheckFailure =
//! ALL_OLD`), so the mapping can tell "missing" from "present but refused"
//! (and read the quota in force) without a second request.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    CancellationReason, ConditionCheck, Delete, Put, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use keyplane_core::store::StoreError;
use rand::distr::{Alphanumeric, SampleString};

use super::codec::{Expr, Item};
use super::errors::{build_error, sdk_error};
use super::retry::Backoff;

/// Cancellation-reason code of an item whose condition failed.
const CONDITION_FAILED: &str = "ConditionalCheckFailed";
/// Cancellation-reason codes that mean "try again": another transaction
/// held an item, or capacity ran short.
const RETRYABLE: [&str; 4] = [
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
];

/// Why a transaction was cancelled, item by item.
#[derive(Debug)]
pub(super) struct Cancelled {
    reasons: Vec<CancellationReason>,
}

impl Cancelled {
    /// Did the condition of item `index` fail?
    pub(super) fn failed(&self, index: usize) -> bool {
        self.reasons
            .get(index)
            .is_some_and(|reason| reason.code() == Some(CONDITION_FAILED))
    }

    /// The value item `index` had when its condition failed; `None` when it
    /// did not exist (or the condition did not fail).
    pub(super) fn old(&self, index: usize) -> Option<&Item> {
        self.reasons
            .get(index)
            .filter(|reason| reason.code() == Some(CONDITION_FAILED))
            .and_then(CancellationReason::item)
            .filter(|item| !item.is_empty())
    }

    /// `Unavailable` for a cancellation no domain error explains.
    pub(super) fn unexpected(&self) -> StoreError {
        StoreError::Unavailable(format!(
            "DynamoDB TransactWriteItems cancelled for no known reason: [{}]",
            codes(&self.reasons)
        ))
    }
}

fn codes(reasons: &[CancellationReason]) -> String {
    reasons
        .iter()
        .map(|reason| reason.code().unwrap_or("None"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs a transaction: `Ok(Ok(()))` when written, `Ok(Err(cancelled))`
/// when a condition failed (nothing written), `Err` for a backend fault.
/// Conflicts with concurrent transactions are retried with backoff; only
/// when none remains are the condition failures read, since a conflicting
/// item may hide another failure that decides the answer.
///
/// Each attempt carries a fresh `ClientRequestToken`, which the SDK's own
/// retries of that attempt reuse: if DynamoDB committed the transaction but
/// the answer was lost (a timeout), the retry is answered "done" instead of
/// being applied again — which would fail its own conditions and turn a
/// created key into `AlreadyExists`, or an update into `VersionConflict`.
pub(super) async fn transact(
    client: &Client,
    items: Vec<TransactWriteItem>,
) -> Result<Result<(), Cancelled>, StoreError> {
    let mut backoff = Backoff::new();
    loop {
        let sent = client
            .transact_write_items()
            .set_transact_items(Some(items.clone()))
            .client_request_token(request_token())
            .send()
            .await;
        let err = match sent {
            Ok(_) => return Ok(Ok(())),
            Err(err) => err,
        };
        let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
            err.as_service_error()
        else {
            return Err(sdk_error("TransactWriteItems", &err));
        };
        let reasons = cancelled.cancellation_reasons();
        let retryable = reasons
            .iter()
            .any(|reason| reason.code().is_some_and(|code| RETRYABLE.contains(&code)));
        if retryable {
            if backoff.pause().await {
                continue;
            }
            return Err(StoreError::Unavailable(format!(
                "DynamoDB TransactWriteItems kept conflicting: [{}]",
                codes(reasons)
            )));
        }
        let cancelled = Cancelled {
            reasons: reasons.to_vec(),
        };
        if reasons
            .iter()
            .any(|reason| reason.code() == Some(CONDITION_FAILED))
        {
            return Ok(Err(cancelled));
        }
        return Err(cancelled.unexpected());
    }
}

/// A random idempotency token (DynamoDB allows up to 36 characters).
fn request_token() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 32)
}

/// A condition on one item: the expression and what it names.
#[derive(Debug)]
pub(super) struct Condition {
    pub(super) expression: String,
    pub(super) expr: Expr,
}

/// Puts `item`, if `condition` holds.
pub(super) fn put(
    table: &str,
    item: Item,
    condition: Option<Condition>,
) -> Result<TransactWriteItem, StoreError> {
    let mut put = Put::builder().table_name(table).set_item(Some(item));
    if let Some(Condition { expression, expr }) = condition {
        put = put
            .condition_expression(expression)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    }
    Ok(TransactWriteItem::builder()
        .put(put.build().map_err(build_error)?)
        .build())
}

/// Applies `update` (an update expression over `expr`) to the item at
/// `key` (creating it if missing), if `condition` (over the same `expr`)
/// holds.
pub(super) fn update(
    table: &str,
    key: Item,
    update: &str,
    condition: Option<&str>,
    expr: &Expr,
) -> Result<TransactWriteItem, StoreError> {
    let mut builder = Update::builder()
        .table_name(table)
        .set_key(Some(key))
        .update_expression(update)
        .set_expression_attribute_names(expr.names())
        .set_expression_attribute_values(expr.values());
    if let Some(condition) = condition {
        builder = builder
            .condition_expression(condition)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    }
    Ok(TransactWriteItem::builder()
        .update(builder.build().map_err(build_error)?)
        .build())
}

/// Deletes the item at `key`, whether or not it exists.
pub(super) fn delete(table: &str, key: Item) -> Result<TransactWriteItem, StoreError> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key))
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

/// Deletes the item at `key`, which must exist.
pub(super) fn delete_existing(table: &str, key: Item) -> Result<TransactWriteItem, StoreError> {
    let Condition { expression, expr } = exists();
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key))
        .condition_expression(expression)
        .set_expression_attribute_names(expr.names())
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

/// Writes nothing, but cancels the transaction unless the item at `key` exists.
pub(super) fn check_exists(table: &str, key: Item) -> Result<TransactWriteItem, StoreError> {
    let Condition { expression, expr } = exists();
    let check = ConditionCheck::builder()
        .table_name(table)
        .set_key(Some(key))
        .condition_expression(expression)
        .set_expression_attribute_names(expr.names())
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().condition_check(check).build())
}

/// `attribute_exists(pk)`: the item is there.
pub(super) fn exists() -> Condition {
    let mut expr = Expr::new();
    let pk = expr.name(super::schema::PK);
    Condition {
        expression: format!("attribute_exists({pk})"),
        expr,
    }
}

/// `version = <version>`: the item is there, at that version.
pub(super) fn at_version(version: u64) -> Condition {
    let mut expr = Expr::new();
    let expression = format!(
        "{} = {}",
        expr.name(super::schema::VERSION),
        expr.value("expected", super::codec::n(version))
    );
    Condition { expression, expr }
}

/// Writes nothing, but cancels the transaction unless the fenced
/// membership is still there at the fenced version.
pub(super) fn check_fence(
    table: &str,
    fence: &keyplane_core::store::MemberFence,
) -> Result<TransactWriteItem, StoreError> {
    let key = super::items::primary_key(
        super::schema::org_pk(&fence.organization_id),
        super::schema::member_sk(&fence.principal),
    );
    let Condition { expression, expr } = at_version(fence.version);
    let check = ConditionCheck::builder()
        .table_name(table)
        .set_key(Some(key))
        .condition_expression(expression)
        .set_expression_attribute_names(expr.names())
        .set_expression_attribute_values(expr.values())
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().condition_check(check).build())
}

/// `attribute_not_exists(pk)`: the item is not there yet.
pub(super) fn absent() -> Condition {
    let mut expr = Expr::new();
    let pk = expr.name(super::schema::PK);
    Condition {
        expression: format!("attribute_not_exists({pk})"),
        expr,
    }
}
