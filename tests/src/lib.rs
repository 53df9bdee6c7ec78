//! Shared fixtures for Keyplane's cross-component tests: a [`World`] with the
//! use cases wired to an in-memory embedded store and a manual clock, and
//! [`lambda_runtime_api`], which runs the built Lambda bootstraps (found by
//! [`lambda_functions`]) as Lambda would.

pub mod fault_proxy;
pub mod faults;
pub mod faulty_store;
pub mod lambda_functions;
pub mod lambda_runtime_api;
pub mod leak_scan;
pub mod secret_rotation;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use keyplane_core::clock::ManualClock;
use keyplane_core::id::{OrgId, WorkspaceId};
use keyplane_core::key::{KeyRole, KeyType};
use keyplane_core::key_format::ApiKey;
use keyplane_core::key_format::KeyEnv;
use keyplane_core::principal::Principal;
use keyplane_core::service::{
    CreateKey, CreateOrganization, CreateOutcome, CreateWorkspace, CreatedKey, PutMember,
    RollOutcome, RolledKey, ScopeKind, Verdict, VerifyKey,
};
use keyplane_core::tenancy::{OrgRole, WorkspaceRole};
use keyplane_core::{Caller, Config, Error, Keyplane};
use keyplane_store::EmbeddedStore;

/// The configured platform admin.
pub const ADMIN: &str = "arn:aws:iam::111111111111:user/admin";
/// The configured usage reporter.
pub const REPORTER: &str = "arn:aws:iam::111111111111:role/gateway";
/// The configured rotation principal (the rotator Lambda's role).
pub const ROTATOR: &str = "arn:aws:iam::111111111111:role/keyplane-rotator";

/// Builds a principal from a test ARN.
pub fn principal(arn: &str) -> Principal {
    Principal::parse(arn).expect("test ARNs are valid")
}

/// A caller with a recognisable source and request id.
pub fn caller(arn: &str) -> Caller {
    Caller {
        principal: principal(arn),
        source: Some("keyplane-tests/1.0".to_owned()),
        request_id: Some("req-test".to_owned()),
    }
}

/// Unwraps a roll that must have minted a new secret (not a replay).
pub trait Rolled {
    /// The rolled key, or the use case's error.
    fn rolled(self) -> Result<RolledKey, Error>;
}

impl Rolled for Result<RollOutcome, Error> {
    fn rolled(self) -> Result<RolledKey, Error> {
        match self? {
            RollOutcome::Rolled(rolled) => Ok(rolled),
            RollOutcome::Replayed(view) => {
                panic!("expected a new secret, got a replay of {}", view.id)
            }
        }
    }
}

/// Use cases over an in-memory store, with time under the test's control.
#[derive(Debug, Clone)]
pub struct World {
    /// The use cases.
    pub keyplane: Keyplane,
    /// The clock they read.
    pub clock: Arc<ManualClock>,
    /// The store behind them.
    pub store: Arc<EmbeddedStore>,
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

impl World {
    /// A fresh world at 2026-01-01T00:00:00Z.
    pub fn new() -> Self {
        let store = Arc::new(EmbeddedStore::in_memory().expect("in-memory store opens"));
        Self::with_store(store)
    }

    /// A world over a given store.
    pub fn with_store(store: Arc<EmbeddedStore>) -> Self {
        let start = Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .expect("valid date");
        let clock = Arc::new(ManualClock::new(start));
        let config = Config {
            admins: vec![principal(ADMIN)],
            usage_reporters: vec![principal(REPORTER)],
            key_env: KeyEnv::Test,
            rotators: vec![principal(ROTATOR)],
        };
        let keyplane = Keyplane::new(store.clone(), clock.clone(), config);
        Self {
            keyplane,
            clock,
            store,
        }
    }

    /// Creates an organization (with `quota`) and one workspace, as the admin.
    pub async fn org_with_quota(&self, quota: Option<u32>) -> (OrgId, WorkspaceId) {
        org_and_workspace(&self.keyplane, &caller(ADMIN), quota).await
    }

