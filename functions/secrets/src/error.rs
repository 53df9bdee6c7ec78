//! What can go wrong talking to Secrets Manager, sorted by what the caller
//! should do about it.
//!
//! The SDK reports dozens of error codes per operation; callers (the
//! Terraform provider, the rotation Lambda) only need to know whether to
//! plan a replacement, pick another name, fix their request or IAM policy,
//! or retry later. No variant ever carries a secret value: requests are
//! described by secret id, token and operation only, and AWS's own error
//! messages never echo the `SecretString`.

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

/// A failed Secrets Manager operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretsError {
    /// The secret (or the version asked for) does not exist. Reads report
    /// this as `Ok(None)` instead; writes and stage moves report it here.
    #[error(
        "secret `{secret_id}` was not found in Secrets Manager: check the name or ARN, the \
         region, and whether it was deleted"
    )]
    NotFound {
        /// The name or ARN that was asked for.
        secret_id: String,
    },

    /// `create` found a secret with this name that does not hold our
    /// version.
    #[error(
        "a secret named `{name}` already exists: choose another name, or add a version to the \
         existing secret with put_version"
    )]
    AlreadyExists {
        /// The name that is taken.
        name: String,
    },

    /// The client request token already names a version holding a
    /// different value. Versions are immutable, so this is never
    /// overwritten; a retry with the same value succeeds.
    #[error(
        "client request token {token} already names a version of secret `{secret_id}` with a \
         different value: versions are immutable, so retry with the same value or use a new token"
    )]
    TokenReused {
        /// The secret the token belongs to.
        secret_id: String,
        /// The token, which is also that version's id (not secret).
        token: String,
    },

    /// The request is malformed or not allowed in the secret's current state
    /// (validation, `InvalidParameterException`, `InvalidRequestException`,
    /// e.g. a secret scheduled for deletion). Holds AWS's message, or ours
    /// when the request was rejected before sending.
    #[error("Secrets Manager rejected the request: {0}")]
    InvalidRequest(String),

    /// IAM (or the KMS key policy) does not let the caller do this.
    #[error(
        "not allowed to call secretsmanager:{operation} on `{secret_id}`: {message}; grant that \
         action to the caller's IAM role (plus kms:Decrypt/kms:GenerateDataKey when the secret \
         uses a customer-managed KMS key) and check the credentials are the intended ones"
    )]
    AccessDenied {
        /// The API action, e.g. `PutSecretValue`.
        operation: &'static str,
        /// The name or ARN the call was about.
        secret_id: String,
        /// AWS's explanation.
        message: String,
    },

    /// Throttling, a 5xx, a timeout or a network failure, after the SDK's
    /// own retries. Transient: retrying later is right, and every write is
    /// keyed by a client request token, so a retry cannot duplicate it.
    #[error(
        "Secrets Manager is unavailable: {0}; this is transient, retry later (writes are \
         idempotent with the same client request token)"
    )]
    Unavailable(String),
}

impl SecretsError {
    /// Whether retrying the same call later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, SecretsError::Unavailable(_))
    }
}

/// Which call failed, for the error message and for mapping codes whose
/// meaning depends on the call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Call<'a> {
    /// The API action name, as IAM spells it after `secretsmanager:`.
    pub operation: &'static str,
    /// The name or ARN the call was about.
    pub secret_id: &'a str,
}

/// Error codes meaning "slow down or try again": AWS's throttling family and
/// Secrets Manager's internal error.
const TRANSIENT_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "InternalServiceError",
    "InternalFailure",
    "ServiceUnavailable",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// Error codes meaning "these credentials may not do this". KMS failures
/// land here because in practice they are key-policy or grant problems.
const DENIED_CODES: &[&str] = &[
    "AccessDeniedException",
    "AccessDenied",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "ExpiredToken",
    "ExpiredTokenException",
    "DecryptionFailure",
    "EncryptionFailure",
];

impl Call<'_> {
    /// Sorts an SDK error into a [`SecretsError`].
    ///
    /// `ResourceExistsException` becomes [`SecretsError::AlreadyExists`];
    /// the operations that know better (a token collision in
    /// `put_version`) refine it.
    pub(crate) fn fail<E>(self, err: SdkError<E, HttpResponse>) -> SecretsError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let operation = self.operation;
        match &err {
            SdkError::ServiceError(service) => {
                let code = err.code().unwrap_or("");
                let message = err.message().unwrap_or("no message").to_owned();
                let status = service.raw().status();
                match code {
                    "ResourceNotFoundException" => SecretsError::NotFound {
                        secret_id: self.secret_id.to_owned(),
                    },
                    "ResourceExistsException" => SecretsError::AlreadyExists {
                        name: self.secret_id.to_owned(),
                    },
                    code if DENIED_CODES.contains(&code) => SecretsError::AccessDenied {
                        operation,
                        secret_id: self.secret_id.to_owned(),
                        message: format!("{code}: {message}"),
                    },
                    code if TRANSIENT_CODES.contains(&code) || status.is_server_error() => {
                        SecretsError::Unavailable(format!(
                            "{operation} failed with {} (HTTP {}): {message}",
                            if code.is_empty() {
                                "no error code"
                            } else {
                                code
                            },
                            status.as_u16()
                        ))
                    }
                    // InvalidParameterException, InvalidRequestException,
                    // ValidationException, LimitExceededException (too many
                    // versions), PreconditionNotMetException and anything
                    // new: the request has to change.
                    code => SecretsError::InvalidRequest(format!(
                        "{operation} on `{}` failed with {}: {message}",
                        self.secret_id,
                        if code.is_empty() {
                            "an unknown error"
                        } else {
                            code
                        },
                    )),
                }
            }
            SdkError::TimeoutError(_) => SecretsError::Unavailable(format!(
                "{operation} did not complete within the client's timeout"
            )),
            SdkError::ConstructionFailure(_) => self.before_response(&err, true),
            SdkError::DispatchFailure(dispatch) if dispatch.is_user() => {
                self.before_response(&err, true)
            }
            _ => self.before_response(&err, false),
        }
    }
}

