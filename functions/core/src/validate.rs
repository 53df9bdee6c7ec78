//! Input rules shared by the use cases: names, metadata and free text.

use std::collections::BTreeMap;

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

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

/// A name: 1 to [`MAX_NAME_CHARS`] characters, not only whitespace, no
/// control or format characters ([`no_control_characters`]), no key.
/// Returns the trimmed name.
///
/// Codes: `NAME_EMPTY`, `NAME_TOO_LONG`, `NAME_HAS_CONTROL_CHARACTERS`,
/// `LOOKS_LIKE_A_KEY`; each message names `field`.
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
    no_control_characters(field, "NAME_HAS_CONTROL_CHARACTERS", trimmed)?;
    no_keys(field, trimmed)?;
    Ok(trimmed.to_owned())
}

/// The one character rule for stored client text (names, metadata keys and
/// metadata values). Refuses, with `code` and a message naming `field` and
/// the offending code point:
///
/// - control characters (Unicode general category Cc): NUL, ESC, CR, LF,
///   DEL, C1 controls: they forge log lines and drive terminals;
/// - format characters (Cf): bidi embeddings, overrides and isolates
///   (U+202A–U+202E, U+2066–U+2069), marks (U+200E, U+200F, U+061C),
///   zero-width characters (U+200B–U+200D, U+2060–U+2064, U+FEFF), the soft
///   hyphen (U+00AD) and the rest: they make text read differently from
///   what is stored, or make two names that look the same differ;
/// - line and paragraph separators (Zl U+2028, Zp U+2029): line breaks by
///   another name.
pub fn no_control_characters(field: &str, code: &'static str, text: &str) -> Result<(), Error> {
    match text.chars().find(|&c| is_hidden(c)) {
        None => Ok(()),
        Some(c) => Err(Error::invalid(
            code,
            format!(
                "{field} must not contain control or format characters (found U+{:04X})",
                u32::from(c)
            ),
        )),
    }
}

/// Is `c` a character no stored client text may hold: a control (Cc) or
/// format (Cf) character, or a line or paragraph separator (Zl, Zp)? See
/// [`no_control_characters`]; the OpenAPI document derives its text
/// patterns from this predicate.
pub fn is_hidden(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    )
}

/// Client text that is stored or echoed (names, metadata, permissions, model
/// names, principals, idempotency tokens, request ids) must not hold one of
/// our keys: storage, logs and responses never see plaintext, even when a
/// user pastes one by mistake. Every such field passes through here; text
/// that is kept anyway ([`printable`], [`printable_long`]) goes through the
/// same [`redact_keys`](crate::key_format::redact_keys) instead.
pub fn no_keys(field: &str, text: &str) -> Result<(), Error> {
    if crate::key_format::contains_key(text) {
        return Err(Error::invalid(
            "LOOKS_LIKE_A_KEY",
            format!("{field} must not contain an API key"),
        ));
    }
    Ok(())
}

