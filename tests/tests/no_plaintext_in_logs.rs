//! A plaintext key must never reach a log line, an error body or the
//! embedded store's file. This runs a whole lifecycle through the real
//! Router over a file-backed store, with every log level enabled for every
//! crate, and scans everything that was logged or answered and every byte
//! of the file (`keyplane_tests::leak_scan`: raw, JSON-escaped, base64 and
//! hex). Each scan has a control: a plaintext planted where the scanned
//! data comes from must be found.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::body::{to_bytes, Body};
use base64::Engine;
use http::Request;
use keyplane_core::clock::Clock;
use keyplane_core::id::OrgId;
use keyplane_core::key_format::{ApiKey, KeyEnv};
use keyplane_core::store::KeyStore;
use keyplane_http::AppState;
use keyplane_local::testing::sign_request;
use keyplane_local::{LocalCredentials, SigV4Identity};
use keyplane_store::conformance::fixtures;
use keyplane_store::EmbeddedStore;
use keyplane_tests::leak_scan::{Encoding, LeakScan};
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

/// A key's plaintext from an answer that must carry one.
fn minted(answer: &Value) -> String {
    answer["key"]
        .as_str()
        .unwrap_or_else(|| panic!("no key in {answer}"))
        .to_owned()
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

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keyplane.redb");
    let store = Arc::new(EmbeddedStore::open(&file).unwrap());
    let world = World::with_store(store.clone());
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
        .call("POST", "/v1/keys", Some(create.clone()), true, None)
        .await;
    let key = minted(&created);
    let key_id = created["key_id"].as_str().unwrap().to_owned();
    // The same signed request again: a replay, answered without a key.
    let replayed = client
        .call("POST", "/v1/keys", Some(create), true, None)
        .await;
    assert_eq!(replayed["key_id"], key_id, "{replayed}");

    client
        .call(
            "POST",
            "/v1/keys/verify",
            Some(json!({"key": key, "cost": 1})),
            false,
            None,
        )
        .await;
    // Out of credits.
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
    client
        .call(
            "PATCH",
            &format!("/v1/keys/{key_id}"),
            Some(json!({"name": key, "metadata": {"note": key}})),
            true,
            None,
        )
        .await;
    let new_key = minted(
        &client
            .call(
                "POST",
                &format!("/v1/keys/{key_id}/roll"),
                Some(json!({"grace_seconds": 60})),
                true,
                None,
            )
            .await,
    );
    // The previous secret, in its grace: its grace ends.
    client
        .call(
            "POST",
            "/v1/keys/report-leak",
            Some(json!({"key": key, "source": format!("found {key}")})),
            false,
            None,
        )
        .await;
    // The current one: the key is disabled until a roll replaces it.
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
        .call(
            "POST",
            "/v1/keys/verify",
            Some(json!({"key": new_key})),
            false,
            None,
        )
        .await;
    // A different body, so not a replay of the first roll.
    let third_key = minted(
        &client
            .call(
                "POST",
                &format!("/v1/keys/{key_id}/roll"),
                Some(json!({"grace_seconds": 30})),
                true,
                None,
            )
            .await,
    );
    client
        .call("DELETE", &format!("/v1/keys/{key_id}"), None, true, None)
        .await;
    client
        .call("GET", "/v1/whoami", None, false, Some(&new_key))
        .await;
    client
        .call(
            "POST",
            "/v1/keys/verify",
            Some(json!({"key": third_key})),
            false,
            None,
        )
        .await;

    let scan = LeakScan::new([&key, &new_key, &third_key]);

    // Logs at TRACE. Control: a plaintext logged at TRACE is captured and
    // found.
    let planted = ApiKey::mint(KeyEnv::Test);
    tracing::trace!(target: "keyplane_http", control = planted.expose(), "leak-scan control");
    let logged = logs.0.lock().unwrap().clone();
    assert!(
        String::from_utf8_lossy(&logged).contains("request"),
        "the capture saw the request spans"
    );
    LeakScan::new([planted.expose()]).assert_present("logs at TRACE", &logged);
    scan.assert_absent("logs at TRACE", &logged);

    // Answers, error bodies included: only the create and roll answers
    // carry a key, and only their own. Control: the scan finds each there.
    let carrying: Vec<(usize, &String)> = client
        .answers
        .iter()
        .enumerate()
        .filter(|(_, answer)| !scan.findings(answer.as_bytes()).is_empty())
        .collect();
    assert_eq!(
        carrying.len(),
        3,
        "answers carrying a key: {:?}",
        carrying.iter().map(|(i, _)| i).collect::<Vec<_>>()
    );
    for (plaintext, (_, answer)) in [&key, &new_key, &third_key].into_iter().zip(&carrying) {
        LeakScan::new([plaintext.as_str()]).assert_present("a minting answer", answer.as_bytes());
        let others: Vec<&String> = [&key, &new_key, &third_key]
            .into_iter()
            .filter(|other| *other != plaintext)
            .collect();
        LeakScan::new(others).assert_absent("a minting answer", answer.as_bytes());
    }

    // The embedded store's file, every byte of it (old pages included).
    // Control: a plaintext written through the same store, in an audit
    // event's source (which the use cases would have redacted), is found.
    let planted = ApiKey::mint(KeyEnv::Test);
    let org_id = OrgId::parse(org.as_str().unwrap()).unwrap();
    let mut event = fixtures::event(&org_id, "leak-scan.control", "control", world.clock.now());
    event.source = Some(planted.expose().to_owned());
    store.append_audit(&event).await.unwrap();
    let bytes = std::fs::read(&file).unwrap();
    assert!(
        String::from_utf8_lossy(&bytes).contains(&key_id),
        "the scan reads the store's data"
    );
    LeakScan::new([planted.expose()]).assert_present("the embedded store's file", &bytes);
    scan.assert_absent("the embedded store's file", &bytes);
}

