//! Test harness for the HTTP layer: the real Router over an in-memory store
//! and a manual clock, called with `tower::ServiceExt::oneshot` by
//! principals that sign their requests with real AWS SigV4.
//!
//! Principals are named (`"alice"`); the first use of a name mints its
//! credentials. `ADMIN` and `REPORTER` are the configured platform admin and
//! usage reporter.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use axum::body::{to_bytes, Body};
use axum::Router;
use chrono::{DateTime, Duration, TimeZone, Utc};
use http::header::{CONTENT_TYPE, HOST, USER_AGENT as USER_AGENT_HEADER};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode};
use keyplane_core::clock::{Clock, ManualClock};
use keyplane_core::key_format::KeyEnv;
use keyplane_core::principal::Principal;
use keyplane_core::store::KeyStore;
use keyplane_core::{Config, Keyplane};
use keyplane_http::auth::{AuthError, Identify};
use keyplane_http::{AppState, Limits, PROBLEM_JSON};
use keyplane_local::testing::sign_request;
use keyplane_local::{LocalCredentials, SigV4Identity};
use keyplane_store::EmbeddedStore;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use tower::ServiceExt;

pub mod failing_store;

/// Name of the configured platform admin.
pub const ADMIN: &str = "admin";
/// Name of the configured usage reporter.
pub const REPORTER: &str = "reporter";
/// The platform admin's ARN.
pub const ADMIN_ARN: &str = "arn:aws:iam::111111111111:user/admin";
/// The usage reporter's ARN.
pub const REPORTER_ARN: &str = "arn:aws:iam::111111111111:role/gateway";
/// The User-Agent sent unless a test sends another.
pub const USER_AGENT: &str = "keyplane-http-tests/1.0";
/// The region requests are signed for.
pub const REGION: &str = "us-east-1";
/// The header that makes every [`Req`] sign differently.
pub const NONCE: &str = "x-test-nonce";

/// The ARN of the principal named `name`.
pub fn arn(name: &str) -> String {
    match name {
        ADMIN => ADMIN_ARN.to_owned(),
        REPORTER => REPORTER_ARN.to_owned(),
        _ => format!("arn:aws:iam::123456789012:user/{name}"),
    }
}

/// The URL-encoded form of an ARN, for member paths.
pub fn encode(arn: &str) -> String {
    utf8_percent_encode(arn, NON_ALPHANUMERIC).to_string()
}

/// `/v1/organizations/{org}/members/{url-encoded arn}`.
pub fn member_path(org: &str, arn: &str) -> String {
    format!("/v1/organizations/{org}/members/{}", encode(arn))
}

/// A workspace service key request: role editor, `models:*`.
pub fn ws_key(org: &str, ws: &str) -> Value {
    json!({
        "organization_id": org,
        "scope": "workspace",
        "workspace_id": ws,
        "type": "service",
        "name": "ci",
        "role": "editor",
        "permissions": ["models:*"],
    })
}

/// An organization key request reaching every workspace: role owner.
pub fn org_key(org: &str) -> Value {
    json!({
        "organization_id": org,
        "scope": "organization",
        "type": "service",
        "name": "platform",
        "role": "owner",
        "permissions": ["models:*"],
    })
}

/// `base` with the fields of `changes` set (a `null` removes the field).
pub fn with(mut base: Value, changes: Value) -> Value {
    let object = base.as_object_mut().unwrap();
    for (field, value) in changes.as_object().unwrap() {
        if value.is_null() {
            object.remove(field);
        } else {
            object.insert(field.clone(), value.clone());
        }
    }
    base
}

#[derive(Debug, Clone)]
struct Credential {
    access_key_id: String,
    secret: String,
}

/// The SigV4 verifier, rebuilt whenever a principal is added so that new
/// principals can be minted after the Router exists.
#[derive(Debug)]
struct Identities {
    credentials: Mutex<LocalCredentials>,
    verifier: RwLock<Arc<SigV4Identity>>,
}

