//! The use cases. [`Keyplane`] holds the injected store and clock; each
//! submodule is one family of use cases.

mod access;
mod audit_log;
mod idempotency;
mod invalidate;
mod keys;
mod last_use;
mod leak;
mod lifecycle;
mod organizations;
mod replay;
mod rotation;
mod rules;
mod usage;
mod verify;
mod verify_cache;
mod view;

pub use idempotency::{IdempotencyToken, MAX_IDEMPOTENCY_KEY_LEN};
pub use keyplane_api::audit::{AuditPage, AuditQuery};
pub use keyplane_api::keys::{
    ActivateKey, BoundSecret, CreateKey, KeyPage, KeyView, KeyWithSecret, ListKeys, PatchKey,
    RollKey, ScopeKind,
};
pub use keyplane_api::tenancy::{
    CreateOrganization, CreateWorkspace, PutMember, UpdateOrganization,
};
pub use keyplane_api::usage::{KeyUsage, ReportUsage, UsageRange};
pub use keyplane_api::verify::{ReportLeak, Verdict, VerifyCode, VerifyKey};
pub use keys::{CreateOutcome, CreatedKey, MAX_CREDITS};
pub use last_use::{FlushReport, LastUseSettings};
pub use lifecycle::{RollOutcome, RolledKey};
pub use replay::{REQUEST_CLAIM_TTL, REQUEST_REPLAYED, SIGNATURE_SKEW};
pub use rotation::Rotation;
pub use usage::{MAX_MODEL_LEN, MAX_USAGE_DAYS};
pub use verify_cache::VerifyCacheSettings;

use std::fmt;
use std::sync::Arc;

use crate::clock::Clock;
use crate::key_format::KeyEnv;
use crate::principal::Principal;
use crate::store::KeyStore;
use invalidate::InvalidatingStore;
use last_use::LastUse;
use verify_cache::VerifyCache;

/// Deployment settings the use cases need.
#[derive(Debug, Clone)]
pub struct Config {
    /// Platform admins: may create organizations and act as owners anywhere.
    pub admins: Vec<Principal>,
    /// Principals allowed to report usage (`POST /v1/usage`), besides admins.
    pub usage_reporters: Vec<Principal>,
    /// Environment of minted keys.
    pub key_env: KeyEnv,
    /// Principals the Secrets Manager rotator runs as: they may roll keys
    /// bound to a secret with rotation on, and nothing else.
    pub rotators: Vec<Principal>,
}

/// Who is calling a management use case, and from where.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Authenticated IAM principal.
    pub principal: Principal,
    /// The request's User-Agent, for the audit log.
    pub source: Option<String>,
    /// The request id, for the audit log.
    pub request_id: Option<String>,
}

/// The Keyplane application: use cases over an injected store and clock.
#[derive(Clone)]
pub struct Keyplane {
    store: Arc<dyn KeyStore>,
    clock: Arc<dyn Clock>,
    config: Arc<Config>,
    verify_cache: Option<Arc<VerifyCache>>,
    last_use: Option<Arc<LastUse>>,
}

impl fmt::Debug for Keyplane {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyplane")
            .field("store", &self.store)
            .field("config", &self.config)
            .field("verify_cache", &self.verify_cache.is_some())
            .field("last_use", &self.last_use.is_some())
            .finish()
    }
}

impl Keyplane {
    /// Wires the use cases to a store and a clock. Every verify reads the
    /// store and plain verifies record no last use until
    /// [`Keyplane::with_verify_cache`] and [`Keyplane::with_last_use`] say
    /// otherwise.
    pub fn new(store: Arc<dyn KeyStore>, clock: Arc<dyn Clock>, config: Config) -> Self {
        Self {
            store,
            clock,
            config: Arc::new(config),
            verify_cache: None,
            last_use: None,
        }
    }

    /// Serves verify reads from memory within `settings.ttl` (see
    /// [`VerifyCacheSettings`]); writes through this instance invalidate at
    /// once. Call once, when wiring.
    pub fn with_verify_cache(mut self, settings: VerifyCacheSettings) -> Self {
        if let Some(cache) = VerifyCache::new(settings).map(Arc::new) {
            self.store = Arc::new(InvalidatingStore::new(self.store, cache.clone()));
            self.verify_cache = Some(cache);
        }
        self
    }

    /// Notes the last use of keys verified without a cost, for
    /// [`Keyplane::flush_last_used`] to write.
    pub fn with_last_use(mut self, settings: LastUseSettings) -> Self {
        self.last_use = LastUse::new(settings).map(Arc::new);
        self
    }

    /// The interval between last-use flushes, when recording is on.
    pub fn last_use_interval(&self) -> Option<std::time::Duration> {
        self.last_use.as_ref().map(|noted| noted.interval())
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }
}
