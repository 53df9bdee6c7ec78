//! The real Router on 127.0.0.1 (an ephemeral port, `axum::serve`), over
//! an in-memory store and the system clock, checking real SigV4 — plus a
//! fault layer in front of it that can lose, delay or throttle chosen
//! requests, so retries can be tested against the real idempotency rules.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use keyplane_client::api::id::{OrgId, WorkspaceId};
use keyplane_client::api::key::{KeyRole, KeyType};
use keyplane_client::api::keys::{CreateKey, ScopeKind};
use keyplane_client::api::principal::Principal;
use keyplane_client::api::tenancy::{
    CreateOrganization, CreateWorkspace, OrgRole, PutMember, WorkspaceRole,
};
use keyplane_client::{Client, ClientBuilder, Credentials, RetryPolicy};
use keyplane_core::clock::SystemClock;
use keyplane_core::key_format::KeyEnv;
use keyplane_core::{Config, Keyplane};
use keyplane_http::auth::Identify;
use keyplane_http::AppState;
use keyplane_store::EmbeddedStore;
use tokio::task::JoinHandle;

/// The region the server checks and the clients sign for.
pub const REGION: &str = "us-east-1";
/// The configured platform admin.
pub const ADMIN: &str = "admin";
/// The configured usage reporter.
pub const REPORTER: &str = "reporter";
/// A principal with no rights until an owner grants some.
pub const ALICE: &str = "alice";

/// The ARN of a test principal.
pub fn arn(name: &str) -> Principal {
    let arn = match name {
        ADMIN => "arn:aws:iam::111111111111:user/admin".to_owned(),
        REPORTER => "arn:aws:iam::111111111111:role/gateway".to_owned(),
        other => format!("arn:aws:iam::123456789012:user/{other}"),
    };
    Principal::parse(&arn).expect("test ARN")
}

/// The server's SigV4 identity for `names`, and each one's client
/// credentials. The one place that names the local SigV4 types, which are
/// moving to their own crate.
fn sigv4_identity(names: &[&str]) -> (Arc<dyn Identify>, HashMap<String, Credentials>) {
    use keyplane_local::{LocalCredentials, SigV4Identity};
    use secrecy::ExposeSecret;

    let mut local = LocalCredentials::new();
    let mut clients = HashMap::new();
    for name in names {
        let generated = local.add_profile(name, arn(name)).expect("profile");
        let credentials = Credentials::new(
            generated.access_key_id,
            generated.secret_access_key.expose_secret(),
            None,
            None,
            "keyplane-client-tests",
        );
        clients.insert((*name).to_owned(), credentials);
    }
    (Arc::new(SigV4Identity::new(local, REGION)), clients)
}

/// What the fault layer does to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Serve it, then answer 502 instead, as a gateway that lost the
    /// upstream answer would.
    LoseAnswer,
    /// Serve it, then never answer.
    Hang,
    /// Answer 429 without serving it, as API Gateway throttling does.
    Throttle,
}

/// Faults waiting for their request, and every request seen.
#[derive(Debug, Default)]
pub struct Faults {
    planned: Mutex<Vec<(Method, String, Fault)>>,
    seen: Mutex<Vec<(Method, String, String)>>,
}

impl Faults {
    /// Applies `fault` once, to the next `method` request whose path ends
    /// with `path_suffix`.
    pub fn plan(&self, method: Method, path_suffix: &str, fault: Fault) {
        lock(&self.planned).push((method, path_suffix.to_owned(), fault));
    }

    /// How many `method` requests with a path ending in `path_suffix`
    /// reached the server.
    pub fn hits(&self, method: &Method, path_suffix: &str) -> usize {
        self.authorizations(method, path_suffix).len()
    }

    /// The `Authorization` headers of those requests, in order.
    pub fn authorizations(&self, method: &Method, path_suffix: &str) -> Vec<String> {
        lock(&self.seen)
            .iter()
            .filter(|(m, p, _)| m == method && p.ends_with(path_suffix))
            .map(|(_, _, authorization)| authorization.clone())
            .collect()
    }

