//! The Secrets Manager rotation function for secrets holding Keyplane keys.
//!
//! Secrets Manager starts a rotation by adding a version (id = the
//! `ClientRequestToken`) labelled `AWSPENDING`, then calls this function
//! once per step:
//!
//! - `createSecret`: mint a new key plaintext and store it as that
//!   `AWSPENDING` version. The plaintext is written to the secret *before*
//!   Keyplane learns of it, so a step that fails half-way leaves nothing to
//!   lose: a retry finds the stored value and goes on with it.
//! - `setSecret`: stage its hash on the key ([`Keyplane::stage_rotation`]);
//!   it verifies from now on, next to the current secret.
//! - `testSecret`: verify the pending key; it must be `VALID` for this key.
//! - `finishSecret`: move `AWSCURRENT` to the new version (Secrets Manager
//!   puts `AWSPREVIOUS` on the old one), make the new secret current in
//!   Keyplane, whose grace for the old secret starts now
//!   ([`Keyplane::finish_rotation`]), and take `AWSPENDING` off.
//!
//! Every step is safe to repeat. Only a key bound to the rotated secret,
//! with rotation turned on, is ever rolled; the key is found by the
//! secret's [`KEY_ID_TAG`] and Keyplane checks the binding. The function
//! acts as the configured rotation principal, which the audit log names.

mod config;

pub use config::{
    RotatorConfig, RotatorFunctionConfig, KEYPLANE_ROTATION_GRACE_SECONDS,
    KEYPLANE_ROTATION_PRINCIPAL,
};

use std::sync::Arc;

use keyplane_api::key_format::{ApiKey, KeyEnv};
use keyplane_core::clock::SystemClock;
use keyplane_core::id::KeyId;
use keyplane_core::principal::Principal;
use keyplane_core::service::{Rotation, VerifyKey};
use keyplane_core::Config;
use keyplane_core::{Caller, Keyplane};
use keyplane_secrets::{SecretDescription, SecretsClient, SecretsError, Stage, KEY_ID_TAG};
use keyplane_store::DynamoStore;
use serde::Deserialize;

/// The event Secrets Manager sends for each rotation step.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationEvent {
    /// `createSecret`, `setSecret`, `testSecret` or `finishSecret`.
    pub step: String,
    /// ARN (or name) of the secret being rotated.
    pub secret_id: String,
    /// The id of the version the rotation creates.
    pub client_request_token: String,
}

/// One step of the rotation contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Store a new secret as `AWSPENDING`.
    Create,
    /// Make the pending secret known to Keyplane.
    Set,
    /// Check the pending secret verifies.
    Test,
    /// Make the pending secret current.
    Finish,
}

impl Step {
    /// The step Secrets Manager names.
    pub fn parse(name: &str) -> Result<Self, RotationError> {
        match name {
            "createSecret" => Ok(Self::Create),
            "setSecret" => Ok(Self::Set),
            "testSecret" => Ok(Self::Test),
            "finishSecret" => Ok(Self::Finish),
            other => Err(RotationError::UnknownStep(
                keyplane_core::validate::printable(other),
            )),
        }
    }
}

/// Why a step failed. Secrets Manager records the message on the rotation
/// and retries; none of them contain a plaintext.
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    /// The event names a step this contract does not have.
    #[error(
        "unknown rotation step `{0}`: expected createSecret, setSecret, testSecret or finishSecret"
    )]
    UnknownStep(String),
    /// The secret does not exist (or was deleted).
    #[error("secret `{0}` does not exist")]
    SecretNotFound(String),
    /// Rotation is off on the secret.
    #[error("rotation is not enabled on secret {0}")]
    RotationDisabled(String),
    /// The token is not a version of the secret.
    #[error("version {token} is not a version of secret {secret}: only Secrets Manager (RotateSecret) starts a rotation")]
    UnknownVersion {
        /// The secret's ARN.
        secret: String,
        /// The event's token.
        token: String,
    },
    /// The token's version is not the pending one.
    #[error("version {token} of secret {secret} is not AWSPENDING: a newer rotation replaced it, or this one ended")]
    NotPending {
        /// The secret's ARN.
        secret: String,
        /// The event's token.
        token: String,
    },
    /// The secret does not say which key it holds.
    #[error("secret {secret} has no valid `{KEY_ID_TAG}` tag naming the Keyplane key it holds")]
    NoKeyTag {
        /// The secret's ARN.
        secret: String,
    },
    /// A version that should hold a Keyplane key does not.
    #[error("the {stage} version of secret {secret} does not hold a Keyplane key")]
    NotAKey {
        /// The secret's ARN.
        secret: String,
        /// Which version.
        stage: &'static str,
    },
    /// `setSecret`, `testSecret` or `finishSecret` ran before `createSecret` stored a value.
    #[error("version {token} of secret {secret} has no value yet: createSecret has not completed")]
    NoPendingValue {
        /// The secret's ARN.
        secret: String,
        /// The event's token.
        token: String,
    },
    /// The pending key does not verify as this key.
    #[error("the pending secret of key {key_id} does not verify: {code}")]
    TestFailed {
        /// The key being rotated.
        key_id: String,
        /// The verify code.
        code: String,
    },
    /// Secrets Manager failed or refused.
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    /// Keyplane refused or its store failed.
    #[error("Keyplane refused the rotation: {} ({})", .0.message, .0.code)]
    Keyplane(#[from] keyplane_core::Error),
}

