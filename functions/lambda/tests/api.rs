//! The `api` function in-process: API Gateway events from `fixtures/`,
//! converted by lambda_http exactly as `lambda_http::run` converts them,
//! served by the same service the binary runs, on the embedded store.

use std::sync::Arc;

use axum::body::to_bytes;
use http::{HeaderMap, StatusCode};
use keyplane_core::clock::SystemClock;
use keyplane_lambda::api::{self, Api};
use keyplane_lambda::config::{ApiConfig, Env, FunctionConfig};
use keyplane_store::EmbeddedStore;
use lambda_http::request::LambdaRequest;
use lambda_http::{Context, Request, RequestExt};
use serde_json::{json, Value};
use tower::ServiceExt;

const ADMIN_ARN: &str = "arn:aws:iam::111111111111:user/platform-admin";
const ADMIN_ROLE_ARN: &str = "arn:aws:iam::111111111111:role/keyplane-admins";
const LAMBDA_REQUEST_ID: &str = "5d3c0a7e-93f1-4c55-8d0b-2f6e1a9b7c41";

macro_rules! fixture {
    ($name:literal) => {
        serde_json::from_str::<Value>(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/",
            $name,
            ".json"
        )))
        .expect("fixture is JSON")
    };
}

fn app() -> Api {
    app_with(&[])
}

/// The function configured with the usual variables plus `extra`.
fn app_with(extra: &[(&str, &str)]) -> Api {
    let admins = format!("{ADMIN_ARN}, {ADMIN_ROLE_ARN}");
    let mut pairs = vec![
        ("KEYPLANE_TABLE", "keyplane"),
        ("AWS_REGION", "eu-west-1"),
        ("KEYPLANE_ADMINS", admins.as_str()),
        ("KEYPLANE_KEY_ENV", "test"),
    ];
    pairs.extend_from_slice(extra);
    let env = Env::from_pairs(pairs);
    let config = <ApiConfig as FunctionConfig>::from(&env).expect("valid configuration");
    let store = EmbeddedStore::in_memory().expect("in-memory store");
    api::app(
        api::state_with(Arc::new(store), Arc::new(SystemClock), &config),
        config.limits,
    )
}

/// What lambda_http's adapter does with an invocation, before the service.
fn request(event: Value) -> Request {
    let event: LambdaRequest = serde_json::from_value(event).expect("an API Gateway event");
    let mut context = Context::default();
    context.request_id = LAMBDA_REQUEST_ID.to_owned();
    Request::from(event).with_lambda_context(context)
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn code(&self) -> Option<&str> {
        self.body["code"].as_str()
    }
}

async fn call(app: &Api, event: Value) -> Answer {
    let response = app
        .clone()
        .oneshot(request(event))
        .await
        .expect("the Router is infallible");
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, 1 << 20).await.expect("body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).expect("JSON body")
    };
    Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

fn with_body(mut event: Value, body: &Value) -> Value {
    event["body"] = Value::String(body.to_string());
    event
}

async fn create_org(app: &Api) -> String {
    let answer = call(app, fixture!("http-api-v2-iam-user")).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    answer.body["id"].as_str().expect("org id").to_owned()
}

fn org_key(org: &str) -> Value {
    json!({
        "organization_id": org,
        "scope": "organization",
        "type": "service",
        "name": "ci",
        "role": "owner",
        "permissions": ["models:*"],
    })
}

#[tokio::test]
async fn an_iam_admin_creates_an_organization_through_an_http_api() {
    let app = app();
    let answer = call(&app, fixture!("http-api-v2-iam-user")).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    assert_eq!(answer.body["name"], "Acme");
    assert!(answer.body["id"]
        .as_str()
        .is_some_and(|id| id.starts_with("org_")));
    assert_eq!(
        answer.headers.get("x-request-id").map(|v| v.as_bytes()),
        Some(LAMBDA_REQUEST_ID.as_bytes()),
        "the Lambda request id is the request id"
    );
}

#[tokio::test]
async fn an_assumed_role_acts_as_its_role_on_a_named_stage() {
    let app = app();
    let answer = call(&app, fixture!("http-api-v2-iam-assumed-role")).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    assert_eq!(answer.body["name"], "Role Corp");
}

#[tokio::test]
async fn a_rest_api_event_routes_without_its_stage() {
    let app = app();
    let answer = call(&app, fixture!("rest-v1-iam")).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    assert_eq!(answer.body["name"], "Rest Inc");

    // Query strings survive the path rewrite.
    let org = answer.body["id"].as_str().expect("org id").to_owned();
    let mut event = fixture!("rest-v1-iam");
    event["httpMethod"] = json!("GET");
    event["requestContext"]["httpMethod"] = json!("GET");
    event["path"] = json!("/v1/keys");
    event["body"] = Value::Null;
    event["queryStringParameters"] = json!({ "organization_id": org });
    event["multiValueQueryStringParameters"] = json!({ "organization_id": [org] });
    let listed = call(&app, event).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert_eq!(listed.body["items"], json!([]));
}

#[tokio::test]
async fn without_iam_context_management_is_refused() {
    let app = app();
    // A JWT authorizer's context, a forged SigV4 header and headers that
    // claim to be the admin: none of it is an IAM caller.
    for event in [fixture!("http-api-v2-jwt-no-iam"), fixture!("alb")] {
        let answer = call(&app, event).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
        assert_eq!(answer.code(), Some("IAM_CONTEXT_MISSING"));
        assert_eq!(
            answer.headers.get("content-type").map(|v| v.as_bytes()),
            Some(&b"application/problem+json"[..])
        );
    }
}