/// The scanner itself: a plaintext is found as it is, inside JSON,
/// base64-encoded at any offset of a larger blob (both alphabets), and as
/// hex; with its prefix cut off too; and nothing else is.
#[test]
fn the_scanner_finds_a_plaintext_in_every_encoding() {
    let key = ApiKey::mint(KeyEnv::Test);
    let other = ApiKey::mint(KeyEnv::Live);
    let scan = LeakScan::new([key.expose()]);
    let found =
        |blob: &[u8]| -> Vec<Encoding> { scan.findings(blob).iter().map(|f| f.encoding).collect() };

    assert!(found(format!("x{}y", key.expose()).as_bytes()).contains(&Encoding::Raw));
    let without_prefix = &key.expose().as_bytes()["kp_test_".len()..];
    assert!(found(without_prefix).contains(&Encoding::Raw));
    let json = serde_json::to_string(&json!({"nested": {"k": key.expose()}})).unwrap();
    assert!(!found(json.as_bytes()).is_empty());
    for padding in 0..6 {
        let mut body = vec![b'{'; padding];
        body.extend_from_slice(format!(r#""key":"{}"}}"#, key.expose()).as_bytes());
        let standard = base64::engine::general_purpose::STANDARD.encode(&body);
        assert!(
            found(standard.as_bytes()).contains(&Encoding::Base64),
            "base64 after {padding} bytes"
        );
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&body);
        assert!(
            found(url.as_bytes())
                .iter()
                .any(|e| matches!(e, Encoding::Base64 | Encoding::Base64Url)),
            "URL-safe base64 after {padding} bytes"
        );
    }
    let hex: String = key.expose().bytes().map(|b| format!("{b:02x}")).collect();
    assert!(found(hex.as_bytes()).contains(&Encoding::Hex));
    assert!(found(hex.to_uppercase().as_bytes()).contains(&Encoding::Hex));

    // Another key, the key's hint and its hash are not the key.
    assert!(found(other.expose().as_bytes()).is_empty());
    assert!(found(key.hint().as_bytes()).is_empty());
    assert!(found(key.hash().to_hex().as_bytes()).is_empty());
    let noise = base64::engine::general_purpose::STANDARD.encode(other.expose());
    assert!(found(noise.as_bytes()).is_empty());
}
