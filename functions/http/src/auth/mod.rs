//! Caller identity for management routes. Management is IAM-only: API keys
//! are data-plane credentials and can never manage keys.
//!
//! In AWS, API Gateway's `AWS_IAM` authorisation has already checked the
//! signature and hands over the caller ARN; locally, `keyplane-local`'s
//! `SigV4Identity` checks AWS Signature Version 4 itself against a
//! credentials file. That verifier is not in this crate, so the Lambda
//! functions do not link it: they get [`Identify`], [`AuthError`], and the
//! header parsing that [`SignatureCoverage`] needs behind API Gateway too.

use std::fmt;

use chrono::{DateTime, Utc};
use keyplane_core::principal::Principal;

pub mod authorization;
mod coverage;

pub use authorization::SigV4Authorization;
pub use coverage::SignatureCoverage;

/// Resolves who sent a management request.
pub trait Identify: Send + Sync + fmt::Debug {
    /// The authenticated principal, or why the request is not authenticated.
    /// `body` is the full request body (SigV4 covers its hash).
    fn identify(
        &self,
        parts: &http::request::Parts,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Principal, AuthError>;
}

/// Why a management request is not authenticated. Messages never include
/// secrets, signatures or presented keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header.
    #[error(
        "management requests must be signed with AWS Signature Version 4 (service execute-api)"
    )]
    Missing,
    /// A `Bearer` API key was presented on a management route.
    #[error(
        "API keys cannot manage keys or tenants; sign the request with IAM credentials (SigV4)"
    )]
    ApiKeyNotAllowed,
    /// The `Authorization` header or a required signed header is malformed.
    #[error("malformed SigV4 authorization: {0}")]
    Malformed(String),
    /// The access key id is not known.
    #[error("unknown access key id")]
    UnknownAccessKey,
    /// `x-amz-date` is outside the allowed clock skew.
    #[error("the request time is outside the allowed window of 5 minutes; check your clock")]
    Expired,
    /// Signed for another region or service.
    #[error("the signature's scope must be region {region} and service execute-api")]
    WrongScope {
        /// The region this deployment expects.
        region: String,
    },
    /// The signature does not match.
    #[error("the request signature does not match")]
    BadSignature,
    /// Behind API Gateway: the request context names no IAM caller, so the
    /// route was not configured with `AWS_IAM` authorization (or the event
    /// came from elsewhere, such as a load balancer). Headers are never a
    /// substitute: a client can set any of them.
    #[error(
        "no IAM caller in the API Gateway request context; management routes must use AWS_IAM authorization and be called with SigV4-signed requests"
    )]
    NoIamContext,
}

impl AuthError {
    /// [`AuthError::Malformed`] with `message`, which must not quote the
    /// request.
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::Malformed(message.into())
    }

    /// Stable error code for problem+json.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Missing => "SIGNATURE_REQUIRED",
            AuthError::ApiKeyNotAllowed => "API_KEY_NOT_ALLOWED",
            AuthError::Malformed(_) => "SIGNATURE_MALFORMED",
            AuthError::UnknownAccessKey => "UNKNOWN_ACCESS_KEY",
            AuthError::Expired => "SIGNATURE_EXPIRED",
            AuthError::WrongScope { .. } => "SIGNATURE_WRONG_SCOPE",
            AuthError::BadSignature => "SIGNATURE_MISMATCH",
            AuthError::NoIamContext => "IAM_CONTEXT_MISSING",
        }
    }
}