impl RotationError {
    /// A stable name for the Lambda error's `errorType`, which Secrets
    /// Manager shows next to the failed rotation.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::UnknownStep(_) => "UnknownStep",
            Self::SecretNotFound(_) => "SecretNotFound",
            Self::RotationDisabled(_) => "RotationDisabled",
            Self::UnknownVersion { .. } => "UnknownVersion",
            Self::NotPending { .. } => "NotPending",
            Self::NoKeyTag { .. } => "NoKeyTag",
            Self::NotAKey { .. } => "NotAKey",
            Self::NoPendingValue { .. } => "NoPendingValue",
            Self::TestFailed { .. } => "TestFailed",
            Self::Secrets(_) => "SecretsManagerError",
            Self::Keyplane(err) => err.code,
        }
    }
}

impl From<RotationError> for lambda_runtime::Diagnostic {
    fn from(err: RotationError) -> Self {
        tracing::error!(error_type = err.error_type(), error = %err, "rotation step failed");
        Self {
            error_type: err.error_type().to_owned(),
            error_message: err.to_string(),
        }
    }
}

/// The rotation function's state: built once per container.
#[derive(Debug, Clone)]
pub struct Rotator {
    keyplane: Keyplane,
    secrets: SecretsClient,
    principal: Principal,
    grace_seconds: u32,
}

/// What one invocation works on, once the guard has passed.
struct Target<'a> {
    secret: SecretDescription,
    key_id: KeyId,
    token: &'a str,
    caller: Caller,
}

impl Rotator {
    /// A rotator acting as `principal`, which must be one of the
    /// `rotators` in `keyplane`'s configuration.
    pub fn new(
        keyplane: Keyplane,
        secrets: SecretsClient,
        principal: Principal,
        grace_seconds: u32,
    ) -> Self {
        Self {
            keyplane,
            secrets,
            principal,
            grace_seconds,
        }
    }

    /// The rotator for a Lambda container, from its validated
    /// configuration; AWS settings from the standard environment. It only
    /// ever calls the rotation use cases: the admins are there so that the
    /// policy check on whoever turned rotation on sees the same platform
    /// admins as the API does.
    pub async fn from_config(config: &RotatorFunctionConfig) -> Self {
        let store = Arc::new(DynamoStore::from_env(config.common.table.clone()).await);
        let rotation = config.rotation.clone();
        let keyplane = Keyplane::new(
            store,
            Arc::new(SystemClock),
            Config {
                admins: config.admins.clone(),
                usage_reporters: Vec::new(),
                // Unused: a rotation mints in the environment of the key it
                // replaces.
                key_env: KeyEnv::Live,
                rotators: vec![rotation.principal.clone()],
            },
        );
        Self::new(
            keyplane,
            SecretsClient::from_env().await,
            rotation.principal,
            rotation.grace_seconds,
        )
    }

    /// Runs one step. `request_id` is the Lambda request id, for the audit log.
    pub async fn handle(
        &self,
        event: &RotationEvent,
        request_id: Option<String>,
    ) -> Result<(), RotationError> {
        let step = Step::parse(&event.step)?;
        let token = event.client_request_token.as_str();
        let secret = self
            .secrets
            .describe(&event.secret_id)
            .await?
            .filter(|secret| secret.deleted_date.is_none())
            .ok_or_else(|| {
                RotationError::SecretNotFound(keyplane_core::validate::printable_long(
                    &event.secret_id,
                ))
            })?;
        if !secret.rotation_enabled {
            return Err(RotationError::RotationDisabled(secret.arn));
        }
        let Some(stages) = secret.versions.get(token) else {
            return Err(RotationError::UnknownVersion {
                secret: secret.arn,
                token: keyplane_core::validate::printable(token),
            });
        };
        let current = stages.contains(&Stage::Current);
        if current && step != Step::Finish {
            tracing::info!(secret = %secret.arn, ?step, "version is already AWSCURRENT; nothing to do");
            return Ok(());
        }
        if !current && !stages.contains(&Stage::Pending) {
            return Err(RotationError::NotPending {
                secret: secret.arn,
                token: keyplane_core::validate::printable(token),
            });
        }
        let key_id = secret
            .tags
            .get(KEY_ID_TAG)
            .and_then(|id| KeyId::parse(id).ok())
            .ok_or_else(|| RotationError::NoKeyTag {
                secret: secret.arn.clone(),
            })?;
        let target = Target {
            secret,
            key_id,
            token,
            caller: Caller {
                principal: self.principal.clone(),
                source: Some("secretsmanager-rotation".to_owned()),
                request_id,
            },
        };
        tracing::info!(secret = %target.secret.arn, key_id = %target.key_id, ?step, "rotation step");
        match step {
            Step::Create => self.create(&target).await,
            Step::Set => self.set(&target).await,
            Step::Test => self.test(&target).await,
            Step::Finish => self.finish(&target).await,
        }
    }

