//! Keyplane's Secrets Manager module, shared by the Terraform provider (which
//! writes each newly minted key straight into a secret, so the plaintext never
//! lands in Terraform state) and by the rotation Lambda.
//!
//! [`SecretsClient`] wraps the few calls those need. Every write carries a
//! client request token, which Secrets Manager uses as the version id, so a
//! retried write cannot create a second version. Errors come back as a
//! [`SecretsError`] sorted by what the caller should do. Plaintext travels
//! only as [`ApiKey`](keyplane_core::key_format::ApiKey), whose `Debug` is
//! redacted and whose memory is zeroized; nothing here logs it or puts it in
//! an error.

mod client;
mod error;
mod stage;
mod types;
mod validate;

pub use client::SecretsClient;
pub use error::SecretsError;
pub use stage::Stage;
pub use types::{
    NewSecret, Recovery, RotationSchedule, SecretDescription, SecretValue, SecretVersion,
};

/// The tag naming the Keyplane key a secret holds. The Terraform provider
/// and the CLI set it when they write a key; the rotator reads it to know
/// which key to roll (and Keyplane checks the key is bound to that secret,
/// so a wrong tag can only make a rotation fail).
pub const KEY_ID_TAG: &str = "keyplane:key-id";
