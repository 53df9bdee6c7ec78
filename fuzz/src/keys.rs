//! Finding well-formed keys in arbitrary text, independently of
//! `redact_keys`, so the redaction property checks it against a second
//! reading of the text rather than against itself.

use std::borrow::Cow;
use std::sync::OnceLock;

use keyplane_api::key_format::{ApiKey, KeyEnv};

/// Every substring of `text` that passes [`ApiKey::check`]: a key's length
/// of text, wherever it starts (overlapping ones included).
pub fn well_formed_keys(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    for (at, _) in text.char_indices() {
        let rest = &text[at..];
        if !rest.starts_with("kp_") {
            continue;
        }
        for env in [KeyEnv::Live, KeyEnv::Test] {
            let Some(candidate) = rest.get(..env.key_len()) else {
                continue;
            };
            if ApiKey::from_plaintext(candidate).check() == Ok(env) {
                found.push(candidate);
            }
        }
    }
    found
}

/// Stand-ins for keys in corpus files, so no full key literal is committed
/// (a secret scanner would flag it, and rightly: keys are minted, not
/// written down). `$LIVE` and `$TEST` are well-formed keys minted once per
/// process; `$TYPO` is `$LIVE` with one character changed, so its checksum
/// fails.
pub fn substitute_keys(text: &str) -> Cow<'_, str> {
    static KEYS: OnceLock<[(&str, String); 3]> = OnceLock::new();
    if !text.contains('$') {
        return Cow::Borrowed(text);
    }
    let keys = KEYS.get_or_init(|| {
        let live = ApiKey::mint(KeyEnv::Live).expose().to_owned();
        let test = ApiKey::mint(KeyEnv::Test).expose().to_owned();
        [("$TYPO", typo(&live)), ("$LIVE", live), ("$TEST", test)]
    });
    let mut out = text.to_owned();
    for (placeholder, key) in keys {
        out = out.replace(placeholder, key);
    }
    Cow::Owned(out)
}

/// `key` with its 21st character changed.
pub fn typo(key: &str) -> String {
    let mut bytes = key.as_bytes().to_vec();
    if let Some(byte) = bytes.get_mut(20) {
        *byte = if *byte == b'a' { b'b' } else { b'a' };
    }
    String::from_utf8_lossy(&bytes).into_owned()
}
