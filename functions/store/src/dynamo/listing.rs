//! Newest-first listings of keys (through the key indexes, never a Scan)
//! and of audit events, with opaque cursors.
//!
//! A cursor is the base64url of the position (`<time>#<id>`) of the last
//! item returned, not DynamoDB's `LastEvaluatedKey`: a filtered page may
//! stop in the middle of what DynamoDB read, and the next page must start
//! right after the last item the caller saw. The position rebuilds the
//! `ExclusiveStartKey`, so DynamoDB itself skips everything up to it.
//!
//! DynamoDB applies `Limit` before `FilterExpression`, so a filtered query
//! may return few or no items while more remain; each listing queries page
//! after page until it has one match more than the caller's limit (which
//! proves a next page exists) or the index ends. A cursor is given only
//! when a next page really has items.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::KeysAndAttributes;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use keyplane_core::audit::AuditEvent;
use keyplane_core::id::{EventId, KeyId, OrgId};
use keyplane_core::key::KeyRecord;
use keyplane_core::store::{KeyQuery, Page, StoreError};

use super::codec::{from_doc, s, string, Expr, Item};
use super::errors::{build_error, sdk_error};
use super::items::{self, primary_key};
use super::retry::Backoff;
use super::schema::{
    audit_sk, creator_pk, key_pk, org_pk, parse_sortable_time, position, AUDIT_PREFIX, GSI1_PK,
    GSI1_SK, GSI2_PK, GSI2_SK, KEYS_BY_CREATOR_INDEX, KEYS_BY_ORG_INDEX, KEY_SK, PK, SCOPE_KIND,
    SCOPE_ORGANIZATION, SCOPE_WORKSPACES, SK, STATS_SK, STATUS,
};
use super::DynamoStore;

/// Items read per request when a filter may drop most of them, so a
/// sparse match does not cost one round trip per key.
const FILTERED_BATCH: usize = 100;
/// Most keys one `BatchGetItem` may ask for.
const BATCH_GET_MAX: usize = 100;

/// Which index a key listing reads, and its partition.
struct KeyIndex {
    name: &'static str,
    pk: &'static str,
    sk: &'static str,
    partition: String,
}

impl DynamoStore {
    /// Lists keys newest first: the creator index when the query names a
    /// creator, the organization index otherwise; status and workspace are
    /// filtered by DynamoDB. The records come from the index (it projects
    /// every attribute), their credits and last use from one consistent
    /// `BatchGetItem` of their stats items.
    ///
    /// Index reads are eventually consistent: a key created a moment ago
    /// may be missing from a listing for a moment. `get_key` is exact.
    pub(super) async fn list(&self, query: &KeyQuery) -> Result<Page<KeyRecord>, StoreError> {
        let limit = query.limit.max(1);
        let after = query
            .cursor
            .as_deref()
            .map(|cursor| decode_cursor(cursor, KeyId::parse).ok_or(StoreError::NotFound))
            .transpose()?;
        let org = &query.organization_id;
        let index = match &query.created_by {
            Some(creator) => KeyIndex {
                name: KEYS_BY_CREATOR_INDEX,
                pk: GSI2_PK,
                sk: GSI2_SK,
                partition: creator_pk(org, creator),
            },
            None => KeyIndex {
                name: KEYS_BY_ORG_INDEX,
                pk: GSI1_PK,
                sk: GSI1_SK,
                partition: org_pk(org),
            },
        };

        let mut expr = Expr::new();
        let key_condition = format!(
            "{} = {}",
            expr.name(index.pk),
            expr.value("partition", s(&index.partition))
        );
        let mut filters = Vec::new();
        if let Some(status) = query.status {
            filters.push(format!(
                "{} = {}",
                expr.name(STATUS),
                expr.value("status", items::status(status)?)
            ));
        }
        if let Some(workspace) = &query.workspace_id {
            filters.push(format!(
                "({} = {} OR contains({}, {}))",
                expr.name(SCOPE_KIND),
                expr.value("everywhere", s(SCOPE_ORGANIZATION)),
                expr.name(SCOPE_WORKSPACES),
                expr.value("workspace", s(workspace.as_str())),
            ));
        }
        let filter = (!filters.is_empty()).then(|| filters.join(" AND "));

        let mut start = match after {
            Some((at, id)) => Some(HashMap::from([
                (index.pk.to_owned(), s(&index.partition)),
                (index.sk.to_owned(), s(position(at, id.as_str())?)),
                (PK.to_owned(), s(key_pk(&id))),
                (SK.to_owned(), s(KEY_SK)),
            ])),
            None => None,
        };
        let want = limit + 1;
        let mut found: Vec<Item> = Vec::new();
        loop {
            let missing = want - found.len();
            let batch = if filter.is_some() {
                missing.max(FILTERED_BATCH)
            } else {
                missing
            };
            let output = self
                .client
                .query()
                .table_name(self.table())
                .index_name(index.name)
                .key_condition_expression(&key_condition)
                .set_filter_expression(filter.clone())
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .scan_index_forward(false)
                .limit(i32::try_from(batch).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|err| sdk_error("Query", &err))?;
            found.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() && found.len() < want => start = Some(key),
                _ => break,
            }
        }

