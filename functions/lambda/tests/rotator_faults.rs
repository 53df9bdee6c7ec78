//! The rotator when Secrets Manager or Keyplane's store fails in the middle
//! of a step. Both are moto behind one fault-injecting proxy
//! (`keyplane_tests::fault_proxy`), so every call a step makes — the
//! Secrets Manager reads and writes, and Keyplane's DynamoDB reads and
//! transactions — is a point where an outage can start: refused (nothing
//! happened) or, for a write, applied with its answer lost.
//!
//! A clean rotation first records the calls of each step. Then, for each
//! step, on a fresh bound key: the steps before it run, an outage starts at
//! the step's first call, at each write and at the call right after each
//! write, and:
//!
//! - the step fails (never a silent success that skipped its work), and
//!   verify fails closed meanwhile;
//! - once healed, no orphan: every secret the key verifies with is held by
//!   a labelled version of its secret, and the organization still has its
//!   one key;
//! - the rotation run again with the same token (what Secrets Manager does
//!   after a failed step) ends in the state of a clean rotation: the new
//!   secret current in both Secrets Manager and Keyplane, the old one
//!   previous and valid for its grace, nothing pending.
//!
//! The SDK clients make the Lambda retry profile's attempts for both
//! services, with millisecond pauses (the rotator's own client uses the
//! interactive profile for Secrets Manager, whose second-long backoff
//! would only make each outage slower to fail).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use keyplane_api::key_format::{ApiKey, KeyEnv};
use keyplane_api::verify::{VerifyCode, VerifyKey};
use keyplane_aws::Profile;
use keyplane_core::clock::ManualClock;
use keyplane_core::id::KeyId;
use keyplane_core::principal::Principal;
use keyplane_core::store::{KeyQuery, KeyStore};
use keyplane_core::{Caller, Config, ErrorKind, Keyplane};
use keyplane_lambda::rotator::{RotationEvent, Rotator};
use keyplane_secrets::{SecretsClient, Stage};
use keyplane_store::dynamo::schema;
use keyplane_store::DynamoStore;
use keyplane_tests::fault_proxy::FaultProxy;
use keyplane_tests::faults::Fault;
use keyplane_tests::secret_rotation::{self, STEPS};

const ADMIN: &str = "arn:aws:iam::111111111111:user/admin";
const ROTATOR: &str = "arn:aws:iam::111111111111:role/keyplane-rotator";
const GRACE: u32 = 600;

fn admin() -> Caller {
    Caller {
        principal: Principal::parse(ADMIN).unwrap(),
        source: None,
        request_id: None,
    }
}

/// The rotator and Keyplane on moto through the proxy, and the same
/// table and secrets read directly.
struct Rig {
    proxy: FaultProxy,
    /// Keyplane through the proxy: the rotator's, and the one verify
    /// probes during an outage.
    keyplane: Keyplane,
    rotator: Rotator,
    /// Direct to moto, never failing.
    store: DynamoStore,
    secrets: SecretsClient,
    direct: Keyplane,
}

fn keyplane(store: Arc<dyn KeyStore>, clock: Arc<ManualClock>) -> Keyplane {
    Keyplane::new(
        store,
        clock,
        Config {
            admins: vec![Principal::parse(ADMIN).unwrap()],
            usage_reporters: Vec::new(),
            key_env: KeyEnv::Test,
            rotators: vec![Principal::parse(ROTATOR).unwrap()],
        },
    )
}

