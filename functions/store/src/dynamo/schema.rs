//! The table layout: the ONE place that names attributes, indexes and item
//! keys. The infra Terraform module mirrors these names, so they are public
//! constants rather than literals scattered through the queries.
//!
//! | item | `pk` | `sk` |
//! |---|---|---|
//! | organization | `ORG#<org>` | `ORG` |
//! | workspace | `ORG#<org>` | `WS#<ws>` |
//! | membership | `ORG#<org>` | `MEMBER#<principal>` |
//! | key | `KEY#<key>` | `KEY` |
//! | key stats (credits left, last use) | `KEY#<key>` | `STATS` |
//! | secret (what verify reads) | `HASH#<sha256 hex>` | `HASH` |
//! | usage counters | `KEY#<key>` | `USAGE#<yyyy-mm-dd>#<model>` |
//! | audit event | `ORG#<org>` | `AUDIT#<time>#<event>` |
//! | idempotency record | `IDEM#<principal>#<token>` | `IDEM` |
//! | request claim | `REQ#<signature digest>` | `REQ` |
//!
//! Key items alone carry the index attributes, so both indexes are sparse
//! and hold keys only:
//!
//! - [`KEYS_BY_ORG_INDEX`]: `gsi1pk = ORG#<org>`, `gsi1sk = <created>#<key>`;
//!   queried backwards, it lists an organization's keys newest first.
//! - [`KEYS_BY_CREATOR_INDEX`]: `gsi2pk = ORG#<org>#BY#<principal>`, same
//!   sort key; the same listing restricted to one creator.
//!
//! Times in sort keys are RFC 3339 in UTC with nine fraction digits (see
//! [`sortable_time`]), so byte order is time order and an operator browsing
//! the table can read them.
//!
//! Secret, audit, idempotency and request-claim items carry [`TTL`] (epoch
//! seconds) so that DynamoDB TTL eventually removes what no longer matters;
//! a secret of a key that never expires has none and stays.

use std::time::Duration;

use aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder;
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::operation::describe_table::DescribeTableError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use keyplane_core::id::{KeyId, OrgId, WorkspaceId};
use keyplane_core::key_format::KeyHash;
use keyplane_core::principal::Principal;
use keyplane_core::store::StoreError;

use super::errors::{build_error, sdk_error};

/// Partition key of the table.
pub const PK: &str = "pk";
/// Sort key of the table.
pub const SK: &str = "sk";
/// Partition key of [`KEYS_BY_ORG_INDEX`].
pub const GSI1_PK: &str = "gsi1pk";
/// Sort key of [`KEYS_BY_ORG_INDEX`].
pub const GSI1_SK: &str = "gsi1sk";
/// Partition key of [`KEYS_BY_CREATOR_INDEX`].
pub const GSI2_PK: &str = "gsi2pk";
/// Sort key of [`KEYS_BY_CREATOR_INDEX`].
pub const GSI2_SK: &str = "gsi2sk";
/// Epoch seconds after which DynamoDB TTL may delete the item. Never relied
/// on: TTL deletes up to days late, so the core checks expiry itself.
pub const TTL: &str = "ttl";

/// An organization's keys, newest first (query with `ScanIndexForward = false`).
pub const KEYS_BY_ORG_INDEX: &str = "keys-by-org";
/// An organization's keys made by one creator, newest first.
pub const KEYS_BY_CREATOR_INDEX: &str = "keys-by-creator";

