//! Last use without writes on the request path: a valid verify notes the
//! key's use in memory; a flush writes each noted key once, off the request
//! path (a background task in `keyplane serve`, the end of an invocation on
//! Lambda, before the container can freeze).
//!
//! At most one write per key per flush, and flushes are at least
//! [`LastUseSettings::interval`] apart, so a busy key costs one write per
//! interval however often it is verified. A crash loses what was noted
//! since the last flush: at most one interval of last-use times, never a
//! credit (credits are spent in the store during verify).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::id::KeyId;

/// How often noted uses are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastUseSettings {
    /// Least time between two flushes. Zero turns recording off.
    pub interval: Duration,
    /// Most distinct keys noted between two flushes; uses of further keys
    /// are dropped (and counted) until the next flush.
    pub capacity: usize,
}

impl LastUseSettings {
    /// The default interval.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
    /// The default number of keys noted between flushes.
    pub const DEFAULT_CAPACITY: usize = 100_000;
    /// No recording: plain verifies leave the last use alone.
    pub const OFF: Self = Self {
        interval: Duration::ZERO,
        capacity: 0,
    };

    /// Is recording on?
    pub fn enabled(&self) -> bool {
        !self.interval.is_zero() && self.capacity > 0
    }
}

impl Default for LastUseSettings {
    fn default() -> Self {
        Self {
            interval: Self::DEFAULT_INTERVAL,
            capacity: Self::DEFAULT_CAPACITY,
        }
    }
}

/// A key and when it was last used.
type Use = (KeyId, DateTime<Utc>);

/// What one flush did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlushReport {
    /// Keys whose last use was written.
    pub written: usize,
    /// Keys kept for the next flush because the store failed.
    pub retried: usize,
    /// Uses dropped since the previous flush because too many keys were
    /// noted.
    pub dropped: u64,
}

#[derive(Debug, Default)]
struct Noted {
    uses: HashMap<KeyId, DateTime<Utc>>,
    dropped: u64,
    last_flush: Option<DateTime<Utc>>,
}

/// The uses noted since the last flush.
#[derive(Debug)]
pub(super) struct LastUse {
    noted: Mutex<Noted>,
    interval: Duration,
    capacity: usize,
}

impl LastUse {
    /// `None` when the settings turn recording off.
    pub(super) fn new(settings: LastUseSettings) -> Option<Self> {
        settings.enabled().then(|| Self {
            noted: Mutex::default(),
            interval: settings.interval,
            capacity: settings.capacity,
        })
    }

    pub(super) fn interval(&self) -> Duration {
        self.interval
    }

    pub(super) fn note(&self, key: &KeyId, at: DateTime<Utc>) {
        let mut noted = self.lock();
        let full = noted.uses.len() >= self.capacity;
        match noted.uses.get_mut(key) {
            Some(last) => *last = (*last).max(at),
            None if full => noted.dropped += 1,
            None => {
                noted.uses.insert(key.clone(), at);
            }
        }
    }

    /// Takes the noted uses if a flush is due at `now` (or `force`), and
    /// marks the flush as done.
    pub(super) fn take(&self, now: DateTime<Utc>, force: bool) -> Option<(Vec<Use>, u64)> {
        let mut noted = self.lock();
        let due = noted.last_flush.is_none_or(|last| {
            now < last
                || (now - last)
                    .to_std()
                    .is_ok_and(|since| since >= self.interval)
        });
        if !(due || force) || (noted.uses.is_empty() && noted.dropped == 0) {
            return None;
        }
        noted.last_flush = Some(now);
        let dropped = std::mem::take(&mut noted.dropped);
        Some((noted.uses.drain().collect(), dropped))
    }

    /// Puts back uses a failed flush could not write, unless a later use
    /// of the same key was noted meanwhile.
    pub(super) fn restore(&self, failed: Vec<Use>) {
        let mut noted = self.lock();
        for (key, at) in failed {
            let last = noted.uses.entry(key).or_insert(at);
            *last = (*last).max(at);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Noted> {
        self.noted.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl super::Keyplane {
    /// Writes every noted last use now (a background tick, or shutdown).
    pub async fn flush_last_used(&self) -> FlushReport {
        self.flush(true).await
    }

    /// Writes the noted last uses if the interval has passed since the
    /// previous flush; on Lambda, called at the end of each invocation.
    pub async fn flush_last_used_if_due(&self) -> FlushReport {
        self.flush(false).await
    }

    async fn flush(&self, force: bool) -> FlushReport {
        let Some(noted) = &self.last_use else {
            return FlushReport::default();
        };
        let Some((uses, dropped)) = noted.take(self.clock.now(), force) else {
            return FlushReport::default();
        };
        if dropped > 0 {
            tracing::warn!(
                dropped,
                "too many keys used between two last-use flushes; some last uses were not recorded"
            );
        }
        if uses.is_empty() {
            return FlushReport {
                dropped,
                ..FlushReport::default()
            };
        }
        match self.store.touch_last_used(&uses).await {
            Ok(()) => FlushReport {
                written: uses.len(),
                retried: 0,
                dropped,
            },
            Err(err) => {
                tracing::warn!(error = %err, keys = uses.len(), "last-use flush failed; will retry");
                let retried = uses.len();
                noted.restore(uses);
                FlushReport {
                    written: 0,
                    retried,
                    dropped,
                }
            }
        }
    }
}
