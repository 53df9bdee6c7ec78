//! A typed async client for the Keyplane API.
//!
//! Management calls are signed with AWS SigV4 (service `execute-api`) using
//! credentials from the standard AWS chain; the data plane (verify, whoami,
//! leak reports) is not signed. Request and answer bodies are the
//! [`keyplane_api`] types the server itself uses, re-exported as [`api`].
//!
//! ```no_run
//! use keyplane_client::api::keys::{CreateKey, ScopeKind};
//! use keyplane_client::api::key::{KeyRole, KeyType};
//! use keyplane_client::{Client, CreateOutcome};
//!
//! # async fn example(org: keyplane_client::api::id::OrgId, ws: keyplane_client::api::id::WorkspaceId) -> Result<(), keyplane_client::Error> {
//! let client = Client::from_env().await?; // KEYPLANE_ENDPOINT, AWS_PROFILE, AWS_REGION…
//! let req = CreateKey {
//!     organization_id: org,
//!     scope: ScopeKind::Workspace,
//!     workspace_id: Some(ws),
//!     workspace_ids: None,
//!     key_type: KeyType::Service,
//!     name: Some("billing-sync".into()),
//!     role: KeyRole::Editor,
//!     permissions: vec!["models:*".into()],
//!     expires_at: None,
//!     credits: None,
//!     metadata: Default::default(),
//!     activate: None,
//! };
//! match client.create_key(&req).await? {
//!     CreateOutcome::Created(created) => store_somewhere_safe(&created.key),
//!     CreateOutcome::Replayed(view) => eprintln!("{} already existed; roll it for a new secret", view.id),
//! }
//! # Ok(()) }
//! # fn store_somewhere_safe(_: &keyplane_client::api::key_format::ApiKey) {}
//! ```
//!
//! # Retries
//!
//! Each call gets up to [`RetryPolicy::max_attempts`] attempts, waiting
//! with exponential backoff and full jitter (or the server's `Retry-After`)
//! in between, each attempt freshly signed and bounded by the timeout.
//!
//! - **Always retried** on 429, 5xx, timeouts and connection errors: reads,
//!   `PUT` member, `PATCH` organization and key, revoke, activate, remove
//!   member, verify without a cost, leak reports — and **create and roll**,
//!   which always send an `Idempotency-Key` (generated unless you pass
//!   one), so a retry is answered as [`CreateOutcome::Replayed`] /
//!   [`RollOutcome::Replayed`] and never mints a second key.
//! - **Retried only on 429 and failed connections** (where the request
//!   certainly did nothing): creating organizations and workspaces (no
//!   idempotency token on these routes), `POST /v1/usage` (counters are
//!   added to) and verify with a `cost` (credits are spent).
//!
//! # Secrets
//!
//! Plaintext keys exist only inside [`api::key_format::ApiKey`]. Tracing
//! spans and events name the method and route template, never a URL, a
//! header or a body; errors never quote a body.

mod audit;
mod aws;
mod client;
mod credentials;
mod data_plane;
mod endpoint;
mod error;
mod idempotency;
mod keys;
mod organizations;
mod pages;
mod retry;
mod signing;
mod usage;

pub use keyplane_api as api;

pub use aws_credential_types::Credentials;
pub use client::{Client, ClientBuilder, ENDPOINT_ENV};
pub use error::{ApiError, Error};
pub use idempotency::IdempotencyKey;
pub use keys::{CreateOutcome, Minted, RollOutcome};
pub use retry::RetryPolicy;
