//! An organization, a workspace and real keys in an in-memory embedded
//! store, behind the same use cases the servers run.
//!
//! Corpus files name the world's ids and keys by placeholder (`$KEY`,
//! `$WS`, …), replaced before each run: the keys are minted afresh in every
//! process, and a placeholder lets the fuzzer reach `VALID`, `PENDING`,
//! `FORBIDDEN` and `USAGE_EXCEEDED` answers instead of stopping at
//! `NOT_FOUND`.

use std::convert::Infallible;
use std::sync::Arc;

use keyplane_api::key_format::{ApiKey, KeyEnv};
use keyplane_api::principal::Principal;
use keyplane_core::clock::{Clock, ManualClock};
use keyplane_core::service::{CreateKey, CreateOutcome, CreateWorkspace};
use keyplane_core::{Caller, Config, Keyplane};
use keyplane_store::EmbeddedStore;
use serde_json::json;
use tokio::runtime::Runtime;
use tower::{Service, ServiceExt};

/// The platform admin who built the world.
pub const ADMIN_ARN: &str = "arn:aws:iam::111111111111:user/fuzz-admin";

/// The world's store, use cases and the placeholders for its ids and keys.
#[derive(Debug)]
pub struct World {
    /// Runs the async code under test, one input at a time.
    pub runtime: Runtime,
    /// The store, shared by everything built on this world.
    pub store: Arc<EmbeddedStore>,
    /// Frozen at [`crate::now`].
    pub clock: Arc<dyn Clock>,
    /// The use cases over the store.
    pub keyplane: Keyplane,
    /// Placeholder and what it stands for, longest placeholder first.
    replacements: Vec<(&'static str, String)>,
}

impl World {
    /// Builds the world: one organization, one workspace, and keys
    /// `$KEY` (active, `models:*`), `$METERED` (active, with credits),
    /// `$PENDING` (never activated) and `$ORGKEY` (organization-wide).
    pub fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let store = Arc::new(EmbeddedStore::in_memory().expect("an in-memory store"));
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(crate::now()));
        let admin = Principal::parse(ADMIN_ARN).expect("an IAM ARN");
        let config = Config {
            admins: vec![admin.clone()],
            usage_reporters: Vec::new(),
            key_env: KeyEnv::Test,
            rotators: Vec::new(),
        };
        let keyplane = Keyplane::new(store.clone(), clock.clone(), config);
        let caller = Caller {
            principal: admin,
            source: None,
            request_id: None,
        };
        let replacements = runtime.block_on(async {
            let org = keyplane
                .create_organization(&caller, from_json(json!({"name": "fuzz"})))
                .await
                .expect("an organization");
            let org_id = org.id.to_string();
            let workspace = keyplane
                .create_workspace(
                    &caller,
                    &org.id,
                    from_json::<CreateWorkspace>(json!({"name": "fuzz"})),
                )
                .await
                .expect("a workspace");
            let ws = workspace.id.to_string();
            let ws_key = |extra: serde_json::Value| {
                let mut body = json!({
                    "organization_id": org_id,
                    "scope": "workspace",
                    "workspace_id": ws,
                    "type": "service",
                    "role": "editor",
                    "permissions": ["models:*", "orders:read"],
                });
                if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
                    body.extend(extra.clone());
                }
                from_json::<CreateKey>(body)
            };
            let mint = |req: CreateKey| {
                let keyplane = keyplane.clone();
                let caller = caller.clone();
                async move {
                    match keyplane.create_key(&caller, req, None).await {
                        Ok(CreateOutcome::Created(created)) => created.key,
                        other => panic!("cannot create a key: {other:?}"),
                    }
                }
            };
            let key = mint(ws_key(json!({"name": "active"}))).await;
            let metered = mint(ws_key(
                json!({"name": "metered", "credits": keyplane_core::service::MAX_CREDITS}),
            ))
            .await;
            let pending = mint(ws_key(json!({"name": "pending", "activate": false}))).await;
            let org_key = mint(from_json(json!({
                "organization_id": org_id,
                "scope": "organization",
                "type": "service",
                "name": "org-wide",
                "role": "viewer",
                "permissions": ["models:gpt-4o"],
            })))
            .await;
            // Well-formed keys that are not stored ("$UNKNOWN_LIVE" before
            // "$UNKNOWN", which is its prefix).
            let unknown_live = ApiKey::mint(KeyEnv::Live).expose().to_owned();
            let unknown = ApiKey::mint(KeyEnv::Test).expose().to_owned();
            vec![
                ("$UNKNOWN_LIVE", unknown_live),
                ("$UNKNOWN", unknown),
                ("$METERED", metered.expose().to_owned()),
                ("$PENDING", pending.expose().to_owned()),
                ("$ORGKEY", org_key.expose().to_owned()),
                ("$KEY", key.expose().to_owned()),
                ("$ORG", org_id.clone()),
                ("$WS", ws.clone()),
            ]
        });
        Self {
            runtime,
            store,
            clock,
            keyplane,
            replacements,
        }
    }

    /// Sends `request` to `service` (the Router, or the api function around
    /// it) on this world's runtime: the status and the whole answer.
    pub fn serve<S, R>(&self, service: &S, request: R) -> (http::StatusCode, axum::body::Bytes)
    where
        S: Service<R, Response = axum::response::Response, Error = Infallible> + Clone,
    {
        self.runtime.block_on(async {
            let response = service
                .clone()
                .oneshot(request)
                .await
                .expect("the Router is infallible");
            let status = response.status();
            let answer = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("an answer body");
            (status, answer)
        })
    }

    /// `input` with every placeholder replaced by what it stands for.
    pub fn substitute(&self, input: &str) -> String {
        if !input.contains('$') {
            return input.to_owned();
        }
        let mut out = input.to_owned();
        for (placeholder, value) in &self.replacements {
            out = out.replace(placeholder, value);
        }
        out
    }

    /// The plaintext of the world's keys, none of which may ever appear in
    /// an answer.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.replacements
            .iter()
            .map(|(_, value)| value.as_str())
            .filter(|value| ApiKey::from_plaintext(*value).check().is_ok())
    }

    /// What `placeholder` stands for.
    pub fn get(&self, placeholder: &str) -> &str {
        self.replacements
            .iter()
            .find(|(name, _)| *name == placeholder)
            .map(|(_, value)| value.as_str())
            .expect("a placeholder of this world")
    }

    /// The keys that verify (every one but `$PENDING`).
    pub fn valid_keys(&self) -> [&str; 3] {
        [self.get("$KEY"), self.get("$METERED"), self.get("$ORGKEY")]
    }
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

fn from_json<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).expect("a valid request")
}
