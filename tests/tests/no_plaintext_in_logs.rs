//! A plaintext key must never reach a log line or an error body. This runs
//! a whole lifecycle through the real Router with every log level enabled
//! for every crate, and searches everything that was logged or answered.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::body::{to_bytes, Body};
use http::Request;
use keyplane_core::clock::Clock;
use keyplane_http::AppState;
use keyplane_local::testing::sign_request;
use keyplane_local::{LocalCredentials, SigV4Identity};
use keyplane_tests::{principal, World, ADMIN};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use tower::ServiceExt;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Client {
    router: axum::Router,
    world: World,
    access_key: String,
    secret: String,
    answers: Vec<String>,
}

impl Client {
    async fn call(
        &mut self,
        method: &str,
        path: &str,
        body: Option<Value>,
        signed: bool,
        bearer: Option<&str>,
    ) -> Value {
        let bytes = body
            .map(|b| serde_json::to_vec(&b).unwrap())
            .unwrap_or_default();
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "localhost")
            .header("content-type", "application/json")
            .header("user-agent", "log-test")
            .body(bytes)
            .unwrap();
        if let Some(key) = bearer {
            req.headers_mut()
                .insert("authorization", format!("Bearer {key}").parse().unwrap());
        }
        if signed {
            let at = SystemTime::from(self.world.clock.now());
            sign_request(&mut req, &self.access_key, &self.secret, "us-east-1", at);
        }
        let response = self
            .router
            .clone()
            .oneshot(req.map(Body::from))
            .await
            .unwrap();
        let text = String::from_utf8(
            to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap()
                .to_vec(),
        )
        .unwrap();
        self.answers.push(text.clone());
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

#[tokio::test]
async fn a_whole_lifecycle_logs_no_plaintext_key() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter("trace")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let world = World::new();
    let mut credentials = LocalCredentials::new();
    let admin = credentials.add_profile("admin", principal(ADMIN)).unwrap();
    let state = AppState {
        keyplane: world.keyplane.clone(),
        identity: Arc::new(SigV4Identity::new(credentials, "us-east-1")),
        clock: world.clock.clone(),
    };
    let mut client = Client {
        router: keyplane_http::app(state),
        world: world.clone(),
        access_key: admin.access_key_id.clone(),
        secret: admin.secret_access_key.expose_secret().to_owned(),
        answers: Vec::new(),
    };

    let org = client
        .call(
            "POST",
            "/v1/organizations",
            Some(json!({"name": "Acme"})),
            true,
            None,
        )
        .await["id"]
        .clone();
    let ws = client
        .call(
            "POST",
            &format!("/v1/organizations/{}/workspaces", org.as_str().unwrap()),
            Some(json!({"name": "prod"})),
            true,
            None,
        )
        .await["id"]
        .clone();
    let create = json!({"organization_id": org, "scope": "workspace", "workspace_id": ws, "type": "service", "role": "editor", "permissions": ["models:*"], "credits": 1});
    let created = client
        .call("POST", "/v1/keys", Some(create), true, None)
        .await;
    let key = created["key"].as_str().unwrap().to_owned();
    let key_id = created["key_id"].as_str().unwrap().to_owned();

    client
        .call(
            "POST",
            "/v1/keys/verify",
            Some(json!({"key": key, "cost": 1})),
            false,
            None,
        )
        .await;
    client
        .call(
            "POST",
            "/v1/keys/verify",
            Some(json!({"key": key, "cost": 1})),
            false,
            None,
        )
        .await;
    client
        .call(
            "POST",
            "/v1/keys/verify",
            Some(json!({"key": key, "unknown": key})),
            false,
            None,
        )
        .await;
    client
        .call(
            "POST",
            "/v1/keys/verify",
            Some(json!({"key": 5, "permissions": key})),
            false,
            None,
        )
        .await;
    client
        .call("GET", "/v1/whoami", None, false, Some(&key))
        .await;
    client
        .call(
            "GET",
            &format!("/v1/keys?organization_id={}", org.as_str().unwrap()),
            None,
            false,
            Some(&key),
        )
        .await;
    client
        .call(
            "POST",
            "/v1/keys",
            Some(json!({ key.clone(): 1 })),
            true,
            None,
        )
        .await;
    let rolled = client
        .call(
            "POST",
            &format!("/v1/keys/{key_id}/roll"),
            Some(json!({"grace_seconds": 60})),
            true,
            None,
        )
        .await;
    let new_key = rolled["key"].as_str().unwrap().to_owned();
    client
        .call(
            "POST",
            "/v1/keys/report-leak",
            Some(json!({"key": new_key, "source": "test"})),
            false,
            None,
        )
        .await;
    client
        .call("DELETE", &format!("/v1/keys/{key_id}"), None, true, None)
        .await;
    client
        .call("GET", "/v1/whoami", None, false, Some(&new_key))
        .await;

    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("request"),
        "the capture saw the request spans: {logged}"
    );
    for secret in [&key, &new_key] {
        assert!(
            !logged.contains(secret.as_str()),
            "a plaintext key reached the logs"
        );
        let body = &secret[8..];
        assert!(!logged.contains(body), "a key body reached the logs");
    }
    // Only the create and roll answers may carry a key, and only their own.
    let carrying: Vec<_> = client
        .answers
        .iter()
        .filter(|a| a.contains(&key[8..]) || a.contains(&new_key[8..]))
        .collect();
    assert_eq!(carrying.len(), 2, "answers carrying a key: {carrying:?}");
}
