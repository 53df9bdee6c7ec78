//! Staging labels: how Secrets Manager says which version of a secret is the
//! live one.
//!
//! A secret holds immutable versions; labels are the only mutable thing. The
//! three AWS-managed labels drive rotation (`AWSPENDING` is written, tested,
//! then `AWSCURRENT` moves onto it and Secrets Manager moves `AWSPREVIOUS`
//! onto the version it left), so they get their own variants and can never be
//! misspelt. Anything else is a [`Stage::Custom`] label, checked by
//! [`Stage::validate`] before it is sent.

use std::fmt;
use std::str::FromStr;

use crate::error::SecretsError;

/// Secrets Manager's limit on the length of a staging label.
const MAX_LABEL_LEN: usize = 256;

/// A staging label attached to a version of a secret.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// `AWSCURRENT`: the version readers get by default.
    Current,
    /// `AWSPENDING`: a version being rotated in, not yet live.
    Pending,
    /// `AWSPREVIOUS`: the version `AWSCURRENT` last left; kept so a rotation
    /// can be rolled back and so clients with the old key keep working for a
    /// while.
    Previous,
    /// Any other label. Build it with [`Stage::parse`] (or `str::parse`),
    /// which maps the AWS names to their variants and rejects bad labels;
    /// every operation validates it again before sending, so a hand-built
    /// invalid label fails locally with [`SecretsError::InvalidRequest`].
    Custom(String),
}

impl Stage {
    /// The label as Secrets Manager spells it.
    pub fn as_str(&self) -> &str {
        match self {
            Stage::Current => "AWSCURRENT",
            Stage::Pending => "AWSPENDING",
            Stage::Previous => "AWSPREVIOUS",
            Stage::Custom(label) => label,
        }
    }

    /// Parses a label given by a user: `AWSCURRENT`, `AWSPENDING` and
    /// `AWSPREVIOUS` become their variants; anything else must be 1 to 256
    /// printable ASCII characters without spaces.
    pub fn parse(label: &str) -> Result<Stage, SecretsError> {
        let stage = Stage::from_aws(label);
        stage.validate()?;
        Ok(stage)
    }

    /// Checks a label before it goes to Secrets Manager, so a typo fails
    /// here with a message naming the label instead of as an opaque
    /// `InvalidParameterException` (or not at all, on emulators).
    pub fn validate(&self) -> Result<(), SecretsError> {
        let Stage::Custom(label) = self else {
            return Ok(());
        };
        if matches!(label.as_str(), "AWSCURRENT" | "AWSPENDING" | "AWSPREVIOUS") {
            return Err(SecretsError::InvalidRequest(format!(
                "staging label {label} is AWS-managed: use the Stage::{} variant rather than Stage::Custom",
                match label.as_str() {
                    "AWSCURRENT" => "Current",
                    "AWSPENDING" => "Pending",
                    _ => "Previous",
                }
            )));
        }
        if label.is_empty() || label.len() > MAX_LABEL_LEN {
            return Err(SecretsError::InvalidRequest(format!(
                "a staging label must be 1 to {MAX_LABEL_LEN} characters long, got {}",
                label.len()
            )));
        }
        if !label.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(SecretsError::InvalidRequest(
                "a staging label may contain only printable ASCII characters without spaces"
                    .to_owned(),
            ));
        }
        Ok(())
    }

    /// Maps a label returned by Secrets Manager. No validation: whatever the
    /// service reports is, by definition, a label it accepts.
    pub(crate) fn from_aws(label: &str) -> Stage {
        match label {
            "AWSCURRENT" => Stage::Current,
            "AWSPENDING" => Stage::Pending,
            "AWSPREVIOUS" => Stage::Previous,
            other => Stage::Custom(other.to_owned()),
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Stage {
    type Err = SecretsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Stage::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_labels_map_to_their_variants() {
        assert_eq!(Stage::parse("AWSCURRENT").ok(), Some(Stage::Current));
        assert_eq!(Stage::parse("AWSPENDING").ok(), Some(Stage::Pending));
        assert_eq!(Stage::parse("AWSPREVIOUS").ok(), Some(Stage::Previous));
        assert_eq!(Stage::Current.to_string(), "AWSCURRENT");
    }

    #[test]
    fn custom_labels_round_trip() {
        let stage: Stage = "keyplane-retired".parse().expect("valid label");
        assert_eq!(stage, Stage::Custom("keyplane-retired".to_owned()));
        assert_eq!(stage.as_str(), "keyplane-retired");
    }

    #[test]
    fn bad_labels_are_rejected_locally() {
        for bad in ["", "has space", "tab\there", "é", &"x".repeat(257)] {
            assert!(
                matches!(Stage::parse(bad), Err(SecretsError::InvalidRequest(_))),
                "{bad:?} should be rejected"
            );
        }
        assert!(Stage::Custom("AWSCURRENT".to_owned()).validate().is_err());
        assert!(Stage::Custom("x".repeat(256)).validate().is_ok());
    }
}
