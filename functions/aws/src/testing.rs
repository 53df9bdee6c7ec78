//! Test support (feature `test-util`): see where an SDK client would send
//! its requests without sending anything, and set the environment variables
//! the configuration reads.

use std::sync::{Arc, Mutex};

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;

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
        .credentials_provider(aws_credential_types::Credentials::new(
            "AKIDKEYPLANETEST",
            "keyplane-test-secret-access-key",
            None,
            None,
            "keyplane-tests",
        ))
        .load()
        .await
}
