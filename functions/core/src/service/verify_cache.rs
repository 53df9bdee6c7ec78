//! The verify cache: what the store answered for a key hash (the secret's
//! snapshot, or that there is none) and whether an organization has a
//! workspace, kept in memory for at most a staleness bound.
//!
//! The promise, as the README states it:
//!
//! - An answer is never older than [`VerifyCacheSettings::ttl`] (default
//!   5 s, 0 turns the cache off): a revoke, disable, roll or leak report
//!   made through another instance takes effect here within that bound.
//! - Writes made through this instance take effect here at once: every
//!   write that can change a verdict bumps a generation, and entries read
//!   before it are ignored ([`InvalidatingStore`](super::invalidate)).
//! - Expiry is judged on every verify against the clock, never cached.
//! - Credits are always spent in the store, so they stay exact.
//!
//! Entries are stamped with the time *before* the store read and the
//! generation *before* the store read, so a read racing a write is stale
//! as soon as the write lands. A clock that goes back makes entries stale
//! rather than longer-lived.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use quick_cache::sync::Cache;

use crate::id::{OrgId, WorkspaceId};
use crate::key::SecretRecord;
use crate::key_format::KeyHash;

/// How long verify answers may be served from memory, and how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyCacheSettings {
    /// The staleness bound. Zero turns the cache off.
    pub ttl: Duration,
    /// Most entries kept (secrets and workspaces each). An entry is a few
    /// hundred bytes.
    pub capacity: usize,
}

impl VerifyCacheSettings {
    /// The default staleness bound.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(5);
    /// The largest staleness bound accepted: beyond it a revoke would take
    /// too long to be called a revoke.
    pub const MAX_TTL: Duration = Duration::from_secs(300);
    /// The default number of entries.
    pub const DEFAULT_CAPACITY: usize = 10_000;

    /// No cache: every verify reads the store.
    pub const OFF: Self = Self {
        ttl: Duration::ZERO,
        capacity: 0,
    };

    /// Is the cache on?
    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero() && self.capacity > 0
    }
}

impl Default for VerifyCacheSettings {
    fn default() -> Self {
        Self {
            ttl: Self::DEFAULT_TTL,
            capacity: Self::DEFAULT_CAPACITY,
        }
    }
}

/// What the store said about a hash.
#[derive(Debug, Clone)]
pub(super) enum Lookup {
    Found(Arc<SecretRecord>),
    Missing,
}

#[derive(Debug, Clone)]
struct Entry<T> {
    value: T,
    fetched_at: DateTime<Utc>,
    generation: u64,
}

/// A read about to happen: when and in which generation it started.
#[derive(Debug, Clone, Copy)]
pub(super) struct ReadStart {
    at: DateTime<Utc>,
    generation: u64,
}

/// Both caches and the generation that invalidates them.
#[derive(Debug)]
pub(super) struct VerifyCache {
    secrets: Cache<KeyHash, Entry<Lookup>>,
    workspaces: Cache<(OrgId, WorkspaceId), Entry<bool>>,
    generation: AtomicU64,
    ttl: chrono::Duration,
}

