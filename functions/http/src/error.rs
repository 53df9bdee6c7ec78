//! RFC 9457 problem details: the one shape every error takes on the wire.
//!
//! Every error carries a stable `code`. Messages are built from ids, field
//! names and limits only; request bodies and keys are never echoed.
//!
//! Status by [`ErrorKind`]: every `Invalid` is 400 (one status for all bad
//! input, syntactic or semantic, so clients branch on `code` alone);
//! `Unauthenticated` 401 with a `WWW-Authenticate` challenge; `Forbidden`
//! 403; `NotFound` 404; `Conflict` and `QuotaExceeded` 409 (retrying the
//! same request cannot succeed, so not 429); `Unavailable` 503. The abuse
//! limits add 429 `RATE_LIMITED` and 503 `TIMED_OUT`, both with
//! `Retry-After`, and 431 `HEADERS_TOO_LARGE`.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use keyplane_api::problem::Problem;
use keyplane_core::{Error, ErrorKind};

use crate::auth::AuthError;
use crate::observe::ProblemAnswer;

/// Media type of problem details.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error response.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    www_authenticate: Option<&'static str>,
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with an explicit status.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            www_authenticate: None,
            retry_after: None,
        }
    }

    /// 400 with `code`.
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// 429 `RATE_LIMITED`, retry after `wait` (told in whole seconds,
    /// rounded up: a client that waits as told is let through).
    pub fn rate_limited(wait: Duration, detail: impl Into<String>) -> Self {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Self {
            retry_after: Some(seconds.max(1)),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED", detail)
        }
    }

    /// 503 `TIMED_OUT`: the request did not finish within `limit`.
    pub fn timed_out(limit: Duration) -> Self {
        Self {
            retry_after: Some(1),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "TIMED_OUT",
                format!(
                    "the request did not complete within {} ms; retry it (a create or roll with the same Idempotency-Key is answered once)",
                    limit.as_millis()
                ),
            )
        }
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// Seconds the client is told to wait before retrying, if any.
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    /// Adds a `WWW-Authenticate` challenge.
    pub fn challenge(mut self, scheme: &'static str) -> Self {
        self.www_authenticate = Some(scheme);
        self
    }

    fn problem(&self) -> Problem {
        Problem {
            problem_type: format!(
                "https://keyplane.dev/problems/{}",
                self.code.to_ascii_lowercase().replace('_', "-")
            ),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_owned(),
            request_id: None,
        }
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        let status = match err.kind {
            ErrorKind::Invalid => StatusCode::BAD_REQUEST,
            ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict | ErrorKind::QuotaExceeded => StatusCode::CONFLICT,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        };
        let mut api = Self::new(status, err.code, err.message);
        if status == StatusCode::UNAUTHORIZED {
            api.www_authenticate = Some("Bearer");
        }
        api
    }
}

impl From<keyplane_api::InvalidInput> for ApiError {
    fn from(err: keyplane_api::InvalidInput) -> Self {
        Error::from(err).into()
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        let status = match err {
            AuthError::ApiKeyNotAllowed => StatusCode::FORBIDDEN,
            _ => StatusCode::UNAUTHORIZED,
        };
        let api = Self::new(status, err.code(), err.to_string());
        if status == StatusCode::UNAUTHORIZED {
            api.challenge("AWS4-HMAC-SHA256")
        } else {
            api
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = self.problem();
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        // The request-id middleware renders it again with the id in it.
        response.extensions_mut().insert(ProblemAnswer(problem));
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(scheme) = self.www_authenticate {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(scheme));
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
