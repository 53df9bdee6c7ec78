//! Request claims on DynamoDB when the answer of the claiming `PutItem` is
//! lost: the SDK sends the put again, which then meets the claim it made
//! itself. That claim is still this call's (`true`), while another caller's
//! claim of the same request is refused (`false`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, Metadata};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use chrono::{DateTime, Duration, TimeZone, Utc};
use keyplane_core::store::KeyStore;
use keyplane_store::dynamo::testing::{client_config, fresh_store, moto_endpoint};

/// Replaces the answer of the next `PutItem` with a 500 after DynamoDB
/// has applied it, as a connection lost on the way back would.
#[derive(Debug, Clone, Default)]
struct LoseNextPut(Arc<AtomicBool>);

impl Intercept for LoseNextPut {
    fn name(&self) -> &'static str {
        "LoseNextPut"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let is_put = cfg
            .load::<Metadata>()
            .is_some_and(|metadata| metadata.name() == "PutItem");
        if is_put && self.0.swap(false, Ordering::SeqCst) {
            *context.response_mut() = HttpResponse::new(
                StatusCode::try_from(500)?,
                SdkBody::from(
                    r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"lost"}"#,
                ),
            );
        }
        Ok(())
    }
}

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("valid date")
        + Duration::minutes(minutes)
}

#[tokio::test]
async fn a_claim_whose_answer_was_lost_is_still_its_own() {
    let Some(endpoint) = moto_endpoint("a_claim_whose_answer_was_lost_is_still_its_own") else {
        return;
    };
    let lose = LoseNextPut::default();
    let client = Client::from_conf(client_config(&endpoint).interceptor(lose.clone()).build());
    let store = fresh_store(client).await;
    let digest = "4f8b42c22dd3729b519ba6f68d2da7cc5b2d606d05daed5ad5128cc03e6c6358";

    lose.0.store(true, Ordering::SeqCst);
    assert_eq!(store.claim_request(digest, at(0), at(15)).await, Ok(true));
    assert!(!lose.0.load(Ordering::SeqCst), "the answer was lost once");
    assert_eq!(store.claim_request(digest, at(0), at(15)).await, Ok(false));
}
