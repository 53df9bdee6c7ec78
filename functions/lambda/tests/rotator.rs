//! The rotator's four steps in process: Secrets Manager on moto (started by
//! `tests/run`, which exports `KEYPLANE_MOTO_ENDPOINT`), Keyplane on an
//! in-memory store with a manual clock, events as Secrets Manager sends
//! them. moto cannot invoke a Lambda, so each test starts the rotation with
//! `RotateSecret` (which adds the `AWSPENDING` version, as on AWS) and then
//! plays Secrets Manager's part, calling every step twice.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use keyplane_api::key_format::{ApiKey, KeyEnv};
use keyplane_api::verify::{VerifyCode, VerifyKey};
use keyplane_aws::Profile;
use keyplane_core::clock::ManualClock;
use keyplane_core::id::KeyId;
use keyplane_core::principal::Principal;
use keyplane_core::service::AuditQuery;
use keyplane_core::{Caller, Config, Keyplane};
use keyplane_lambda::rotator::{RotationError, RotationEvent, Rotator};
use keyplane_secrets::{SecretsClient, Stage, KEY_ID_TAG};
use keyplane_store::EmbeddedStore;
use keyplane_tests::secret_rotation::{self, token, STEPS};

const ADMIN: &str = "arn:aws:iam::111111111111:user/admin";
const ROTATOR: &str = "arn:aws:iam::111111111111:role/keyplane-rotator";
const GRACE: u32 = 600;

fn moto_endpoint() -> Option<String> {
    keyplane_aws::testing::moto_endpoint("rotator")
}

struct Setup {
    keyplane: Keyplane,
    clock: Arc<ManualClock>,
    secrets: SecretsClient,
    rotator: Rotator,
}

fn admin() -> Caller {
    Caller {
        principal: Principal::parse(ADMIN).unwrap(),
        source: None,
        request_id: None,
    }
}

impl Setup {
    async fn new(endpoint: &str) -> Self {
        let store = Arc::new(EmbeddedStore::in_memory().unwrap());
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        ));
        let rotator_principal = Principal::parse(ROTATOR).unwrap();
        let keyplane = Keyplane::new(
            store,
            clock.clone(),
            Config {
                admins: vec![Principal::parse(ADMIN).unwrap()],
                usage_reporters: Vec::new(),
                key_env: KeyEnv::Test,
                rotators: vec![rotator_principal.clone()],
            },
        );
        let config = keyplane_aws::testing::emulator(endpoint, Profile::Interactive).await;
        let secrets = SecretsClient::from_sdk_config(&config);
        let rotator = Rotator::new(keyplane.clone(), secrets.clone(), rotator_principal, GRACE);
        Self {
            keyplane,
            clock,
            secrets,
            rotator,
        }
    }

    /// A key whose plaintext sits in a new secret tagged with its id, bound
    /// with rotation as given. Returns the key id, the plaintext and the
    /// secret's ARN.
    async fn bound_key(&self, rotation: bool) -> (KeyId, ApiKey, String) {
        let key =
            secret_rotation::bound_key(&self.keyplane, &self.secrets, &admin(), rotation).await;
        (key.id, key.plaintext, key.arn)
    }

    async fn start_rotation(&self, arn: &str) -> String {
        secret_rotation::start_rotation(&self.secrets, arn).await
    }

    async fn step(&self, step: &str, arn: &str, token: &str) -> Result<(), RotationError> {
        let event = RotationEvent {
            step: step.to_owned(),
            secret_id: arn.to_owned(),
            client_request_token: token.to_owned(),
        };
        self.rotator
            .handle(&event, Some("lambda-request-1".to_owned()))
            .await
    }

    async fn verify(&self, key: &ApiKey) -> VerifyCode {
        self.keyplane
            .verify(VerifyKey::new(ApiKey::from_plaintext(key.expose())))
            .await
            .unwrap()
            .code
    }
}

#[tokio::test]
async fn a_full_rotation_with_every_step_repeated_leaves_one_new_current_secret() {
    let Some(endpoint) = moto_endpoint() else {
        return;
    };
    let setup = Setup::new(&endpoint).await;
    let (id, old, arn) = setup.bound_key(true).await;
    let token = setup.start_rotation(&arn).await;

    for step in STEPS {
        setup.step(step, &arn, &token).await.unwrap();
        setup.step(step, &arn, &token).await.unwrap();
    }

    let current = setup
        .secrets
        .read(&arn, Stage::Current)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(current.version_id, token);
    assert_ne!(current.value.expose(), old.expose());
    assert_eq!(setup.verify(&current.value).await, VerifyCode::Valid);
    let previous = setup
        .secrets
        .read(&arn, Stage::Previous)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(previous.value.expose(), old.expose());
    let described = setup.secrets.describe(&arn).await.unwrap().unwrap();
    assert_eq!(described.version_with(&Stage::Pending), None);

    // Exactly one new secret: the current one, plus the old one in its grace.
    let view = setup.keyplane.get_key(&admin(), &id).await.unwrap();
    assert_eq!(view.hint, current.value.hint());
    assert_eq!(setup.verify(&old).await, VerifyCode::Valid);
    setup.clock.advance(Duration::seconds(i64::from(GRACE) + 1));
    assert_ne!(setup.verify(&old).await, VerifyCode::Valid);
    assert_eq!(setup.verify(&current.value).await, VerifyCode::Valid);

    let audit = setup
        .keyplane
        .audit_log(
            &admin(),
            &view.organization_id,
            AuditQuery {
                cursor: None,
                limit: None,
            },
        )
        .await
        .unwrap();
    // Both events carry the same (manual) time, so their order in the log
    // is not defined: compare them as a set.
    let mut by_rotator: Vec<(&str, Option<&str>)> = audit
        .items
        .iter()
        .filter(|event| event.actor == ROTATOR)
        .map(|event| (event.action.as_str(), event.request_id.as_deref()))
        .collect();
    by_rotator.sort_unstable();
    assert_eq!(
        by_rotator,
        [
            ("key.rotation.finish", Some("lambda-request-1")),
            ("key.rotation.stage", Some("lambda-request-1")),
        ]
    );
}

