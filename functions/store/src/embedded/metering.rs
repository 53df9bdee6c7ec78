//! Credits and usage counters.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use keyplane_core::id::KeyId;
use keyplane_core::store::{CreditOutcome, StoreError, UsageIncrement};
use keyplane_core::usage::UsageRow;
use redb::{ReadTransaction, WriteTransaction};

use super::codec::{decode, encode, read};
use super::failure::TxResult;
use super::stats;
use super::tables::USAGE;

/// Spends `cost` credits if that many remain. An exhausted spend changes
/// nothing, not even the last use: the request it stands for is refused.
pub(super) fn spend_credits(
    txn: &WriteTransaction,
    key: &KeyId,
    cost: u64,
    at: DateTime<Utc>,
) -> TxResult<CreditOutcome> {
    let mut stats = stats::load(txn, key)?.ok_or(StoreError::NotFound)?;
    let remaining = stats.credits_remaining.ok_or(StoreError::NotFound)?;
    let Some(left) = remaining.checked_sub(cost) else {
        return Ok(CreditOutcome::Exhausted);
    };
    stats.credits_remaining = Some(left);
    stats.last_used_at = Some(at);
    stats::save(txn, key, &stats)?;
    Ok(CreditOutcome::Spent { remaining: left })
}

/// Moves the last use of each existing key forward to its noted time;
/// missing keys are skipped.
pub(super) fn touch_last_used(
    txn: &WriteTransaction,
    uses: &[(KeyId, DateTime<Utc>)],
) -> TxResult<()> {
    for (key, at) in uses {
        if let Some(mut stats) = stats::load(txn, key)? {
            if stats.last_used_at.is_none_or(|last| last < *at) {
                stats.last_used_at = Some(*at);
                stats::save(txn, key, &stats)?;
            }
        }
    }
    Ok(())
}

/// Adds to the counters of (key, day, model) and records the last use.
/// Counters saturate rather than wrap: a report can never make them smaller.
pub(super) fn record_usage(txn: &WriteTransaction, usage: &UsageIncrement) -> TxResult<()> {
    let mut stats = stats::load(txn, &usage.key_id)?.ok_or(StoreError::NotFound)?;
    stats.last_used_at = Some(usage.at);
    stats::save(txn, &usage.key_id, &stats)?;

    let mut table = txn.open_table(USAGE)?;
    let slot = (
        usage.key_id.as_str(),
        day_number(usage.day),
        usage.model.as_str(),
    );
    let mut row: UsageRow = read(&table, slot)?.unwrap_or_else(|| UsageRow {
        day: usage.day,
        model: usage.model.clone(),
        requests: 0,
        input_tokens: 0,
        output_tokens: 0,
    });
    row.requests = row.requests.saturating_add(usage.requests);
    row.input_tokens = row.input_tokens.saturating_add(usage.input_tokens);
    row.output_tokens = row.output_tokens.saturating_add(usage.output_tokens);
    table.insert(slot, encode(&row)?.as_slice())?;
    Ok(())
}

/// Rows of `key` from `from` to `to` inclusive, by day then model (the
/// table's own order).
pub(super) fn query_usage(
    txn: &ReadTransaction,
    key: &KeyId,
    from: NaiveDate,
    to: NaiveDate,
) -> TxResult<Vec<UsageRow>> {
    let table = txn.open_table(USAGE)?;
    let (first, last) = (day_number(from), day_number(to));
    let mut rows = Vec::new();
    if first > last {
        return Ok(rows);
    }
    for entry in table.range::<(&str, i32, &str)>((key.as_str(), first, "")..)? {
        let (slot, value) = entry?;
        let (entry_key, day, _) = slot.value();
        if entry_key != key.as_str() || day > last {
            break;
        }
        rows.push(decode(value.value())?);
    }
    Ok(rows)
}

/// A day as an integer that sorts like the date.
fn day_number(day: NaiveDate) -> i32 {
    day.num_days_from_ce()
}