    /// An organization with the default quota and one workspace.
    pub async fn org(&self) -> (OrgId, WorkspaceId) {
        self.org_with_quota(None).await
    }

    /// Another workspace in `org`.
    pub async fn workspace(&self, org: &OrgId, name: &str) -> WorkspaceId {
        self.keyplane
            .create_workspace(&caller(ADMIN), org, CreateWorkspace { name: name.into() })
            .await
            .expect("admin creates workspace")
            .id
    }

    /// Makes `arn` a member with the given roles.
    pub async fn member(
        &self,
        org: &OrgId,
        arn: &str,
        org_role: OrgRole,
        workspace_roles: &[(&WorkspaceId, WorkspaceRole)],
        permissions: Option<Vec<String>>,
    ) -> Result<(), Error> {
        let roles: BTreeMap<WorkspaceId, WorkspaceRole> = workspace_roles
            .iter()
            .map(|(ws, role)| ((*ws).clone(), *role))
            .collect();
        self.keyplane
            .put_member(
                &caller(ADMIN),
                org,
                &principal(arn),
                PutMember {
                    org_role,
                    workspace_roles: roles,
                    permissions,
                },
            )
            .await
            .map(|_| ())
    }

    /// Creates a key, expecting a fresh one.
    pub async fn create(&self, arn: &str, req: CreateKey) -> Result<CreatedKey, Error> {
        match self.keyplane.create_key(&caller(arn), req, None).await? {
            CreateOutcome::Created(created) => Ok(created),
            CreateOutcome::Replayed(_) => panic!("no idempotency key was sent"),
        }
    }

    /// Verifies `key` with no constraints.
    pub async fn verify(&self, key: &ApiKey) -> Verdict {
        self.verify_with(key, Vec::new(), None, None).await
    }

    /// Verifies with constraints.
    pub async fn verify_with(
        &self,
        key: &ApiKey,
        permissions: Vec<String>,
        workspace_id: Option<WorkspaceId>,
        cost: Option<u64>,
    ) -> Verdict {
        self.keyplane
            .verify(VerifyKey {
                key: ApiKey::from_plaintext(key.expose()),
                permissions,
                workspace_id,
                cost,
            })
            .await
            .expect("verify answers")
    }
}

/// An organization "Acme" (with `quota`) and its workspace "prod", created
/// by `admin` on any deployment of the use cases.
///
/// # Panics
///
/// When either cannot be created.
pub async fn org_and_workspace(
    keyplane: &Keyplane,
    admin: &Caller,
    quota: Option<u32>,
) -> (OrgId, WorkspaceId) {
    let org = keyplane
        .create_organization(
            admin,
            CreateOrganization {
                name: "Acme".into(),
                key_quota: quota,
            },
        )
        .await
        .expect("admin creates org");
    let ws = keyplane
        .create_workspace(
            admin,
            &org.id,
            CreateWorkspace {
                name: "prod".into(),
            },
        )
        .await
        .expect("admin creates workspace");
    (org.id, ws.id)
}

/// A workspace key request with sensible defaults.
pub fn workspace_key(org: &OrgId, ws: &WorkspaceId) -> CreateKey {
    CreateKey {
        organization_id: org.clone(),
        scope: ScopeKind::Workspace,
        workspace_id: Some(ws.clone()),
        workspace_ids: None,
        key_type: KeyType::Service,
        name: Some("ci".into()),
        role: KeyRole::Editor,
        permissions: vec!["models:*".into()],
        expires_at: None,
        credits: None,
        metadata: BTreeMap::new(),
        activate: None,
    }
}

/// An organization key request reaching every workspace.
pub fn organization_key(org: &OrgId) -> CreateKey {
    CreateKey {
        scope: ScopeKind::Organization,
        workspace_id: None,
        role: KeyRole::Owner,
        ..workspace_key(org, &WorkspaceId::generate())
    }
}
