//! Scanning what a run left behind (logs, answers, files, table dumps,
//! Terraform state) for the plaintexts it minted.
//!
//! A [`LeakScan`] watches a set of plaintexts and looks for each in a byte
//! blob in its obvious encodings: as it is, JSON-escaped, base64 (standard
//! and URL-safe, at each of the three alignments a value can have inside a
//! longer encoded text, so a key base64-encoded as part of a larger body is
//! found too) and hex. For a Keyplane key it looks for the secret part,
//! the text after the `kp_live_` / `kp_test_` prefix, so a key whose
//! prefix was cut off or changed still counts.
//!
//! Each scan in the tests comes with a control: the same scanner must find
//! a plaintext planted where the scanned data comes from, or a scan that
//! sees nothing (an empty capture, the wrong file) would pass forever.
//!
//! Standard library only: besides `keyplane-tests`, the store's and the
//! provider's tests compile this file as a module of their own
//! (`#[path = ".../tests/src/leak_scan.rs"]`), which needs no dependency
//! between the crates.

use std::fmt;

/// The key prefixes whose secret part is the text after them.
const KEY_PREFIXES: [&str; 2] = ["kp_live_", "kp_test_"];

/// Shorter secrets would match by chance.
const MIN_SECRET_LEN: usize = 16;

/// How a plaintext appeared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// As it is.
    Raw,
    /// Inside a JSON string, escaped.
    JsonEscaped,
    /// Standard base64.
    Base64,
    /// URL-safe base64.
    Base64Url,
    /// Hex, lower or upper case.
    Hex,
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Encoding::Raw => "raw",
            Encoding::JsonEscaped => "JSON-escaped",
            Encoding::Base64 => "base64",
            Encoding::Base64Url => "URL-safe base64",
            Encoding::Hex => "hex",
        })
    }
}

/// One occurrence of a watched plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Which plaintext, as a hint that does not reveal it.
    pub plaintext: String,
    /// In which encoding.
    pub encoding: Encoding,
    /// The byte offset of the match (in the blob as read).
    pub offset: usize,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}) at byte {}",
            self.plaintext, self.encoding, self.offset
        )
    }
}

#[derive(Debug, Clone)]
struct Watched {
    hint: String,
    needles: Vec<(Encoding, String)>,
}

/// The plaintexts a run minted, and where they must never appear.
#[derive(Debug, Clone, Default)]
pub struct LeakScan {
    watched: Vec<Watched>,
}

impl LeakScan {
    /// Watches `plaintexts`.
    pub fn new<S: AsRef<str>>(plaintexts: impl IntoIterator<Item = S>) -> Self {
        let mut scan = Self::default();
        for plaintext in plaintexts {
            scan.watch(plaintext.as_ref());
        }
        scan
    }

    /// Adds a plaintext to watch for.
    ///
    /// # Panics
    ///
    /// When its secret part is too short to scan for without false hits.
    pub fn watch(&mut self, plaintext: &str) {
        let secret = secret_part(plaintext);
        assert!(
            secret.len() >= MIN_SECRET_LEN,
            "a plaintext to scan for needs at least {MIN_SECRET_LEN} secret characters"
        );
        let mut needles = vec![(Encoding::Raw, secret.to_owned())];
        needles.push((Encoding::JsonEscaped, json_escaped(secret)));
        for alphabet in [Alphabet::Standard, Alphabet::UrlSafe] {
            for shift in 0..3 {
                needles.push((
                    alphabet.encoding(),
                    base64_fragment(secret, shift, alphabet),
                ));
            }
        }
        let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
        needles.push((Encoding::Hex, hex.to_uppercase()));
        needles.push((Encoding::Hex, hex));
        let mut unique: Vec<(Encoding, String)> = Vec::new();
        for (encoding, needle) in needles {
            if !unique.iter().any(|(_, seen)| *seen == needle) {
                unique.push((encoding, needle));
            }
        }
        self.watched.push(Watched {
            hint: hint(plaintext),
            needles: unique,
        });
    }

    /// How many plaintexts are watched.
    pub fn len(&self) -> usize {
        self.watched.len()
    }

