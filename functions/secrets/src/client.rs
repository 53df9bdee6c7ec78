//! [`SecretsClient`]: the handful of Secrets Manager calls Keyplane needs,
//! with idempotent writes and errors sorted by what to do about them.

use std::collections::BTreeMap;
use std::time::SystemTime;

use aws_config::SdkConfig;
use aws_sdk_secretsmanager::types::{RotationRulesType, Tag};
use aws_sdk_secretsmanager::Client;
use keyplane_aws::{endpoint_override, Profile, Service};
use keyplane_core::key_format::ApiKey;

use crate::error::{Call, SecretsError};
use crate::stage::Stage;
use crate::types::{
    NewSecret, Recovery, RotationSchedule, SecretDescription, SecretValue, SecretVersion,
};
use crate::validate;

/// Reads and writes Keyplane's keys in Secrets Manager.
///
/// Cheap to clone (the SDK client is reference-counted). Plaintext only
/// enters as `&ApiKey` and leaves inside [`SecretValue`]; nothing here logs
/// or formats it.
#[derive(Debug, Clone)]
pub struct SecretsClient {
    sdk: Client,
}

impl SecretsClient {
    /// Wraps an SDK client configured by the caller.
    pub fn new(sdk: Client) -> Self {
        Self { sdk }
    }

    /// Fails fast when no region is configured: the SDK would only report
    /// it as an opaque dispatch failure, indistinguishable from a network
    /// error, after building the request.
    fn configured(&self) -> Result<(), SecretsError> {
        if self.sdk.config().region().is_none() {
            return Err(SecretsError::InvalidRequest(
                "no AWS region is configured: set AWS_REGION (or a region in the AWS profile)"
                    .to_owned(),
            ));
        }
        Ok(())
    }

    /// A client from the standard AWS environment (`AWS_REGION`,
    /// `AWS_PROFILE`, the credential chain, `AWS_ENDPOINT_URL`,
    /// `AWS_ENDPOINT_URL_SECRETS_MANAGER`, …) with the retries and timeouts
    /// of [`Profile::Interactive`]: the provider and the rotation steps
    /// should fail within seconds rather than hang. Writes are safe to
    /// retry because each carries a client request token.
    pub async fn from_env() -> Self {
        Self::from_sdk_config(&keyplane_aws::load(Profile::Interactive).await)
    }

    /// A client from an already loaded configuration, e.g. one from
    /// [`keyplane_aws::loader`] with a test endpoint:
    ///
    /// ```no_run
    /// # async fn demo() {
    /// let config = keyplane_aws::loader(keyplane_aws::Profile::Interactive)
    ///     .endpoint_url("http://127.0.0.1:5000")
    ///     .load()
    ///     .await;
    /// let client = keyplane_secrets::SecretsClient::from_sdk_config(&config);
    /// # }
    /// ```
    ///
    /// A blank `AWS_ENDPOINT_URL` or `AWS_ENDPOINT_URL_SECRETS_MANAGER`
    /// (easy to leave behind in a shell or CI file) makes the SDK panic on
    /// the first request; here it counts as unset, with a warning.
    pub fn from_sdk_config(config: &SdkConfig) -> Self {
        let mut builder = aws_sdk_secretsmanager::config::Builder::from(config);
        endpoint_override(config, Service::SECRETS_MANAGER).apply(|url| {
            builder.set_endpoint_url(url);
        });
        Self::new(Client::from_conf(builder.build()))
    }

    /// The underlying SDK client, for calls this module does not wrap.
    pub fn sdk(&self) -> &Client {
        &self.sdk
    }

    /// Creates secret `name` whose first version (labelled `AWSCURRENT`)
    /// holds `value`, with `client_request_token` as its version id.
    ///
    /// Idempotent: repeating the call with the same token and value returns
    /// the same version, so a create interrupted by a timeout can simply be
    /// retried. The same token with a different value is
    /// [`SecretsError::TokenReused`]; a name taken by anything else is
    /// [`SecretsError::AlreadyExists`].
    pub async fn create(
        &self,
        name: &str,
        value: &ApiKey,
        client_request_token: &str,
        description: Option<&str>,
        tags: &[(String, String)],
    ) -> Result<SecretVersion, SecretsError> {
        let spec = NewSecret {
            description,
            kms_key_id: None,
            tags,
        };
        self.create_with(name, value, client_request_token, &spec)
            .await
    }

