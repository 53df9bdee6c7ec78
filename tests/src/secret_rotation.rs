//! Keys whose plaintext lives in a Secrets Manager secret on moto, and the
//! part of a rotation Secrets Manager plays before it calls the rotator.
//! Shared by the rotator's in-process tests (`functions/lambda/tests`) and
//! the end-to-end tests of the built `rotator` binary (`lambda_e2e`).

use aws_sdk_secretsmanager::types::RotationRulesType;
use keyplane_core::id::KeyId;
use keyplane_core::key_format::ApiKey;
use keyplane_core::service::{ActivateKey, CreateKey, CreateOutcome};
use keyplane_core::{Caller, Keyplane};
use keyplane_secrets::{SecretsClient, Stage, KEY_ID_TAG};

/// A rotation function ARN for `RotateSecret`: moto records it, fails to
/// invoke it, and leaves the `AWSPENDING` version in place, which is all
/// these tests need from it.
pub const ROTATION_LAMBDA_ARN: &str =
    "arn:aws:lambda:us-east-1:111111111111:function:keyplane-rotator";

/// The four steps of Secrets Manager's rotation contract, in order.
pub const STEPS: [&str; 4] = ["createSecret", "setSecret", "testSecret", "finishSecret"];

/// A key bound to a secret holding its plaintext.
#[derive(Debug)]
pub struct BoundKey {
    /// The key.
    pub id: KeyId,
    /// Its plaintext, as written to the secret.
    pub plaintext: ApiKey,
    /// The secret's ARN.
    pub arn: String,
}

/// A fresh `ClientRequestToken`, as Secrets Manager makes them.
pub fn token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Creates an organization, a workspace and a pending key in it as `admin`,
/// writes the plaintext to a new secret tagged with the key's id, then
/// activates the key bound to that secret, with rotation on or off: the
/// provider's two-phase create, by hand.
///
/// # Panics
///
/// When any of it fails: the tests that call it cannot go on.
pub async fn bound_key(
    keyplane: &Keyplane,
    secrets: &SecretsClient,
    admin: &Caller,
    rotation: bool,
) -> BoundKey {
    let (org, ws) = crate::org_and_workspace(keyplane, admin, None).await;
    let req = CreateKey {
        permissions: vec!["orders:*".into()],
        activate: Some(false),
        ..crate::workspace_key(&org, &ws)
    };
    let CreateOutcome::Created(created) = keyplane
        .create_key(admin, req, None)
        .await
        .expect("create key")
    else {
        panic!("no idempotency key was sent, so nothing can be replayed");
    };
    let name = format!("keyplane-test/rotation-{:016x}", rand::random::<u64>());
    let tags = [(KEY_ID_TAG.to_owned(), created.view.id.to_string())];
    let written = secrets
        .create(&name, &created.key, &token(), None, &tags)
        .await
        .expect("create secret on moto");
    keyplane
        .activate_key(
            admin,
            &created.view.id,
            ActivateKey {
                secret_arn: Some(written.arn.clone()),
                rotation: Some(rotation),
            },
        )
        .await
        .expect("activate key bound to its secret");
    BoundKey {
        id: created.view.id,
        plaintext: created.key,
        arn: written.arn,
    }
}

/// What `RotateSecret` does before it invokes the rotation function: turns
/// rotation on and adds a version labelled `AWSPENDING` under a new token,
/// which it returns.
///
/// # Panics
///
/// When moto does not leave exactly that behind.
pub async fn start_rotation(secrets: &SecretsClient, arn: &str) -> String {
    let token = token();
    let outcome = secrets
        .sdk()
        .rotate_secret()
        .secret_id(arn)
        .client_request_token(&token)
        .rotation_lambda_arn(ROTATION_LAMBDA_ARN)
        .rotation_rules(
            RotationRulesType::builder()
                .automatically_after_days(30)
                .build(),
        )
        .send()
        .await;
    assert!(outcome.is_err(), "moto cannot invoke a Lambda function");
    let described = secrets
        .describe(arn)
        .await
        .expect("describe secret")
        .expect("the secret exists");
    assert!(described.rotation_enabled);
    assert_eq!(described.versions.get(&token), Some(&vec![Stage::Pending]));
    token
}
