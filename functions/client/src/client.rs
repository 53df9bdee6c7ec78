//! The client, its builder, and the one path every call takes: build,
//! sign, send, read, and retry when that is safe.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, RETRY_AFTER, USER_AGENT};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use keyplane_api::key_format::ApiKey;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use rand::distr::{Alphanumeric, SampleString};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tracing::Instrument;
use zeroize::{Zeroize, Zeroizing};

use crate::credentials::CredentialsCache;
use crate::endpoint::Endpoint;
use crate::error::ApiError;
use crate::idempotency::IdempotencyKey;
use crate::retry::{Failure, Retry, RetryPolicy};
use crate::signing::sign_request;
use crate::{aws, Error};

/// The environment variable naming the API's base URL.
pub const ENDPOINT_ENV: &str = "KEYPLANE_ENDPOINT";

/// Largest answer read; the biggest real one (a page of 100 keys) is far
/// smaller.
const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// A random value signed into every attempt. The server handles each
/// signed write once and refuses the same bytes again as a replay
/// (`REQUEST_REPLAYED`); `x-amz-date` has whole seconds, so without it a
/// retry within the second of the attempt before would be those bytes.
pub(crate) const NONCE: HeaderName = HeaderName::from_static("x-keyplane-nonce");

/// Everything but the RFC 3986 unreserved characters: what a path segment
/// (an id, a principal ARN) is encoded with.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

type HttpClient = hyper_util::client::legacy::Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A Keyplane API client. Cheap to clone; clones share connections and
/// cached credentials.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    endpoint: Endpoint,
    region: String,
    credentials: CredentialsCache,
    http: HttpClient,
    retry: RetryPolicy,
    timeout: Duration,
    user_agent: HeaderValue,
}

impl Client {
    /// A client configured from the environment: the endpoint from
    /// `KEYPLANE_ENDPOINT`, credentials and region from the standard AWS
    /// chain (`AWS_PROFILE`, `AWS_REGION`, SSO, roles, …).
    pub async fn from_env() -> Result<Self, Error> {
        Self::builder().build().await
    }

    /// A builder, to set the endpoint, profile, region, credentials,
    /// retries or timeouts explicitly.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The region requests are signed for.
    pub fn region(&self) -> &str {
        &self.inner.region
    }

    /// Sends `call`, retrying as its kind allows; the successful answer, or
    /// the last failure.
    pub(crate) async fn send(&self, call: Call<'_>) -> Result<Answer, Error> {
        // An info span, so that a retry warning names its route even where
        // debug output is filtered out.
        let span = tracing::info_span!(
            "keyplane_client",
            method = call.method.as_str(),
            route = call.route
        );
        self.send_with_retries(&call).instrument(span).await
    }