/// What kind of item this is (`organization`, `key`, …); for people reading
/// the table, never queried.
pub const KIND: &str = "kind";
/// The domain record as JSON, for everything that is neither queried nor
/// conditioned on.
pub const DOC: &str = "doc";
/// Key item: optimistic-concurrency version (N).
pub const VERSION: &str = "version";
/// Key item: stored status (S), for the listing filter.
pub const STATUS: &str = "status";
/// Key item: creator ARN (S), for reading the table.
pub const CREATED_BY: &str = "created_by";
/// Key item: `workspace`, `organization` or `workspaces` (S), for the
/// listing's workspace filter.
pub const SCOPE_KIND: &str = "scope_kind";
/// Key item: the workspaces a workspace-scoped key reaches (SS; absent for
/// keys reaching every workspace, as DynamoDB has no empty sets).
pub const SCOPE_WORKSPACES: &str = "scope_workspaces";
/// Organization item: display name (S).
pub const NAME: &str = "name";
/// Organization item: key quota (N).
pub const KEY_QUOTA: &str = "key_quota";
/// Organization item: keys counted against the quota (N), kept by `ADD`.
pub const KEY_COUNT: &str = "key_count";
/// Stats item: credits left (N); absent for an unmetered key.
pub const CREDITS_REMAINING: &str = "credits_remaining";
/// Stats item: last use, RFC 3339 (S).
pub const LAST_USED_AT: &str = "last_used_at";
/// Stats item: the same last use in epoch milliseconds (N), written with
/// it, so a last-use flush can refuse to move it back (the text does not
/// sort).
pub const LAST_USED_MS: &str = "last_used_ms";
/// Secret item: the key it belongs to (S), for reading the table.
pub const KEY_ID: &str = "key_id";
/// Usage item: the UTC day (S, `yyyy-mm-dd`).
pub const DAY: &str = "day";
/// Usage item: the model (S).
pub const MODEL: &str = "model";
/// Usage item: request count (N), kept by `ADD`.
pub const REQUESTS: &str = "requests";
/// Usage item: input tokens (N), kept by `ADD`.
pub const INPUT_TOKENS: &str = "input_tokens";
/// Usage item: output tokens (N), kept by `ADD`.
pub const OUTPUT_TOKENS: &str = "output_tokens";
/// Request-claim item: a random id of the claim (S), so that a claim the
/// SDK sent again after losing its answer recognises itself.
pub const CLAIMANT: &str = "claimant";

/// [`SCOPE_KIND`] of a key reaching every workspace, now and later.
pub const SCOPE_ORGANIZATION: &str = "organization";
/// [`SCOPE_KIND`] of a workspace key.
pub const SCOPE_WORKSPACE: &str = "workspace";
/// [`SCOPE_KIND`] of an organization key limited to chosen workspaces.
pub const SCOPE_CHOSEN_WORKSPACES: &str = "workspaces";

/// Sort key of an organization item.
pub const ORG_SK: &str = "ORG";
/// Sort-key prefix of workspace items.
pub const WORKSPACE_PREFIX: &str = "WS#";
/// Sort-key prefix of membership items.
pub const MEMBER_PREFIX: &str = "MEMBER#";
/// Sort key of a key item.
pub const KEY_SK: &str = "KEY";
/// Sort key of a key's stats item. Sorts between [`KEY_SK`] and the usage
/// items, so one query for `KEY`..`STATS` reads a key with its stats.
pub const STATS_SK: &str = "STATS";
/// Sort key of a secret item.
pub const SECRET_SK: &str = "HASH";
/// Sort-key prefix of usage items.
pub const USAGE_PREFIX: &str = "USAGE#";
/// Sort-key prefix of audit items.
pub const AUDIT_PREFIX: &str = "AUDIT#";
/// Sort key of an idempotency item.
pub const IDEMPOTENCY_SK: &str = "IDEM";
/// Sort key of a request-claim item.
pub const REQUEST_CLAIM_SK: &str = "REQ";
/// Sort-key prefix of personal-key markers: see [`personal_keys_prefix`].
pub const PERSONAL_KEY_PREFIX: &str = "PKEY#";

/// `ORG#<org>`: the partition of an organization, its workspaces, members
/// and audit trail; also the partition of its keys in [`KEYS_BY_ORG_INDEX`].
pub fn org_pk(org: &OrgId) -> String {
    format!("ORG#{org}")
}

/// `WS#<ws>`.
pub fn workspace_sk(workspace: &WorkspaceId) -> String {
    format!("{WORKSPACE_PREFIX}{workspace}")
}

/// `MEMBER#<principal ARN>`.
pub fn member_sk(principal: &Principal) -> String {
    format!("{MEMBER_PREFIX}{principal}")
}

/// `KEY#<key>`: the partition of a key, its stats and its usage.
pub fn key_pk(key: &KeyId) -> String {
    format!("KEY#{key}")
}

/// `HASH#<sha256 hex>`: a secret item. The hash, never the plaintext.
pub fn secret_pk(hash: &KeyHash) -> String {
    format!("HASH#{}", hash.to_hex())
}

/// `USAGE#<yyyy-mm-dd>#<model>`: the day is fixed-width, so items sort by
/// day, then by model.
pub fn usage_sk(day: NaiveDate, model: &str) -> Result<String, StoreError> {
    Ok(format!("{USAGE_PREFIX}{}#{model}", sortable_day(day)?))
}

/// The lowest usage sort key of `day`.
pub fn usage_first_sk(day: NaiveDate) -> Result<String, StoreError> {
    Ok(format!("{USAGE_PREFIX}{}#", sortable_day(day)?))
}