    /// Whether nothing is watched.
    pub fn is_empty(&self) -> bool {
        self.watched.is_empty()
    }

    /// Every occurrence of a watched plaintext in `blob`.
    pub fn findings(&self, blob: impl AsRef<[u8]>) -> Vec<Finding> {
        // Every needle is ASCII, and a lossy conversion leaves ASCII runs
        // as they are; `str` search is the standard library's fast one.
        let text = String::from_utf8_lossy(blob.as_ref());
        let mut found = Vec::new();
        for watched in &self.watched {
            for (encoding, needle) in &watched.needles {
                found.extend(
                    text.match_indices(needle.as_str())
                        .map(|(offset, _)| Finding {
                            plaintext: watched.hint.clone(),
                            encoding: *encoding,
                            offset,
                        }),
                );
            }
        }
        found
    }

    /// Panics, naming `what` and every finding (never a whole plaintext),
    /// unless `blob` holds none of the watched plaintexts.
    pub fn assert_absent(&self, what: &str, blob: impl AsRef<[u8]>) {
        assert!(!self.is_empty(), "{what}: the scan watches no plaintext");
        let found = self.findings(blob);
        assert!(
            found.is_empty(),
            "{what}: {} occurrence(s) of a minted plaintext: {}",
            found.len(),
            list(&found)
        );
    }

    /// The control: panics unless `blob` holds every watched plaintext.
    /// Used with a plaintext planted where the scanned data comes from, it
    /// proves the scan of that data can fail.
    pub fn assert_present(&self, what: &str, blob: impl AsRef<[u8]>) {
        assert!(!self.is_empty(), "{what}: the control watches no plaintext");
        let found = self.findings(blob);
        for watched in &self.watched {
            assert!(
                found.iter().any(|f| f.plaintext == watched.hint),
                "{what}: the control {} was planted but the scan does not find it, so this scan cannot fail",
                watched.hint
            );
        }
    }
}

/// The text after a key prefix, or all of it.
fn secret_part(plaintext: &str) -> &str {
    KEY_PREFIXES
        .iter()
        .find_map(|prefix| plaintext.strip_prefix(prefix))
        .unwrap_or(plaintext)
}

/// Enough to tell plaintexts apart in a message, not enough to use one.
fn hint(plaintext: &str) -> String {
    let chars: Vec<char> = plaintext.chars().collect();
    let head: String = chars.iter().take(11).collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("{head}…{tail}")
}

fn list(found: &[Finding]) -> String {
    found
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `text` as it appears inside a JSON string.
fn json_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

#[derive(Debug, Clone, Copy)]
enum Alphabet {
    Standard,
    UrlSafe,
}

impl Alphabet {
    fn symbols(self) -> &'static [u8; 64] {
        match self {
            Alphabet::Standard => {
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
            }
            Alphabet::UrlSafe => {
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
            }
        }
    }

    fn encoding(self) -> Encoding {
        match self {
            Alphabet::Standard => Encoding::Base64,
            Alphabet::UrlSafe => Encoding::Base64Url,
        }
    }
}

/// The base64 characters that `text` alone decides when it starts `shift`
/// bytes (0–2) into a base64-encoded blob: whatever surrounds it, an
/// encoding of a blob holding `text` at such an offset contains these.
fn base64_fragment(text: &str, shift: usize, alphabet: Alphabet) -> String {
    let bytes = text.as_bytes();
    let total_bits = 8 * (shift + bytes.len());
    // Sextets that begin before the text's first bit mix in other bytes;
    // so does a last one that runs past its end.
    let first = (8 * shift).div_ceil(6);
    let last = total_bits / 6;
    let bit = |at: usize| -> u8 {
        let byte = at / 8;
        if byte < shift {
            0
        } else {
            (bytes[byte - shift] >> (7 - at % 8)) & 1
        }
    };
    (first..last)
        .map(|sextet| {
            let value = (0..6).fold(0u8, |acc, i| (acc << 1) | bit(6 * sextet + i));
            char::from(alphabet.symbols()[usize::from(value)])
        })
        .collect()
}
