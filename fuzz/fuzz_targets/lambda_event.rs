//! Lambda events, as JSON text, through both functions that take them:
//!
//! - the `authorizer`: event recognition, key extraction, method ARN and
//!   stage parsing, the route table, verify and the rendered answer, on an
//!   in-memory store holding real keys (`$KEY`, … in corpus events);
//! - the `api`: the check that refuses events lambda_http cannot convert,
//!   lambda_http's event → request conversion (as its `Adapter` does it),
//!   then `keyplane_lambda::api::app`, which prepares the request (stage,
//!   request id) and serves it with the Router, the caller taken from the
//!   request context.
//!
//! The route table parser reads every input too.
//!
//! Properties, beyond "no panic": the authorizer allows only a request
//! carrying one of the world's valid keys, neither function ever answers
//! with a well-formed key, and the api never answers 5xx (its store never
//! fails here).
#![no_main]

use std::sync::{Arc, LazyLock};

use keyplane_fuzz::keys::well_formed_keys;
use keyplane_fuzz::world::World;
use keyplane_http::Limits;
use keyplane_lambda::api::{self, Api};
use keyplane_lambda::authorizer::routes::RouteTable;
use keyplane_lambda::authorizer::{Authorizer, AuthorizerEvent};
use keyplane_lambda::config::{ApiConfig, Env, FunctionConfig};
use keyplane_store::EmbeddedStore;
use lambda_http::request::LambdaRequest;
use lambda_http::{Context, Request, RequestExt};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// The routes of a customer's API, in `KEYPLANE_ROUTE_PERMISSIONS` form.
const ROUTES: &str = r#"{
    "GET /orders/{id}": ["orders:read"],
    "POST /models/{name}/invoke": ["models:gpt-4o"],
    "GET /files/**": ["files:read"],
    "ANY /health": []
}"#;

struct Target {
    world: World,
    authorizer: Authorizer,
    api: Api,
}

static TARGET: LazyLock<Target> = LazyLock::new(|| {
    let world = World::new();
    let routes = RouteTable::parse(ROUTES).expect("valid routes");
    let authorizer = Authorizer::new(world.store.clone(), world.clock.clone(), routes);
    // The api gets a store of its own and no platform admins, so no event
    // can change what the authorizer sees or grow the store run after run.
    let env = Env::from_pairs([("KEYPLANE_TABLE", "fuzz"), ("AWS_REGION", "eu-west-1")]);
    let config = <ApiConfig as FunctionConfig>::from(&env).expect("a valid configuration");
    let store = EmbeddedStore::in_memory().expect("an in-memory store");
    let state = api::state_with(Arc::new(store), world.clock.clone(), &config);
    let api = api::app(state, Limits::without_rates());
    Target {
        world,
        authorizer,
        api,
    }
});

fuzz_target!(|data: &[u8]| {
    let target = &*TARGET;
    let text = target.world.substitute(&keyplane_fuzz::text(data));
    routes(&text);
    let Ok(event) = serde_json::from_str::<Value>(&text) else {
        return;
    };
    authorize(target, event.clone());
    serve(target, event);
});

/// The authorizer's route table (`KEYPLANE_ROUTE_PERMISSIONS`) is JSON
/// text as well: parsed, and matched against a few requests.
fn routes(text: &str) {
    let Ok(table) = RouteTable::parse(text) else {
        return;
    };
    assert!(!table.is_empty());
    for (method, path) in [
        ("GET", "/orders/42"),
        ("POST", "/models/gpt-4o/invoke"),
        ("GET", "/"),
        ("DELETE", "//files//a/"),
    ] {
        let _ = table.find(method, path);
    }
}

fn authorize(target: &Target, event: Value) {
    let parsed = AuthorizerEvent::from_value(event.clone()).ok();
    let presented = parsed
        .as_ref()
        .and_then(AuthorizerEvent::key)
        .map(|key| key.expose().to_owned());
    let method_arn = parsed
        .as_ref()
        .and_then(|event| event.method_arn().map(str::to_owned));
    let answer = target
        .world
        .runtime
        .block_on(target.authorizer.handle(event));
    let Ok(mut answer) = answer else {
        return;
    };
    let allowed = answer["isAuthorized"] == Value::Bool(true)
        || answer["policyDocument"]["Statement"][0]["Effect"] == "Allow";
    if allowed {
        assert!(
            presented.is_some_and(|key| target.world.valid_keys().contains(&key.as_str())),
            "allowed without a valid key"
        );
    }
    // A policy names exactly the invoked method ARN, which holds the
    // request's path: whatever the caller put there goes back to API
    // Gateway unchanged, and nothing else of the request does.
    if let Some(resource) = answer.pointer_mut("/policyDocument/Statement/0/Resource") {
        assert_eq!(
            resource.as_str(),
            Some(method_arn.as_deref().unwrap_or_default())
        );
        *resource = Value::Null;
    }
    assert!(well_formed_keys(&answer.to_string()).is_empty());
}

fn serve(target: &Target, event: Value) {
    let Ok(event) = serde_json::from_value::<LambdaRequest>(event) else {
        return;
    };
    // What the function does first: an event lambda_http would panic on
    // converting is refused.
    if let Err(unusable) = api::event::check(&event) {
        let refusal = api::event::refusal(&event.request_origin(), unusable);
        assert_eq!(refusal["statusCode"], 400);
        return;
    }
    let mut context = Context::default();
    "fuzz-request-id".clone_into(&mut context.request_id);
    let request = Request::from(event).with_lambda_context(context);
    let (status, answer) = target.world.serve(&target.api, request);
    assert!(!status.is_server_error(), "{status} from the api");
    assert!(well_formed_keys(&String::from_utf8_lossy(&answer)).is_empty());
}
