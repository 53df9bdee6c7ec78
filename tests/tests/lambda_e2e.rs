//! The release Lambda bootstraps, run as Lambda runs them: a process per
//! function, configured only by its environment, driven through the Runtime
//! API (`keyplane_tests::lambda_runtime_api`), on DynamoDB and Secrets
//! Manager emulated by moto.
//!
//! Ignored by the main test run, because they need the release build that
//! `functions/lambda/package` makes; `tests/run` builds it once, starts moto
//! and then runs
//! `cargo nextest run --run-ignored only -E 'package(keyplane-tests) & binary(lambda_e2e)'`.
//! Each test gets its own table; the test process plays the other
//! deployments' part (minting and revoking keys, Secrets Manager starting a
//! rotation) through the core on the same table.
//!
//! Leak scans: the functions that handle keys run with `KEYPLANE_LOG=trace`
//! and their whole output (what CloudWatch would hold) is scanned for every
//! plaintext the test minted, as is a full Scan of the table they wrote
//! (`keyplane_tests::leak_scan`). Each scan has a control: a plaintext the
//! process prints first thing, or one written into the table through the
//! store, must be found.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use keyplane_aws::Profile;
use keyplane_core::clock::SystemClock;
use keyplane_core::id::OrgId;
use keyplane_core::key_format::{ApiKey, KeyEnv};
use keyplane_core::service::{AuditQuery, VerifyCode, VerifyKey};
use keyplane_core::store::KeyStore;
use keyplane_core::{Config, Keyplane};
use keyplane_secrets::{SecretsClient, Stage};
use keyplane_store::conformance::fixtures;
use keyplane_store::dynamo::testing::moto_store;
use keyplane_store::DynamoStore;
use keyplane_tests::lambda_functions::{bootstrap, moto_endpoint, on_moto, zip, FUNCTIONS};
use keyplane_tests::lambda_runtime_api::{Bootstrap, LambdaProcess};
use keyplane_tests::leak_scan::LeakScan;
use keyplane_tests::secret_rotation::{bound_key, start_rotation, BoundKey, STEPS};
use keyplane_tests::{caller, principal, workspace_key, World, ADMIN, ROTATOR};
use serde_json::{json, Value};

/// The authorizer's verify cache bound in the revoke test.
const CACHE_TTL_MS: u64 = 1_000;

/// Cold starts measured per function: enough for a median that one slow
/// spawn on a busy two-core machine does not decide.
const COLD_STARTS: usize = 5;
/// The rotator's grace in these tests: short, so a test can outwait it.
const GRACE_SECONDS: u64 = 2;
/// The authorizer's route table.
const ROUTES: &str =
    r#"{"GET /orders/{id}": ["orders:read"], "DELETE /orders/{id}": ["admin:orders"]}"#;
/// A method the route table lets `orders:read` call.
const ORDERS_ARN: &str = "arn:aws:execute-api:us-east-1:222222222222:orders01/prod/GET/orders/42";

/// A deployment on moto: a fresh table, Secrets Manager, the core on that
/// table (as another Lambda instance would see it), and the functions'
/// environment pointing at the same place.
struct Deployment {
    endpoint: String,
    table: String,
    store: Arc<DynamoStore>,
    keyplane: Keyplane,
    secrets: SecretsClient,
}

impl Deployment {
    async fn new(test: &str) -> Option<Self> {
        let endpoint = moto_endpoint(test)?;
        let store = Arc::new(moto_store(test).await?);
        let table = store.table().to_owned();
        let keyplane = Keyplane::new(
            store.clone(),
            Arc::new(SystemClock),
            Config {
                admins: vec![principal(ADMIN)],
                usage_reporters: Vec::new(),
                key_env: KeyEnv::Test,
                rotators: vec![principal(ROTATOR)],
            },
        );
        let sdk = keyplane_aws::testing::emulator(&endpoint, Profile::Interactive).await;
        Some(Self {
            secrets: SecretsClient::from_sdk_config(&sdk),
            endpoint,
            table,
            store,
            keyplane,
        })
    }