impl Call<'_> {
    /// Failures without a service response: no credentials, a refused or
    /// dropped connection, a garbled response. Missing credentials are told
    /// apart from network trouble by the SDK's credential error in the cause
    /// chain; a missing region is caught before sending (see
    /// `SecretsClient`).
    fn before_response(
        self,
        err: &(dyn std::error::Error + 'static),
        never_sent: bool,
    ) -> SecretsError {
        let operation = self.operation;
        let causes = chain(err);
        if let Some(credentials) = find::<CredentialsError>(err) {
            return match credentials {
                CredentialsError::CredentialsNotLoaded(_)
                | CredentialsError::InvalidConfiguration(_) => SecretsError::AccessDenied {
                    operation,
                    secret_id: self.secret_id.to_owned(),
                    message: format!(
                        "no usable AWS credentials ({causes}); set AWS_PROFILE or \
                         AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run with an IAM role"
                    ),
                },
                _ => SecretsError::Unavailable(format!(
                    "{operation} could not load AWS credentials: {causes}"
                )),
            };
        }
        if never_sent {
            return SecretsError::InvalidRequest(format!(
                "{operation} could not be built: {causes}"
            ));
        }
        SecretsError::Unavailable(format!(
            "{operation} could not reach Secrets Manager: {causes}"
        ))
    }
}

/// The first error of type `T` in the cause chain.
fn find<'a, T: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut current = Some(err);
    while let Some(cause) = current {
        if let Some(found) = cause.downcast_ref::<T>() {
            return Some(found);
        }
        current = cause.source();
    }
    None
}

/// Every cause's message, outermost first, skipping repeats; like the SDK's
/// `DisplayErrorContext` without its trailing `Debug` dump.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(err);
    while let Some(cause) = current {
        let text = cause.to_string();
        if !parts.last().is_some_and(|last| last.contains(&text)) {
            parts.push(text);
        }
        current = cause.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

    const CALL: Call<'static> = Call {
        operation: "GetSecretValue",
        secret_id: "keyplane/key_1",
    };

    /// What `code` with HTTP `status` maps to.
    fn service(code: &str, status: u16) -> SecretsError {
        let meta = ErrorMetadata::builder()
            .code(code)
            .message("details from AWS")
            .build();
        let raw = HttpResponse::new(
            StatusCode::try_from(status).expect("valid status"),
            SdkBody::empty(),
        );
        CALL.fail(SdkError::service_error(
            GetSecretValueError::generic(meta),
            raw,
        ))
    }

    #[test]
    fn service_codes_map_to_what_the_caller_should_do() {
        assert!(matches!(
            service("ResourceNotFoundException", 400),
            SecretsError::NotFound { secret_id } if secret_id == "keyplane/key_1"
        ));
        assert!(matches!(
            service("ResourceExistsException", 400),
            SecretsError::AlreadyExists { .. }
        ));
        for code in [
            "InvalidParameterException",
            "InvalidRequestException",
            "ValidationException",
            "LimitExceededException",
        ] {
            let err = service(code, 400);
            assert!(
                matches!(&err, SecretsError::InvalidRequest(m) if m.contains(code) && m.contains("details from AWS")),
                "{err:?}"
            );
        }
        for code in [
            "AccessDeniedException",
            "UnrecognizedClientException",
            "DecryptionFailure",
        ] {
            let err = service(code, 400);
            assert!(
                matches!(
                    &err,
                    SecretsError::AccessDenied {
                        operation: "GetSecretValue",
                        ..
                    }
                ),
                "{err:?}"
            );
            assert!(
                err.to_string().contains("secretsmanager:GetSecretValue"),
                "{err}"
            );
        }
        for (code, status) in [
            ("ThrottlingException", 400),
            ("InternalServiceError", 500),
            ("", 503),
            ("SomethingNew", 502),
        ] {
            let err = service(code, status);
            assert!(err.is_retryable(), "{code} {status}: {err:?}");
        }
        assert!(matches!(
            service("SomethingNew", 400),
            SecretsError::InvalidRequest(_)
        ));
    }

    #[test]
    fn timeouts_are_unavailable() {
        let err: SdkError<GetSecretValueError, HttpResponse> = SdkError::timeout_error("slow");
        assert!(matches!(CALL.fail(err), SecretsError::Unavailable(_)));
    }
}
