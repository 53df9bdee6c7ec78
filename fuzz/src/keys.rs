//! Finding well-formed keys in arbitrary text, independently of
//! `redact_keys`, so the redaction property checks it against a second
//! reading of the text rather than against itself.

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