    async fn create(&self, target: &Target<'_>) -> Result<(), RotationError> {
        let arn = target.secret.arn.as_str();
        if self.pending_value(target).await?.is_some() {
            return Ok(());
        }
        let current = self
            .secrets
            .read(arn, Stage::Current)
            .await?
            .ok_or_else(|| RotationError::NotAKey {
                secret: arn.to_owned(),
                stage: "AWSCURRENT",
            })?;
        // The new key lives in the same environment as the one it replaces.
        let env = current.value.check().map_err(|_| RotationError::NotAKey {
            secret: arn.to_owned(),
            stage: "AWSCURRENT",
        })?;
        let fresh = ApiKey::mint(env);
        match self
            .secrets
            .put_version(arn, &fresh, target.token, &[Stage::Pending])
            .await
        {
            Ok(_) => Ok(()),
            // A concurrent run of this step stored its value first; theirs
            // is the one every later step reads.
            Err(SecretsError::TokenReused { .. }) => Ok(()),
            Err(other) => Err(other.into()),
        }
    }

    async fn set(&self, target: &Target<'_>) -> Result<(), RotationError> {
        let pending = self.required_pending(target).await?;
        self.keyplane
            .stage_rotation(&target.caller, &target.key_id, rotation(target), &pending)
            .await?;
        Ok(())
    }

    async fn test(&self, target: &Target<'_>) -> Result<(), RotationError> {
        let pending = self.required_pending(target).await?;
        let verdict = self
            .keyplane
            .verify(VerifyKey {
                key: pending,
                permissions: Vec::new(),
                workspace_id: None,
                cost: None,
            })
            .await?;
        if verdict.valid && verdict.key_id.as_ref() == Some(&target.key_id) {
            return Ok(());
        }
        Err(RotationError::TestFailed {
            key_id: target.key_id.to_string(),
            code: if verdict.valid {
                "another key".to_owned()
            } else {
                verdict.code.as_str().to_owned()
            },
        })
    }

    async fn finish(&self, target: &Target<'_>) -> Result<(), RotationError> {
        let arn = target.secret.arn.as_str();
        let pending = self.required_pending(target).await?;
        let current = target.secret.version_with(&Stage::Current);
        if current != Some(target.token) {
            self.secrets
                .move_stage(arn, Stage::Current, target.token, current)
                .await?;
        }
        // After the label moved, so that the old secret's grace starts only
        // once clients are reading the new one.
        self.keyplane
            .finish_rotation(
                &target.caller,
                &target.key_id,
                rotation(target),
                &pending,
                self.grace_seconds,
            )
            .await?;
        let still_pending = target
            .secret
            .versions
            .get(target.token)
            .is_some_and(|stages| stages.contains(&Stage::Pending));
        if still_pending {
            self.secrets
                .remove_stage(arn, Stage::Pending, target.token)
                .await?;
        }
        tracing::info!(secret = %arn, key_id = %target.key_id, grace_seconds = self.grace_seconds, "rotation finished");
        Ok(())
    }

    /// The value stored under the rotation's version, if any yet.
    async fn pending_value(&self, target: &Target<'_>) -> Result<Option<ApiKey>, RotationError> {
        let Some(found) = self
            .secrets
            .read_version(&target.secret.arn, target.token)
            .await?
        else {
            return Ok(None);
        };
        found.value.check().map_err(|_| RotationError::NotAKey {
            secret: target.secret.arn.clone(),
            stage: "AWSPENDING",
        })?;
        Ok(Some(found.value))
    }

    async fn required_pending(&self, target: &Target<'_>) -> Result<ApiKey, RotationError> {
        self.pending_value(target)
            .await?
            .ok_or_else(|| RotationError::NoPendingValue {
                secret: target.secret.arn.clone(),
                token: target.token.to_owned(),
            })
    }
}

fn rotation<'a>(target: &'a Target<'_>) -> Rotation<'a> {
    Rotation {
        secret_arn: &target.secret.arn,
        token: target.token,
    }
}
