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

/// Client text that is stored (names, metadata, permissions, model names,
/// principals, idempotency tokens) must not hold one of our keys: storage
/// never sees plaintext, even when a user pastes one by mistake. Every such
/// field passes through here.
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

/// A short, printable rendering of client input for error messages: control
/// characters are escaped and input is cut after a few characters, so an
/// error can never carry a pasted secret or break a log line.
pub fn printable(raw: &str) -> String {
    truncated(raw, 12)
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
        assert!(!printable(key.expose()).contains(&key.expose()[8..20]));
        let stored = printable_long(&format!("found {} on a paste site", key.expose()));
        assert!(!stored.contains(&key.expose()[8..]), "{stored}");
        assert!(stored.contains("kp_live_[redacted]"));
    }
}
