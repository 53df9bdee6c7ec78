//! Shared by the authorizer tests: keys made through the use cases on the
//! store the authorizer reads, and the fixtures with a presented key.
#![allow(dead_code)]

use std::sync::Arc;

use aws_config::Region;
use aws_credential_types::Credentials;
use keyplane_core::clock::{Clock, SystemClock};
use keyplane_core::principal::Principal;
use keyplane_core::service::{CreateKey, CreateOrganization, CreateOutcome, CreateWorkspace};
use keyplane_core::store::KeyStore;
use keyplane_core::{Caller, Config, Keyplane};
use keyplane_lambda::authorizer::routes::RouteTable;
use keyplane_lambda::authorizer::Authorizer;
use keyplane_store::{DynamoStore, EmbeddedStore};
use serde_json::{json, Value};

/// An event from `fixtures/`.
macro_rules! fixture {
    ($name:literal) => {
        serde_json::from_str::<serde_json::Value>(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/",
            $name,
            ".json"
        )))
        .expect("fixture is JSON")
    };
}
// Not every test binary reads fixtures directly.
#[allow(unused_imports)]
pub(crate) use fixture;

pub const ADMIN_ARN: &str = "arn:aws:iam::111111111111:user/platform-admin";
pub const ROUTES: &str = r#"{
    "GET /orders/{id}": ["orders:read"],
    "POST /orders": ["orders:write"],
    "ANY /health": []
}"#;
pub const TOKEN_ARN: &str =
    "arn:aws:execute-api:eu-west-1:222222222222:cust0m4p1z/prod/GET/orders/42";

pub fn routes() -> RouteTable {
    RouteTable::parse(ROUTES).expect("valid routes")
}

/// Keys made through the use cases, on the store the authorizer reads.
pub struct World {
    pub authorizer: Authorizer,
    pub keyplane: Keyplane,
    pub org: String,
    pub workspace: String,
}

pub fn admin() -> Caller {
    Caller {
        principal: Principal::parse(ADMIN_ARN).expect("ARN"),
        source: None,
        request_id: None,
    }
}

impl World {
    pub async fn new() -> Self {
        let store: Arc<dyn KeyStore> = Arc::new(EmbeddedStore::in_memory().expect("store"));
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let config = Config {
            admins: vec![Principal::parse(ADMIN_ARN).expect("ARN")],
            usage_reporters: Vec::new(),
            key_env: keyplane_core::key_format::KeyEnv::Test,
            rotators: Vec::new(),
        };
        let keyplane = Keyplane::new(store.clone(), clock.clone(), config);
        let org: CreateOrganization =
            serde_json::from_value(json!({ "name": "Orders Inc" })).expect("request");
        let org = keyplane
            .create_organization(&admin(), org)
            .await
            .expect("organization");
        let ws: CreateWorkspace =
            serde_json::from_value(json!({ "name": "shop" })).expect("request");
        let ws = keyplane
            .create_workspace(&admin(), &org.id, ws)
            .await
            .expect("workspace");
        Self {
            authorizer: Authorizer::new(store, clock, routes()),
            keyplane,
            org: org.id.to_string(),
            workspace: ws.id.to_string(),
        }
    }

    /// A workspace service key; returns (plaintext, key id).
    pub async fn key(&self, permissions: &[&str]) -> (String, String) {
        let req: CreateKey = serde_json::from_value(json!({
            "organization_id": self.org,
            "scope": "workspace",
            "workspace_id": self.workspace,
            "type": "service",
            "name": "orders-client",
            "role": "editor",
            "permissions": permissions,
        }))
        .expect("request");
        match self.keyplane.create_key(&admin(), req, None).await {
            Ok(CreateOutcome::Created(created)) => {
                (created.key.expose().to_owned(), created.view.id.to_string())
            }
            other => panic!("key not created: {other:?}"),
        }
    }

    pub async fn revoke(&self, key_id: &str) {
        let id = serde_json::from_value(json!(key_id)).expect("key id");
        self.keyplane
            .revoke_key(&admin(), &id)
            .await
            .expect("revoked");
    }
}

pub fn token_event(token: &str) -> Value {
    let mut event = fixture!("authorizer-token");
    event["authorizationToken"] = json!(token);
    event
}

pub fn rest_event(authorization: &str) -> Value {
    let mut event = fixture!("authorizer-rest-request");
    event["headers"]["Authorization"] = json!(authorization);
    event["multiValueHeaders"]["Authorization"] = json!([authorization]);
    event
}

pub fn http_api_event(authorization: &str) -> Value {
    let mut event = fixture!("authorizer-http-api-v2");
    event["headers"]["authorization"] = json!(authorization);
    event["identitySource"] = json!([authorization]);
    event
}

pub fn policy(principal: &str, effect: &str, resource: &str, context: Value) -> Value {
    json!({
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{
                "Action": "execute-api:Invoke",
                "Effect": effect,
                "Resource": resource,
            }],
        },
        "context": context,
    })
}

/// A DynamoDB store nobody listens for: any read fails. A decision that
/// comes back without an error made no read.
pub async fn unreachable_store() -> Arc<dyn KeyStore> {
    let config = keyplane_aws::loader(keyplane_aws::Profile::Lambda)
        .endpoint_url("http://127.0.0.1:9")
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new(
            "AKIDTEST",
            "test-secret",
            None,
            None,
            "test",
        ))
        .load()
        .await;
    Arc::new(DynamoStore::from_sdk_config(&config, "keyplane"))
}

/// A well-formed key that no store knows.
pub fn unknown_key() -> String {
    keyplane_core::key_format::ApiKey::mint(keyplane_core::key_format::KeyEnv::Test)
        .expose()
        .to_owned()
}
