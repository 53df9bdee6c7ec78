//! The redb tables, one per item kind of the DynamoDB design.
//!
//! Values are serde_json-encoded domain records so that a record read back is
//! exactly the record written. Keys are tuples so that redb's ordering does
//! the work of DynamoDB's sort keys: everything of one organization (or one
//! key) is a contiguous range.

use redb::{Database, TableDefinition};

use super::failure::TxResult;

/// Listing keys: (scope, inverted seconds, inverted nanoseconds, id).
/// See [`super::cursor::Position`] for why the time is inverted.
pub(super) type NewestFirst = (&'static str, u64, u32, &'static str);

/// `ORG#<org>` / `ORG`: the organization with its key count.
pub(super) const ORGANIZATIONS: TableDefinition<&str, &[u8]> =
    TableDefinition::new("organizations");
/// `ORG#<org>` / `WS#<ws>`.
pub(super) const WORKSPACES: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("workspaces");
/// `ORG#<org>` / `MEMBER#<principal>`.
pub(super) const MEMBERS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("members");
/// `KEY#<key>` / `KEY`: the key's metadata, without the store-maintained
/// credits and last use (those live in [`KEY_STATS`]).
pub(super) const KEYS: TableDefinition<&str, &[u8]> = TableDefinition::new("keys");
/// Credits left and last use, per key id. A separate item, as it would be in
/// DynamoDB, so that rewriting a key on update can never overwrite them.
pub(super) const KEY_STATS: TableDefinition<&str, &[u8]> = TableDefinition::new("key_stats");
/// The listing index of keys by organization, newest first (the GSI).
pub(super) const KEYS_BY_ORG: TableDefinition<NewestFirst, ()> =
    TableDefinition::new("keys_by_org");
/// `HASH#<sha256>` / `HASH`: the secret items verify reads.
pub(super) const SECRETS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("secrets");
/// `KEY#<key>` / `USAGE#<day>#<model>`; the day is its number of days
/// since 0001-01-01, which sorts like the date.
pub(super) const USAGE: TableDefinition<(&str, i32, &str), &[u8]> = TableDefinition::new("usage");
/// `ORG#<org>` / `AUDIT#<time>#<id>`, newest first.
pub(super) const AUDIT: TableDefinition<NewestFirst, &[u8]> = TableDefinition::new("audit");
/// `IDEM#<principal>#<token>`.
pub(super) const IDEMPOTENCY: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("idempotency");
/// `REQ#<digest>`: a claimed signed request and when its claim expires
/// (epoch seconds).
pub(super) const REQUEST_CLAIMS: TableDefinition<&str, i64> =
    TableDefinition::new("request_claims");
/// The same claims by (expiry, digest), so expired ones are found in order
/// and swept (DynamoDB's TTL does this for the table).
pub(super) const REQUEST_CLAIMS_BY_EXPIRY: TableDefinition<(i64, &str), ()> =
    TableDefinition::new("request_claims_by_expiry");

/// Creates every table, so that read transactions never meet a missing one.
pub(super) fn create_all(db: &Database) -> TxResult<()> {
    let txn = db.begin_write()?;
    txn.open_table(ORGANIZATIONS)?;
    txn.open_table(WORKSPACES)?;
    txn.open_table(MEMBERS)?;
    txn.open_table(KEYS)?;
    txn.open_table(KEY_STATS)?;
    txn.open_table(KEYS_BY_ORG)?;
    txn.open_table(SECRETS)?;
    txn.open_table(USAGE)?;
    txn.open_table(AUDIT)?;
    txn.open_table(IDEMPOTENCY)?;
    txn.open_table(REQUEST_CLAIMS)?;
    txn.open_table(REQUEST_CLAIMS_BY_EXPIRY)?;
    txn.commit()?;
    Ok(())
}