    async fn send_with_retries(&self, call: &Call<'_>) -> Result<Answer, Error> {
        let url = self.inner.endpoint.url(&call.path, call.query.as_deref())?;
        let policy = &self.inner.retry;
        let mut after_lost_attempt = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (failure, error, retry_after) = match self.attempt(call, &url).await {
                Ok(mut answer) if answer.status.is_success() => {
                    tracing::debug!(attempt, status = answer.status.as_u16(), "answered");
                    answer.after_lost_attempt = after_lost_attempt;
                    return Ok(answer);
                }
                Ok(answer) => {
                    let error = ApiError::from_answer(
                        call.route,
                        answer.status,
                        &answer.headers,
                        &answer.body,
                        after_lost_attempt,
                    );
                    let retry_after = retry_after(&answer.headers);
                    (Failure::Status(answer.status), error.into(), retry_after)
                }
                Err(AttemptError::Fatal(error)) => return Err(error),
                Err(AttemptError::Failed(failure, error)) => (failure, error, None),
            };
            if !failure.retryable(call.retry) || attempt >= policy.max_attempts() {
                tracing::debug!(attempt, reason = failure.label(), "giving up");
                return Err(error);
            }
            after_lost_attempt |= failure.outcome_unknown();
            let delay = policy.delay(attempt, retry_after);
            tracing::warn!(
                attempt,
                reason = failure.label(),
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                "retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// One attempt: a freshly signed request, and its whole answer.
    async fn attempt(&self, call: &Call<'_>, url: &Uri) -> Result<Answer, AttemptError> {
        let inner = &self.inner;
        let body: &[u8] = call.body.as_deref().map_or(&[], Vec::as_slice);
        let mut req = Request::new(Full::new(Bytes::copy_from_slice(body)));
        *req.method_mut() = call.method.clone();
        *req.uri_mut() = url.clone();
        let headers = req.headers_mut();
        let host = HeaderValue::from_str(inner.endpoint.authority().as_str())
            .map_err(|_| AttemptError::Fatal(Error::configuration("invalid endpoint host")))?;
        headers.insert(HOST, host);
        headers.insert(USER_AGENT, inner.user_agent.clone());
        if call.body.is_some() {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        // Set here rather than by hyper, so that it is signed too.
        if call.body.is_some() || call.method != Method::GET && call.method != Method::DELETE {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        }
        if let Some(token) = call.idempotency_key {
            let value = HeaderValue::from_str(token.as_str()).map_err(|_| {
                AttemptError::Fatal(Error::configuration("invalid Idempotency-Key"))
            })?;
            headers.insert(IDEMPOTENCY_KEY, value);
        }
        match call.auth {
            Auth::SigV4 => {
                let nonce = Alphanumeric.sample_string(&mut rand::rng(), 22);
                headers.insert(
                    NONCE,
                    HeaderValue::from_str(&nonce)
                        .map_err(|_| AttemptError::Fatal(Error::configuration("invalid nonce")))?,
                );
                let credentials = inner.credentials.get().await.map_err(AttemptError::Fatal)?;
                sign_request(
                    &mut req,
                    body,
                    credentials,
                    &inner.region,
                    SystemTime::now(),
                )
                .map_err(AttemptError::Fatal)?;
            }
            Auth::Bearer(key) => {
                let text = Zeroizing::new(format!("Bearer {}", key.expose()));
                let mut value = HeaderValue::from_str(&text).map_err(|_| {
                    AttemptError::Fatal(Error::configuration(
                        "the API key cannot be sent as a header (it is not a Keyplane key)",
                    ))
                })?;
                value.set_sensitive(true);
                req.headers_mut().insert(http::header::AUTHORIZATION, value);
            }
            Auth::None => {}
        }

        let route = call.route;
        let exchange = async {
            let response = inner.http.request(req).await.map_err(|err| {
                if err.is_connect() {
                    AttemptError::Failed(
                        Failure::Connect,
                        Error::transport(route, "cannot connect", err),
                    )
                } else {
                    AttemptError::Failed(
                        Failure::Transport,
                        Error::transport(route, "the request failed", err),
                    )
                }
            })?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|err| {
                    AttemptError::Failed(
                        Failure::Transport,
                        Error::transport(route, "cannot read the answer", err),
                    )
                })?
                .to_bytes();
            Ok(Answer {
                status: parts.status,
                headers: parts.headers,
                body,
                route,
                after_lost_attempt: false,
            })
        };
        match tokio::time::timeout(inner.timeout, exchange).await {
            Ok(answer) => answer,
            Err(_) => Err(AttemptError::Failed(
                Failure::Timeout,
                Error::Timeout {
                    route,
                    timeout: inner.timeout,
                },
            )),
        }
    }
}

/// How an attempt failed.
enum AttemptError {
    /// Not worth retrying: configuration, credentials, signing.
    Fatal(Error),
    /// Possibly worth retrying, depending on the failure and the call.
    Failed(Failure, Error),
}

/// `Retry-After` in seconds, if the answer has one.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
        .map(Duration::from_secs)
}

/// How a call authenticates.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Auth<'a> {
    /// AWS SigV4 (management routes).
    SigV4,
    /// `Authorization: Bearer <key>` (whoami).
    Bearer(&'a ApiKey),
    /// Nothing (verify, leak reports: the key is in the body).
    None,
}

/// One API call, before it is signed.
pub(crate) struct Call<'a> {
    method: Method,
    route: &'static str,
    path: String,
    query: Option<String>,
    body: Option<Zeroizing<Vec<u8>>>,
    auth: Auth<'a>,
    idempotency_key: Option<&'a IdempotencyKey>,
    retry: Retry,
}

impl<'a> Call<'a> {
    /// A signed, repeatable call of `method` to `path`, whose template (for
    /// logs and errors) is `route`.
    pub(crate) fn new(method: Method, route: &'static str, path: String) -> Self {
        Self {
            method,
            route,
            path,
            query: None,
            body: None,
            auth: Auth::SigV4,
            idempotency_key: None,
            retry: Retry::Repeatable,
        }
    }

    /// A JSON body. The bytes are wiped when the call is done: the body of
    /// a verify or leak report holds a key.
    pub(crate) fn json(mut self, body: &impl Serialize) -> Result<Self, Error> {
        let bytes = serde_json::to_vec(body)
            .map_err(|_| Error::configuration("cannot encode the request body as JSON"))?;
        self.body = Some(Zeroizing::new(bytes));
        Ok(self)
    }

    /// A query string from `query`'s fields (absent ones left out).
    pub(crate) fn query(mut self, query: &impl Serialize) -> Result<Self, Error> {
        let encoded = serde_urlencoded::to_string(query)
            .map_err(|_| Error::configuration("cannot encode the query string"))?;
        self.query = Some(encoded);
        Ok(self)
    }

    pub(crate) fn auth(mut self, auth: Auth<'a>) -> Self {
        self.auth = auth;
        self
    }

    pub(crate) fn idempotency_key(mut self, token: &'a IdempotencyKey) -> Self {
        self.idempotency_key = Some(token);
        self
    }

    /// Marks the call as acting again when repeated; see [`Retry::Once`].
    pub(crate) fn once(mut self) -> Self {
        self.retry = Retry::Once;
        self
    }
}

