//! Newest-first listings and their opaque cursors.
//!
//! redb iterates keys in ascending order, so the creation time is stored
//! inverted: the newest item has the smallest key and a forward scan lists
//! newest first. The id breaks ties between items of the same instant. A
//! cursor is the position of the last item returned, so the next page starts
//! strictly after it whatever was written in between.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use keyplane_core::store::{Page, StoreError};
use redb::{ReadableTable, Value};
use std::ops::Bound;

use super::failure::TxResult;
use super::tables::NewestFirst;

/// Length of the fixed part of an encoded cursor: seconds then nanoseconds.
const TIME_LEN: usize = 8 + 4;

/// Where an item sits in a newest-first listing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Position {
    secs: u64,
    nanos: u32,
    id: String,
}

impl Position {
    /// The position of the item `id` created `at`.
    pub(super) fn new(at: DateTime<Utc>, id: &str) -> Self {
        // Flipping the sign bit maps i64 onto u64 in order (the `as` only
        // reinterprets the bits); the bitwise not then reverses that order.
        let secs = !((at.timestamp() as u64) ^ (1 << 63));
        let nanos = !at.timestamp_subsec_nanos();
        Self {
            secs,
            nanos,
            id: id.to_owned(),
        }
    }

    /// The index key of this position within `scope` (an organization).
    pub(super) fn key<'a>(&'a self, scope: &'a str) -> (&'a str, u64, u32, &'a str) {
        (scope, self.secs, self.nanos, &self.id)
    }

    /// The opaque cursor: base64url of the big-endian time and the id.
    pub(super) fn to_cursor(&self) -> String {
        let mut bytes = Vec::with_capacity(TIME_LEN + self.id.len());
        bytes.extend_from_slice(&self.secs.to_be_bytes());
        bytes.extend_from_slice(&self.nanos.to_be_bytes());
        bytes.extend_from_slice(self.id.as_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Parses a cursor made by [`Position::to_cursor`]; `None` if it is not one.
    pub(super) fn from_cursor(cursor: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
        if bytes.len() <= TIME_LEN {
            return None;
        }
        let (time, id) = bytes.split_at(TIME_LEN);
        let (secs, nanos) = time.split_at(8);
        Some(Self {
            secs: u64::from_be_bytes(secs.try_into().ok()?),
            nanos: u32::from_be_bytes(nanos.try_into().ok()?),
            id: String::from_utf8(id.to_vec()).ok()?,
        })
    }
}

/// Reads one page of a newest-first index.
///
/// Scans `scope`'s entries after `cursor`, keeping what `keep` turns into an
/// item (it returns `None` to filter an entry out), until `limit` items are
/// found. The scan goes on to the next match before answering, so a
/// `next_cursor` is given only when another page really has items.
///
/// A cursor that does not decode answers [`StoreError::NotFound`]: the trait
/// has no error for it, and the core maps `NotFound` from a listing to
/// `INVALID_CURSOR`. A `limit` of zero is read as one, so a page always
/// makes progress.
pub(super) fn newest_first<V, T, F>(
    index: &impl ReadableTable<NewestFirst, V>,
    scope: &str,
    cursor: Option<&str>,
    limit: usize,
    mut keep: F,
) -> TxResult<Page<T>>
where
    V: Value + 'static,
    F: for<'v> FnMut(&str, V::SelfType<'v>) -> TxResult<Option<T>>,
{
    let after = cursor
        .map(|c| Position::from_cursor(c).ok_or(StoreError::NotFound))
        .transpose()?;
    let start = match &after {
        Some(position) => Bound::Excluded(position.key(scope)),
        None => Bound::Included((scope, 0, 0, "")),
    };
    let limit = limit.max(1);
    let mut items = Vec::new();
    let mut last: Option<Position> = None;
    for entry in index.range::<(&str, u64, u32, &str)>((start, Bound::Unbounded))? {
        let (key, value) = entry?;
        let (entry_scope, secs, nanos, id) = key.value();
        if entry_scope != scope {
            break;
        }
        let Some(item) = keep(id, value.value())? else {
            continue;
        };
        if items.len() == limit {
            return Ok(Page {
                items,
                next_cursor: last.map(|p| p.to_cursor()),
            });
        }
        items.push(item);
        last = Some(Position {
            secs,
            nanos,
            id: id.to_owned(),
        });
    }
    Ok(Page {
        items,
        next_cursor: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64, nanos: u32) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, nanos).expect("in range")
    }

    #[test]
    fn later_instants_sort_first() {
        let times = [
            at(-5_000_000_000, 0),
            at(-1, 999_999_999),
            at(0, 0),
            at(0, 1),
            at(1_700_000_000, 5),
            at(1_700_000_001, 0),
        ];
        for pair in times.windows(2) {
            assert!(Position::new(pair[1], "key_a") < Position::new(pair[0], "key_a"));
        }
    }

    #[test]
    fn ids_break_ties_ascending() {
        let t = at(1_700_000_000, 0);
        assert!(Position::new(t, "key_a") < Position::new(t, "key_b"));
    }

    #[test]
    fn cursors_round_trip() {
        let position = Position::new(at(1_700_000_000, 42), "key_abc");
        assert_eq!(Position::from_cursor(&position.to_cursor()), Some(position));
    }

    #[test]
    fn junk_is_not_a_cursor() {
        for junk in [
            "",
            "%%%",
            "AAAA",
            "not base64!",
            &URL_SAFE_NO_PAD.encode([0xff; 20]),
        ] {
            assert_eq!(Position::from_cursor(junk), None, "{junk}");
        }
    }
}
