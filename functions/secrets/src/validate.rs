//! Local checks of names and tokens, run before any request is sent.
//!
//! Secrets Manager would reject these too, but later, with a less specific
//! message, and emulators such as moto accept some of them; checking here
//! keeps behaviour identical everywhere.

use crate::error::SecretsError;

/// Secrets Manager's bounds on `ClientRequestToken` (which becomes the
/// version id).
const TOKEN_LEN: std::ops::RangeInclusive<usize> = 32..=64;
/// Secrets Manager's bound on a secret name.
const MAX_NAME_LEN: usize = 512;
/// Secrets Manager's bound on a secret id (a name or an ARN).
const MAX_ID_LEN: usize = 2048;

/// A client request token (or a version id, which is the same thing):
/// 32 to 64 printable ASCII characters. A UUID or a 32-hex-digit id fits.
pub(crate) fn token(token: &str) -> Result<(), SecretsError> {
    if !TOKEN_LEN.contains(&token.len()) || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(SecretsError::InvalidRequest(format!(
            "a client request token or version id must be {} to {} printable ASCII characters \
             (a UUID works), got {} characters",
            TOKEN_LEN.start(),
            TOKEN_LEN.end(),
            token.len()
        )));
    }
    Ok(())
}

/// A name for a new secret: 1 to 512 of `A-Z a-z 0-9 / _ + = . @ -`.
pub(crate) fn name(name: &str) -> Result<(), SecretsError> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"/_+=.@-".contains(&b);
    if name.is_empty() || name.len() > MAX_NAME_LEN || !name.bytes().all(allowed) {
        return Err(SecretsError::InvalidRequest(format!(
            "secret name `{}` is invalid: use 1 to {MAX_NAME_LEN} characters from A-Z a-z 0-9 \
             and / _ + = . @ -",
            name.escape_debug()
        )));
    }
    Ok(())
}

/// A reference to an existing secret: its name or ARN.
pub(crate) fn secret_id(secret_id: &str) -> Result<(), SecretsError> {
    if secret_id.is_empty() || secret_id.len() > MAX_ID_LEN {
        return Err(SecretsError::InvalidRequest(format!(
            "a secret id (name or ARN) must be 1 to {MAX_ID_LEN} characters long, got {}",
            secret_id.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert!(token("0123456789abcdef0123456789abcdef").is_ok());
        assert!(token("6f1c0a34-5a7e-4a8f-9d21-0c3b7f4e2a11").is_ok());
        assert!(token("short").is_err());
        assert!(token(&"a".repeat(65)).is_err());
        assert!(token(&" ".repeat(40)).is_err());
    }

    #[test]
    fn names() {
        assert!(name("keyplane/org_1/key-2+x=y.z@w").is_ok());
        assert!(name("").is_err());
        assert!(name("has space").is_err());
        assert!(name(&"a".repeat(513)).is_err());
    }
}