/// A path segment, percent-encoded.
pub(crate) fn segment(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

/// A successful answer.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    body: Bytes,
    route: &'static str,
    /// An earlier attempt of this call may have taken effect.
    pub(crate) after_lost_attempt: bool,
}

impl Answer {
    /// The body as `T`.
    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body)
            .map_err(|err| Error::decode(self.route, self.status, &err))
    }

    /// Whether header `name` is `true`.
    pub(crate) fn flag(&self, name: &str) -> bool {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    }
}

impl Drop for Answer {
    /// Wipes the body when nobody else holds its buffer (create and roll
    /// answers hold a plaintext key). Best effort: hyper may have copied it.
    fn drop(&mut self) {
        if let Ok(mut bytes) = std::mem::take(&mut self.body).try_into_mut() {
            bytes.as_mut().zeroize();
        }
    }
}

/// Builds a [`Client`].
#[derive(Debug, Default)]
pub struct ClientBuilder {
    endpoint: Option<String>,
    region: Option<String>,
    profile: Option<String>,
    credentials: Option<SharedCredentialsProvider>,
    retry: RetryPolicy,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    allow_http: bool,
}

impl ClientBuilder {
    /// The API's base URL, including an API Gateway stage if there is one,
    /// e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com/prod`.
    /// Default: `KEYPLANE_ENDPOINT`.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// The region to sign for. Default: the AWS chain's (`AWS_REGION`, the
    /// profile's `region`, …).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// The shared-config profile to take credentials and region from, as
    /// `--profile` does for the AWS CLI. Default: `AWS_PROFILE`, else
    /// `default`.
    pub fn profile(mut self, profile: impl Into<String>) -> Self {
        self.profile = Some(profile.into());
        self
    }

    /// Fixed credentials instead of the AWS chain (tests, tools that
    /// already hold credentials).
    pub fn credentials(self, credentials: Credentials) -> Self {
        self.credentials_provider(credentials)
    }

    /// A credentials provider instead of the AWS chain.
    pub fn credentials_provider(mut self, provider: impl ProvideCredentials + 'static) -> Self {
        self.credentials = Some(SharedCredentialsProvider::new(provider));
        self
    }

    /// Attempts and backoff. Default: [`RetryPolicy::default`].
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// How long one attempt may take, answer included. Default: 30 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How long connecting may take. Default: 5 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Allows a plain `http` endpoint that is not a loopback address.
    /// Create and roll answers carry plaintext keys: use only on a network
    /// you trust.
    pub fn allow_http(mut self) -> Self {
        self.allow_http = true;
        self
    }

    /// The client. Reads the AWS configuration unless both credentials and
    /// region were given; credentials themselves are fetched on the first
    /// signed call.
    pub async fn build(self) -> Result<Client, Error> {
        let raw = match self.endpoint {
            Some(endpoint) => endpoint,
            None => std::env::var(ENDPOINT_ENV)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| {
                    Error::configuration(format!(
                        "no Keyplane endpoint: set {ENDPOINT_ENV} (e.g. https://abc123.execute-api.us-east-1.amazonaws.com/prod) or call ClientBuilder::endpoint"
                    ))
                })?,
        };
        let endpoint = Endpoint::parse(&raw, self.allow_http)?;
        let (credentials, region) = match (self.credentials, self.region) {
            (Some(credentials), Some(region)) => (credentials, region),
            (credentials, region) => {
                let settings = aws::load(self.profile.as_deref(), region.as_deref()).await;
                let credentials = credentials.or(settings.credentials).ok_or_else(|| {
                    Error::configuration("no AWS credentials provider is configured")
                })?;
                let region = settings.region.ok_or_else(|| {
                    Error::configuration(
                        "no AWS region: set AWS_REGION, a region in the profile, or call ClientBuilder::region",
                    )
                })?;
                (credentials, region)
            }
        };
        let connector = connector(
            &endpoint,
            self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
        )?;
        let http = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(Client {
            inner: Arc::new(Inner {
                endpoint,
                region,
                credentials: CredentialsCache::new(credentials),
                http,
                retry: self.retry,
                timeout: self.timeout.unwrap_or(DEFAULT_TIMEOUT),
                user_agent: HeaderValue::from_static(concat!(
                    "keyplane-client/",
                    env!("CARGO_PKG_VERSION")
                )),
            }),
        })
    }
}

/// HTTPS with the system's root certificates (rustls, aws-lc-rs); plain
/// HTTP only for an `http` endpoint.
fn connector(
    endpoint: &Endpoint,
    connect_timeout: Duration,
) -> Result<HttpsConnector<HttpConnector>, Error> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(connect_timeout));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    if endpoint.is_https() {
        let builder = HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider)
            .map_err(|err| {
                Error::configuration(format!(
                    "cannot load the system's TLS root certificates: {err}"
                ))
            })?;
        Ok(builder.https_only().enable_http1().wrap_connector(http))
    } else {
        // No TLS will ever be negotiated, so no roots are needed: an
        // endpoint on the loopback works on a machine without a CA bundle.
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|err| Error::configuration(format!("TLS setup failed: {err}")))?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
        Ok(HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http))
    }
}
