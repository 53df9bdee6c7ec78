//! Test support (feature `test-util`): see where an SDK client would send
//! its requests without sending anything, answer them from a script, and
//! set the environment variables the configuration reads.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

use crate::Profile;

/// An HTTP connection that records where each request goes and sends
/// nothing anywhere: every call fails as a connection error.
#[derive(Debug, Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<String>>>);

impl Recorder {
    /// Keyplane's configuration for `profile` from the environment, with
    /// every request recorded here instead of sent.
    pub async fn load(&self, profile: Profile) -> SdkConfig {
        let connection = self.clone();
        crate::loader(profile)
            .http_client(http_client_fn(move |_, _| {
                SharedHttpConnector::new(connection.clone())
            }))
            .load()
            .await
    }

    /// The URIs requested so far, in order.
    pub fn uris(&self) -> Vec<String> {
        self.0.lock().map(|seen| seen.clone()).unwrap_or_default()
    }
}

impl HttpConnector for Recorder {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        if let Ok(mut seen) = self.0.lock() {
            seen.push(request.uri().to_owned());
        }
        HttpConnectorFuture::ready(Err(ConnectorError::other(
            "recorded, not sent".into(),
            None,
        )))
    }
}

/// Per operation, the answers still to give: status and JSON body.
type Script = BTreeMap<String, VecDeque<(u16, String)>>;

/// An AWS service that answers from a script: for the answers an emulator
/// never gives (a conflict AWS reports only under a race, a throttle, a
/// lost response). JSON-protocol services only (Secrets Manager,
/// DynamoDB): requests are told apart by their `X-Amz-Target` operation.
/// A request nothing was scripted for fails as a connection error, so a
/// test also sees the calls it did not expect.
#[derive(Debug, Clone, Default)]
pub struct Canned {
    script: Arc<Mutex<Script>>,
    calls: Arc<Mutex<Vec<String>>>,
}

impl Canned {
    /// Queues the answer to the next `operation` call (e.g.
    /// `PutSecretValue`): `status` with a JSON `body`. An error is
    /// `{"__type": "ResourceExistsException", "message": "…"}`.
    #[must_use]
    pub fn answer(self, operation: &str, status: u16, body: &str) -> Self {
        if let Ok(mut script) = self.script.lock() {
            script
                .entry(operation.to_owned())
                .or_default()
                .push_back((status, body.to_owned()));
        }
        self
    }

    /// Keyplane's configuration for `profile` with region `us-east-1`,
    /// static credentials, and every request answered from the script.
    pub async fn load(&self, profile: Profile) -> SdkConfig {
        let connection = self.clone();
        crate::loader(profile)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(test_credentials())
            .http_client(http_client_fn(move |_, _| {
                SharedHttpConnector::new(connection.clone())
            }))
            .load()
            .await
    }

    /// The operations called so far, in order.
    pub fn calls(&self) -> Vec<String> {
        self.calls
            .lock()
            .map(|calls| calls.clone())
            .unwrap_or_default()
    }
}

impl HttpConnector for Canned {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let operation = request
            .headers()
            .get("x-amz-target")
            .and_then(|target| target.rsplit('.').next())
            .unwrap_or_default()
            .to_owned();
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(operation.clone());
        }
        let next = self
            .script
            .lock()
            .ok()
            .and_then(|mut script| script.get_mut(&operation)?.pop_front());
        let answer = next
            .ok_or_else(|| format!("no answer scripted for {operation:?}"))
            .and_then(|(status, body)| {
                let status = StatusCode::try_from(status).map_err(|e| e.to_string())?;
                let mut response = HttpResponse::new(status, SdkBody::from(body));
                response
                    .headers_mut()
                    .insert("content-type", "application/x-amz-json-1.1");
                Ok(response)
            });
        HttpConnectorFuture::ready(answer.map_err(|e| ConnectorError::other(e.into(), None)))
    }
}

/// Where `tests/run` (or `. tests/moto && start_moto`) has moto listening.
pub const MOTO_ENDPOINT_VAR: &str = "KEYPLANE_MOTO_ENDPOINT";
/// Set (by `tests/run`) to make a missing moto fail a test, not skip it.
pub const REQUIRE_MOTO_VAR: &str = "KEYPLANE_REQUIRE_MOTO";

/// moto's endpoint, or `None` after printing why `test` is skipped, so a
/// plain `cargo test` without moto still passes, while a run that should
/// have used it cannot pass silently.
///
/// # Panics
///
/// When the endpoint is missing and [`REQUIRE_MOTO_VAR`] is set.
pub fn moto_endpoint(test: &str) -> Option<String> {
    match std::env::var(MOTO_ENDPOINT_VAR) {
        Ok(endpoint) if !endpoint.is_empty() => Some(endpoint),
        _ if std::env::var_os(REQUIRE_MOTO_VAR).is_some() => panic!(
            "{test}: {REQUIRE_MOTO_VAR} is set but {MOTO_ENDPOINT_VAR} is not; start moto (tests/moto)"
        ),
        _ => {
            eprintln!("skipping {test}: {MOTO_ENDPOINT_VAR} is not set (run tests/run, or `. tests/moto && start_moto`)");
            None
        }
    }
}

/// The static credentials every test configuration signs with.
fn test_credentials() -> aws_credential_types::Credentials {
    aws_credential_types::Credentials::new(
        "AKIDKEYPLANETEST",
        "keyplane-test-secret-access-key",
        None,
        None,
        "keyplane-tests",
    )
}

/// Sets the environment variable `name`, or removes it for `None`.
pub fn set_env(name: &str, value: Option<&str>) {
    match value {
        Some(value) => std::env::set_var(name, value),
        None => std::env::remove_var(name),
    }
}

/// A loopback endpoint nothing listens on (the port is released at once).
pub fn closed_endpoint() -> String {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| format!("http://{addr}"))
        .unwrap_or_else(|_| "http://127.0.0.1:9".to_owned())
}

/// Static credentials, region `us-east-1`, no instance metadata and no
/// config or credentials files, so that a test consults nothing slow or
/// host-specific. Changes the process environment: call it only in a test
/// binary whose tests run one after another.
pub fn isolate_from_host() {
    set_env("AWS_ACCESS_KEY_ID", Some("AKIDKEYPLANETEST"));
    set_env(
        "AWS_SECRET_ACCESS_KEY",
        Some("keyplane-test-secret-access-key"),
    );
    set_env("AWS_EC2_METADATA_DISABLED", Some("true"));
    set_env("AWS_CONFIG_FILE", Some("/nonexistent/keyplane-test-config"));
    set_env(
        "AWS_SHARED_CREDENTIALS_FILE",
        Some("/nonexistent/keyplane-test-credentials"),
    );
    set_env("AWS_PROFILE", None);
    set_env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", None);
    set_env("AWS_REGION", Some("us-east-1"));
}

/// Keyplane's configuration for `profile` aimed at an emulator (moto) at
/// `endpoint`, with region `us-east-1` and static test credentials, so
/// nothing from the host's AWS configuration is consulted.
pub async fn emulator(endpoint: &str, profile: Profile) -> SdkConfig {
    crate::loader(profile)
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(test_credentials())
        .load()
        .await
}