impl VerifyCache {
    /// `None` when the settings turn the cache off.
    pub(super) fn new(settings: VerifyCacheSettings) -> Option<Self> {
        if !settings.enabled() {
            return None;
        }
        let ttl = settings.ttl.min(VerifyCacheSettings::MAX_TTL);
        Some(Self {
            secrets: Cache::new(settings.capacity),
            workspaces: Cache::new(settings.capacity),
            generation: AtomicU64::new(0),
            ttl: chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::zero()),
        })
    }

    /// Call before reading the store; pass the result to `remember_*`.
    pub(super) fn start(&self, now: DateTime<Utc>) -> ReadStart {
        ReadStart {
            at: now,
            generation: self.generation.load(Ordering::Acquire),
        }
    }

    /// Forgets everything read so far. Called after every write through
    /// this instance that can change a verdict.
    pub(super) fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    pub(super) fn secret(&self, hash: &KeyHash, now: DateTime<Utc>) -> Option<Lookup> {
        let entry = self.secrets.get(hash)?;
        self.fresh(&entry, now).then_some(entry.value)
    }

    pub(super) fn remember_secret(&self, hash: KeyHash, value: Lookup, read: ReadStart) {
        if let Some(entry) = self.entry(value, read) {
            self.secrets.insert(hash, entry);
        }
    }

    pub(super) fn workspace(
        &self,
        org: &OrgId,
        ws: &WorkspaceId,
        now: DateTime<Utc>,
    ) -> Option<bool> {
        // The tuple key needs owned ids; workspace reach is checked only for
        // organization-wide keys naming a workspace, off the common path.
        let entry = self.workspaces.get(&(org.clone(), ws.clone()))?;
        self.fresh(&entry, now).then_some(entry.value)
    }

    pub(super) fn remember_workspace(
        &self,
        org: &OrgId,
        ws: &WorkspaceId,
        exists: bool,
        read: ReadStart,
    ) {
        if let Some(entry) = self.entry(exists, read) {
            self.workspaces.insert((org.clone(), ws.clone()), entry);
        }
    }

    /// An entry for a read, unless a write landed while it ran.
    fn entry<T>(&self, value: T, read: ReadStart) -> Option<Entry<T>> {
        (read.generation == self.generation.load(Ordering::Acquire)).then_some(Entry {
            value,
            fetched_at: read.at,
            generation: read.generation,
        })
    }

    fn fresh<T>(&self, entry: &Entry<T>, now: DateTime<Utc>) -> bool {
        entry.generation == self.generation.load(Ordering::Acquire)
            && entry.fetched_at <= now
            && now - entry.fetched_at < self.ttl
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::key_format::{ApiKey, KeyEnv};

    fn cache() -> VerifyCache {
        VerifyCache::new(VerifyCacheSettings::default()).expect("on")
    }

    fn t(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + seconds, 0)
            .single()
            .expect("valid")
    }

    fn hash() -> KeyHash {
        ApiKey::mint(KeyEnv::Test).hash()
    }

    #[test]
    fn a_missing_key_is_remembered_until_the_bound() {
        let (cache, hash) = (cache(), hash());
        cache.remember_secret(hash, Lookup::Missing, cache.start(t(0)));
        assert!(matches!(cache.secret(&hash, t(4)), Some(Lookup::Missing)));
        assert!(cache.secret(&hash, t(5)).is_none());
    }

    #[test]
    fn a_read_racing_a_write_is_not_remembered() {
        let (cache, hash) = (cache(), hash());
        let read = cache.start(t(0));
        cache.invalidate();
        cache.remember_secret(hash, Lookup::Missing, read);
        assert!(cache.secret(&hash, t(0)).is_none());
    }

    #[test]
    fn a_write_after_the_read_hides_the_entry() {
        let (cache, hash) = (cache(), hash());
        cache.remember_secret(hash, Lookup::Missing, cache.start(t(0)));
        cache.invalidate();
        assert!(cache.secret(&hash, t(0)).is_none());
    }

    #[test]
    fn a_clock_that_goes_back_makes_entries_stale() {
        let (cache, hash) = (cache(), hash());
        cache.remember_secret(hash, Lookup::Missing, cache.start(t(10)));
        assert!(cache.secret(&hash, t(9)).is_none());
    }

    #[test]
    fn the_bound_is_capped_and_zero_turns_the_cache_off() {
        assert!(VerifyCache::new(VerifyCacheSettings::OFF).is_none());
        let long = VerifyCache::new(VerifyCacheSettings {
            ttl: Duration::from_secs(86_400),
            capacity: 10,
        })
        .expect("on");
        let hash = hash();
        long.remember_workspace(
            &OrgId::generate(),
            &WorkspaceId::generate(),
            true,
            long.start(t(0)),
        );
        long.remember_secret(hash, Lookup::Missing, long.start(t(0)));
        assert!(long.secret(&hash, t(299)).is_some());
        assert!(long.secret(&hash, t(300)).is_none());
    }
}