    /// [`create`](Self::create), encrypted with a customer KMS key when
    /// `spec` names one (else Secrets Manager's `aws/secretsmanager` key).
    pub async fn create_with(
        &self,
        name: &str,
        value: &ApiKey,
        client_request_token: &str,
        spec: &NewSecret<'_>,
    ) -> Result<SecretVersion, SecretsError> {
        let NewSecret {
            description,
            kms_key_id,
            tags,
        } = *spec;
        self.configured()?;
        validate::name(name)?;
        validate::token(client_request_token)?;
        let call = Call {
            operation: "CreateSecret",
            secret_id: name,
        };
        let tags = tags
            .iter()
            .map(|(key, value)| Tag::builder().key(key).value(value).build())
            .collect::<Vec<_>>();
        let result = self
            .sdk
            .create_secret()
            .name(name)
            .secret_string(value.expose())
            .client_request_token(client_request_token)
            .set_description(description.map(str::to_owned))
            .set_kms_key_id(kms_key_id.map(str::to_owned))
            .set_tags((!tags.is_empty()).then_some(tags))
            .send()
            .await;
        match result {
            Ok(out) => {
                let version = written(
                    call,
                    out.arn(),
                    out.name(),
                    out.version_id(),
                    client_request_token,
                )?;
                tracing::debug!(secret = %version.arn, version_id = %version.version_id, "created secret");
                Ok(version)
            }
            Err(err) => match call.fail(err) {
                SecretsError::AlreadyExists { name } => {
                    Err(self.explain_conflict(&name, client_request_token).await)
                }
                other => Err(other),
            },
        }
    }

    /// After `ResourceExistsException` on create: Secrets Manager accepts
    /// the same token with the same value, so if the token names a version
    /// of this secret the value must differ; otherwise the name is simply
    /// taken. Reads metadata only, never the stored value.
    async fn explain_conflict(&self, name: &str, token: &str) -> SecretsError {
        match self.describe_all(name).await {
            Ok(Some(found)) if found.versions.contains_key(token) => SecretsError::TokenReused {
                secret_id: name.to_owned(),
                token: token.to_owned(),
            },
            // Not ours, gone again, or not describable: report the clash.
            _ => SecretsError::AlreadyExists {
                name: name.to_owned(),
            },
        }
    }

    /// Adds a version holding `value` to an existing secret, with
    /// `client_request_token` as its version id and `stages` as its labels.
    ///
    /// With no stages Secrets Manager labels the new version `AWSCURRENT`
    /// (moving the old one to `AWSPREVIOUS`); pass [`Stage::Pending`] to
    /// stage a rotation without making it live. Idempotent with the token,
    /// like [`create`](Self::create).
    pub async fn put_version(
        &self,
        secret_id: &str,
        value: &ApiKey,
        client_request_token: &str,
        stages: &[Stage],
    ) -> Result<SecretVersion, SecretsError> {
        self.configured()?;
        validate::secret_id(secret_id)?;
        validate::token(client_request_token)?;
        for stage in stages {
            stage.validate()?;
        }
        let call = Call {
            operation: "PutSecretValue",
            secret_id,
        };
        let out = self
            .sdk
            .put_secret_value()
            .secret_id(secret_id)
            .secret_string(value.expose())
            .client_request_token(client_request_token)
            .set_version_stages(
                (!stages.is_empty())
                    .then(|| stages.iter().map(|s| s.as_str().to_owned()).collect()),
            )
            .send()
            .await
            .map_err(|err| match call.fail(err) {
                // On PutSecretValue this code only ever means the token
                // already names a version with another value.
                SecretsError::AlreadyExists { .. } => SecretsError::TokenReused {
                    secret_id: secret_id.to_owned(),
                    token: client_request_token.to_owned(),
                },
                other => other,
            })?;
        let version = written(
            call,
            out.arn(),
            out.name(),
            out.version_id(),
            client_request_token,
        )?;
        tracing::debug!(secret = %version.arn, version_id = %version.version_id, ?stages, "put secret version");
        Ok(version)
    }