        let more = found.len() > limit;
        found.truncate(limit);
        let keys: Vec<KeyRecord> = found.iter().map(from_doc).collect::<Result<_, _>>()?;
        let ids: Vec<&KeyId> = keys.iter().map(|key| &key.id).collect();
        let mut stats = self.stats_of(&ids).await?;
        let keys: Vec<KeyRecord> = keys
            .into_iter()
            .map(|key| {
                let stats = stats.remove(&key_pk(&key.id));
                items::with_stats(key, stats.as_ref())
            })
            .collect::<Result<_, _>>()?;
        let next_cursor = match keys.last() {
            Some(last) if more => Some(encode_cursor(last.created_at, last.id.as_str())?),
            _ => None,
        };
        Ok(Page {
            items: keys,
            next_cursor,
        })
    }

    /// The stats items of `ids`, by partition key, read strongly
    /// consistently. Keys DynamoDB leaves unprocessed (under load) are asked
    /// for again after a pause.
    async fn stats_of(&self, ids: &[&KeyId]) -> Result<HashMap<String, Item>, StoreError> {
        let mut stats = HashMap::new();
        for chunk in ids.chunks(BATCH_GET_MAX) {
            let keys: Vec<Item> = chunk
                .iter()
                .map(|id| primary_key(key_pk(id), STATS_SK))
                .collect();
            let mut request = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .build()
                    .map_err(build_error)?,
            );
            let mut backoff = Backoff::new();
            while let Some(keys) = request.take() {
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(self.table(), keys)
                    .send()
                    .await
                    .map_err(|err| sdk_error("BatchGetItem", &err))?;
                let found = output
                    .responses
                    .and_then(|mut tables| tables.remove(self.table()))
                    .unwrap_or_default();
                for item in found {
                    if let Some(pk) = string(&item, PK)? {
                        stats.insert(pk.to_owned(), item);
                    }
                }
                request = output
                    .unprocessed_keys
                    .and_then(|mut tables| tables.remove(self.table()))
                    .filter(|left| !left.keys().is_empty());
                if request.is_some() && !backoff.pause().await {
                    return Err(StoreError::Unavailable(
                        "DynamoDB BatchGetItem kept leaving keys unprocessed".to_owned(),
                    ));
                }
            }
        }
        Ok(stats)
    }

    /// Audit events of `org`, newest first: the organization's partition
    /// read backwards from its `AUDIT#` sort keys, strongly consistently.
    pub(super) async fn audit_page(
        &self,
        org: &OrgId,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<AuditEvent>, StoreError> {
        let limit = limit.max(1);
        let after = cursor
            .map(|cursor| decode_cursor(cursor, EventId::parse).ok_or(StoreError::NotFound))
            .transpose()?;
        let mut expr = Expr::new();
        let key_condition = format!(
            "{} = {} AND begins_with({}, {})",
            expr.name(PK),
            expr.value("pk", s(org_pk(org))),
            expr.name(SK),
            expr.value("prefix", s(AUDIT_PREFIX)),
        );
        let mut start = match after {
            Some((at, id)) => Some(primary_key(org_pk(org), audit_sk(at, id.as_str())?)),
            None => None,
        };
        let want = limit + 1;
        let mut found: Vec<Item> = Vec::new();
        loop {
            let output = self
                .client
                .query()
                .table_name(self.table())
                .key_condition_expression(&key_condition)
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .scan_index_forward(false)
                .consistent_read(true)
                .limit(i32::try_from(want - found.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|err| sdk_error("Query", &err))?;
            found.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() && found.len() < want => start = Some(key),
                _ => break,
            }
        }
        let more = found.len() > limit;
        found.truncate(limit);
        let events: Vec<AuditEvent> = found.iter().map(from_doc).collect::<Result<_, _>>()?;
        let next_cursor = match events.last() {
            Some(last) if more => Some(encode_cursor(last.at, last.id.as_str())?),
            _ => None,
        };
        Ok(Page {
            items: events,
            next_cursor,
        })
    }
}

/// The cursor after the item `id` at `at`.
fn encode_cursor(at: DateTime<Utc>, id: &str) -> Result<String, StoreError> {
    Ok(URL_SAFE_NO_PAD.encode(position(at, id)?))
}

/// The position in a cursor made by [`encode_cursor`]; `None` for anything
/// else, which the caller reports as `NotFound` (the core's
/// `INVALID_CURSOR`). The id must parse as the listing's kind of id, so a
/// forged cursor cannot smuggle text into a request.
fn decode_cursor<T, E>(
    cursor: &str,
    parse_id: impl FnOnce(&str) -> Result<T, E>,
) -> Option<(DateTime<Utc>, T)> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (time, id) = text.split_once('#')?;
    Some((parse_sortable_time(time)?, parse_id(id).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_junk_is_refused() {
        let at = DateTime::from_timestamp(1_735_689_600, 42).expect("in range");
        let id = KeyId::generate();
        let cursor = encode_cursor(at, id.as_str()).expect("in range");
        assert_eq!(decode_cursor(&cursor, KeyId::parse), Some((at, id)));
        for junk in [
            "",
            "not a cursor!",
            "AAAA",
            &URL_SAFE_NO_PAD.encode("2025-01-01T00:00:00.000000000Z#evt_x"),
            &URL_SAFE_NO_PAD.encode("yesterday#key_abc"),
            &URL_SAFE_NO_PAD.encode([0xff; 20]),
        ] {
            assert_eq!(decode_cursor(junk, KeyId::parse), None, "{junk}");
        }
    }
}
