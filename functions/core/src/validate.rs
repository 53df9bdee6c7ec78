//! Input rules shared by the use cases: names, metadata and free text.

use std::collections::BTreeMap;

use crate::Error;

/// Longest accepted name, in characters.
pub const MAX_NAME_CHARS: usize = 128;
/// Most metadata entries on one key.
pub const MAX_METADATA_ENTRIES: usize = 32;
/// Longest metadata key, in characters.
pub const MAX_METADATA_KEY_CHARS: usize = 64;
/// Longest metadata value, in characters.
pub const MAX_METADATA_VALUE_CHARS: usize = 512;
/// Longest accepted request id, in characters.
pub const MAX_REQUEST_ID_CHARS: usize = 64;

/// A name: 1 to [`MAX_NAME_CHARS`] characters, no control characters, not
/// only whitespace. Returns the trimmed name.
pub fn name(field: &str, raw: &str) -> Result<String, Error> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(Error::invalid(
            "NAME_EMPTY",
            format!("{field} must not be empty"),
        ));
    }
    if trimmed.chars().count() > MAX_NAME_CHARS {
        return Err(Error::invalid(
            "NAME_TOO_LONG",
            format!("{field} must be at most {MAX_NAME_CHARS} characters"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(Error::invalid(
            "NAME_HAS_CONTROL_CHARACTERS",
            format!("{field} must not contain control characters"),
        ));
    }
    no_keys(field, trimmed)?;
    Ok(trimmed.to_owned())
}

/// Client text that is stored or echoed (names, metadata, permissions, model
/// names, principals, idempotency tokens, request ids) must not hold one of
/// our keys: storage, logs and responses never see plaintext, even when a
/// user pastes one by mistake. Every such field passes through here; text
/// that is kept anyway ([`printable`], [`printable_long`]) goes through the
/// same [`redact_keys`](crate::key_format::redact_keys) instead.
pub fn no_keys(field: &str, text: &str) -> Result<(), Error> {
    if crate::key_format::redact_keys(text) != text {
        return Err(Error::invalid(
            "LOOKS_LIKE_A_KEY",
            format!("{field} must not contain an API key"),
        ));
    }
    Ok(())
}

/// Metadata: a bounded string map without control characters in keys.
pub fn metadata(map: &BTreeMap<String, String>) -> Result<(), Error> {
    if map.len() > MAX_METADATA_ENTRIES {
        return Err(Error::invalid(
            "METADATA_TOO_LARGE",
            format!("metadata may have at most {MAX_METADATA_ENTRIES} entries"),
        ));
    }
    for (key, value) in map {
        if key.is_empty()
            || key.chars().count() > MAX_METADATA_KEY_CHARS
            || key.chars().any(char::is_control)
        {
            return Err(Error::invalid(
                "INVALID_METADATA_KEY",
                format!("metadata keys must be 1 to {MAX_METADATA_KEY_CHARS} characters without control characters"),
            ));
        }
        no_keys("metadata", key)?;
        no_keys("metadata", value)?;
        if value.chars().count() > MAX_METADATA_VALUE_CHARS {
            return Err(Error::invalid(
                "METADATA_VALUE_TOO_LONG",
                format!(
                    "metadata value for '{}' must be at most {MAX_METADATA_VALUE_CHARS} characters",
                    printable(key)
                ),
            ));
        }
    }
    Ok(())
}

/// A request id taken from a client (`X-Request-Id`): returns the id if it
/// is acceptable client text for a request id — 1 to
/// [`MAX_REQUEST_ID_CHARS`] characters of `[A-Za-z0-9._-]` holding no
/// key-shaped text, by the same check as every stored field ([`no_keys`]) —
/// else `None`. The id is echoed in headers and problem bodies, logged and
/// stored in audit events, so the caller replaces a refused id with a fresh
/// one rather than repairing it.
///
/// ```
/// use keyplane_core::key_format::{ApiKey, KeyEnv};
/// use keyplane_core::validate::request_id;
///
/// assert_eq!(request_id("trace-42.a_b"), Some("trace-42.a_b".to_owned()));
/// assert_eq!(request_id(ApiKey::mint(KeyEnv::Live).expose()), None);
/// assert_eq!(request_id("has space"), None);
/// ```
pub fn request_id(raw: &str) -> Option<String> {
    let well_formed = (1..=MAX_REQUEST_ID_CHARS).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !well_formed {
        return None;
    }
    no_keys("request id", raw).ok()?;
    Some(raw.to_owned())
}

/// A short, printable rendering of client input for error messages: keys
/// are redacted, control characters are escaped and input is cut after a
/// few characters, so an error can never carry a pasted secret or break a
/// log line.
pub fn printable(raw: &str) -> String {
    truncated(&crate::key_format::redact_keys(raw), 12)
}

/// Stored free text such as a User-Agent or a leak report's source: escaped,
/// bounded, and with anything shaped like one of our keys redacted, because
/// people paste keys everywhere.
pub fn printable_long(raw: &str) -> String {
    truncated(&crate::key_format::redact_keys(raw), 256)
}

fn truncated(raw: &str, limit: usize) -> String {
    let mut out: String = raw
        .chars()
        .take(limit)
        .flat_map(char::escape_default)
        .collect();
    if raw.chars().count() > limit {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key_format::{ApiKey, KeyEnv};

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(name("name", "  ci bot "), Ok("ci bot".to_owned()));
        assert_eq!(name("name", " ").map_err(|e| e.code), Err("NAME_EMPTY"));
        assert_eq!(
            name("name", &"x".repeat(129)).map_err(|e| e.code),
            Err("NAME_TOO_LONG")
        );
        assert_eq!(
            name("name", "a\u{0007}b").map_err(|e| e.code),
            Err("NAME_HAS_CONTROL_CHARACTERS")
        );
        assert!(name("name", &"é".repeat(128)).is_ok());
        let key = crate::key_format::ApiKey::mint(crate::key_format::KeyEnv::Test);
        assert_eq!(
            name("name", &format!("ci {}", key.expose())).map_err(|e| e.code),
            Err("LOOKS_LIKE_A_KEY")
        );
        let meta = BTreeMap::from([("note".to_owned(), key.expose().to_owned())]);
        assert_eq!(metadata(&meta).map_err(|e| e.code), Err("LOOKS_LIKE_A_KEY"));
        assert_eq!(
            crate::permission::validate(key.expose()).map_err(|e| e.code),
            Err("LOOKS_LIKE_A_KEY")
        );
        let arn = format!("arn:aws:iam::123456789012:user/{}", key.expose());
        assert_eq!(
            crate::principal::Principal::parse(&arn).map_err(|e| e.code),
            Err("LOOKS_LIKE_A_KEY")
        );
    }

    #[test]
    fn printable_escapes_and_truncates() {
        assert_eq!(printable("a\nb"), "a\\nb");
        assert!(printable(&"k".repeat(100)).ends_with('…'));
        let key = crate::key_format::ApiKey::mint(crate::key_format::KeyEnv::Live);
        assert_eq!(printable(key.expose()), "kp_live_[red…");
        let stored = printable_long(&format!("found {} on a paste site", key.expose()));
        assert!(!stored.contains(&key.expose()[8..]), "{stored}");
        assert!(stored.contains("kp_live_[redacted]"));
    }

    #[test]
    fn request_ids_are_short_plain_and_never_key_shaped() {
        let live = ApiKey::mint(KeyEnv::Live);
        let test = ApiKey::mint(KeyEnv::Test);
        let (live, test) = (live.expose(), test.expose());
        for good in [
            "a",
            "trace-42.a_b",
            "req_0123456789abcdefghij",
            &"x".repeat(64),
        ] {
            assert_eq!(request_id(good).as_deref(), Some(good), "{good}");
        }
        let refused = [
            String::new(),
            "x".repeat(65),
            "has space".to_owned(),
            "new\nline".to_owned(),
            "café".to_owned(),
            "a/b".to_owned(),
            live.to_owned(),
            test.to_owned(),
            format!("x{test}"),
            format!("{test}.y"),
            format!("kp_test_{test}"),
            format!("kp_live_kp_{}", &test[3..]),
            format!("trace-{}", &live[..20]),
        ];
        for bad in &refused {
            assert_eq!(request_id(bad), None, "{bad}");
        }
    }
}