    /// The version of `secret_id` labelled `stage`, or `None` when the
    /// secret does not exist or no version carries that label.
    ///
    /// The label is always sent explicitly (moto needs it even for
    /// `AWSCURRENT`). A secret scheduled for deletion is an
    /// [`SecretsError::InvalidRequest`], not `None`: it can still be
    /// restored, and [`describe`](Self::describe) shows when it goes.
    pub async fn read(
        &self,
        secret_id: &str,
        stage: Stage,
    ) -> Result<Option<SecretValue>, SecretsError> {
        self.configured()?;
        validate::secret_id(secret_id)?;
        stage.validate()?;
        let request = self
            .sdk
            .get_secret_value()
            .secret_id(secret_id)
            .version_stage(stage.as_str());
        self.get_value(secret_id, request).await
    }

    /// Version `version_id` of `secret_id`, labelled or not, or `None` when
    /// either does not exist.
    pub async fn read_version(
        &self,
        secret_id: &str,
        version_id: &str,
    ) -> Result<Option<SecretValue>, SecretsError> {
        self.configured()?;
        validate::secret_id(secret_id)?;
        validate::token(version_id)?;
        let request = self
            .sdk
            .get_secret_value()
            .secret_id(secret_id)
            .version_id(version_id);
        self.get_value(secret_id, request).await
    }

    async fn get_value(
        &self,
        secret_id: &str,
        request: aws_sdk_secretsmanager::operation::get_secret_value::builders::GetSecretValueFluentBuilder,
    ) -> Result<Option<SecretValue>, SecretsError> {
        let call = Call {
            operation: "GetSecretValue",
            secret_id,
        };
        let out = match request.send().await {
            Ok(out) => out,
            Err(err) => {
                return match call.fail(err) {
                    SecretsError::NotFound { .. } => Ok(None),
                    other => Err(other),
                }
            }
        };
        let version_id = required(call, out.version_id(), "VersionId")?;
        let stages = out
            .version_stages()
            .iter()
            .map(|label| Stage::from_aws(label))
            .collect();
        // Take the string out of the output rather than copying it, so the
        // only long-lived copy is the zeroizing ApiKey.
        let Some(text) = out.secret_string else {
            return Err(SecretsError::InvalidRequest(format!(
                "version {version_id} of secret `{secret_id}` holds binary data, not a Keyplane key"
            )));
        };
        tracing::debug!(secret_id, %version_id, "read secret version");
        Ok(Some(SecretValue {
            value: ApiKey::from_plaintext(text),
            version_id,
            stages,
        }))
    }

    /// Moves label `stage` onto version `to_version`, taking it off
    /// `from_version` (`UpdateSecretVersionStage`).
    ///
    /// Secrets Manager requires `from_version` whenever the label is already
    /// on another version (always, for `AWSCURRENT`), and when
    /// `AWSCURRENT` moves it puts `AWSPREVIOUS` on the version it left.
    pub async fn move_stage(
        &self,
        secret_id: &str,
        stage: Stage,
        to_version: &str,
        from_version: Option<&str>,
    ) -> Result<(), SecretsError> {
        self.configured()?;
        validate::secret_id(secret_id)?;
        stage.validate()?;
        validate::token(to_version)?;
        if let Some(from) = from_version {
            validate::token(from)?;
        }
        self.update_stage(secret_id, &stage, Some(to_version), from_version)
            .await?;
        tracing::debug!(secret_id, %stage, to_version, ?from_version, "moved staging label");
        Ok(())
    }

    /// Takes label `stage` off `version_id` (`UpdateSecretVersionStage`
    /// with no target), as a rotation's last step does with `AWSPENDING`.
    /// Taking off a label the version no longer carries is harmless.
    pub async fn remove_stage(
        &self,
        secret_id: &str,
        stage: Stage,
        version_id: &str,
    ) -> Result<(), SecretsError> {
        self.configured()?;
        validate::secret_id(secret_id)?;
        stage.validate()?;
        validate::token(version_id)?;
        self.update_stage(secret_id, &stage, None, Some(version_id))
            .await?;
        tracing::debug!(secret_id, %stage, version_id, "removed staging label");
        Ok(())
    }