#[tokio::test]
async fn identity_headers_are_never_trusted() {
    let app = app();
    let mut event = fixture!("http-api-v2-iam-user");
    event["requestContext"]["authorizer"]["iam"]["userArn"] =
        json!("arn:aws:iam::333333333333:user/mallory");
    event["headers"]["x-keyplane-principal"] = json!(ADMIN_ARN);
    event["headers"]["x-amz-user-arn"] = json!(ADMIN_ARN);
    event["headers"]["x-amzn-iam-user-arn"] = json!(ADMIN_ARN);
    let answer = call(&app, event).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
}

#[tokio::test]
async fn a_signed_idempotency_key_makes_a_create_replayable() {
    let app = app();
    let org = create_org(&app).await;
    let event = with_body(fixture!("http-api-v2-iam-create-key"), &org_key(&org));

    let first = call(&app, event.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert!(first.body["key"]
        .as_str()
        .is_some_and(|k| k.starts_with("kp_test_")));

    let replay = call(&app, event.clone()).await;
    assert_eq!(replay.status, StatusCode::OK, "{}", replay.body);
    assert_eq!(
        replay
            .headers
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    assert_eq!(replay.body["key_id"], first.body["key_id"]);
    assert!(
        replay.body.get("key").is_none(),
        "a replay never shows the key"
    );

    // The forwarded Authorization header decides: an Idempotency-Key it
    // does not sign is refused.
    let mut unsigned = event;
    let authorization = unsigned["headers"]["authorization"]
        .as_str()
        .expect("authorization")
        .replace("idempotency-key;", "");
    unsigned["headers"]["authorization"] = json!(authorization);
    let refused = call(&app, unsigned).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert_eq!(refused.code(), Some("IDEMPOTENCY_KEY_NOT_SIGNED"));
}

#[tokio::test]
async fn a_replayed_signed_write_is_refused_across_the_gateway() {
    let app = app();
    let event = fixture!("http-api-v2-iam-user");
    let first = call(&app, event.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);

    // API Gateway checked the signature and forwarded the same request
    // again: the forwarded Authorization header names it.
    let replay = call(&app, event.clone()).await;
    assert_eq!(replay.status, StatusCode::CONFLICT, "{}", replay.body);
    assert_eq!(replay.code(), Some("REQUEST_REPLAYED"));

    // Another signature of the same body is another request.
    let mut fresh = event.clone();
    let authorization = fresh["headers"]["authorization"]
        .as_str()
        .expect("authorization")
        .replace("Signature=3f1c", "Signature=4f1c");
    fresh["headers"]["authorization"] = json!(authorization);
    let second = call(&app, fresh).await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    assert_ne!(second.body["id"], first.body["id"]);

    // A write whose signature cannot be seen cannot be told from its
    // replay: refused, whatever the IAM context says.
    let mut unsigned = event;
    unsigned["headers"]
        .as_object_mut()
        .expect("headers")
        .remove("authorization");
    let refused = call(&app, unsigned).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
    assert_eq!(refused.code(), Some("SIGNATURE_REQUIRED"));
}

#[tokio::test]
async fn the_data_plane_needs_no_iam() {
    let app = app();
    let org = create_org(&app).await;
    let created = call(
        &app,
        with_body(fixture!("http-api-v2-iam-create-key"), &org_key(&org)),
    )
    .await;
    let key = created.body["key"].as_str().expect("plaintext key");

    let verdict = call(
        &app,
        with_body(
            fixture!("http-api-v2-public"),
            &json!({ "key": key, "permissions": ["models:gpt-4o"] }),
        ),
    )
    .await;
    assert_eq!(verdict.status, StatusCode::OK, "{}", verdict.body);
    assert_eq!(verdict.body["valid"], true);
    assert_eq!(verdict.body["key_id"], created.body["key_id"]);
}

#[tokio::test]
async fn verify_is_limited_per_gateway_source_ip_not_per_forwarded_header() {
    let app = app_with(&[("KEYPLANE_RATE_DATA_PLANE", "1/min:2")]);
    let org = create_org(&app).await;
    let created = call(
        &app,
        with_body(fixture!("http-api-v2-iam-create-key"), &org_key(&org)),
    )
    .await;
    let key = created.body["key"].as_str().expect("plaintext key");
    let verify_from = |ip: &str, forwarded: &str| {
        let mut event = with_body(fixture!("http-api-v2-public"), &json!({ "key": key }));
        event["requestContext"]["http"]["sourceIp"] = json!(ip);
        event["headers"]["x-forwarded-for"] = json!(forwarded);
        event
    };

    for forwarded in ["192.0.2.1", "192.0.2.2"] {
        let answer = call(&app, verify_from("198.51.100.20", forwarded)).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }
    // A new X-Forwarded-For is not a new source: the client wrote it.
    let refused = call(&app, verify_from("198.51.100.20", "192.0.2.3")).await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.body
    );
    assert_eq!(refused.code(), Some("RATE_LIMITED"));
    assert!(refused.headers.contains_key("retry-after"));
    assert_eq!(
        refused.body["request_id"], LAMBDA_REQUEST_ID,
        "the refusal quotes the id CloudWatch has"
    );

    let other = call(&app, verify_from("198.51.100.21", "192.0.2.3")).await;
    assert_eq!(
        other.status,
        StatusCode::OK,
        "another address has its own budget"
    );
}