#[tokio::test]
async fn a_second_rotation_works_like_the_first() {
    let Some(endpoint) = moto_endpoint() else {
        return;
    };
    let setup = Setup::new(&endpoint).await;
    let (_, _, arn) = setup.bound_key(true).await;
    for _ in 0..2 {
        let token = setup.start_rotation(&arn).await;
        for step in STEPS {
            setup.step(step, &arn, &token).await.unwrap();
        }
        let current = setup
            .secrets
            .read(&arn, Stage::Current)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(current.version_id, token);
        assert_eq!(setup.verify(&current.value).await, VerifyCode::Valid);
    }
}

#[tokio::test]
async fn a_key_without_rotation_is_never_rolled() {
    let Some(endpoint) = moto_endpoint() else {
        return;
    };
    let setup = Setup::new(&endpoint).await;
    let (_, old, arn) = setup.bound_key(false).await;
    let token = setup.start_rotation(&arn).await;
    setup.step("createSecret", &arn, &token).await.unwrap();
    let err = setup.step("setSecret", &arn, &token).await.unwrap_err();
    assert_eq!(err.error_type(), "ROTATION_NOT_ENABLED", "{err}");
    // testSecret refuses a pending secret Keyplane never accepted.
    let err = setup.step("testSecret", &arn, &token).await.unwrap_err();
    assert_eq!(err.error_type(), "TestFailed", "{err}");
    let current = setup
        .secrets
        .read(&arn, Stage::Current)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(current.value.expose(), old.expose());
    assert_eq!(setup.verify(&old).await, VerifyCode::Valid);
}

#[tokio::test]
async fn the_guard_refuses_tokens_and_secrets_that_are_not_a_rotation_of_a_bound_key() {
    let Some(endpoint) = moto_endpoint() else {
        return;
    };
    let setup = Setup::new(&endpoint).await;
    let (_, _, arn) = setup.bound_key(true).await;

    // Rotation not started: rotation is off and no version is pending.
    let err = setup
        .step("createSecret", &arn, &token())
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "RotationDisabled", "{err}");

    let started = setup.start_rotation(&arn).await;
    let err = setup
        .step("createSecret", &arn, &token())
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "UnknownVersion", "{err}");
    let err = setup
        .step("rotateSecret", &arn, &started)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "UnknownStep", "{err}");
    let err = setup.step("setSecret", &arn, &started).await.unwrap_err();
    assert_eq!(err.error_type(), "NoPendingValue", "{err}");

    // The AWSCURRENT version is not a pending one, and the step is a no-op.
    let current = setup
        .secrets
        .read(&arn, Stage::Current)
        .await
        .unwrap()
        .unwrap();
    setup
        .step("createSecret", &arn, &current.version_id)
        .await
        .unwrap();

    let missing = format!("{arn}-gone");
    let err = setup
        .step("createSecret", &missing, &started)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "SecretNotFound", "{err}");
}

#[tokio::test]
async fn a_secret_tagged_with_another_key_is_refused_by_keyplane() {
    let Some(endpoint) = moto_endpoint() else {
        return;
    };
    let setup = Setup::new(&endpoint).await;
    let (victim, victim_key, _) = setup.bound_key(true).await;
    let (_, _, arn) = setup.bound_key(true).await;
    // Someone retags the second secret with the first key's id.
    setup
        .secrets
        .sdk()
        .tag_resource()
        .secret_id(&arn)
        .tags(
            aws_sdk_secretsmanager::types::Tag::builder()
                .key(KEY_ID_TAG)
                .value(victim.to_string())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let token = setup.start_rotation(&arn).await;
    setup.step("createSecret", &arn, &token).await.unwrap();
    let err = setup.step("setSecret", &arn, &token).await.unwrap_err();
    assert_eq!(err.error_type(), "SECRET_NOT_BOUND", "{err}");
    assert_eq!(setup.verify(&victim_key).await, VerifyCode::Valid);
}