/// Metadata: at most [`MAX_METADATA_ENTRIES`] entries; keys of 1 to
/// [`MAX_METADATA_KEY_CHARS`] characters, values of at most
/// [`MAX_METADATA_VALUE_CHARS`]; neither may hold control or format
/// characters ([`no_control_characters`]) or a key.
///
/// Codes: `METADATA_TOO_LARGE`, `INVALID_METADATA_KEY` (empty or too long),
/// `METADATA_VALUE_TOO_LONG`, `METADATA_HAS_CONTROL_CHARACTERS` (in a key or
/// a value), `LOOKS_LIKE_A_KEY`. Messages name the entry, e.g.
/// `metadata value for 'note'`.
pub fn metadata(map: &BTreeMap<String, String>) -> Result<(), Error> {
    const CODE: &str = "METADATA_HAS_CONTROL_CHARACTERS";
    if map.len() > MAX_METADATA_ENTRIES {
        return Err(Error::invalid(
            "METADATA_TOO_LARGE",
            format!("metadata may have at most {MAX_METADATA_ENTRIES} entries"),
        ));
    }
    for (key, value) in map {
        let key_field = format!("metadata key '{}'", printable(key));
        if key.is_empty() || key.chars().count() > MAX_METADATA_KEY_CHARS {
            return Err(Error::invalid(
                "INVALID_METADATA_KEY",
                format!("{key_field} must be 1 to {MAX_METADATA_KEY_CHARS} characters"),
            ));
        }
        no_control_characters(&key_field, CODE, key)?;
        no_keys(&key_field, key)?;
        let value_field = format!("metadata value for '{}'", printable(key));
        if value.chars().count() > MAX_METADATA_VALUE_CHARS {
            return Err(Error::invalid(
                "METADATA_VALUE_TOO_LONG",
                format!("{value_field} must be at most {MAX_METADATA_VALUE_CHARS} characters"),
            ));
        }
        no_control_characters(&value_field, CODE, value)?;
        no_keys(&value_field, value)?;
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

/// Longest secret ARN accepted (Secrets Manager's own limit on an id).
pub const MAX_SECRET_ARN_CHARS: usize = 2048;

/// A Secrets Manager secret ARN, `arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME`.
/// Only full ARNs: a name would be ambiguous across accounts and regions,
/// and the rotator compares the binding with the ARN Secrets Manager
/// hands it.
///
/// ```
/// # use keyplane_core::validate::secret_arn;
/// assert!(secret_arn("arn:aws:secretsmanager:eu-west-1:123456789012:secret:ci/key-AbCdEf").is_ok());
/// assert!(secret_arn("ci/key").is_err());
/// ```
pub fn secret_arn(raw: &str) -> Result<String, Error> {
    let invalid = || {
        Error::invalid(
            "INVALID_SECRET_ARN",
            format!(
                "secret_arn must be a Secrets Manager secret ARN \
                 (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME), got `{}`",
                printable(raw)
            ),
        )
    };
    if raw.is_empty() || raw.chars().count() > MAX_SECRET_ARN_CHARS {
        return Err(invalid());
    }
    no_control_characters("secret_arn", "INVALID_SECRET_ARN", raw)?;
    no_keys("secret_arn", raw)?;
    let parts: Vec<&str> = raw.splitn(7, ':').collect();
    let well_formed = matches!(
        parts.as_slice(),
        ["arn", partition, "secretsmanager", region, account, "secret", name]
            if partition.starts_with("aws")
                && !region.is_empty()
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && !name.is_empty()
    );
    if !well_formed {
        return Err(invalid());
    }
    Ok(raw.to_owned())
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

    /// Characters that no name, metadata key or metadata value may hold.
    const HIDDEN: [char; 40] = [
        '\u{0}',
        '\u{7}',
        '\t',
        '\n',
        '\r',
        '\u{1b}',
        '\u{7f}',
        '\u{85}',
        '\u{9b}', // Cc
        '\u{ad}',
        '\u{61c}',
        '\u{180e}',
        '\u{200b}',
        '\u{200c}',
        '\u{200d}',
        '\u{200e}',
        '\u{200f}',
        '\u{202a}',
        '\u{202b}',
        '\u{202c}',
        '\u{202d}',
        '\u{202e}',
        '\u{2060}',
        '\u{2061}',
        '\u{2062}',
        '\u{2063}',
        '\u{2064}',
        '\u{2066}',
        '\u{2067}',
        '\u{2068}',
        '\u{2069}',
        '\u{206a}',
        '\u{feff}',
        '\u{fff9}',
        '\u{110bd}',
        '\u{1d173}',
        '\u{e0001}',
        '\u{e007f}', // Cf
        '\u{2028}',
        '\u{2029}', // Zl, Zp
    ];

    #[test]
    fn control_and_format_characters_are_refused_in_every_field() {
        for c in HIDDEN {
            let point = format!("U+{:04X}", u32::from(c));
            let refused = |result: Result<(), Error>, code: &str, field: &str| {
                let error = result.expect_err(&point);
                assert_eq!(error.code, code, "{point}");
                assert!(error.message.contains(field), "{point}: {}", error.message);
                assert!(error.message.contains(&point), "{}", error.message);
            };
            refused(
                name("name", &format!("ci{c}bot")).map(drop),
                "NAME_HAS_CONTROL_CHARACTERS",
                "name",
            );
            refused(
                name("workspace name", &format!("pr{c}od")).map(drop),
                "NAME_HAS_CONTROL_CHARACTERS",
                "workspace name",
            );
            let in_value = BTreeMap::from([("note".to_owned(), format!("a{c}b"))]);
            refused(
                metadata(&in_value),
                "METADATA_HAS_CONTROL_CHARACTERS",
                "metadata value for 'note'",
            );
            let in_key = BTreeMap::from([(format!("team{c}"), "core".to_owned())]);
            refused(
                metadata(&in_key),
                "METADATA_HAS_CONTROL_CHARACTERS",
                "metadata key 'team",
            );
        }
    }

    #[test]
    fn the_messages_never_carry_the_character_itself() {
        let map = BTreeMap::from([("a\u{1b}[31m".to_owned(), "x".to_owned())]);
        let error = metadata(&map).expect_err("escape in a key");
        assert!(!error.message.contains('\u{1b}'), "{}", error.message);
        let map = BTreeMap::from([("note\u{202e}".to_owned(), "x".to_owned())]);
        let error = metadata(&map).expect_err("override in a key");
        assert!(!error.message.contains('\u{202e}'), "{}", error.message);
    }

    #[test]
    fn visible_text_in_any_script_is_accepted() {
        for text in [
            "ci bot",
            "café",
            "Zürich – prod",
            "日本語",
            "العربية",
            "🔑",
            "a\u{301}",
            "x\u{a0}y",
        ] {
            assert_eq!(name("name", text), Ok(text.to_owned()), "{text}");
            let map = BTreeMap::from([(text.to_owned(), text.to_owned())]);
            assert_eq!(metadata(&map), Ok(()), "{text}");
        }
        assert_eq!(
            metadata(&BTreeMap::from([(String::new(), "x".to_owned())])).map_err(|e| e.code),
            Err("INVALID_METADATA_KEY")
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