impl Rig {
    async fn new(moto: &str) -> Self {
        let proxy = FaultProxy::start(moto).await;
        // The Lambda profile's attempts, with millisecond pauses: every
        // fault would otherwise wait out the backoff.
        let through = keyplane_aws::testing::emulator(proxy.url(), Profile::Lambda)
            .await
            .into_builder()
            .retry_config(
                Profile::Lambda
                    .retry_config()
                    .with_initial_backoff(Duration::from_millis(1))
                    .with_max_backoff(Duration::from_millis(5)),
            )
            .build();
        let direct = keyplane_aws::testing::emulator(moto, Profile::Emulator).await;
        let table = format!("keyplane-rotator-faults-{:016x}", rand::random::<u64>());
        let store = DynamoStore::from_sdk_config(&direct, &table);
        schema::create_table(store.client(), &table).await.unwrap();
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        ));
        let faulted = keyplane(
            Arc::new(DynamoStore::from_sdk_config(&through, &table)),
            clock.clone(),
        );
        let rotator = Rotator::new(
            faulted.clone(),
            SecretsClient::from_sdk_config(&through),
            Principal::parse(ROTATOR).unwrap(),
            GRACE,
        );
        Self {
            proxy,
            keyplane: faulted,
            rotator,
            direct: keyplane(Arc::new(store.clone()), clock),
            store,
            secrets: SecretsClient::from_sdk_config(&direct),
        }
    }

    async fn step(
        &self,
        step: &str,
        arn: &str,
        token: &str,
    ) -> Result<(), keyplane_lambda::rotator::RotationError> {
        let event = RotationEvent {
            step: step.to_owned(),
            secret_id: arn.to_owned(),
            client_request_token: token.to_owned(),
        };
        self.rotator
            .handle(&event, Some("lambda-request".into()))
            .await
    }

    /// A key bound to its secret with rotation on, and a rotation started
    /// (`AWSPENDING` added under a new token): (key, its plaintext, secret
    /// ARN, token).
    async fn rotation(&self) -> (KeyId, ApiKey, String, String) {
        let key = secret_rotation::bound_key(&self.direct, &self.secrets, &admin(), true).await;
        let token = secret_rotation::start_rotation(&self.secrets, &key.arn).await;
        (key.id, key.plaintext, key.arn, token)
    }

    async fn verify(&self, key: &ApiKey) -> VerifyCode {
        self.direct
            .verify(VerifyKey::new(ApiKey::from_plaintext(key.expose())))
            .await
            .unwrap()
            .code
    }

    /// No orphan: every secret `id` verifies with is the value of a
    /// labelled version of `arn`, every labelled version that verifies is
    /// `id`'s, and `id` is its organization's only key.
    async fn check_no_orphan(&self, id: &KeyId, arn: &str, what: &str) {
        let key = self.store.get_key(id).await.unwrap().unwrap();
        let described = self.secrets.describe(arn).await.unwrap().unwrap();
        let mut held = Vec::new();
        for version in described.versions.keys() {
            // moto's `RotateSecret` labels a version `AWSPENDING` before
            // `createSecret` gives it a value.
            let Some(value) = self.secrets.read_version(arn, version).await.unwrap() else {
                continue;
            };
            let verdict = self
                .direct
                .verify(VerifyKey::new(ApiKey::from_plaintext(value.value.expose())))
                .await
                .unwrap();
            if verdict.valid {
                assert_eq!(verdict.key_id.as_ref(), Some(id), "{what}");
            }
            held.push(value.value.hash());
        }
        for secret in &key.secrets {
            assert!(
                held.contains(&secret.hash),
                "{what}: key {id} verifies with a secret no version of {arn} holds"
            );
        }
        let listed = self
            .store
            .list_keys(&KeyQuery {
                organization_id: key.organization_id.clone(),
                workspace_id: None,
                status: None,
                created_by: None,
                cursor: None,
                limit: 10,
            })
            .await
            .unwrap();
        assert_eq!(listed.items.len(), 1, "{what}: a second key appeared");
    }

    /// The state of a clean rotation with `token`.
    async fn check_rotated(&self, id: &KeyId, old: &ApiKey, arn: &str, token: &str, what: &str) {
        let current = self
            .secrets
            .read(arn, Stage::Current)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(current.version_id, token, "{what}");
        assert_ne!(current.value.expose(), old.expose(), "{what}");
        assert_eq!(
            self.verify(&current.value).await,
            VerifyCode::Valid,
            "{what}"
        );
        assert_eq!(
            self.verify(old).await,
            VerifyCode::Valid,
            "{what}: old in grace"
        );
        let previous = self
            .secrets
            .read(arn, Stage::Previous)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(previous.value.expose(), old.expose(), "{what}");
        let described = self.secrets.describe(arn).await.unwrap().unwrap();
        assert_eq!(described.version_with(&Stage::Pending), None, "{what}");
        let key = self.store.get_key(id).await.unwrap().unwrap();
        assert_eq!(key.hint, current.value.hint(), "{what}");
        assert_eq!(key.secrets.len(), 2, "{what}: {:?}", key.secrets);
        assert!(
            key.secret.as_ref().is_some_and(|b| b.pending.is_none()),
            "{what}: a rotation is still staged"
        );
    }
}