impl Identities {
    fn new() -> Self {
        Self {
            credentials: Mutex::new(LocalCredentials::new()),
            verifier: RwLock::new(Arc::new(SigV4Identity::new(
                LocalCredentials::new(),
                REGION,
            ))),
        }
    }

    fn add(&self, profile: &str, principal: Principal) -> Credential {
        let mut credentials = self.credentials.lock().unwrap();
        let generated = credentials.add_profile(profile, principal).unwrap();
        *self.verifier.write().unwrap() = Arc::new(SigV4Identity::new(credentials.clone(), REGION));
        Credential {
            access_key_id: generated.access_key_id,
            secret: generated.secret_access_key.expose_secret().to_owned(),
        }
    }
}

impl Identify for Identities {
    fn identify(
        &self,
        parts: &http::request::Parts,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Principal, AuthError> {
        let verifier = self.verifier.read().unwrap().clone();
        verifier.identify(parts, body, now)
    }
}

/// One request to send: built up, then passed to [`TestApp::send`].
///
/// Each `Req` carries a signed nonce of its own, as real clients sign at
/// the wall clock's time and with request ids: two requests built alike
/// are two requests, not a replay, even on the test's stopped clock. A
/// clone keeps the nonce, so sending a clone again is a byte-identical
/// replay.
#[derive(Debug, Clone)]
pub struct Req {
    method: Method,
    path: String,
    by: Option<String>,
    body: Vec<u8>,
    content_type: Option<String>,
    headers: Vec<(String, String)>,
    secret: Option<String>,
    signed_offset: Duration,
    tampered: Option<Vec<u8>>,
    after_signing: Vec<(String, String)>,
    from: Option<std::net::IpAddr>,
    nonce: Option<String>,
}

impl Req {
    /// `method path`, unsigned, no body.
    pub fn new(method: &str, path: &str) -> Self {
        Self {
            method: Method::from_bytes(method.as_bytes()).unwrap(),
            path: path.to_owned(),
            by: None,
            body: Vec::new(),
            content_type: None,
            headers: Vec::new(),
            secret: None,
            signed_offset: Duration::zero(),
            tampered: None,
            after_signing: Vec::new(),
            from: None,
            nonce: Some(keyplane_core::id::EventId::generate().to_string()),
        }
    }

    /// Without the nonce: only the headers the test sets.
    pub fn without_nonce(mut self) -> Self {
        self.nonce = None;
        self
    }

    /// Sent from `ip`, as the host (serve, Lambda) would tell the Router.
    pub fn sent_from(mut self, ip: &str) -> Self {
        self.from = Some(ip.parse().unwrap());
        self
    }

    /// Signed by the principal named `name`.
    pub fn by(mut self, name: &str) -> Self {
        self.by = Some(name.to_owned());
        self
    }

    /// A JSON body with `content-type: application/json`.
    pub fn json(mut self, body: &Value) -> Self {
        self.body = serde_json::to_vec(body).unwrap();
        self.content_type = Some("application/json".to_owned());
        self
    }

