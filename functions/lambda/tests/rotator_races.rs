//! The rotator under answers moto never gives: Secrets Manager's side of a
//! race between two runs of the same step, scripted with
//! `keyplane_aws::testing::Canned`.
#![allow(clippy::unwrap_used)]

use keyplane_aws::testing::Canned;
use keyplane_aws::Profile;
use keyplane_core::id::KeyId;
use keyplane_core::key_format::{ApiKey, KeyEnv};
use keyplane_lambda::rotator::{RotationEvent, Rotator};
use keyplane_secrets::{SecretsClient, KEY_ID_TAG};
use keyplane_tests::{principal, World, ROTATOR};
use serde_json::json;

const ARN: &str = "arn:aws:secretsmanager:us-east-1:111111111111:secret:keyplane/ci-AbCdEf";
const NAME: &str = "keyplane/ci";
const TOKEN: &str = "6c1f0a5e2d3b4c8d9e0f1a2b3c4d5e6f";
const OLD_VERSION: &str = "0b6a0c0e5f8d4a1b9c2d3e4f5a6b7c8d";

/// A secret in rotation: `TOKEN` is `AWSPENDING`, tagged with a key id.
fn in_rotation(script: Canned) -> Canned {
    let described = json!({
        "ARN": ARN,
        "Name": NAME,
        "RotationEnabled": true,
        "Tags": [{"Key": KEY_ID_TAG, "Value": KeyId::generate().to_string()}],
        "VersionIdsToStages": {
            OLD_VERSION: ["AWSCURRENT"],
            TOKEN: ["AWSPENDING"],
        },
    });
    script.answer("DescribeSecret", 200, &described.to_string())
}

fn not_found() -> String {
    json!({
        "__type": "ResourceNotFoundException",
        "message": "Secrets Manager can't find the specified secret value for VersionId",
    })
    .to_string()
}

fn current_value(value: &ApiKey) -> String {
    json!({
        "ARN": ARN,
        "Name": NAME,
        "VersionId": OLD_VERSION,
        "SecretString": value.expose(),
        "VersionStages": ["AWSCURRENT"],
        "CreatedDate": 1_767_225_600,
    })
    .to_string()
}

async fn rotator(script: &Canned) -> Rotator {
    let secrets = SecretsClient::from_sdk_config(&script.load(Profile::Lambda).await);
    Rotator::new(World::new().keyplane, secrets, principal(ROTATOR), 600)
}

/// A rotation whose `createSecret` finds no pending value, reads the
/// current key, and has its `PutSecretValue` refused with `error`.
fn put_refused_with(error: &str, message: &str) -> Canned {
    in_rotation(Canned::default())
        .answer("GetSecretValue", 400, &not_found())
        .answer(
            "GetSecretValue",
            200,
            &current_value(&ApiKey::mint(KeyEnv::Test)),
        )
        .answer(
            "PutSecretValue",
            400,
            &json!({ "__type": error, "message": message }).to_string(),
        )
}

fn create_secret() -> RotationEvent {
    RotationEvent {
        step: "createSecret".to_owned(),
        secret_id: ARN.to_owned(),
        client_request_token: TOKEN.to_owned(),
    }
}

/// Two runs of `createSecret` (Lambda retrying one that seemed to time
/// out): both find no pending value, both mint, and AWS keeps the first
/// `PutSecretValue` under the token and refuses the second with
/// `ResourceExistsException`. The loser must succeed without writing
/// anything else: every later step reads the winner's value.
#[tokio::test]
async fn create_secret_losing_the_race_for_the_token_succeeds_and_writes_nothing_else() {
    let script = put_refused_with(
        "ResourceExistsException",
        "A resource with the ID you requested already exists.",
    );
    let rotator = rotator(&script).await;

    rotator.handle(&create_secret(), None).await.unwrap();

    assert_eq!(
        script.calls(),
        [
            "DescribeSecret",
            "GetSecretValue",
            "GetSecretValue",
            "PutSecretValue"
        ]
    );
}

/// Any other refusal of the write is the step's failure, for Secrets
/// Manager to retry.
#[tokio::test]
async fn create_secret_fails_when_the_write_is_refused_for_another_reason() {
    let script = put_refused_with(
        "LimitExceededException",
        "You have exceeded the maximum number of versions for this secret.",
    );
    let rotator = rotator(&script).await;

    let err = rotator.handle(&create_secret(), None).await.unwrap_err();

    let message = err.to_string();
    assert!(message.contains("PutSecretValue"), "{message}");
    assert_eq!(
        script.calls().last().map(String::as_str),
        Some("PutSecretValue")
    );
}

/// A pending value that is already there (a retry after a run that
/// finished its write) is kept: nothing is minted or written.
#[tokio::test]
async fn create_secret_keeps_a_pending_value_that_is_already_there() {
    let pending = ApiKey::mint(KeyEnv::Test);
    let script = in_rotation(Canned::default()).answer(
        "GetSecretValue",
        200,
        &json!({
            "ARN": ARN,
            "Name": NAME,
            "VersionId": TOKEN,
            "SecretString": pending.expose(),
            "VersionStages": ["AWSPENDING"],
        })
        .to_string(),
    );
    let rotator = rotator(&script).await;

    rotator.handle(&create_secret(), None).await.unwrap();

    assert_eq!(script.calls(), ["DescribeSecret", "GetSecretValue"]);
}