/// A sort key above every usage item of `day` and below the next day's:
/// `$` is the character right after `#`.
pub fn usage_last_sk(day: NaiveDate) -> Result<String, StoreError> {
    Ok(format!("{USAGE_PREFIX}{}$", sortable_day(day)?))
}

/// `AUDIT#<time>#<event>`.
pub fn audit_sk(at: DateTime<Utc>, event: &str) -> Result<String, StoreError> {
    Ok(format!("{AUDIT_PREFIX}{}", position(at, event)?))
}

/// `PKEY#<principal ARN>#`: in an organization's partition, the sort-key
/// prefix of the markers of one creator's personal keys. Read with a
/// consistent query (unlike [`KEYS_BY_CREATOR_INDEX`]), so a member's
/// removal finds every personal key created before it.
pub fn personal_keys_prefix(principal: &Principal) -> String {
    format!("{PERSONAL_KEY_PREFIX}{principal}#")
}

/// `PKEY#<principal ARN>#<key>`: one personal key's marker.
pub fn personal_key_sk(principal: &Principal, key: &KeyId) -> String {
    format!("{}{key}", personal_keys_prefix(principal))
}

/// `IDEM#<principal>#<token>`: tokens are scoped per principal.
pub fn idempotency_pk(principal: &Principal, token: &str) -> String {
    format!("IDEM#{principal}#{token}")
}

/// `REQ#<digest>`: the claim of one signed request, named by a digest of
/// its signature (never the signature itself).
pub fn request_claim_pk(digest: &str) -> String {
    format!("REQ#{digest}")
}

/// `ORG#<org>#BY#<principal>`: partition of [`KEYS_BY_CREATOR_INDEX`].
pub fn creator_pk(org: &OrgId, principal: &Principal) -> String {
    format!("ORG#{org}#BY#{principal}")
}

/// `<time>#<id>`: where an item sits in a time-ordered listing (the index
/// sort key of a key, the tail of an audit sort key).
pub fn position(at: DateTime<Utc>, id: &str) -> Result<String, StoreError> {
    Ok(format!("{}#{id}", sortable_time(at)?))
}

/// Fixed-width RFC 3339 (`2025-01-01T00:00:00.000000000Z`), whose byte
/// order is time order. Only years 0000–9999 have a fixed width; the
/// injected clock never produces others, and refusing them beats
/// misordering them.
pub fn sortable_time(at: DateTime<Utc>) -> Result<String, StoreError> {
    check_year(at.year())?;
    Ok(at.format(TIME_FORMAT).to_string())
}

/// Parses what [`sortable_time`] wrote, and nothing else.
pub fn parse_sortable_time(text: &str) -> Option<DateTime<Utc>> {
    let at = NaiveDateTime::parse_from_str(text, TIME_FORMAT)
        .ok()?
        .and_utc();
    (sortable_time(at).ok()? == text).then_some(at)
}

const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.9fZ";

fn sortable_day(day: NaiveDate) -> Result<String, StoreError> {
    check_year(day.year())?;
    Ok(day.format("%Y-%m-%d").to_string())
}

fn check_year(year: i32) -> Result<(), StoreError> {
    if (0..=9999).contains(&year) {
        Ok(())
    } else {
        Err(StoreError::Unavailable(format!(
            "year {year} is outside 0000-9999 and cannot be stored in a sort key"
        )))
    }
}

/// How long [`create_table`] waits for a new table to become active.
const ACTIVE_WAIT: Duration = Duration::from_secs(120);

/// Creates the table `table_name` with on-demand billing, both key indexes
/// (projecting all attributes, so a listing needs no second read of the key
/// items), and TTL on [`TTL`]. Waits until the table is active, as DynamoDB
/// refuses to change TTL before. Fails if the table exists.
pub async fn create_table(client: &Client, table_name: &str) -> Result<(), StoreError> {
    create_request(client, table_name)?
        .send()
        .await
        .map_err(|err| sdk_error("CreateTable", &err))?;
    finish_creation(client, table_name).await
}

/// Creates the table like [`create_table`] unless it exists, and waits until
/// it is active; `true` if this call created it. For local runs on an
/// emulator: in AWS the infra module owns the table. Two processes racing
/// to create it both succeed.
pub async fn ensure_table(client: &Client, table_name: &str) -> Result<bool, StoreError> {
    match client.describe_table().table_name(table_name).send().await {
        Ok(_) => {
            wait_until_active(client, table_name).await?;
            return Ok(false);
        }
        Err(err)
            if matches!(
                err.as_service_error(),
                Some(DescribeTableError::ResourceNotFoundException(_))
            ) => {}
        Err(err) => return Err(sdk_error("DescribeTable", &err)),
    }
    match create_request(client, table_name)?.send().await {
        Ok(_) => {
            finish_creation(client, table_name).await?;
            Ok(true)
        }
        Err(err)
            if matches!(
                err.as_service_error(),
                Some(CreateTableError::ResourceInUseException(_))
            ) =>
        {
            wait_until_active(client, table_name).await?;
            Ok(false)
        }
        Err(err) => Err(sdk_error("CreateTable", &err)),
    }
}

