//! What the fuzz targets share: a world with real keys in an in-memory
//! store, a plain-text form of HTTP requests, and a scan for well-formed
//! keys in text.
//!
//! Setup may panic (`expect`): a world that cannot be built is a broken
//! harness, not a finding. Everything a target feeds fuzz input to must not.

pub mod keys;
pub mod request_text;
pub mod world;

/// One fixed instant for everything time-dependent, so each input behaves
/// the same on every run: 2025-01-01T00:00:00Z.
pub const NOW_SECS: i64 = 1_735_689_600;

/// [`NOW_SECS`] as a time.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(NOW_SECS, 0).expect("a valid timestamp")
}

/// Fuzz input as text: invalid UTF-8 is replaced, not discarded, so every
/// input reaches the code under test.
pub fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// The one access key the `sigv4` target accepts, and its corpus is
/// signed with.
pub mod credential {
    /// The access key id.
    pub const ACCESS_KEY_ID: &str = "KPAKFUZZ000000000000";
    /// Its secret.
    pub const SECRET: &str = "fuzz/secret/fuzz/secret/fuzz/secret/0000";
    /// Who it acts as.
    pub const PRINCIPAL: &str = "arn:aws:iam::123456789012:user/fuzz";
    /// The region requests are signed for.
    pub const REGION: &str = "us-east-1";

    /// The credentials file holding it.
    pub fn file() -> String {
        format!(
            "[fuzz]\naws_access_key_id = {ACCESS_KEY_ID}\naws_secret_access_key = {SECRET}\nprincipal_arn = {PRINCIPAL}\n"
        )
    }
}