    /// `function`'s bootstrap with the environment the infra module gives it.
    fn function(&self, function: &str) -> Bootstrap {
        self.configure(Bootstrap::new(bootstrap(function)), function)
    }

    /// `function` logging at TRACE (see [`traced`]), configured.
    fn traced(&self, function: &str, control: &ApiKey) -> Bootstrap {
        self.configure(traced(function, control), function)
    }

    fn configure(&self, bootstrap: Bootstrap, function: &str) -> Bootstrap {
        let settings: &[(&str, &str)] = match function {
            "api" => &[("KEYPLANE_ADMINS", ADMIN), ("KEYPLANE_KEY_ENV", "test")],
            "authorizer" => &[("KEYPLANE_ROUTE_PERMISSIONS", ROUTES)],
            // The same admins as the api: rotation acts for whoever turned
            // it on, and the rotator checks they still may.
            "rotator" => &[
                ("KEYPLANE_ADMINS", ADMIN),
                ("KEYPLANE_ROTATION_PRINCIPAL", ROTATOR),
                ("KEYPLANE_ROTATION_GRACE_SECONDS", "2"),
            ],
            other => panic!("no settings for {other}"),
        };
        on_moto(bootstrap, &self.endpoint)
            .env("KEYPLANE_TABLE", &self.table)
            .envs(settings.iter().copied())
    }

    /// Every item of the table, as text (a full Scan; the store itself
    /// never scans), with a control: a plaintext written through the store
    /// (an audit event's source, which the use cases would have redacted)
    /// must be found in it. Panics unless none of `keys` is in it.
    async fn assert_table_holds_none_of(&self, keys: &[&ApiKey]) {
        let org = OrgId::generate();
        let planted = ApiKey::mint(KeyEnv::Test);
        let mut event = fixtures::event(&org, "leak-scan.control", "control", chrono::Utc::now());
        event.source = Some(planted.expose().to_owned());
        self.store
            .append_audit(&event)
            .await
            .expect("append the control");
        let mut dump = String::new();
        let mut start = None;
        loop {
            let page = self
                .store
                .client()
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .expect("scan");
            for item in page.items() {
                dump.push_str(&format!("{item:?}\n"));
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        LeakScan::new([planted.expose()]).assert_present("a full Scan of the table", &dump);
        LeakScan::new(keys.iter().map(|key| key.expose()))
            .assert_absent("a full Scan of the table", &dump);
    }

    async fn spawn(&self, function: &str) -> LambdaProcess {
        self.function(function)
            .spawn()
            .await
            .unwrap_or_else(|e| panic!("cannot start {function}: {e}"))
    }

    async fn verify(&self, key: &ApiKey) -> VerifyCode {
        self.keyplane
            .verify(VerifyKey::new(ApiKey::from_plaintext(key.expose())))
            .await
            .expect("verify answers")
            .code
    }

    async fn bound_key(&self, rotation: bool) -> BoundKey {
        bound_key(&self.keyplane, &self.secrets, &caller(ADMIN), rotation).await
    }
}

/// An HTTP API (payload 2.0) request as API Gateway hands it to the `api`
/// function, with the IAM caller `iam_caller` if the route uses `AWS_IAM`.
fn http_api_request(method: &str, path: &str, body: &str, iam_caller: Option<&str>) -> Value {
    let mut context = json!({
        "accountId": "111111111111",
        "apiId": "k3yp1an3x7",
        "domainName": "k3yp1an3x7.execute-api.us-east-1.amazonaws.com",
        "domainPrefix": "k3yp1an3x7",
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "203.0.113.10",
            "userAgent": "keyplane-e2e/1.0"
        },
        "requestId": "e2e-request",
        "routeKey": format!("{method} {path}"),
        "stage": "$default",
        "time": "01/Mar/2026:10:15:40 +0000",
        "timeEpoch": 1_772_360_140_000_u64
    });
    let mut headers = json!({
        "content-type": "application/json",
        "host": "k3yp1an3x7.execute-api.us-east-1.amazonaws.com",
        // Never identity: only the request context is.
        "x-keyplane-principal": ADMIN
    });
    if let Some(arn) = iam_caller {
        // The caller's signature, which API Gateway checked and forwards:
        // a signature of its own per request, as each one is signed anew.
        let signature: String = (0..4)
            .map(|_| format!("{:016x}", rand::random::<u64>()))
            .collect();
        headers["authorization"] = json!(format!(
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260301/us-east-1/execute-api/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, Signature={signature}"
        ));
        headers["x-amz-date"] = json!("20260301T101540Z");
        context["authorizer"] = json!({
            "iam": {
                "accessKey": "AKIAIOSFODNN7EXAMPLE",
                "accountId": "111111111111",
                "callerId": "AIDAJQABLZS4A3QDU576Q",
                "userArn": arn,
                "userId": "AIDAJQABLZS4A3QDU576Q"
            }
        });
    }
    json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": false
    })
}

