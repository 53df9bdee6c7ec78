//! The API key format: `kp_<env>_<body><checksum>`.
//!
//! The body is 32 base62 characters from a CSPRNG (about 190 bits). The
//! checksum is the CRC32 of everything before it, written as 6 base62
//! characters, so typos and junk are rejected without touching storage and
//! secret scanners can recognise our keys with almost no false positives.
//! Storage only ever sees [`KeyHash`], the SHA-256 of the whole key.

use std::fmt;
use std::str::FromStr;

use rand::distr::{Alphanumeric, SampleString};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const BODY_LEN: usize = 32;
const CHECKSUM_LEN: usize = 6;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Which deployment a key belongs to; part of the visible prefix so a test
/// key pasted into production is recognised as such.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum KeyEnv {
    /// `kp_live_`
    Live,
    /// `kp_test_`
    Test,
}

impl KeyEnv {
    fn prefix(self) -> &'static str {
        match self {
            KeyEnv::Live => "kp_live_",
            KeyEnv::Test => "kp_test_",
        }
    }

    /// Total length of a key of this environment.
    pub fn key_len(self) -> usize {
        self.prefix().len() + BODY_LEN + CHECKSUM_LEN
    }
}

impl FromStr for KeyEnv {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "live" => Ok(KeyEnv::Live),
            "test" => Ok(KeyEnv::Test),
            other => Err(format!(
                "unknown key environment '{other}': expected live or test"
            )),
        }
    }
}

/// Why a string is not a well-formed key. Each reason is distinct so clients
/// and logs can tell a truncated paste from a foreign token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MalformedKey {
    /// Not `kp_live_` / `kp_test_`.
    #[error("the key does not start with kp_live_ or kp_test_")]
    WrongPrefix,
    /// Right prefix, wrong number of characters.
    #[error("the key has the wrong length")]
    WrongLength,
    /// A character outside `[0-9A-Za-z]` after the prefix.
    #[error("the key contains characters outside 0-9, A-Z, a-z")]
    BadAlphabet,
    /// The checksum does not match: a typo or a forged key.
    #[error("the key's checksum does not match")]
    BadChecksum,
}

impl MalformedKey {
    /// Stable reason code.
    pub fn code(self) -> &'static str {
        match self {
            MalformedKey::WrongPrefix => "WRONG_PREFIX",
            MalformedKey::WrongLength => "WRONG_LENGTH",
            MalformedKey::BadAlphabet => "BAD_ALPHABET",
            MalformedKey::BadChecksum => "BAD_CHECKSUM",
        }
    }
}

/// A plaintext API key. Its `Debug` and `Display` print `[redacted]` and its
/// memory is zeroized on drop; the text is reachable only through
/// [`ApiKey::expose`], which reads as what it is at every call site.
pub struct ApiKey(SecretString);

impl ApiKey {
    /// Mints a fresh key from the thread-local CSPRNG.
    pub fn mint(env: KeyEnv) -> Self {
        let mut text = String::with_capacity(env.key_len());
        text.push_str(env.prefix());
        text.push_str(&Alphanumeric.sample_string(&mut rand::rng(), BODY_LEN));
        let checksum = encode_checksum(crc32fast::hash(text.as_bytes()));
        text.push_str(&checksum);
        Self(SecretString::from(text))
    }

    /// Wraps text received from a client; call [`ApiKey::check`] before use.
    pub fn from_plaintext(text: impl Into<String>) -> Self {
        Self(SecretString::from(text.into()))
    }

    /// The plaintext. Only the create/roll responses and Secrets Manager
    /// writers should need this.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// Checks prefix, length, alphabet and checksum; pure CPU, no storage.
    pub fn check(&self) -> Result<KeyEnv, MalformedKey> {
        let text = self.expose();
        let env = if text.starts_with(KeyEnv::Live.prefix()) {
            KeyEnv::Live
        } else if text.starts_with(KeyEnv::Test.prefix()) {
            KeyEnv::Test
        } else {
            return Err(MalformedKey::WrongPrefix);
        };
        if text.len() != env.key_len() {
            return Err(MalformedKey::WrongLength);
        }
        let rest = &text[env.prefix().len()..];
        if !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(MalformedKey::BadAlphabet);
        }
        let (signed, checksum) = text.split_at(text.len() - CHECKSUM_LEN);
        let expected = checksum_digits(crc32fast::hash(signed.as_bytes()));
        if !bool::from(expected.as_slice().ct_eq(checksum.as_bytes())) {
            return Err(MalformedKey::BadChecksum);
        }
        Ok(env)
    }

    /// The SHA-256 of the whole key: what storage keeps and looks up by.
    pub fn hash(&self) -> KeyHash {
        KeyHash(Sha256::digest(self.expose().as_bytes()).into())
    }

    /// The masked form shown in listings, e.g. `kp_live_AbC…wxyz`: the
    /// prefix up to the second `_`, three characters, `…`, the last four.
    /// Total on any text: it counts characters, not bytes.
    pub fn hint(&self) -> String {
        let text = self.expose();
        let prefix_len = text
            .find('_')
            .and_then(|first| text[first + 1..].find('_').map(|second| first + second + 2))
            .unwrap_or(0);
        // Byte offsets of character boundaries only, so no slice can split
        // a multi-byte character.
        let head_end = text[prefix_len..]
            .char_indices()
            .nth(3)
            .map_or(text.len(), |(at, _)| prefix_len + at);
        let tail_start = text
            .char_indices()
            .rev()
            .nth(3)
            .map_or(0, |(at, _)| at)
            .max(head_end);
        format!("{}…{}", &text[..head_end], &text[tail_start..])
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<'de> Deserialize<'de> for ApiKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(ApiKey::from_plaintext)
    }
}