    fn take(&self, method: &Method, path: &str) -> Option<Fault> {
        let mut planned = lock(&self.planned);
        let index = planned
            .iter()
            .position(|(m, suffix, _)| m == method && path.ends_with(suffix.as_str()))?;
        Some(planned.remove(index).2)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn inject(State(faults): State<Arc<Faults>>, req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    lock(&faults.seen).push((method.clone(), path.clone(), authorization));
    let gateway_error = |status: StatusCode, message: &str| {
        let body = serde_json::json!({ "message": message }).to_string();
        (
            status,
            [("content-type", "application/json"), ("retry-after", "0")],
            body,
        )
            .into_response()
    };
    match faults.take(&method, &path) {
        None => next.run(req).await,
        Some(Fault::Throttle) => gateway_error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests"),
        Some(Fault::LoseAnswer) => {
            drop(next.run(req).await);
            gateway_error(StatusCode::BAD_GATEWAY, "Internal server error")
        }
        Some(Fault::Hang) => {
            drop(next.run(req).await);
            std::future::pending().await
        }
    }
}

/// A running server.
#[derive(Debug)]
pub struct TestServer {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    /// The fault layer in front of the Router.
    pub faults: Arc<Faults>,
    credentials: HashMap<String, Credentials>,
    task: JoinHandle<()>,
}

impl TestServer {
    /// Starts the Router on an ephemeral port.
    pub async fn start() -> Self {
        let (identity, credentials) = sigv4_identity(&[ADMIN, REPORTER, ALICE, "bob"]);
        let clock = Arc::new(SystemClock);
        let config = Config {
            admins: vec![arn(ADMIN)],
            usage_reporters: vec![arn(REPORTER)],
            key_env: KeyEnv::Test,
            rotators: Vec::new(),
        };
        let store = Arc::new(EmbeddedStore::in_memory().expect("in-memory store"));
        let state = AppState {
            keyplane: Keyplane::new(store, clock.clone(), config),
            identity,
            clock,
        };
        let faults = Arc::new(Faults::default());
        let app = keyplane_http::app(state)
            .layer(axum::middleware::from_fn_with_state(faults.clone(), inject));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        Self {
            endpoint: format!("http://{address}"),
            faults,
            credentials,
            task,
        }
    }

    /// A builder for `who`'s client: this server, static credentials,
    /// quick retries.
    pub fn builder(&self, who: &str) -> ClientBuilder {
        Client::builder()
            .endpoint(&self.endpoint)
            .region(REGION)
            .credentials(self.credentials[who].clone())
            .retry_policy(
                RetryPolicy::new(4)
                    .with_backoff(Duration::from_millis(10), Duration::from_millis(50)),
            )
            .timeout(Duration::from_secs(10))
    }

    /// `who`'s credentials, as the server knows them.
    pub fn credentials(&self, who: &str) -> &Credentials {
        &self.credentials[who]
    }

    /// `who`'s client.
    pub async fn client(&self, who: &str) -> Client {
        self.builder(who).build().await.expect("client")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An organization with one workspace, and `alice` as its editor.
pub async fn org_with_editor(admin: &Client) -> (OrgId, WorkspaceId) {
    let org = admin
        .create_organization(&CreateOrganization {
            name: "Acme".to_owned(),
            key_quota: None,
        })
        .await
        .expect("organization");
    let ws = admin
        .create_workspace(
            &org.id,
            &CreateWorkspace {
                name: "prod".to_owned(),
            },
        )
        .await
        .expect("workspace");
    admin
        .put_member(
            &org.id,
            &arn(ALICE),
            &PutMember {
                org_role: OrgRole::Member,
                workspace_roles: BTreeMap::from([(ws.id.clone(), WorkspaceRole::Editor)]),
                permissions: None,
            },
        )
        .await
        .expect("member");
    (org.id, ws.id)
}

/// A workspace service key request: editor, `models:*`.
pub fn ws_key(org: &OrgId, ws: &WorkspaceId) -> CreateKey {
    CreateKey {
        organization_id: org.clone(),
        scope: ScopeKind::Workspace,
        workspace_id: Some(ws.clone()),
        workspace_ids: None,
        key_type: KeyType::Service,
        name: Some("ci".to_owned()),
        role: KeyRole::Editor,
        permissions: vec!["models:*".to_owned()],
        expires_at: None,
        credits: None,
        metadata: BTreeMap::new(),
        activate: None,
    }
}
