//! Principals are AWS IAM identities, named by ARN.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::InvalidInput;

/// An IAM principal ARN, normalised so that every session of an assumed role
/// is the same principal as the role itself.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "openapi", schema(value_type = String, example = "arn:aws:iam::123456789012:role/platform-ci"))]
pub struct Principal(String);

/// Longest accepted ARN. Real IAM ARNs stay well under this (names of 64
/// and paths of 512 characters), and it keeps storage keys under
/// DynamoDB's 1 KB sort-key limit.
pub const MAX_ARN_LEN: usize = 900;

const PARTITIONS: [&str; 3] = ["aws", "aws-cn", "aws-us-gov"];

impl Principal {
    /// Parses and normalises an IAM ARN: users, roles, the account root, and
    /// STS assumed-role sessions (which become their role). IAM names and
    /// paths are printable ASCII, so an ARN is too: anything else (a
    /// Cyrillic `а` in `аlice`, a space, a control character) is refused,
    /// and two principals that read alike are the same principal.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let invalid = || {
            InvalidInput::new(
                "INVALID_PRINCIPAL",
                // Never quotes `raw`: it could be a pasted key.
                "not an IAM principal ARN (arn:aws:iam::<account>:user/…, role/… or root)",
            )
        };
        if raw.len() > MAX_ARN_LEN || !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid());
        }
        let parts: Vec<&str> = raw.splitn(6, ':').collect();
        let [arn, partition, service, region, account, resource] = parts[..] else {
            return Err(invalid());
        };
        if arn != "arn"
            || !PARTITIONS.contains(&partition)
            || !region.is_empty()
            || account.len() != 12
            || !account.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(invalid());
        }
        let normalised_resource = match service {
            "iam" if resource == "root" => resource.to_owned(),
            "iam" => match resource.split_once('/') {
                Some(("user" | "role", rest)) if !rest.is_empty() => resource.to_owned(),
                _ => return Err(invalid()),
            },
            "sts" => {
                let mut segments = resource.split('/');
                match (segments.next(), segments.next(), segments.next()) {
                    (Some("assumed-role"), Some(role), Some(_session)) if !role.is_empty() => {
                        format!("role/{role}")
                    }
                    _ => return Err(invalid()),
                }
            }
            _ => return Err(invalid()),
        };
        if crate::key_format::contains_key(&normalised_resource) {
            return Err(InvalidInput::new(
                "LOOKS_LIKE_A_KEY",
                "the principal ARN must not contain an API key",
            ));
        }
        Ok(Self(format!(
            "arn:{partition}:iam::{account}:{normalised_resource}"
        )))
    }

    /// The ARN.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Principal {
    type Error = InvalidInput;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Principal::parse(&value)
    }
}

impl From<Principal> for String {
    fn from(value: Principal) -> Self {
        value.0
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_roles_and_root_are_accepted() {
        for arn in [
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:iam::123456789012:role/path/ci",
            "arn:aws:iam::123456789012:root",
            "arn:aws-cn:iam::123456789012:user/bob",
        ] {
            assert_eq!(Principal::parse(arn).map(|p| p.0), Ok(arn.to_owned()));
        }
    }

    #[test]
    fn assumed_role_sessions_become_their_role() {
        let p = Principal::parse("arn:aws:sts::123456789012:assumed-role/deployer/session-1");
        assert_eq!(
            p.map(|p| p.0),
            Ok("arn:aws:iam::123456789012:role/deployer".to_owned())
        );
    }

    #[test]
    fn junk_is_rejected() {
        for arn in [
            "",
            "alice",
            "arn:aws:iam::12345:user/alice",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::123456789012:group/devs",
            "arn:aws:iam:us-east-1:123456789012:user/alice",
            "arn:aws:iam::123456789012:user/al ice",
            "arn:aws:iam::123456789012:user/\u{430}lice",
            "arn:aws:iam::123456789012:user/alice\u{a0}",
        ] {
            assert_eq!(
                Principal::parse(arn).map_err(|e| e.code),
                Err("INVALID_PRINCIPAL"),
                "{arn}"
            );
        }
    }
}
