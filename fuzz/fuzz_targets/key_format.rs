//! The key format on any text: parsing and checking a key, its hint, hash
//! and checksum, the hex form of hashes, and redaction.
//!
//! Properties, beyond "no panic":
//! - `redact_keys` leaves no well-formed key (found by a scan of our own)
//!   in its output, is idempotent, and changes the text exactly when
//!   `contains_key` says there is something to redact;
//! - a key that passes `check` has its environment's length, and its hint
//!   is the prefix, three characters, `…` and the last four;
//! - `Display` and `Debug` of a key never show it.
//!
//! Corpus files write keys as `$LIVE`, `$TEST` and `$TYPO` (see
//! [`keyplane_fuzz::keys::substitute_keys`]).
#![no_main]

use keyplane_api::key_format::{contains_key, redact_keys, ApiKey, KeyEnv, KeyHash};
use keyplane_fuzz::keys::well_formed_keys;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = keyplane_fuzz::text(data);
    let text = keyplane_fuzz::keys::substitute_keys(&text);
    let text = text.as_ref();

    let key = ApiKey::from_plaintext(text);
    let hint = key.hint();
    let _ = key.hash();
    assert_eq!(key.to_string(), "[redacted]");
    assert_eq!(format!("{key:?}"), "ApiKey([redacted])");
    if let Ok(env) = key.check() {
        assert_eq!(text.len(), env.key_len());
        assert_eq!(hint, format!("{}…{}", &text[..11], &text[text.len() - 4..]));
    }
    let _ = text.parse::<KeyEnv>();

    if let Some(hash) = KeyHash::from_hex(text) {
        assert_eq!(hash.to_hex(), text.to_ascii_lowercase());
        let _ = format!("{hash:?}");
    }

    let redacted = redact_keys(text);
    for found in well_formed_keys(text) {
        assert!(!redacted.contains(found), "a key survived redaction");
    }
    assert!(well_formed_keys(&redacted).is_empty());
    assert_eq!(redact_keys(&redacted), redacted, "redaction is idempotent");
    assert!(!contains_key(&redacted));
    assert_eq!(contains_key(text), redacted != text);
});
