//! What the operations return, and how a secret is deleted.

use std::collections::BTreeMap;
use std::time::SystemTime;

use keyplane_core::key_format::ApiKey;

use crate::error::SecretsError;
use crate::stage::Stage;

/// A version that was just written. Everything here is safe to keep in
/// Terraform state: it identifies the value without containing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretVersion {
    /// The secret's full ARN.
    pub arn: String,
    /// The secret's name.
    pub name: String,
    /// The version id, which is the client request token the write used.
    pub version_id: String,
}

/// One version of a secret, with its plaintext. `Debug` shows the value as
/// `[redacted]` because [`ApiKey`]'s does, and the plaintext is zeroized on
/// drop.
#[derive(Debug)]
pub struct SecretValue {
    /// The stored text, not yet checked to be a well-formed key (the secret
    /// may have been written by something else); see [`ApiKey::check`].
    pub value: ApiKey,
    /// The version this value belongs to.
    pub version_id: String,
    /// The labels on that version when it was read.
    pub stages: Vec<Stage>,
}

/// Metadata about a secret, without any value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretDescription {
    /// The secret's full ARN.
    pub arn: String,
    /// The secret's name.
    pub name: String,
    /// Version id → its labels, for the versions that still carry at least
    /// one label. Unlabelled versions are deprecated: Secrets Manager omits
    /// them from `DescribeSecret` and deletes them eventually, so they are
    /// left out here too (moto would list them with no labels).
    pub versions: BTreeMap<String, Vec<Stage>>,
    /// Set when the secret is scheduled for deletion: the date it will be
    /// deleted for good. Reads fail with
    /// [`SecretsError::InvalidRequest`] until then, unless it is restored.
    pub deleted_date: Option<SystemTime>,
    /// Whether Secrets Manager rotation is switched on.
    pub rotation_enabled: bool,
    /// The secret's tags, e.g. [`KEY_ID_TAG`](crate::KEY_ID_TAG).
    pub tags: BTreeMap<String, String>,
}

impl SecretDescription {
    /// The version carrying `stage`, if any. Secrets Manager keeps each
    /// label on at most one version.
    pub fn version_with(&self, stage: &Stage) -> Option<&str> {
        self.versions
            .iter()
            .find(|(_, stages)| stages.contains(stage))
            .map(|(version_id, _)| version_id.as_str())
    }
}

/// How [`SecretsClient::delete`](crate::SecretsClient::delete) deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// Delete at once, with no way back. For secrets only we ever held
    /// (tests, a create that is being rolled back).
    Force,
    /// Schedule deletion after this many days (7 to 30, Secrets Manager's
    /// bounds); until then the secret can be restored and its name stays
    /// taken.
    Days(u8),
}

impl Recovery {
    /// Checks the window before sending, so a bad value fails locally.
    pub(crate) fn validate(self) -> Result<(), SecretsError> {
        match self {
            Recovery::Days(days) if !(7..=30).contains(&days) => Err(SecretsError::InvalidRequest(
                format!("the recovery window must be 7 to 30 days, got {days}"),
            )),
            _ => Ok(()),
        }
    }
}

/// How a new secret is made, besides its name and value.
#[derive(Debug, Clone, Copy, Default)]
pub struct NewSecret<'a> {
    /// Shown in the console.
    pub description: Option<&'a str>,
    /// A customer KMS key (id, ARN or alias) to encrypt it with.
    pub kms_key_id: Option<&'a str>,
    /// Tags, e.g. [`KEY_ID_TAG`](crate::KEY_ID_TAG) with the key's id.
    pub tags: &'a [(String, String)],
}

/// When Secrets Manager rotates a secret: every `after_days` days, or on
/// a `rate(…)`/`cron(…)` schedule expression.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RotationSchedule {
    /// `AutomaticallyAfterDays`, 1–1000.
    pub after_days: Option<i64>,
    /// `ScheduleExpression`, e.g. `rate(30 days)` or `cron(0 4 ? * SUN *)`.
    pub expression: Option<String>,
}
