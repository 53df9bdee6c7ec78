//! Public, stable identifiers: `org_…`, `ws_…`, `key_…`, `evt_…`.
//! They are random (not sequential) so they leak nothing about volume.

use std::fmt;

use rand::distr::{Alphanumeric, SampleString};
use serde::{Deserialize, Serialize};

use crate::InvalidInput;

const RANDOM_LEN: usize = 22;
/// Longest id accepted from a client, prefix included.
pub const MAX_LEN: usize = 64;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $code:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        // Checked when read from a body or query too, so an unchecked string
        // (say, a pasted key) never reaches a "not found" message.
        #[serde(try_from = "String")]
        #[cfg_attr(feature = "openapi", schema(value_type = String, example = $prefix))]
        pub struct $name(String);

        impl $name {
            /// The prefix every id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// A fresh random id.
            pub fn generate() -> Self {
                Self(format!("{}{}", $prefix, Alphanumeric.sample_string(&mut rand::rng(), RANDOM_LEN)))
            }

            /// Parses an id received from a client, checking its shape only.
            pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
                let body = raw.strip_prefix($prefix).unwrap_or("");
                if body.is_empty()
                    || raw.len() > MAX_LEN
                    || !body.bytes().all(|b| b.is_ascii_alphanumeric())
                {
                    return Err(InvalidInput::new(
                        $code,
                        // Never quotes `raw`: it could be a pasted key.
                        format!("not a valid id: expected '{}' followed by letters and digits", $prefix),
                    ));
                }
                Ok(Self(raw.to_owned()))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidInput;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        // Written as the string it holds, without the copy `into = "String"`
        // would make: ids are in every verify answer.
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// An organization (tenant) id.
    OrgId, "org_", "INVALID_ORGANIZATION_ID"
);
id_type!(
    /// A workspace id, unique across organizations.
    WorkspaceId, "ws_", "INVALID_WORKSPACE_ID"
);
id_type!(
    /// A key id: public and stable across rolls.
    KeyId, "key_", "INVALID_KEY_ID"
);
id_type!(
    /// An audit event id.
    EventId, "evt_", "INVALID_EVENT_ID"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_back() {
        let id = KeyId::generate();
        assert_eq!(KeyId::parse(id.as_str()), Ok(id));
    }

    #[test]
    fn wrong_prefix_or_characters_are_rejected() {
        assert!(KeyId::parse("org_abc").is_err());
        assert!(KeyId::parse("key_").is_err());
        assert!(KeyId::parse("key_a/b").is_err());
        assert_eq!(
            OrgId::parse("nope").map_err(|e| e.code),
            Err("INVALID_ORGANIZATION_ID")
        );
    }
}