/// Serializes the plaintext. Used only by the create and roll responses,
/// which are the one place the key is shown.
impl Serialize for ApiKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose())
    }
}

/// Replaces the run of key characters (`[0-9A-Za-z]`) after every
/// `kp_live_` / `kp_test_` prefix with `[redacted]`, keeping the prefix so a
/// reader still sees that a key was there. For free text that gets stored or
/// echoed, where someone may have pasted a key.
///
/// Every occurrence of a prefix counts, including one that starts inside an
/// earlier prefix or its run (`kp_live_kp_test_…`, keys glued back to back),
/// and the union of their runs is redacted, so no key body survives however
/// the text around it is shaped. The result holds no run to redact: it is
/// its own redaction.
///
/// ```
/// use keyplane_api::key_format::{redact_keys, ApiKey, KeyEnv};
///
/// let key = ApiKey::mint(KeyEnv::Test);
/// let text = format!("kp_live_{} in a note", key.expose());
/// let redacted = redact_keys(&text);
/// assert!(!redacted.contains(&key.expose()[8..]));
/// assert_eq!(redact_keys(&redacted), redacted);
/// ```
pub fn redact_keys(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut secret = vec![false; bytes.len()];
    for start in 0..bytes.len() {
        for env in [KeyEnv::Live, KeyEnv::Test] {
            let prefix = env.prefix().as_bytes();
            if bytes[start..].starts_with(prefix) {
                let run = start + prefix.len();
                for (byte, is_secret) in bytes[run..].iter().zip(&mut secret[run..]) {
                    if !byte.is_ascii_alphanumeric() {
                        break;
                    }
                    *is_secret = true;
                }
            }
        }
    }
    // Secret bytes are ASCII, so they are whole characters.
    let mut out = String::with_capacity(text.len());
    let mut in_secret = false;
    for (at, c) in text.char_indices() {
        if secret[at] {
            if !in_secret {
                out.push_str("[redacted]");
            }
            in_secret = true;
        } else {
            out.push(c);
            in_secret = false;
        }
    }
    out
}

/// Does `text` hold anything shaped like one of our keys? Stored client
/// text must not.
pub fn contains_key(text: &str) -> bool {
    // Exactly when `redact_keys` would change the text (a prefix followed by
    // at least one alphanumeric), without building the redaction: this runs
    // on every permission a verify asks about.
    // A byte scan: these texts are short, and a substring searcher's set-up
    // costs more than the scan.
    let bytes = text.as_bytes();
    (0..bytes.len()).any(|at| {
        let rest = &bytes[at..];
        rest[0] == b'k'
            && [KeyEnv::Live, KeyEnv::Test].into_iter().any(|env| {
                let prefix = env.prefix().as_bytes();
                rest.starts_with(prefix)
                    && rest
                        .get(prefix.len())
                        .is_some_and(u8::is_ascii_alphanumeric)
            })
    })
}

fn encode_checksum(value: u32) -> String {
    checksum_digits(value).iter().map(|&b| b as char).collect()
}

/// The checksum's base-62 digits, without a `String` (checked on every verify).
fn checksum_digits(mut value: u32) -> [u8; CHECKSUM_LEN] {
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    out
}

/// SHA-256 of a key. Not secret (keys have ~190 bits of entropy, so the hash
/// cannot be reversed), but still never logged in full.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyHash([u8; 32]);

impl KeyHash {
    /// The raw digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, the form storage uses in item keys.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses lower- or upper-case hex.
    pub fn from_hex(text: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).ok()?;
        Some(Self(out))
    }

    /// Constant-time equality, for comparing a stored hash with a computed one.
    pub fn ct_eq(&self, other: &KeyHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyHash({}…)", &self.to_hex()[..8])
    }
}

