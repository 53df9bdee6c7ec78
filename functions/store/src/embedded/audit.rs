//! The audit trail, kept per organization and listed newest first.

use keyplane_core::audit::AuditEvent;
use keyplane_core::id::OrgId;
use keyplane_core::store::Page;
use redb::{ReadTransaction, WriteTransaction};

use super::codec::{decode, encode};
use super::cursor::{newest_first, Position};
use super::failure::TxResult;
use super::tables::AUDIT;

/// Appends `event` within the caller's transaction, so an action and its
/// event are written together or not at all. The event's `ttl` is stored as
/// given; nothing here deletes events (DynamoDB's TTL does, over there).
pub(super) fn append(txn: &WriteTransaction, event: &AuditEvent) -> TxResult<()> {
    let position = Position::new(event.at, event.id.as_str());
    txn.open_table(AUDIT)?.insert(
        position.key(event.organization_id.as_str()),
        encode(event)?.as_slice(),
    )?;
    Ok(())
}

pub(super) fn list(
    txn: &ReadTransaction,
    org: &OrgId,
    cursor: Option<&str>,
    limit: usize,
) -> TxResult<Page<AuditEvent>> {
    let table = txn.open_table(AUDIT)?;
    newest_first(&table, org.as_str(), cursor, limit, |_, bytes: &[u8]| {
        decode(bytes).map(Some)
    })
}
