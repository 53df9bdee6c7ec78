//! The use cases. [`Keyplane`] holds the injected store and clock; each
//! submodule is one family of use cases.

mod access;
mod audit_log;
mod idempotency;
mod keys;
mod leak;
mod lifecycle;
mod organizations;
mod rotation;
mod rules;
mod usage;
mod verify;
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
pub use lifecycle::{RollOutcome, RolledKey};
pub use rotation::Rotation;

use std::fmt;
use std::sync::Arc;

use crate::clock::Clock;
use crate::key_format::KeyEnv;
use crate::principal::Principal;
use crate::store::KeyStore;

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
}

impl fmt::Debug for Keyplane {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyplane")
            .field("store", &self.store)
            .field("config", &self.config)
            .finish()
    }
}

impl Keyplane {
    /// Wires the use cases to a store and a clock.
    pub fn new(store: Arc<dyn KeyStore>, clock: Arc<dyn Clock>, config: Config) -> Self {
        Self {
            store,
            clock,
            config: Arc::new(config),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }
}
