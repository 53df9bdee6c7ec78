//! Errors are typed: API errors carry status, code, detail and request id;
//! configuration, transport and timeout failures are told apart.

mod support;

use std::time::Duration;

use axum::http::StatusCode;
use keyplane_client::api::id::KeyId;
use keyplane_client::api::keys::{ListKeys, ScopeKind};
use keyplane_client::api::tenancy::CreateOrganization;
use keyplane_client::{Client, Credentials, Error, RetryPolicy};
use support::{org_with_editor, ws_key, TestServer, ADMIN, ALICE};

/// The API error in `result`, or a panic naming what came instead.
#[track_caller]
fn api_error<T: std::fmt::Debug>(result: Result<T, Error>) -> keyplane_client::ApiError {
    match result {
        Err(Error::Api(err)) => *err,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_missing_key_is_a_404_with_its_code_and_request_id() {
    let server = TestServer::start().await;
    let admin = server.client(ADMIN).await;
    let err = api_error(admin.get_key(&KeyId::generate()).await);
    assert_eq!(err.status(), StatusCode::NOT_FOUND);
    assert_eq!(err.code(), "KEY_NOT_FOUND");
    assert!(!err.detail().is_empty());
    assert!(err.request_id().is_some_and(|id| !id.is_empty()));
    assert_eq!(err.route(), "/v1/keys/{key_id}");
    assert!(!err.after_lost_attempt());
    let shown = Error::from(err).to_string();
    assert!(shown.contains("404 KEY_NOT_FOUND"), "{shown}");
}

#[tokio::test]
async fn a_refused_action_is_a_403_with_its_code() {
    let server = TestServer::start().await;
    let alice = server.client(ALICE).await;
    let result = alice
        .create_organization(&CreateOrganization {
            name: "Mine".to_owned(),
            key_quota: None,
        })
        .await;
    let err = api_error(result);
    assert_eq!(err.status(), StatusCode::FORBIDDEN);
    assert_eq!(err.code(), "PLATFORM_ADMIN_REQUIRED");

    let admin = server.client(ADMIN).await;
    let (org, ws) = org_with_editor(&admin).await;
    let mut org_key = ws_key(&org, &ws);
    org_key.scope = ScopeKind::Organization;
    org_key.workspace_id = None;
    let err = api_error(alice.create_key(&org_key).await);
    assert_eq!(
        (err.status(), err.code()),
        (StatusCode::FORBIDDEN, "OWNER_REQUIRED")
    );
}

#[tokio::test]
async fn a_bad_body_or_query_is_a_400_with_its_code() {
    let server = TestServer::start().await;
    let admin = server.client(ADMIN).await;
    let (org, ws) = org_with_editor(&admin).await;
    let mut no_workspace = ws_key(&org, &ws);
    no_workspace.workspace_id = None;
    let err = api_error(admin.create_key(&no_workspace).await);
    assert_eq!(
        (err.status(), err.code()),
        (StatusCode::BAD_REQUEST, "INVALID_SCOPE")
    );

    let query = ListKeys {
        organization_id: org,
        workspace_id: None,
        status: None,
        cursor: Some("not-a-cursor".to_owned()),
        limit: Some(5),
    };
    let err = api_error(admin.list_keys_page(&query).await);
    assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    assert_eq!(err.code(), "INVALID_CURSOR");
}

#[tokio::test]
async fn unknown_credentials_are_a_401() {
    let server = TestServer::start().await;
    let stranger = server
        .builder(ADMIN)
        .credentials(Credentials::new(
            "KPAKNOTKNOWN0000000",
            "not-the-secret",
            None,
            None,
            "test",
        ))
        .build()
        .await
        .expect("client");
    let err = api_error(stranger.get_key(&KeyId::generate()).await);
    assert_eq!(
        (err.status(), err.code()),
        (StatusCode::UNAUTHORIZED, "UNKNOWN_ACCESS_KEY")
    );
}

#[tokio::test]
async fn a_server_that_is_not_there_is_a_transport_error_after_every_attempt() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("address"));
    drop(listener);
    let client = Client::builder()
        .endpoint(endpoint)
        .region("us-east-1")
        .credentials(Credentials::new("AKID", "secret", None, None, "test"))
        .retry_policy(
            RetryPolicy::new(3).with_backoff(Duration::from_millis(1), Duration::from_millis(5)),
        )
        .build()
        .await
        .expect("client");
    let err = client
        .get_key(&KeyId::generate())
        .await
        .expect_err("nobody listening");
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(err.code(), None);
}