impl Serialize for KeyHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for KeyHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        KeyHash::from_hex(&text)
            .ok_or_else(|| serde::de::Error::custom("a key hash is 64 hex characters"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_keys_pass_their_own_check() {
        for env in [KeyEnv::Live, KeyEnv::Test] {
            let key = ApiKey::mint(env);
            assert_eq!(key.check(), Ok(env));
            assert_eq!(key.expose().len(), env.key_len());
        }
    }

    #[test]
    fn two_mints_differ() {
        assert_ne!(
            ApiKey::mint(KeyEnv::Live).expose(),
            ApiKey::mint(KeyEnv::Live).expose()
        );
    }

    #[test]
    fn each_defect_has_its_own_reason() {
        let good = ApiKey::mint(KeyEnv::Live);
        let text = good.expose().to_owned();
        let check = |s: &str| ApiKey::from_plaintext(s).check();

        assert_eq!(
            check(&text.replacen("kp_live_", "sk_live_", 1)),
            Err(MalformedKey::WrongPrefix)
        );
        assert_eq!(
            check(&text[..text.len() - 1]),
            Err(MalformedKey::WrongLength)
        );
        assert_eq!(check(&format!("{text}A")), Err(MalformedKey::WrongLength));
        let mut bad_char = text.clone();
        bad_char.replace_range(10..11, "-");
        assert_eq!(check(&bad_char), Err(MalformedKey::BadAlphabet));
        // One changed character in the body is caught by the checksum.
        let mut typo = text.clone().into_bytes();
        typo[12] = if typo[12] == b'a' { b'b' } else { b'a' };
        let typo = String::from_utf8(typo).expect("ascii");
        assert_eq!(check(&typo), Err(MalformedKey::BadChecksum));
        assert_eq!(check(""), Err(MalformedKey::WrongPrefix));
    }

    #[test]
    fn debug_and_display_never_show_the_key() {
        let key = ApiKey::mint(KeyEnv::Test);
        let body = &key.expose()[8..20];
        assert!(!format!("{key:?}").contains(body));
        assert!(!format!("{key}").contains(body));
        assert!(!format!("{:?}", Some(&key)).contains(body));
    }

    #[test]
    fn hint_shows_prefix_three_and_last_four() {
        let key = ApiKey::mint(KeyEnv::Live);
        let text = key.expose();
        let hint = key.hint();
        assert_eq!(hint, format!("{}…{}", &text[..11], &text[text.len() - 4..]));
    }

    /// Found by fuzzing: `hint` sliced by bytes and panicked inside a
    /// multi-byte character.
    #[test]
    fn hint_counts_characters_not_bytes() {
        let hint = |s: &str| ApiKey::from_plaintext(s).hint();
        assert_eq!(hint("kp_live_ééééééééé"), "kp_live_ééé…éééé");
        assert_eq!(hint("kp_live_é"), "kp_live_é…");
        assert_eq!(hint("éééé"), "ééé…é");
        assert_eq!(hint("ab_é_ü"), "ab_é_ü…");
        assert_eq!(hint("_\u{10000}"), "_\u{10000}…");
        assert_eq!(hint("日本語のテキスト"), "日本語…テキスト");
        assert_eq!(hint(""), "…");
        // Never more than the text itself, plus the ellipsis.
        for text in ["é", "éé", "_é", "a_é", "kp_é_", "kp_live_\u{7ff}\u{800}"] {
            assert!(
                hint(text).chars().count() <= text.chars().count() + 1,
                "{text}"
            );
        }
    }

    /// The 32 random characters of a key: what must never survive redaction.
    fn body(key: &str) -> &str {
        &key[8..8 + BODY_LEN]
    }

    #[test]
    fn redaction_covers_every_prefix_however_they_overlap() {
        let a = ApiKey::mint(KeyEnv::Test);
        let b = ApiKey::mint(KeyEnv::Live);
        let (a, b) = (a.expose(), b.expose());
        let tail = &a[8..]; // 38 key characters
        let cases = [
            (a.to_owned(), "kp_test_[redacted]".to_owned()),
            (
                format!("kp_test_kp_test_{tail}"),
                "kp_test_[redacted]_test_[redacted]".to_owned(),
            ),
            (
                format!("kp_live_kp_test_{tail}"),
                "kp_live_[redacted]_test_[redacted]".to_owned(),
            ),
            (
                format!("kp_test_kp_live_{tail}"),
                "kp_test_[redacted]_live_[redacted]".to_owned(),
            ),
            (
                format!("kp_kp_test_{tail}"),
                "kp_kp_test_[redacted]".to_owned(),
            ),
            (
                format!("kp_testkp_test_{tail}"),
                "kp_testkp_test_[redacted]".to_owned(),
            ),
            (format!("x{a}"), "xkp_test_[redacted]".to_owned()),
            (format!("9{a}9"), "9kp_test_[redacted]".to_owned()),
            (
                format!("{a}{b}"),
                "kp_test_[redacted]_live_[redacted]".to_owned(),
            ),
            (
                format!("{a}{a}{a}"),
                "kp_test_[redacted]_test_[redacted]_test_[redacted]".to_owned(),
            ),
            (
                format!("{a},{b}"),
                "kp_test_[redacted],kp_live_[redacted]".to_owned(),
            ),
            (
                format!("{a}é{a}"),
                "kp_test_[redacted]ékp_test_[redacted]".to_owned(),
            ),
            (
                format!("{a}_{a}"),
                "kp_test_[redacted]_kp_test_[redacted]".to_owned(),
            ),
            ("kp_test_".to_owned(), "kp_test_".to_owned()),
            (
                "kp_test_-x kp_live_".to_owned(),
                "kp_test_-x kp_live_".to_owned(),
            ),
            (
                "kp_test_[redacted]".to_owned(),
                "kp_test_[redacted]".to_owned(),
            ),
            ("no key here".to_owned(), "no key here".to_owned()),
            (String::new(), String::new()),
        ];
        for (text, expected) in cases {
            assert_eq!(redact_keys(&text), expected, "{text}");
        }
    }

    /// Text pieces that stress the prefix matching: partial and whole
    /// prefixes, key characters, separators and multi-byte characters.
    const PIECES: [&str; 12] = [
        "",
        "k",
        "kp_",
        "kp_test",
        "kp_test_",
        "kp_live_",
        "_",
        "A9",
        "é",
        " ",
        "-",
        "kp_test_kp_",
    ];

    /// Redaction holds no key body, and redacting again changes nothing.
    #[track_caller]
    fn assert_redacted(text: &str, keys: &[&str]) {
        let redacted = redact_keys(text);
        for key in keys {
            assert!(!redacted.contains(body(key)), "{text} -> {redacted}");
        }
        assert_eq!(redact_keys(&redacted), redacted, "{text}");
    }

    #[test]
    fn no_key_body_survives_any_two_pieces_on_either_side() {
        let keys = [ApiKey::mint(KeyEnv::Test), ApiKey::mint(KeyEnv::Live)];
        for key in &keys {
            let key = key.expose();
            for before in PIECES
                .iter()
                .flat_map(|x| PIECES.map(|y| format!("{x}{y}")))
            {
                for after in PIECES
                    .iter()
                    .flat_map(|x| PIECES.map(|y| format!("{x}{y}")))
                {
                    assert_redacted(&format!("{before}{key}{after}"), &[key]);
                }
            }
        }
    }

    #[test]
    fn no_key_body_survives_random_text_around_several_keys() {
        use rand::seq::IndexedRandom;
        use rand::Rng;

        let mut rng = rand::rng();
        for _ in 0..2_000 {
            let keys: Vec<ApiKey> = (0..rng.random_range(1..=3))
                .map(|_| ApiKey::mint(*[KeyEnv::Live, KeyEnv::Test].choose(&mut rng).expect("two")))
                .collect();
            let mut text = String::new();
            for key in &keys {
                for _ in 0..rng.random_range(0..4) {
                    text.push_str(PIECES.choose(&mut rng).expect("pieces"));
                }
                text.push_str(key.expose());
            }
            text.push_str(PIECES.choose(&mut rng).expect("pieces"));
            let exposed: Vec<&str> = keys.iter().map(ApiKey::expose).collect();
            assert_redacted(&text, &exposed);
        }
    }

    #[test]
    fn hash_is_sha256_of_the_whole_key() {
        let key = ApiKey::from_plaintext("abc");
        assert_eq!(
            key.hash().to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(KeyHash::from_hex(&key.hash().to_hex()), Some(key.hash()));
    }

    #[test]
    fn contains_key_agrees_with_redaction() {
        let key = ApiKey::mint(KeyEnv::Live);
        let cases = [
            String::new(),
            "models:gpt-4o".to_owned(),
            "kp_live_".to_owned(),
            "kp_live_-x".to_owned(),
            "kp_live_a".to_owned(),
            "xkp_test_Z9".to_owned(),
            "kp_livekp_test_".to_owned(),
            "kp_live_kp_test_9".to_owned(),
            "ünï kp_test_é kp_live_".to_owned(),
            format!("note: {} here", key.expose()),
            key.expose()[1..].to_owned(),
        ];
        for text in &cases {
            assert_eq!(contains_key(text), redact_keys(text) != *text, "{text:?}");
        }
        assert!(contains_key(key.expose()));
    }
}
