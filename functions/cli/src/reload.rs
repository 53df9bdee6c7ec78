//! The running server's view of the credentials file. `keyplane admin
//! add-principal` appends to that file while a server may be running, so
//! the server re-reads it when it changes: on a one-second check of its
//! modification time and size, at once when a request names an access key
//! it does not know, and on SIGHUP.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use keyplane_core::principal::Principal;
use keyplane_http::auth::{AuthError, Identify};
use keyplane_local::{LocalCredentials, SigV4Identity};

/// How often the file's modification time is checked.
const CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// What identifies one state of the file: modification time and size.
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// A [`SigV4Identity`] over the credentials file as it is now.
#[derive(Debug)]
pub struct ReloadingIdentity {
    path: PathBuf,
    region: String,
    state: RwLock<State>,
}

#[derive(Debug)]
struct State {
    identity: Arc<SigV4Identity>,
    stamp: Stamp,
}

impl ReloadingIdentity {
    /// Starts from `credentials`, which were just read from `path`.
    pub fn new(path: PathBuf, credentials: LocalCredentials, region: String) -> Self {
        let state = State {
            identity: Arc::new(SigV4Identity::new(credentials, region.clone())),
            stamp: stamp(&path),
        };
        Self {
            path,
            region,
            state: RwLock::new(state),
        }
    }

    fn current(&self) -> Arc<SigV4Identity> {
        self.state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .identity
            .clone()
    }

    /// Re-reads the file if its modification time or size changed; whether
    /// it did.
    pub fn reload_if_changed(&self) -> bool {
        let now = stamp(&self.path);
        let known = self
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .stamp;
        now != known && self.reload_with(now)
    }

    /// Re-reads the file unconditionally (SIGHUP); whether it was read.
    pub fn reload(&self) -> bool {
        self.reload_with(stamp(&self.path))
    }

    fn reload_with(&self, stamp: Stamp) -> bool {
        let loaded = LocalCredentials::load(&self.path);
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        // Remembered even when the file is broken, so that a broken file is
        // reported once rather than every second.
        state.stamp = stamp;
        match loaded {
            Ok(credentials) => {
                tracing::info!(
                    path = %self.path.display(),
                    access_keys = credentials.len(),
                    "reloaded the credentials file"
                );
                state.identity = Arc::new(SigV4Identity::new(credentials, self.region.clone()));
                true
            }
            Err(err) => {
                tracing::warn!(%err, path = %self.path.display(), "cannot reload the credentials file; keeping the credentials already loaded");
                false
            }
        }
    }

    /// Checks the file every second and on SIGHUP, for as long as the
    /// server runs.
    pub fn watch(self: Arc<Self>) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(CHECK_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            #[cfg(unix)]
            let mut hangup =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
                    Ok(signal) => Some(signal),
                    Err(err) => {
                        tracing::warn!(%err, "cannot listen for SIGHUP");
                        None
                    }
                };
            loop {
                #[cfg(unix)]
                let hup = async {
                    match hangup.as_mut() {
                        Some(signal) => signal.recv().await,
                        None => std::future::pending().await,
                    }
                };
                #[cfg(not(unix))]
                let hup = std::future::pending::<Option<()>>();
                tokio::select! {
                    _ = tick.tick() => {
                        self.reload_if_changed();
                    }
                    _ = hup => {
                        tracing::info!("SIGHUP: reloading the credentials file");
                        self.reload();
                    }
                }
            }
        });
    }
}

impl Identify for ReloadingIdentity {
    fn identify(
        &self,
        parts: &http::request::Parts,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Principal, AuthError> {
        match self.current().identify(parts, body, now) {
            // A principal added a moment ago: look at the file now rather
            // than at the next check.
            Err(AuthError::UnknownAccessKey) if self.reload_if_changed() => {
                self.current().identify(parts, body, now)
            }
            answer => answer,
        }
    }
}