    /// Raw body bytes, with the content type left as it is.
    pub fn raw(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets (or with `None`, removes) the content type.
    pub fn content_type(mut self, content_type: Option<&str>) -> Self {
        self.content_type = content_type.map(str::to_owned);
        self
    }

    /// An extra header (replacing a default one of the same name).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Signs with this secret instead of the principal's own.
    pub fn secret(mut self, secret: &str) -> Self {
        self.secret = Some(secret.to_owned());
        self
    }

    /// Sends `body` instead of the body that was signed.
    pub fn tamper(mut self, body: &Value) -> Self {
        self.tampered = Some(serde_json::to_vec(body).unwrap());
        self
    }

    /// A header added after the request was signed, as a replaying
    /// attacker would.
    pub fn header_after_signing(mut self, name: &str, value: &str) -> Self {
        self.after_signing.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Signs at the clock's time plus `offset` (negative: in the past).
    pub fn signed_offset(mut self, offset: Duration) -> Self {
        self.signed_offset = offset;
        self
    }
}

/// What the Router answered.
#[derive(Debug, Clone)]
pub struct TestResponse {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// The body as text.
    pub body_text: String,
    /// The body as JSON (`Null` when it is not JSON).
    pub json: Value,
}

impl TestResponse {
    /// The problem+json `code` (empty when absent).
    pub fn code(&self) -> &str {
        self.json["code"].as_str().unwrap_or("")
    }

    /// A response header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A string field of the JSON body.
    #[track_caller]
    pub fn str(&self, field: &str) -> String {
        match self.json[field].as_str() {
            Some(text) => text.to_owned(),
            None => panic!("no string field `{field}` in {}", self.body_text),
        }
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body_text
        );
        self
    }

    /// Asserts a problem+json answer with `status` and `code`, carrying a
    /// request id.
    #[track_caller]
    pub fn expect_problem(&self, status: u16, code: &str) -> &Self {
        self.expect(status);
        assert_eq!(
            self.header("content-type"),
            Some(PROBLEM_JSON),
            "not problem+json: {}",
            self.body_text
        );
        assert_eq!(
            self.code(),
            code,
            "unexpected code; body: {}",
            self.body_text
        );
        assert_eq!(self.json["status"], json!(status), "{}", self.body_text);
        for field in ["type", "title", "detail"] {
            assert!(
                self.json[field].is_string(),
                "problem without `{field}`: {}",
                self.body_text
            );
        }
        let request_id = self.json["request_id"].as_str().unwrap_or("");
        assert!(
            !request_id.is_empty(),
            "problem without request_id: {}",
            self.body_text
        );
        assert_eq!(self.header("x-request-id"), Some(request_id));
        self
    }
}

/// The Router over an in-memory store, with time and principals under the
/// test's control.
#[derive(Debug)]
pub struct TestApp {
    router: Router,
    /// The clock the use cases and the SigV4 check read.
    pub clock: Arc<ManualClock>,
    identities: Arc<Identities>,
    credentials: Mutex<HashMap<String, Credential>>,
}

impl Default for TestApp {
    fn default() -> Self {
        Self::new()
    }
}

impl TestApp {
    /// A fresh app over an empty in-memory store, at 2026-01-01T00:00:00Z.
    pub fn new() -> Self {
        Self::with_store(Arc::new(EmbeddedStore::in_memory().unwrap()))
    }

    /// A fresh app over `store`.
    pub fn with_store(store: Arc<dyn KeyStore>) -> Self {
        Self::with_store_and_limits(store, Limits::default())
    }

    /// A fresh app over an empty in-memory store, enforcing `limits`.
    pub fn with_limits(limits: Limits) -> Self {
        Self::with_store_and_limits(Arc::new(EmbeddedStore::in_memory().unwrap()), limits)
    }

    /// A fresh app over `store`, enforcing `limits`.
    pub fn with_store_and_limits(store: Arc<dyn KeyStore>, limits: Limits) -> Self {
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().unwrap();
        let clock = Arc::new(ManualClock::new(start));
        let config = Config {
            admins: vec![Principal::parse(ADMIN_ARN).unwrap()],
            usage_reporters: vec![Principal::parse(REPORTER_ARN).unwrap()],
            key_env: KeyEnv::Test,
            rotators: Vec::new(),
        };
        let identities = Arc::new(Identities::new());
        let state = AppState {
            keyplane: Keyplane::new(store, clock.clone(), config),
            identity: identities.clone(),
            clock: clock.clone(),
        };
        let app = Self {
            router: keyplane_http::app_with_limits(state, limits),
            clock,
            identities,
            credentials: Mutex::new(HashMap::new()),
        };
        app.principal(ADMIN);
        app.principal(REPORTER);
        app
    }

    /// The ARN of the principal named `name`, minting its credentials on
    /// first use.
    pub fn principal(&self, name: &str) -> String {
        self.credential(name);
        arn(name)
    }