/// The status and JSON body of an HTTP API response.
fn http_response(answer: &Value) -> (u64, Value) {
    let status = answer["statusCode"].as_u64().expect("a status code");
    let raw = answer["body"].as_str().unwrap_or_default();
    let bytes = if answer["isBase64Encoded"].as_bool() == Some(true) {
        base64::engine::general_purpose::STANDARD
            .decode(raw)
            .expect("base64 body")
    } else {
        raw.as_bytes().to_vec()
    };
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, body)
}

fn token_event(authorization: &str) -> Value {
    json!({
        "type": "TOKEN",
        "authorizationToken": authorization,
        "methodArn": ORDERS_ARN
    })
}

fn simple_event(api_key: &str) -> Value {
    json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": ORDERS_ARN,
        "identitySource": [api_key],
        "routeKey": "GET /orders/{id}",
        "rawPath": "/orders/42",
        "rawQueryString": "",
        "headers": { "x-api-key": api_key },
        "requestContext": {
            "accountId": "222222222222",
            "apiId": "orders01",
            "http": { "method": "GET", "path": "/orders/42", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.99", "userAgent": "e2e" },
            "requestId": "e2e-authorizer",
            "routeKey": "GET /orders/{id}",
            "stage": "$default"
        }
    })
}

fn effect(policy: &Value) -> &str {
    policy["policyDocument"]["Statement"][0]["Effect"]
        .as_str()
        .unwrap_or("none")
}

/// `function`'s bootstrap logging at TRACE, for a leak scan of its output,
/// started through `/bin/sh`, which prints `control` and then `exec`s the
/// bootstrap (same process, same pipes): the scan's control.
fn traced(function: &str, control: &ApiKey) -> Bootstrap {
    Bootstrap::new("/bin/sh")
        .function_name(function)
        .arg("-c")
        .arg(r#"printf 'leak-scan control %s\n' "$1"; exec "$0""#)
        .arg(bootstrap(function).display().to_string())
        .arg(control.expose())
        .env("KEYPLANE_LOG", "trace")
}

/// A function's whole output once it has gone quiet (the logs of the last
/// invocation lag behind its answer).
async fn settled_logs(lambda: &LambdaProcess) -> String {
    let mut seen = lambda.logs();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = lambda.logs();
        if now.len() == seen.len() {
            return now;
        }
        seen = now;
    }
    seen
}

