//! A fault-injecting HTTP proxy in front of an AWS emulator (moto) on
//! 127.0.0.1, for the fault tests of the DynamoDB store, the rotator and the
//! Terraform provider.
//!
//! Clients are pointed at [`FaultProxy::url`] instead of moto. Every request
//! is forwarded unchanged and logged by its operation (the `X-Amz-Target`
//! header of the JSON protocols: `TransactWriteItems`, `PutSecretValue`, …),
//! until a fault is armed: from the chosen call on, matching requests are
//! answered `500` with the service's own error shape, either without
//! reaching moto ([`Fault::Refuse`]: the write never happened) or after
//! moto applied them ([`Fault::LoseAnswer`]: the write happened, its answer
//! was lost). Only the first failing call loses its answer; the SDK's
//! retries of it, and everything after it, are refused, as in an outage
//! that began while the call was in flight. [`FaultProxy::heal`] ends it.
//!
//! This sits where the network does, so the code under test sees exactly
//! what it would see from AWS: the SDK classifies the `500`, retries it
//! with its own policy, and gives up.

use std::net::SocketAddr;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::task::JoinHandle;

use crate::faults::{Decision, Injector};

type Upstream = Client<HttpConnector, Full<Bytes>>;

#[derive(Clone)]
struct Proxy {
    upstream: Uri,
    client: Upstream,
    faults: Injector,
}

/// The proxy: forwards to one upstream until told to fail.
#[derive(Debug)]
pub struct FaultProxy {
    url: String,
    upstream: String,
    faults: Injector,
    server: JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (e.g. `http://127.0.0.1:5000`) on a
    /// free loopback port.
    ///
    /// # Panics
    ///
    /// When `upstream` is not a URL or no port can be bound.
    pub async fn start(upstream: &str) -> Self {
        let upstream_url = upstream.to_owned();
        let upstream: Uri = upstream.parse().expect("the upstream is a URL");
        let faults = Injector::default();
        let proxy = Proxy {
            upstream,
            client: Client::builder(TokioExecutor::new()).build_http(),
            faults: faults.clone(),
        };
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind a loopback port");
        let address: SocketAddr = listener.local_addr().expect("the bound address");
        let app = Router::new().fallback(forward).with_state(proxy);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://{address}"),
            upstream: upstream_url,
            faults,
            server,
        }
    }

    /// Where clients should send their requests.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Where it forwards to.
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// The switch for its faults; calls are counted by operation.
    pub fn faults(&self) -> &Injector {
        &self.faults
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The operation of a JSON-protocol request: the part of `X-Amz-Target`
/// after the service prefix (`DynamoDB_20120810.GetItem` → `GetItem`).
fn operation(request: &Request) -> (String, String) {
    let target = request
        .headers()
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let (service, operation) = target.rsplit_once('.').unwrap_or(("", target));
    (service.to_owned(), operation.to_owned())
}

/// A `500` in the shape of the service's own internal error, which the SDK
/// treats as transient and retries.
fn injected(service: &str) -> Response {
    let code = if service.starts_with("DynamoDB") {
        "com.amazonaws.dynamodb.v20120810#InternalServerError"
    } else {
        "InternalServiceError"
    };
    let body = format!(r#"{{"__type":"{code}","message":"injected by the fault proxy"}}"#);
    let mut response = (StatusCode::INTERNAL_SERVER_ERROR, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    response
}

async fn forward(State(proxy): State<Proxy>, request: Request) -> Response {
    let (service, op) = operation(&request);
    let decision = proxy.faults.decide(&op);
    if matches!(decision, Decision::Refuse) {
        return injected(&service);
    }
    let answer = match send(&proxy, request).await {
        Ok(answer) => answer,
        Err(reason) => {
            return (StatusCode::BAD_GATEWAY, format!("fault proxy: {reason}")).into_response()
        }
    };
    if matches!(decision, Decision::ForwardThenFail) {
        return injected(&service);
    }
    answer
}

/// Sends `request` upstream and reads the whole answer (so a write the
/// answer of which is then thrown away has certainly been applied).
async fn send(proxy: &Proxy, request: Request) -> Result<Response, String> {
    let (mut parts, body) = request.into_parts();
    let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let mut uri = proxy.upstream.clone().into_parts();
    uri.path_and_query = Some(path.parse().map_err(|e| format!("{e}"))?);
    parts.uri = Uri::from_parts(uri).map_err(|e| e.to_string())?;
    let sent = proxy
        .client
        .request(http::Request::from_parts(parts, Full::new(body)))
        .await
        .map_err(|e| e.to_string())?;
    let (parts, body) = sent.into_parts();
    let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok(Response::from_parts(parts, Body::from(body)))
}
