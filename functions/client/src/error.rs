//! What can go wrong, typed. No variant ever carries a request or response
//! body, a header value or a plaintext key: API details are passed through
//! `redact_keys`, and decoding errors keep only where the JSON broke.

use std::fmt;
use std::time::Duration;

use aws_credential_types::provider::error::CredentialsError;
use http::{HeaderMap, StatusCode};
use keyplane_api::key_format::redact_keys;
use keyplane_api::problem::Problem;

/// A client error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The API answered with an error status (problem+json, or a gateway's
    /// own error body).
    #[error("{0}")]
    Api(Box<ApiError>),
    /// The request could not be sent or its answer could not be read.
    #[error("transport error on {route}: {message}")]
    Transport {
        /// The route template, e.g. `/v1/keys/{key_id}`.
        route: &'static str,
        /// What failed (never a body or header).
        message: String,
        /// The underlying error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// No complete answer within the per-attempt timeout.
    #[error("no answer on {route} within {timeout:?}")]
    Timeout {
        /// The route template.
        route: &'static str,
        /// The per-attempt timeout.
        timeout: Duration,
    },
    /// AWS credentials could not be loaded.
    #[error("cannot load AWS credentials: {0}")]
    Credentials(#[source] CredentialsError),
    /// The client is misconfigured (endpoint, region, TLS, signing).
    #[error("configuration: {0}")]
    Configuration(String),
    /// A successful answer whose body is not what the route promises.
    #[error("unexpected answer on {route} (status {status}): {message}")]
    Decode {
        /// The route template.
        route: &'static str,
        /// The status of the answer.
        status: StatusCode,
        /// Where decoding failed; never a value from the body.
        message: String,
    },
}

impl Error {
    /// The API error, if this is one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(api) => Some(api),
            _ => None,
        }
    }

    /// The problem `code` of an API error, e.g. `KEY_NOT_FOUND`.
    pub fn code(&self) -> Option<&str> {
        self.api().map(ApiError::code)
    }

    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<StatusCode> {
        self.api().map(ApiError::status)
    }

    pub(crate) fn configuration(message: impl Into<String>) -> Self {
        Error::Configuration(message.into())
    }

    pub(crate) fn transport(
        route: &'static str,
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Error::Transport {
            route,
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// A decoding failure, described by serde_json's category and position
    /// only: its message can quote a value, and a value can be a key.
    pub(crate) fn decode(route: &'static str, status: StatusCode, err: &serde_json::Error) -> Self {
        let category = match err.classify() {
            serde_json::error::Category::Io => "I/O error",
            serde_json::error::Category::Syntax => "malformed JSON",
            serde_json::error::Category::Data => "JSON of the wrong shape",
            serde_json::error::Category::Eof => "truncated JSON",
        };
        Error::Decode {
            route,
            status,
            message: format!("{category} at line {}, column {}", err.line(), err.column()),
        }
    }
}

/// An error answer from the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    code: String,
    detail: String,
    request_id: Option<String>,
    route: &'static str,
    after_lost_attempt: bool,
}

impl ApiError {
    /// Reads an error answer: problem+json when the body is one, otherwise
    /// (an API Gateway or load balancer error) `HTTP_<status>` and the
    /// body's `message`, if any.
    pub(crate) fn from_answer(
        route: &'static str,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
        after_lost_attempt: bool,
    ) -> Self {
        let header_request_id = ["x-request-id", "x-amzn-requestid"]
            .iter()
            .find_map(|name| headers.get(*name).and_then(|v| v.to_str().ok()))
            .map(str::to_owned);
        let (code, detail, request_id) = match serde_json::from_slice::<Problem>(body) {
            Ok(problem) => (problem.code, problem.detail, problem.request_id),
            Err(_) => {
                let message = serde_json::from_slice::<serde_json::Value>(body)
                    .ok()
                    .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
                    .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
                (format!("HTTP_{}", status.as_u16()), message, None)
            }
        };
        Self {
            status,
            code: redact_keys(&code),
            detail: redact_keys(&detail),
            request_id: request_id.or(header_request_id).map(|id| redact_keys(&id)),
            route,
            after_lost_attempt,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable problem `code`, e.g. `KEY_NOT_FOUND`; `HTTP_<status>` when
    /// the answer was not problem+json.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// What went wrong, for people.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The server's request id, to quote when asking for help.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// The route template the call went to.
    pub fn route(&self) -> &'static str {
        self.route
    }

    /// True when this answer came to a retry sent after an attempt whose
    /// outcome is unknown (timeout, lost connection, 5xx): the earlier
    /// attempt may have taken effect, so e.g. a `VERSION_CONFLICT` may be
    /// this very call's own earlier write.
    pub fn after_lost_attempt(&self) -> bool {
        self.after_lost_attempt
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} on {}: {}",
            self.status.as_u16(),
            self.code,
            self.route,
            self.detail
        )?;
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

impl From<ApiError> for Error {
    fn from(err: ApiError) -> Self {
        Error::Api(Box::new(err))
    }
}