    /// One `UpdateSecretVersionStage`: puts `stage` on `to` and/or takes it
    /// off `from`.
    async fn update_stage(
        &self,
        secret_id: &str,
        stage: &Stage,
        to: Option<&str>,
        from: Option<&str>,
    ) -> Result<(), SecretsError> {
        self.sdk
            .update_secret_version_stage()
            .secret_id(secret_id)
            .version_stage(stage.as_str())
            .set_move_to_version_id(to.map(str::to_owned))
            .set_remove_from_version_id(from.map(str::to_owned))
            .send()
            .await
            .map(|_| ())
            .map_err(|err| {
                Call {
                    operation: "UpdateSecretVersionStage",
                    secret_id,
                }
                .fail(err)
            })
    }

    /// The secret's metadata and labelled versions, or `None` if it does not
    /// exist. A secret scheduled for deletion is still described, with
    /// `deleted_date` set.
    pub async fn describe(
        &self,
        secret_id: &str,
    ) -> Result<Option<SecretDescription>, SecretsError> {
        self.configured()?;
        validate::secret_id(secret_id)?;
        let mut found = self.describe_all(secret_id).await?;
        if let Some(description) = found.as_mut() {
            description.versions.retain(|_, stages| !stages.is_empty());
        }
        Ok(found)
    }

    /// `describe` including versions with no labels, which some services
    /// (moto) report and which still count when checking a token.
    async fn describe_all(
        &self,
        secret_id: &str,
    ) -> Result<Option<SecretDescription>, SecretsError> {
        let call = Call {
            operation: "DescribeSecret",
            secret_id,
        };
        let out = match self.sdk.describe_secret().secret_id(secret_id).send().await {
            Ok(out) => out,
            Err(err) => {
                return match call.fail(err) {
                    SecretsError::NotFound { .. } => Ok(None),
                    other => Err(other),
                }
            }
        };
        let versions: BTreeMap<String, Vec<Stage>> = out
            .version_ids_to_stages()
            .into_iter()
            .flatten()
            .map(|(version_id, labels)| {
                let mut stages: Vec<Stage> = labels.iter().map(|l| Stage::from_aws(l)).collect();
                stages.sort();
                (version_id.clone(), stages)
            })
            .collect();
        Ok(Some(SecretDescription {
            arn: required(call, out.arn(), "ARN")?,
            name: required(call, out.name(), "Name")?,
            versions,
            deleted_date: out
                .deleted_date()
                .and_then(|date| SystemTime::try_from(*date).ok()),
            rotation_enabled: out.rotation_enabled().unwrap_or(false),
            tags: out
                .tags()
                .iter()
                .filter_map(|tag| Some((tag.key()?.to_owned(), tag.value()?.to_owned())))
                .collect(),
        }))
    }

    /// Takes every label off `version_id`, leaving it deprecated: the way
    /// to retire one version, as Secrets Manager cannot delete a single
    /// version (it drops unlabelled ones eventually). Returns the labels
    /// removed; none if the version had none or does not exist, so a
    /// repeated call is harmless.
    ///
    /// Refuses a version labelled `AWSCURRENT`, because a secret must keep
    /// a current version: move the label first with
    /// [`move_stage`](Self::move_stage), or delete the whole secret. Not
    /// atomic: labels moved concurrently by someone else between the
    /// describe and the updates are left alone or reported as errors.
    pub async fn remove_version_stages(
        &self,
        secret_id: &str,
        version_id: &str,
    ) -> Result<Vec<Stage>, SecretsError> {
        self.configured()?;
        validate::secret_id(secret_id)?;
        validate::token(version_id)?;
        let Some(description) = self.describe_all(secret_id).await? else {
            return Err(SecretsError::NotFound {
                secret_id: secret_id.to_owned(),
            });
        };
        let stages = description
            .versions
            .get(version_id)
            .cloned()
            .unwrap_or_default();
        if stages.contains(&Stage::Current) {
            return Err(SecretsError::InvalidRequest(format!(
                "version {version_id} is the AWSCURRENT version of `{secret_id}`: move AWSCURRENT \
                 to another version first (move_stage), or delete the secret"
            )));
        }
        for stage in &stages {
            self.update_stage(secret_id, stage, None, Some(version_id))
                .await?;
        }
        tracing::debug!(secret_id, version_id, ?stages, "removed staging labels");
        Ok(stages)
    }

