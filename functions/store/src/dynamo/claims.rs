//! Claims of signed requests (see `KeyStore::claim_request`): one small
//! item per signature digest, written by a conditional `PutItem` that only
//! succeeds if no claim is live, so DynamoDB itself decides which of
//! concurrent claims — from any number of instances — wins. The item's
//! `ttl` is the claim's expiry: DynamoDB TTL deletes it some time later,
//! and until then the condition treats it as gone.

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use keyplane_core::store::StoreError;
use rand::distr::{Alphanumeric, SampleString};

use super::codec::{n, string, Expr};
use super::errors::sdk_error;
use super::items::{self, primary_key};
use super::schema::{request_claim_pk, CLAIMANT, PK, REQUEST_CLAIM_SK, TTL};
use super::DynamoStore;

impl DynamoStore {
    /// One conditional `PutItem`: claims `digest` until `expires_at` if no
    /// claim is live at `now` (epoch seconds). The SDK retries a put whose
    /// answer was lost; the retry then meets the claim it made itself,
    /// which it tells by the random claimant id, and reports it as made.
    pub(super) async fn claim(
        &self,
        digest: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let claimant = Alphanumeric.sample_string(&mut rand::rng(), 32);
        let mut expr = Expr::new();
        let condition = format!(
            "attribute_not_exists({}) OR {} <= {}",
            expr.name(PK),
            expr.name(TTL),
            expr.value("now", n(now))
        );
        let sent = self
            .client
            .put_item()
            .table_name(self.table())
            .set_item(Some(items::request_claim(digest, expires_at, &claimant)))
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let err = match sent {
            Ok(_) => return Ok(true),
            Err(err) => err,
        };
        let Some(PutItemError::ConditionalCheckFailedException(refused)) = err.as_service_error()
        else {
            return Err(sdk_error("PutItem", &err));
        };
        let holder = match refused.item().filter(|item| !item.is_empty()) {
            Some(item) => Some(item.clone()),
            None => self.get_item(claim_key(digest)).await?,
        };
        let ours = match &holder {
            Some(item) => string(item, CLAIMANT)? == Some(claimant.as_str()),
            None => false,
        };
        Ok(ours)
    }

    /// Deletes the claim of `digest` (one `DeleteItem`; nothing if none).
    pub(super) async fn release(&self, digest: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(self.table())
            .set_key(Some(claim_key(digest)))
            .send()
            .await
            .map_err(|err| sdk_error("DeleteItem", &err))?;
        Ok(())
    }
}

fn claim_key(digest: &str) -> super::codec::Item {
    primary_key(request_claim_pk(digest), REQUEST_CLAIM_SK)
}
