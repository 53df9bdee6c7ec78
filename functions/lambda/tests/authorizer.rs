//! The `authorizer` function in-process, on API Gateway authorizer events
//! from `fixtures/`: decisions, the exact response shapes API Gateway
//! reads, and failing closed.

mod authorizer_support;

use std::sync::Arc;

use authorizer_support::{
    fixture, http_api_event, policy, rest_event, routes, token_event, unknown_key,
    unreachable_store, World, TOKEN_ARN,
};
use keyplane_core::clock::SystemClock;
use keyplane_lambda::authorizer::{Authorizer, AuthorizerError};
use serde_json::json;

#[tokio::test]
async fn a_valid_key_is_allowed_with_its_context_on_every_event_kind() {
    let world = World::new().await;
    let (key, key_id) = world.key(&["orders:read", "orders:write"]).await;
    let context = json!({
        "organization_id": world.org,
        "workspace_id": world.workspace,
        "key_id": key_id,
        "actor": "orders-client",
        "permissions": "orders:read,orders:write",
    });

    for token in [
        key.clone(),
        format!("Bearer {key}"),
        format!("bearer {key}"),
    ] {
        let answer = world
            .authorizer
            .handle(token_event(&token))
            .await
            .expect("answer");
        assert_eq!(answer, policy(&key_id, "Allow", TOKEN_ARN, context.clone()));
    }

    let answer = world
        .authorizer
        .handle(rest_event(&format!("BEARER {key}")))
        .await
        .expect("answer");
    assert_eq!(answer, policy(&key_id, "Allow", TOKEN_ARN, context.clone()));

    let answer = world
        .authorizer
        .handle(http_api_event(&format!("Bearer {key}")))
        .await
        .expect("answer");
    assert_eq!(answer, json!({ "isAuthorized": true, "context": context }));

    // x-api-key works where no Bearer header is sent.
    let mut event = http_api_event("Basic dXNlcjpwYXNz");
    event["headers"]["x-api-key"] = json!(key);
    let answer = world.authorizer.handle(event).await.expect("answer");
    assert_eq!(answer["isAuthorized"], true);
}

#[tokio::test]
async fn revoked_keys_and_missing_permissions_are_denied() {
    let world = World::new().await;
    let (revoked, revoked_id) = world.key(&["orders:read"]).await;
    world.revoke(&revoked_id).await;
    let (reader, reader_id) = world.key(&["billing:read"]).await;

    let answer = world
        .authorizer
        .handle(rest_event(&format!("Bearer {revoked}")))
        .await
        .expect("answer");
    assert_eq!(
        answer,
        policy(
            &revoked_id,
            "Deny",
            TOKEN_ARN,
            json!({ "reason": "REVOKED" })
        )
    );

    let answer = world
        .authorizer
        .handle(token_event(&reader))
        .await
        .expect("answer");
    assert_eq!(
        answer,
        policy(
            &reader_id,
            "Deny",
            TOKEN_ARN,
            json!({ "reason": "FORBIDDEN" })
        )
    );

    let answer = world
        .authorizer
        .handle(http_api_event(&format!("Bearer {reader}")))
        .await
        .expect("answer");
    assert_eq!(
        answer,
        json!({ "isAuthorized": false, "context": { "reason": "FORBIDDEN" } })
    );

    // A well-formed key nobody issued.
    let answer = world
        .authorizer
        .handle(token_event(&unknown_key()))
        .await
        .expect("answer");
    assert_eq!(
        answer,
        policy(
            "anonymous",
            "Deny",
            TOKEN_ARN,
            json!({ "reason": "NOT_FOUND" })
        )
    );
}

#[tokio::test]
async fn an_unconfigured_route_is_denied_without_a_read() {
    let authorizer = Authorizer::new(unreachable_store().await, Arc::new(SystemClock), routes());
    let arn = "arn:aws:execute-api:eu-west-1:222222222222:cust0m4p1z/prod/DELETE/orders/42";
    let mut event = token_event(&unknown_key());
    event["methodArn"] = json!(arn);
    let answer = authorizer.handle(event).await.expect("answer");
    assert_eq!(
        answer,
        policy(
            "anonymous",
            "Deny",
            arn,
            json!({ "reason": "ROUTE_NOT_CONFIGURED" })
        )
    );

    let mut event = http_api_event(&format!("Bearer {}", unknown_key()));
    event["rawPath"] = json!("/live/invoices/7");
    let answer = authorizer.handle(event).await.expect("answer");
    assert_eq!(answer["isAuthorized"], false);
    assert_eq!(answer["context"]["reason"], "ROUTE_NOT_CONFIGURED");
}

#[tokio::test]
async fn missing_or_malformed_keys_are_refused_without_a_read() {
    let authorizer = Authorizer::new(unreachable_store().await, Arc::new(SystemClock), routes());
    let mut typo = unknown_key();
    typo.pop();
    typo.push(if typo.ends_with('A') { 'B' } else { 'A' });

    for token in [
        "",
        "Bearer ",
        "kp_live_short",
        typo.as_str(),
        "Basic dXNlcjpwYXNz",
    ] {
        // REST: the error API Gateway turns into 401.
        let err = authorizer
            .handle(token_event(token))
            .await
            .expect_err("refused");
        assert!(matches!(err, AuthorizerError::Unauthorized), "{err:?}");
        let diagnostic = lambda_runtime::Diagnostic::from(err);
        assert_eq!(diagnostic.error_message, "Unauthorized");

        let err = authorizer
            .handle(rest_event(token))
            .await
            .expect_err("refused");
        assert!(matches!(err, AuthorizerError::Unauthorized), "{err:?}");

        // HTTP API: a plain "no".
        let answer = authorizer
            .handle(http_api_event(token))
            .await
            .expect("answer");
        assert_eq!(answer["isAuthorized"], false, "{token:?}");
    }
    let mut no_header = fixture!("authorizer-http-api-v2");
    no_header["headers"]
        .as_object_mut()
        .expect("headers")
        .remove("authorization");
    let answer = authorizer.handle(no_header).await.expect("answer");
    assert_eq!(
        answer,
        json!({ "isAuthorized": false, "context": { "reason": "NO_KEY" } })
    );
}

#[tokio::test]
async fn a_store_failure_fails_the_invocation_and_never_allows() {
    let authorizer = Authorizer::new(unreachable_store().await, Arc::new(SystemClock), routes());
    let key = unknown_key();
    for event in [
        token_event(&key),
        rest_event(&format!("Bearer {key}")),
        http_api_event(&format!("Bearer {key}")),
    ] {
        let err = authorizer.handle(event).await.expect_err("fails closed");
        assert!(matches!(err, AuthorizerError::Store { .. }), "{err:?}");
        let diagnostic = lambda_runtime::Diagnostic::from(err);
        // Not "Unauthorized": API Gateway answers 500 and caches nothing.
        assert_ne!(diagnostic.error_message, "Unauthorized");
        assert!(!diagnostic.error_message.contains(&key));
    }
}

#[tokio::test]
async fn other_events_are_errors() {
    let world = World::new().await;
    for event in [
        json!({ "hello": "world" }),
        json!({ "type": "TOKEN", "authorizationToken": 42 }),
        json!({ "version": "2.0", "type": "TOKEN" }),
    ] {
        let err = world
            .authorizer
            .handle(event)
            .await
            .expect_err("unsupported");
        assert!(matches!(err, AuthorizerError::Event(_)), "{err:?}");
    }
}