    fn credential(&self, name: &str) -> Credential {
        let mut known = self.credentials.lock().unwrap();
        known
            .entry(name.to_owned())
            .or_insert_with(|| {
                self.identities
                    .add(name, Principal::parse(&arn(name)).unwrap())
            })
            .clone()
    }

    /// The clock's time.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Moves the clock forward.
    pub fn advance(&self, seconds: i64) {
        self.clock.advance(Duration::seconds(seconds));
    }

    /// Sends a request, signed by `by` when given, with a JSON body when
    /// given, plus `headers`.
    pub async fn call(
        &self,
        by: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut req = Req::new(method, path);
        if let Some(name) = by {
            req = req.by(name);
        }
        if let Some(body) = &body {
            req = req.json(body);
        }
        for (name, value) in headers {
            req = req.header(name, value);
        }
        self.send(req).await
    }

    /// Sends `req` through the Router.
    pub async fn send(&self, req: Req) -> TestResponse {
        let mut request = Request::builder()
            .method(req.method.clone())
            .uri(&req.path)
            .body(req.body.clone())
            .unwrap();
        let headers = request.headers_mut();
        headers.insert(HOST, HeaderValue::from_static("localhost"));
        headers.insert(USER_AGENT_HEADER, HeaderValue::from_static(USER_AGENT));
        if let Some(content_type) = &req.content_type {
            headers.insert(CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
        }
        if let (Some(nonce), Some(_)) = (&req.nonce, &req.by) {
            headers.insert(NONCE, HeaderValue::from_str(nonce).unwrap());
        }
        for (name, value) in &req.headers {
            headers.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        if let Some(name) = &req.by {
            let credential = self.credential(name);
            let secret = req.secret.as_deref().unwrap_or(&credential.secret);
            let at = SystemTime::from(self.now() + req.signed_offset);
            sign_request(&mut request, &credential.access_key_id, secret, REGION, at);
        }
        if let Some(body) = &req.tampered {
            body.clone_into(request.body_mut());
        }
        if let Some(ip) = req.from {
            request.extensions_mut().insert(keyplane_http::ClientIp(ip));
        }
        for (name, value) in &req.after_signing {
            request.headers_mut().insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        let response = self
            .router
            .clone()
            .oneshot(request.map(Body::from))
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let body_text = String::from_utf8(bytes.to_vec()).unwrap();
        let json = serde_json::from_str(&body_text).unwrap_or(Value::Null);
        TestResponse {
            status,
            headers,
            body_text,
            json,
        }
    }

    /// Creates an organization as the admin; its id.
    pub async fn create_org(&self, name: &str) -> String {
        let body = json!({ "name": name });
        self.call(Some(ADMIN), "POST", "/v1/organizations", Some(body), &[])
            .await
            .expect(201)
            .str("id")
    }

    /// Creates a workspace in `org` as the admin; its id.
    pub async fn workspace(&self, org: &str, name: &str) -> String {
        let path = format!("/v1/organizations/{org}/workspaces");
        let body = json!({ "name": name });
        self.call(Some(ADMIN), "POST", &path, Some(body), &[])
            .await
            .expect(201)
            .str("id")
    }

    /// An organization with one workspace, created through the API as the
    /// admin: `(org_id, ws_id)`.
    pub async fn setup_org(&self) -> (String, String) {
        let org = self.create_org("Acme").await;
        let ws = self.workspace(&org, "prod").await;
        (org, ws)
    }

    /// Makes the principal `name` a member of `org` with `org_role`
    /// (`owner`/`member`) and `ws_roles` (`(ws_id, editor|viewer)`), as the
    /// admin; its ARN.
    pub async fn member(
        &self,
        org: &str,
        name: &str,
        org_role: &str,
        ws_roles: &[(&str, &str)],
    ) -> String {
        self.member_with(org, name, org_role, ws_roles, None).await
    }

    /// As [`TestApp::member`], limiting the permissions the member may grant.
    pub async fn member_with(
        &self,
        org: &str,
        name: &str,
        org_role: &str,
        ws_roles: &[(&str, &str)],
        permissions: Option<&[&str]>,
    ) -> String {
        let arn = self.principal(name);
        let roles: serde_json::Map<String, Value> = ws_roles
            .iter()
            .map(|(ws, role)| ((*ws).to_owned(), json!(role)))
            .collect();
        let mut body = json!({ "org_role": org_role, "workspace_roles": roles });
        if let Some(permissions) = permissions {
            body["permissions"] = json!(permissions);
        }
        self.call(Some(ADMIN), "PUT", &member_path(org, &arn), Some(body), &[])
            .await
            .expect(200);
        arn
    }

    /// Creates a key as `by`, expecting 201; the answer.
    pub async fn create_key(&self, by: &str, body: Value) -> Value {
        self.create_key_answer(by, body)
            .await
            .expect(201)
            .json
            .clone()
    }

    /// Asks to create a key as `by`; whatever the Router answers. Like a
    /// well-behaved client, it sends a fresh (signed) `Idempotency-Key`:
    /// without one, two identical creates signed in the same second are one
    /// request.
    pub async fn create_key_answer(&self, by: &str, body: Value) -> TestResponse {
        let token = keyplane_core::id::EventId::generate().to_string();
        self.call(
            Some(by),
            "POST",
            "/v1/keys",
            Some(body),
            &[("idempotency-key", &token)],
        )
        .await
    }

    /// Creates a key as `by`: `(plaintext, key_id)`.
    pub async fn new_key(&self, by: &str, body: Value) -> (String, String) {
        let created = self.create_key(by, body).await;
        (
            created["key"].as_str().unwrap().to_owned(),
            created["key_id"].as_str().unwrap().to_owned(),
        )
    }

    /// Verifies with a full request body; the verdict.
    pub async fn verify_with(&self, body: Value) -> Value {
        self.call(None, "POST", "/v1/keys/verify", Some(body), &[])
            .await
            .expect(200)
            .json
            .clone()
    }

    /// Verifies `key` with no constraints; the verdict.
    pub async fn verify(&self, key: &str) -> Value {
        self.verify_with(json!({ "key": key })).await
    }

    /// The verify code of `key`.
    pub async fn verify_code(&self, key: &str) -> String {
        self.verify(key).await["code"].as_str().unwrap().to_owned()
    }

    /// Keys of `org` as the admin sees them.
    pub async fn keys(&self, org: &str) -> Vec<Value> {
        let path = format!("/v1/keys?organization_id={org}&limit=100");
        let answer = self.call(Some(ADMIN), "GET", &path, None, &[]).await;
        answer.expect(200).json["items"].as_array().unwrap().clone()
    }

    /// Workspaces of `org` as the admin sees them.
    pub async fn workspaces(&self, org: &str) -> Vec<Value> {
        let path = format!("/v1/organizations/{org}/workspaces");
        let answer = self.call(Some(ADMIN), "GET", &path, None, &[]).await;
        answer.expect(200).json["items"].as_array().unwrap().clone()
    }

    /// The audit log of `org`, newest first, as the admin reads it.
    pub async fn audit(&self, org: &str) -> Vec<Value> {
        let path = format!("/v1/organizations/{org}/audit?limit=100");
        let answer = self.call(Some(ADMIN), "GET", &path, None, &[]).await;
        answer.expect(200).json["items"].as_array().unwrap().clone()
    }
}

/// Everything logged on the capturing thread, at every level, from every
/// crate but the test's own client-side signer, which logs the canonical
/// request it signs (the server only borrows the HMAC chain).
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// What was logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Captures this thread's logs until the guard is dropped. Use it with a
/// current-thread runtime, so every request runs on this thread.
pub fn capture_logs() -> (Captured, tracing::subscriber::DefaultGuard) {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("trace,aws_sigv4::http_request=off")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    (logs, tracing::subscriber::set_default(subscriber))
}