/// Panics unless the function's output (at TRACE) holds `control`, which
/// [`Deployment::traced`] made it print, and none of `keys`.
async fn assert_never_logged(lambda: &LambdaProcess, control: &ApiKey, keys: &[&ApiKey]) {
    let logs = settled_logs(lambda).await;
    LeakScan::new([control.expose()]).assert_present("the function's logs", &logs);
    assert!(
        logs.contains(r#""level":"TRACE""#),
        "the function did not log at TRACE"
    );
    LeakScan::new(keys.iter().map(|key| key.expose()))
        .assert_absent("the function's logs at TRACE", &logs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the release Lambda binaries: tests/run builds them and runs these"]
async fn the_api_acts_only_for_the_iam_caller_of_the_request_context() {
    let Some(deployment) = Deployment::new("api e2e").await else {
        return;
    };
    let control = ApiKey::mint(KeyEnv::Test);
    let api = deployment
        .traced("api", &control)
        .spawn()
        .await
        .expect("spawn api");

    let answer = api
        .invoke(http_api_request(
            "POST",
            "/v1/organizations",
            r#"{"name":"Acme"}"#,
            Some(ADMIN),
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}\nlogs:\n{}", api.logs()));
    let (status, body) = http_response(&answer);
    assert_eq!(status, 201, "{body}");
    let id: OrgId = body["id"]
        .as_str()
        .and_then(|id| OrgId::parse(id).ok())
        .expect("an organization id");
    // Written to the table, where another instance reads it.
    let org = deployment
        .keyplane
        .get_organization(&caller(ADMIN), &id)
        .await
        .expect("the organization is in DynamoDB");
    assert_eq!(org.name, "Acme");

    // The same request without API Gateway's IAM context: refused, even
    // though a header names the admin.
    let answer = api
        .invoke(http_api_request(
            "POST",
            "/v1/organizations",
            r#"{"name":"Evil"}"#,
            None,
        ))
        .await
        .expect("answered");
    let (status, body) = http_response(&answer);
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["code"], "IAM_CONTEXT_MISSING");

    // Assumed-role sessions act as their role; this role is nobody.
    let answer = api
        .invoke(http_api_request(
            "GET",
            &format!("/v1/organizations/{id}"),
            "",
            Some("arn:aws:sts::111111111111:assumed-role/intruder/session"),
        ))
        .await
        .expect("answered");
    let (status, body) = http_response(&answer);
    assert!(matches!(status, 403 | 404), "{status} {body}");

    // One access-log line per request, with the Lambda request id.
    assert!(
        api.wait_for_log(r#""status":401"#, Duration::from_secs(5))
            .await,
        "no access log:\n{}",
        api.logs()
    );
    let logs = api.logs();
    let access = logs
        .lines()
        .find(|line| line.contains(r#""status":201"#))
        .unwrap_or_else(|| panic!("no access log for the create:\n{logs}"));
    assert!(access.contains(r#""requestId":"#), "{access}");
    assert!(
        access.contains(r#""route":"/v1/organizations""#),
        "{access}"
    );

    // Keys minted, used, rolled and reported through the function: no
    // plaintext in its output at TRACE, nor anywhere in the table.
    let call = |method: &str, path: &str, body: Value, iam: Option<&str>| {
        let request = http_api_request(method, path, &body.to_string(), iam);
        let api = &api;
        async move {
            let answer = api
                .invoke(request)
                .await
                .unwrap_or_else(|e| panic!("{e}\nlogs:\n{}", api.logs()));
            http_response(&answer)
        }
    };
    let (status, ws) = call(
        "POST",
        &format!("/v1/organizations/{id}/workspaces"),
        json!({"name": "prod"}),
        Some(ADMIN),
    )
    .await;
    assert_eq!(status, 201, "{ws}");
    let (status, created) = call(
        "POST",
        "/v1/keys",
        json!({"organization_id": id.to_string(), "scope": "workspace", "workspace_id": ws["id"], "type": "service", "role": "editor", "permissions": ["orders:read"]}),
        Some(ADMIN),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let first = ApiKey::from_plaintext(created["key"].as_str().expect("a key"));
    let key_id = created["key_id"].as_str().expect("a key id").to_owned();
    let (status, verdict) = call(
        "POST",
        "/v1/keys/verify",
        json!({"key": first.expose(), "permissions": ["orders:read"]}),
        None,
    )
    .await;
    assert_eq!(
        (status, &verdict["code"]),
        (200, &json!("VALID")),
        "{verdict}"
    );
    let (status, rolled) = call(
        "POST",
        &format!("/v1/keys/{key_id}/roll"),
        json!({"grace_seconds": 60}),
        Some(ADMIN),
    )
    .await;
    assert_eq!(status, 200, "{rolled}");
    let second = ApiKey::from_plaintext(rolled["key"].as_str().expect("a key"));
    let (status, _) = call(
        "POST",
        "/v1/keys/report-leak",
        json!({"key": second.expose(), "source": format!("pasted {}", second.expose())}),
        None,
    )
    .await;
    assert_eq!(status, 202);
    let (status, verdict) = call(
        "POST",
        "/v1/keys/verify",
        json!({"key": second.expose()}),
        None,
    )
    .await;
    assert_eq!(status, 200, "{verdict}");
    assert_ne!(verdict["code"], "VALID", "{verdict}");

    assert_never_logged(&api, &control, &[&first, &second]).await;
    deployment
        .assert_table_holds_none_of(&[&first, &second])
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the release Lambda binaries: tests/run builds them and runs these"]
async fn the_authorizer_lets_a_valid_key_through_and_denies_it_once_revoked() {
    let Some(deployment) = Deployment::new("authorizer e2e").await else {
        return;
    };
    let key = deployment.bound_key(false).await;
    let control = ApiKey::mint(KeyEnv::Test);
    let authorizer = deployment
        .traced("authorizer", &control)
        .env("KEYPLANE_VERIFY_CACHE_TTL_MS", CACHE_TTL_MS.to_string())
        .spawn()
        .await
        .expect("spawn authorizer");
    let bearer = format!("Bearer {}", key.plaintext.expose());

    let policy = authorizer
        .invoke(token_event(&bearer))
        .await
        .unwrap_or_else(|e| panic!("{e}\nlogs:\n{}", authorizer.logs()));
    assert_eq!(effect(&policy), "Allow", "{policy}");
    assert_eq!(policy["principalId"], key.id.to_string());
    assert_eq!(policy["context"]["key_id"], key.id.to_string());
    assert_eq!(
        policy["policyDocument"]["Statement"][0]["Resource"],
        ORDERS_ARN
    );
    let simple = authorizer
        .invoke(simple_event(key.plaintext.expose()))
        .await
        .expect("answered");
    assert_eq!(simple["isAuthorized"], true, "{simple}");
    // The first invocation wrote the key's last use before it returned (the
    // container may freeze after), not on the verify itself.
    let seen = deployment
        .keyplane
        .get_key(&caller(ADMIN), &key.id)
        .await
        .expect("get key");
    assert!(seen.last_used_at.is_some(), "no last use recorded");

    deployment
        .keyplane
        .revoke_key(&caller(ADMIN), &key.id)
        .await
        .expect("revoke");
    // A revoke made elsewhere reaches a warm authorizer within its verify
    // cache's staleness bound.
    tokio::time::sleep(Duration::from_millis(CACHE_TTL_MS + 100)).await;
    let policy = authorizer
        .invoke(token_event(&bearer))
        .await
        .expect("answered");
    assert_eq!(effect(&policy), "Deny", "{policy}");
    let simple = authorizer
        .invoke(simple_event(key.plaintext.expose()))
        .await
        .expect("answered");
    assert_eq!(simple["isAuthorized"], false, "{simple}");

    // A malformed key: API Gateway's 401, decided without the store.
    let error = authorizer
        .invoke(token_event("Bearer kp_test_not-a-key"))
        .await
        .expect_err("unauthorized");
    assert_eq!(error.error_type, "Unauthorized");

    assert_never_logged(&authorizer, &control, &[&key.plaintext]).await;
    deployment
        .assert_table_holds_none_of(&[&key.plaintext])
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the release Lambda binaries: tests/run builds them and runs these"]
async fn the_authorizer_fails_closed_when_the_table_cannot_be_read() {
    let Some(endpoint) = moto_endpoint("authorizer fails closed") else {
        return;
    };
    // A well-formed key, so the authorizer has to ask the store.
    let world = World::new();
    let (org, ws) = world.org().await;
    let created = world
        .create(ADMIN, workspace_key(&org, &ws))
        .await
        .expect("mint");
    let bearer = format!("Bearer {}", created.key.expose());

    // moto is up, the table is not there.
    let control = ApiKey::mint(KeyEnv::Test);
    let missing_table = on_moto(traced("authorizer", &control), &endpoint)
        .env("KEYPLANE_TABLE", "keyplane-e2e-no-such-table")
        .env("KEYPLANE_ROUTE_PERMISSIONS", ROUTES);
    // Nothing listens on the endpoint at all.
    let unreachable = on_moto(
        traced("authorizer", &control),
        &keyplane_aws::testing::closed_endpoint(),
    )
    .env("KEYPLANE_TABLE", "keyplane-e2e")
    .env("KEYPLANE_ROUTE_PERMISSIONS", ROUTES)
    .timeout(Duration::from_secs(60));

    for (case, bootstrap) in [
        ("missing table", missing_table),
        ("no endpoint", unreachable),
    ] {
        let authorizer = bootstrap.spawn().await.expect("spawn");
        for event in [token_event(&bearer), simple_event(created.key.expose())] {
            let error = authorizer
                .invoke(event)
                .await
                .expect_err("a store failure is an error, never an answer API Gateway could cache");
            assert_eq!(
                error.error_type,
                "StoreUnavailable",
                "{case}: {error}\n{}",
                authorizer.logs()
            );
        }
        assert_never_logged(&authorizer, &control, &[&created.key]).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the release Lambda binaries: tests/run builds them and runs these"]
async fn the_rotator_rotates_a_bound_secret_with_every_step_retried() {
    let Some(deployment) = Deployment::new("rotator e2e").await else {
        return;
    };
    let key = deployment.bound_key(true).await;
    let control = ApiKey::mint(KeyEnv::Test);
    let rotator = deployment
        .traced("rotator", &control)
        .spawn()
        .await
        .expect("spawn rotator");
    let token = start_rotation(&deployment.secrets, &key.arn).await;

    for step in STEPS {
        let event = json!({
            "Step": step,
            "SecretId": key.arn,
            "ClientRequestToken": token,
        });
        // Lambda retries a failed or timed-out step, and may run one twice.
        for attempt in 0..2 {
            rotator.invoke(event.clone()).await.unwrap_or_else(|e| {
                panic!("{step} (attempt {attempt}): {e}\nlogs:\n{}", rotator.logs())
            });
        }
    }

    let current = deployment
        .secrets
        .read(&key.arn, Stage::Current)
        .await
        .expect("read")
        .expect("AWSCURRENT");
    assert_eq!(current.version_id, token);
    assert_ne!(current.value.expose(), key.plaintext.expose());
    assert_eq!(deployment.verify(&current.value).await, VerifyCode::Valid);
    let previous = deployment
        .secrets
        .read(&key.arn, Stage::Previous)
        .await
        .expect("read")
        .expect("AWSPREVIOUS");
    assert_eq!(previous.value.expose(), key.plaintext.expose());
    let described = deployment
        .secrets
        .describe(&key.arn)
        .await
        .expect("describe")
        .expect("exists");
    assert_eq!(described.version_with(&Stage::Pending), None);
    assert_eq!(
        described.versions.len(),
        2,
        "exactly one new secret: {:?}",
        described.versions
    );
    let view = deployment
        .keyplane
        .get_key(&caller(ADMIN), &key.id)
        .await
        .expect("get key");
    assert_eq!(view.hint, current.value.hint());

    // The old secret works for the grace, then never again.
    assert_eq!(deployment.verify(&key.plaintext).await, VerifyCode::Valid);
    tokio::time::sleep(Duration::from_secs(GRACE_SECONDS + 1)).await;
    assert_ne!(deployment.verify(&key.plaintext).await, VerifyCode::Valid);
    assert_eq!(deployment.verify(&current.value).await, VerifyCode::Valid);

    let audit = deployment
        .keyplane
        .audit_log(
            &caller(ADMIN),
            &view.organization_id,
            AuditQuery {
                cursor: None,
                limit: None,
            },
        )
        .await
        .expect("audit");
    let mut by_rotator: Vec<&str> = audit
        .items
        .iter()
        .filter(|event| event.actor == ROTATOR)
        .map(|event| event.action.as_str())
        .collect();
    by_rotator.sort_unstable();
    assert_eq!(by_rotator, ["key.rotation.finish", "key.rotation.stage"]);

    assert_never_logged(&rotator, &control, &[&key.plaintext, &current.value]).await;
    deployment
        .assert_table_holds_none_of(&[&key.plaintext, &current.value])
        .await;
}

/// `functions/lambda/check-glibc`'s verdict on `path`: the one place that
/// knows how to read the required GLIBC version.
fn glibc(path: &Path) -> String {
    let script =
        keyplane_tests::lambda_functions::workspace_root().join("functions/lambda/check-glibc");
    match Command::new(&script).arg(path).output() {
        Ok(out) => {
            let text = String::from_utf8_lossy(if out.status.success() {
                &out.stdout
            } else {
                &out.stderr
            });
            text.split_once(": ").map_or_else(
                || text.trim().to_owned(),
                |(_, verdict)| verdict.trim().to_owned(),
            )
        }
        Err(e) => format!("{}: {e}", script.display()),
    }
}

fn size(path: Option<&Path>) -> String {
    path.and_then(|p| std::fs::metadata(p).ok())
        .map_or_else(|| "-".to_owned(), |m| m.len().to_string())
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

fn millis(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// Whether an answer (or the error type it failed with) is the right one.
type Check = fn(&Result<Value, String>) -> bool;

/// A first event each function handles, and what a correct answer is.
fn first_event(function: &str) -> (Value, Check) {
    match function {
        "api" => (
            http_api_request("GET", "/healthz", "", None),
            |answer| matches!(answer, Ok(value) if value["statusCode"] == 200),
        ),
        // Malformed: answered without a store read.
        "authorizer" => (
            token_event("Bearer kp_test_x"),
            |answer| matches!(answer, Err(kind) if kind == "Unauthorized"),
        ),
        // A secret that is not there: one Secrets Manager call.
        "rotator" => (
            json!({
                "Step": "testSecret",
                "SecretId": "arn:aws:secretsmanager:us-east-1:111111111111:secret:keyplane-e2e-none-AbCdEf",
                "ClientRequestToken": "00000000000000000000000000000000",
            }),
            |answer| matches!(answer, Err(kind) if kind != "Runtime.ExitError"),
        ),
        other => panic!("no first event for {other}"),
    }
}

/// Each bootstrap starts from Lambda's environment plus its configuration
/// and handles a first event correctly. Prints, per function, its sizes,
/// its GLIBC needs and its cold start (spawn → first poll, spawn → first
/// answer) for the record; times are never asserted on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the release Lambda binaries: tests/run builds them and runs these"]
async fn every_function_starts_from_its_configuration_and_answers_a_first_event() {
    let Some(deployment) = Deployment::new("cold starts").await else {
        return;
    };
    let mut rows = Vec::new();
    for function in FUNCTIONS {
        let path = bootstrap(function);
        let (event, correct) = first_event(function);
        let mut first = Vec::new();
        let mut init = Vec::new();
        for _ in 0..COLD_STARTS {
            let lambda = deployment.spawn(function).await;
            let answer = lambda.invoke(event.clone()).await.map_err(|e| e.error_type);
            assert!(
                correct(&answer),
                "{function}: {answer:?}\nlogs:\n{}",
                lambda.logs()
            );
            first.push(lambda.spawn_to_first_event().expect("it answered"));
            init.push(lambda.init_duration().expect("it polled before answering"));
        }
        rows.push(format!(
            "{function:<11} {:>10} {:>10}  {:<24} {:>8} {:>12}",
            size(Some(&path)),
            size(zip(function).as_deref()),
            glibc(&path),
            millis(median(init)),
            millis(median(first)),
        ));
    }
    eprintln!(
        "\n{:<11} {:>10} {:>10}  {:<24} {:>8} {:>12}\n{}\n(bytes; median of {COLD_STARTS} cold starts each, in ms)",
        "function",
        "bootstrap",
        "zip",
        "glibc",
        "init",
        "first event",
        rows.join("\n")
    );
}
