//! Records are stored as JSON: readable with any redb tool, and tolerant of
//! fields added later (serde skips unknown ones, `Option`s default to `None`).

use std::borrow::Borrow;

use redb::{Key, ReadableTable};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::failure::{unavailable, TxResult};

/// Encodes a record for storage.
pub(super) fn encode<T: Serialize>(record: &T) -> TxResult<Vec<u8>> {
    serde_json::to_vec(record).map_err(|err| unavailable(format!("cannot encode a record: {err}")))
}

/// Decodes a stored record. The message names only where decoding failed,
/// not what was read, so no stored text reaches the logs.
pub(super) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> TxResult<T> {
    serde_json::from_slice(bytes).map_err(|err| {
        unavailable(format!(
            "corrupt record: {:?} error at line {} column {}",
            err.classify(),
            err.line(),
            err.column()
        ))
    })
}

/// Looks `key` up in `table` and decodes what is there.
pub(super) fn read<'k, K, T>(
    table: &impl ReadableTable<K, &'static [u8]>,
    key: impl Borrow<K::SelfType<'k>>,
) -> TxResult<Option<T>>
where
    K: Key + 'static,
    T: DeserializeOwned,
{
    let found = table.get(key)?;
    found.map(|guard| decode(guard.value())).transpose()
}