fn create_request(
    client: &Client,
    table_name: &str,
) -> Result<CreateTableFluentBuilder, StoreError> {
    let string_attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(build_error)
    };
    let key = |name: &str, key_type: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
            .map_err(build_error)
    };
    let index = |name: &str, pk: &str, sk: &str| -> Result<GlobalSecondaryIndex, StoreError> {
        GlobalSecondaryIndex::builder()
            .index_name(name)
            .key_schema(key(pk, KeyType::Hash)?)
            .key_schema(key(sk, KeyType::Range)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .map_err(build_error)
    };

    let mut request = client
        .create_table()
        .table_name(table_name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?)
        .global_secondary_indexes(index(KEYS_BY_ORG_INDEX, GSI1_PK, GSI1_SK)?)
        .global_secondary_indexes(index(KEYS_BY_CREATOR_INDEX, GSI2_PK, GSI2_SK)?);
    for name in [PK, SK, GSI1_PK, GSI1_SK, GSI2_PK, GSI2_SK] {
        request = request.attribute_definitions(string_attribute(name)?);
    }
    Ok(request)
}

/// Waits for a new table to become active, then turns TTL on.
async fn finish_creation(client: &Client, table_name: &str) -> Result<(), StoreError> {
    wait_until_active(client, table_name).await?;
    client
        .update_time_to_live()
        .table_name(table_name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(TTL)
                .build()
                .map_err(build_error)?,
        )
        .send()
        .await
        .map_err(|err| sdk_error("UpdateTimeToLive", &err))?;
    Ok(())
}

async fn wait_until_active(client: &Client, table_name: &str) -> Result<(), StoreError> {
    let deadline = tokio::time::Instant::now() + ACTIVE_WAIT;
    loop {
        let described = client
            .describe_table()
            .table_name(table_name)
            .send()
            .await
            .map_err(|err| sdk_error("DescribeTable", &err))?;
        let status = described.table().and_then(|t| t.table_status());
        if status == Some(&TableStatus::Active) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(StoreError::Unavailable(format!(
                "table {table_name} did not become active within {} s",
                ACTIVE_WAIT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64, nanos: u32) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, nanos).expect("in range")
    }

    #[test]
    fn sortable_times_sort_like_times_and_parse_back() {
        let times = [
            at(0, 0),
            at(0, 1),
            at(1_735_689_600, 5),
            at(1_735_689_601, 0),
        ];
        let texts: Vec<String> = times
            .iter()
            .map(|t| sortable_time(*t).expect("in range"))
            .collect();
        for pair in texts.windows(2) {
            assert!(pair[0] < pair[1], "{} !< {}", pair[0], pair[1]);
        }
        for (time, text) in times.iter().zip(&texts) {
            assert_eq!(parse_sortable_time(text), Some(*time));
        }
        assert_eq!(texts[2], "2025-01-01T00:00:00.000000005Z");
    }

    #[test]
    fn junk_is_not_a_sortable_time() {
        for junk in [
            "",
            "2025-01-01",
            "2025-01-01T00:00:00Z",
            "x2025-01-01T00:00:00.000000000Z",
        ] {
            assert_eq!(parse_sortable_time(junk), None, "{junk}");
        }
    }

    #[test]
    fn usage_bounds_enclose_exactly_one_day() {
        let day = NaiveDate::from_ymd_opt(2025, 1, 8).expect("a day");
        let next = NaiveDate::from_ymd_opt(2025, 1, 9).expect("a day");
        let (first, last) = (
            usage_first_sk(day).expect("in range"),
            usage_last_sk(day).expect("in range"),
        );
        for model in ["", "a", "gpt-4o", "~~~", "模型"] {
            let sk = usage_sk(day, model).expect("in range");
            assert!(first <= sk && sk <= last, "{sk}");
            assert!(usage_sk(next, model).expect("in range") > last);
        }
    }

    #[test]
    fn years_beyond_four_digits_are_refused() {
        let far = NaiveDate::from_ymd_opt(10_000, 1, 1).expect("a day");
        assert!(usage_sk(far, "m").is_err());
    }
}