fn is_write(call: &str) -> bool {
    matches!(
        call,
        "PutSecretValue"
            | "UpdateSecretVersionStage"
            | "TransactWriteItems"
            | "UpdateItem"
            | "PutItem"
            | "DeleteItem"
    )
}

/// The step's first call, each write (refused, and applied with its
/// answer lost), and the call right after each write.
fn fault_points(calls: &[String]) -> Vec<(usize, Fault)> {
    let mut points = Vec::new();
    for (i, call) in calls.iter().enumerate() {
        let after_write = i > 0 && is_write(&calls[i - 1]);
        if i == 0 || after_write || is_write(call) {
            points.push((i + 1, Fault::Refuse));
        }
        if is_write(call) {
            points.push((i + 1, Fault::LoseAnswer));
        }
    }
    points
}

#[tokio::test]
async fn every_rotation_step_survives_an_outage_at_each_call_and_resumes() {
    let Some(moto) = keyplane_aws::testing::moto_endpoint("rotator faults") else {
        return;
    };
    let rig = Rig::new(&moto).await;

    // A clean rotation: the calls of each step.
    let (id, old, arn, token) = rig.rotation().await;
    let mut calls = Vec::new();
    for step in STEPS {
        let mark = rig.proxy.faults().mark();
        rig.step(step, &arn, &token).await.unwrap();
        calls.push(rig.proxy.faults().calls_since(mark));
    }
    rig.check_rotated(&id, &old, &arn, &token, "clean rotation")
        .await;
    rig.check_no_orphan(&id, &arn, "clean rotation").await;

    let mut scenarios = 0;
    for (index, step) in STEPS.iter().enumerate() {
        eprintln!("{step}: {:?}", calls[index]);
        for (nth, fault) in fault_points(&calls[index]) {
            let what = format!(
                "{step}, {fault:?} from call {nth} ({})",
                calls[index][nth - 1]
            );
            let (id, old, arn, token) = rig.rotation().await;
            for before in &STEPS[..index] {
                rig.step(before, &arn, &token).await.unwrap();
            }
            rig.proxy.faults().fail_from(nth, fault);
            let outcome = rig.step(step, &arn, &token).await;
            assert!(
                !rig.proxy.faults().failed().is_empty(),
                "{what}: nothing failed"
            );
            assert!(outcome.is_err(), "{what}: the step succeeded");
            match rig
                .keyplane
                .verify(VerifyKey::new(ApiKey::from_plaintext(old.expose())))
                .await
            {
                Err(err) => assert_eq!(err.kind, ErrorKind::Unavailable, "{what}: {err:?}"),
                Ok(verdict) => panic!("{what}: verify answered {verdict:?} during the outage"),
            }
            rig.proxy.faults().heal();

            rig.check_no_orphan(&id, &arn, &what).await;
            for again in STEPS {
                rig.step(again, &arn, &token)
                    .await
                    .unwrap_or_else(|err| panic!("{what}: {again} again: {err}"));
            }
            rig.check_rotated(&id, &old, &arn, &token, &what).await;
            scenarios += 1;
        }
    }
    eprintln!("{scenarios} faults, each resumed");
}