    /// Deletes the whole secret, at once ([`Recovery::Force`]) or after a
    /// recovery window ([`Recovery::Days`]).
    pub async fn delete(&self, secret_id: &str, recovery: Recovery) -> Result<(), SecretsError> {
        self.configured()?;
        validate::secret_id(secret_id)?;
        recovery.validate()?;
        let request = self.sdk.delete_secret().secret_id(secret_id);
        let request = match recovery {
            Recovery::Force => request.force_delete_without_recovery(true),
            Recovery::Days(days) => request.recovery_window_in_days(i64::from(days)),
        };
        request.send().await.map_err(|err| {
            Call {
                operation: "DeleteSecret",
                secret_id,
            }
            .fail(err)
        })?;
        tracing::debug!(secret_id, ?recovery, "deleted secret");
        Ok(())
    }

    /// Turns on rotation of `secret_id` by the rotation function
    /// `lambda_arn` on `schedule`, without rotating now: Secrets Manager
    /// only checks the function with its `testSecret` step.
    pub async fn schedule_rotation(
        &self,
        secret_id: &str,
        lambda_arn: &str,
        schedule: &RotationSchedule,
    ) -> Result<(), SecretsError> {
        self.configured()?;
        validate::secret_id(secret_id)?;
        let rules = RotationRulesType::builder()
            .set_automatically_after_days(schedule.after_days)
            .set_schedule_expression(schedule.expression.clone())
            .build();
        self.sdk
            .rotate_secret()
            .secret_id(secret_id)
            .rotation_lambda_arn(lambda_arn)
            .rotation_rules(rules)
            .rotate_immediately(false)
            .send()
            .await
            .map_err(|err| {
                Call {
                    operation: "RotateSecret",
                    secret_id,
                }
                .fail(err)
            })?;
        tracing::debug!(secret_id, lambda_arn, "scheduled rotation");
        Ok(())
    }

    /// Turns rotation of `secret_id` off; a rotation in progress is left to
    /// finish or fail.
    pub async fn cancel_rotation(&self, secret_id: &str) -> Result<(), SecretsError> {
        self.configured()?;
        validate::secret_id(secret_id)?;
        self.sdk
            .cancel_rotate_secret()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|err| {
                Call {
                    operation: "CancelRotateSecret",
                    secret_id,
                }
                .fail(err)
            })?;
        Ok(())
    }

    /// Adds (or overwrites) tags on an existing secret, e.g.
    /// [`KEY_ID_TAG`](crate::KEY_ID_TAG) when a key is written into a secret
    /// that someone else created.
    pub async fn tag(
        &self,
        secret_id: &str,
        tags: &[(String, String)],
    ) -> Result<(), SecretsError> {
        self.configured()?;
        validate::secret_id(secret_id)?;
        let tags = tags
            .iter()
            .map(|(key, value)| Tag::builder().key(key).value(value).build())
            .collect::<Vec<_>>();
        self.sdk
            .tag_resource()
            .secret_id(secret_id)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|err| {
                Call {
                    operation: "TagResource",
                    secret_id,
                }
                .fail(err)
            })?;
        Ok(())
    }
}

/// The identity of a version just written. Secrets Manager's version id is
/// the client request token; moto answers an idempotent repeat with the
/// secret's current version id instead, so the token is authoritative.
fn written(
    call: Call<'_>,
    arn: Option<&str>,
    name: Option<&str>,
    version_id: Option<&str>,
    token: &str,
) -> Result<SecretVersion, SecretsError> {
    if let Some(reported) = version_id.filter(|reported| *reported != token) {
        tracing::debug!(
            reported,
            token,
            "service reported another version id than the token"
        );
    }
    Ok(SecretVersion {
        arn: required(call, arn, "ARN")?,
        name: required(call, name, "Name")?,
        version_id: token.to_owned(),
    })
}

/// A field every successful response carries; its absence means the
/// endpoint is not speaking Secrets Manager properly.
fn required(call: Call<'_>, field: Option<&str>, what: &str) -> Result<String, SecretsError> {
    field.map(str::to_owned).ok_or_else(|| {
        SecretsError::Unavailable(format!(
            "{} response for `{}` lacked {what}: is the endpoint really Secrets Manager?",
            call.operation, call.secret_id
        ))
    })
}
