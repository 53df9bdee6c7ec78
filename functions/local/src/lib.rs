//! What `keyplane serve` needs and Lambda must not link: local SigV4
//! verification against a credentials file.
//!
//! In AWS, API Gateway's `AWS_IAM` authorisation checks the signature and
//! the Lambda functions take the caller from the request context; they
//! depend on `keyplane-http` alone. Locally nothing stands in front of the
//! Router, so `keyplane serve` checks AWS Signature Version 4 itself with
//! [`SigV4Identity`], against [`LocalCredentials`]: the AWS
//! shared-credentials file in its data directory.
//!
//! This is a crate rather than a module of the `keyplane` binary because
//! the Router's own tests (in `keyplane-http`) and the cross-component tests
//! need a real signing and verifying identity too; they take this crate as
//! a dev-dependency, with the `test-util` feature for the signer in
//! `testing`. The `Authorization` header parser is `keyplane-http`'s
//! ([`keyplane_http::auth::SigV4Authorization`]), shared with the
//! idempotency checks that run behind API Gateway as well.

pub mod credentials;
pub mod sigv4;
#[cfg(feature = "test-util")]
pub mod testing;

pub use credentials::{CredentialsError, GeneratedCredential, LocalCredentials, ADMIN_PROFILE};
pub use sigv4::SigV4Identity;
