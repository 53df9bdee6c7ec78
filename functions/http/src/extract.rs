//! Turning requests into use-case input: the body (bounded), the signed
//! caller, JSON and query strings. Every rejection is a problem+json with a
//! stable code, and none of them quotes the request.

use std::future::Future;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{FromRef, FromRequest, Request};
use axum::http::{header, request::Parts, HeaderMap, StatusCode};
use http_body_util::LengthLimitError;
use keyplane_core::service::IdempotencyToken;
use keyplane_core::Caller;
use serde::de::DeserializeOwned;

use crate::auth::{AuthError, SignatureCoverage};
use crate::error::ApiError;
use crate::guard::PrincipalLimit;
use crate::observe::RequestId;
use crate::AppState;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Reads the whole body, refusing more than [`BODY_LIMIT`] bytes. A body
/// that breaks off (client gone, stream error) is a 400, not a 413.
pub async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    to_bytes(body, BODY_LIMIT).await.map_err(|err| {
        let too_large = err
            .into_inner()
            .downcast_ref::<LengthLimitError>()
            .is_some();
        if too_large {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "BODY_TOO_LARGE",
                format!("request bodies are limited to {BODY_LIMIT} bytes"),
            )
        } else {
            ApiError::bad_request("BODY_UNREADABLE", "the request body could not be read")
        }
    })
}

/// A management request whose SigV4 signature checked out: the caller and
/// the body the signature covered.
#[derive(Debug)]
pub struct Signed {
    /// Who is calling, from where.
    pub caller: Caller,
    headers: HeaderMap,
    body: Bytes,
}

impl Signed {
    /// The body as JSON of type `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        parse_json(&self.headers, &self.body)
    }

    /// The body as JSON of type `T`, or `T::default()` when it is empty.
    pub fn json_or_default<T: DeserializeOwned + Default>(&self) -> Result<T, ApiError> {
        if self.body.is_empty() {
            Ok(T::default())
        } else {
            self.json()
        }
    }

    /// What makes this create or roll safe to repeat. The client's
    /// `Idempotency-Key` counts only if the signature covers it (otherwise
    /// anyone replaying a captured request could add one and be honoured);
    /// without one, the token is derived from the signature, so a
    /// byte-identical replay is answered as a replay, never with a second
    /// plaintext.
    pub fn idempotency_token(&self) -> Result<Option<IdempotencyToken>, ApiError> {
        let coverage = SignatureCoverage::of(&self.headers);
        let Some(value) = self.headers.get(IDEMPOTENCY_KEY) else {
            return Ok(coverage.map(|c| IdempotencyToken::Signature(c.digest)));
        };
        if !coverage.is_some_and(|c| c.covers(IDEMPOTENCY_KEY)) {
            return Err(ApiError::bad_request(
                "IDEMPOTENCY_KEY_NOT_SIGNED",
                "the Idempotency-Key header must be one of the request's SigV4 SignedHeaders",
            ));
        }
        let token = value.to_str().map_err(|_| {
            ApiError::bad_request(
                "INVALID_IDEMPOTENCY_KEY",
                "Idempotency-Key must be printable ASCII",
            )
        })?;
        Ok(Some(IdempotencyToken::Client(token.to_owned())))
    }
}

impl Signed {
    /// Runs the use case `write` unless this very signed request was
    /// handled before: a byte-identical replay within the signature's
    /// validity window is refused with 409 `REQUEST_REPLAYED` and changes
    /// nothing (see [`keyplane_core::Keyplane::once`]). For every write
    /// that is not idempotent by itself; creates and rolls are (see
    /// [`Signed::idempotency_token`]) and are answered as replays instead.
    /// The signature is read from the forwarded `Authorization` header,
    /// behind API Gateway too; a write without one is refused, as it could
    /// not be told from its replay.
    pub async fn once<T>(
        &self,
        state: &AppState,
        write: impl Future<Output = Result<T, keyplane_core::Error>>,
    ) -> Result<T, ApiError> {
        let coverage = SignatureCoverage::of(&self.headers).ok_or(AuthError::Missing)?;
        Ok(state.keyplane.once(&coverage.digest, write).await?)
    }
}

/// The header that makes creates and rolls safe to retry.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

impl<S> FromRequest<S> for Signed
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let (parts, body) = req.into_parts();
        let body = read_body(body).await?;
        let principal = state.identity.identify(&parts, &body, state.clock.now())?;
        if let Some(limit) = parts.extensions.get::<PrincipalLimit>() {
            limit.check(&principal)?;
        }
        let caller = Caller {
            principal,
            source: user_agent(&parts),
            request_id: parts.extensions.get::<RequestId>().map(|id| id.0.clone()),
        };
        Ok(Self {
            caller,
            headers: parts.headers,
            body,
        })
    }
}

fn user_agent(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A data-plane JSON body (no signature: the key is the credential).
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let body = read_body(body).await?;
        parse_json(&parts.headers, &body).map(JsonBody)
    }
}

/// Parses JSON after checking the content type; errors name the field but
/// never quote a value.
pub fn parse_json<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| {
            let media = media.trim().to_ascii_lowercase();
            media == "application/json"
                || (media.starts_with("application/") && media.ends_with("+json"))
        });
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "send the body as JSON with content-type: application/json",
        ));
    }
    // Every body is an object. serde's derived structs also take an array,
    // field by field in declaration order (`["acme", 5]` would rename and
    // set a quota), which no client means and the document does not offer.
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(ApiError::bad_request(
            "INVALID_FIELD",
            "invalid request body at `.`: wrong type or value, expected a JSON object",
        ));
    }
    // The plain parse is the hot path; a body that fails it is parsed again
    // with the path tracked, to say where (the same input fails the same way).
    if let Ok(value) = serde_json::from_slice(body) {
        return Ok(value);
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = safe_path(err.path());
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::bad_request(
                "MALFORMED_JSON",
                format!(
                    "the body is not valid JSON (line {}, column {})",
                    inner.line(),
                    inner.column()
                ),
            );
        }
        let message = describe(&inner.to_string());
        let field = path.rsplit('.').next().unwrap_or_default();
        if let Some(code) =
            keyplane_api::limits::range_code(field).filter(|_| message.starts_with("must be "))
        {
            return ApiError::bad_request(code, format!("{field} {message}"));
        }
        let detail = if let Some(hint) = message
            .strip_prefix("missing field ")
            .and_then(missing_hint)
        {
            format!("invalid request body: {message}; {hint}")
        } else {
            format!("invalid request body at `{path}`: {message}")
        };
        ApiError::bad_request("INVALID_FIELD", detail)
    })
}

/// Renders where in the body an error is, replacing any segment that is
/// not a plain field name: an unknown field's name is client input and
/// could be a pasted key.
fn safe_path(path: &serde_path_to_error::Path) -> String {
    let segments: Vec<String> = path
        .iter()
        .map(|segment| match segment {
            serde_path_to_error::Segment::Seq { index } => index.to_string(),
            serde_path_to_error::Segment::Map { key }
            | serde_path_to_error::Segment::Enum { variant: key }
                if is_field_name(key) =>
            {
                key.clone()
            }
            _ => "?".to_owned(),
        })
        .collect();
    if segments.is_empty() {
        ".".to_owned()
    } else {
        segments.join(".")
    }
}

fn is_field_name(name: &str) -> bool {
    name.len() <= 24 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Parses a query string; unknown parameters and bad values are refused.
pub fn parse_query<T: DeserializeOwned>(query: Option<&str>) -> Result<T, ApiError> {
    let pairs = form_urlencoded::parse(query.unwrap_or("").as_bytes());
    serde_path_to_error::deserialize(serde_urlencoded::Deserializer::new(pairs)).map_err(|err| {
        let path = safe_path(err.path());
        let message = describe(&err.into_inner().to_string());
        let detail = if path == "." {
            format!("invalid query string: {message}")
        } else {
            format!("invalid query parameter `{path}`: {message}")
        };
        ApiError::bad_request("INVALID_QUERY", detail)
    })
}

/// Rewrites a serde message so that it names fields and expectations but
/// never repeats a value from the request (which could be a key).
fn describe(message: &str) -> String {
    let message = message.split(" at line ").next().unwrap_or(message);
    let quoted = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('`'))
            .and_then(|rest| rest.split('`').next())
            .filter(|name| {
                name.len() <= 24 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            })
    };
    if message.starts_with("unknown field") {
        return match quoted("unknown field ") {
            Some(name) => format!("unknown field `{name}`"),
            None => "unknown field".to_owned(),
        };
    }
    if message.starts_with("missing field") || message.starts_with("must be between") {
        // Field names and our own limits: nothing from the request.
        return message.to_owned();
    }
    if let Some((_, expected)) = message.split_once(", expected ") {
        return format!("wrong type or value, expected {}", plain_words(expected));
    }
    if message.starts_with("invalid digit") || message.starts_with("number too large") {
        // How Rust's integer parsing says a query parameter is not a number.
        return "expected a whole number".to_owned();
    }
    if message.starts_with("unknown variant") {
        if let Some((_, expected)) = message.split_once("expected ") {
            return format!("unknown value, expected {expected}");
        }
    }
    "wrong type or value".to_owned()
}

/// Speaks of numbers as people do, not as Rust types.
fn plain_words(expected: &str) -> &str {
    match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number of 0 or more",
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        other => other,
    }
}

/// What to add when a required field is missing.
fn missing_hint(field: &str) -> Option<&'static str> {
    Some(match field.trim_matches('`') {
        "scope" => "add \"scope\": \"workspace\" (with \"workspace_id\") or \"organization\" (optionally with \"workspace_ids\")",
        "type" => "add \"type\": \"service\" (acts as its name) or \"personal\" (acts as you)",
        "role" => "add \"role\": \"viewer\", \"editor\" or \"owner\"",
        "organization_id" => "add \"organization_id\": the org_… id the key belongs to",
        "org_role" => "add \"org_role\": \"member\" or \"owner\"",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use axum::body::{Body, Bytes};

    use super::{describe, read_body, BODY_LIMIT};

    #[tokio::test]
    async fn a_broken_body_is_unreadable_not_too_large() {
        let chunks: [Result<Bytes, std::io::Error>; 2] = [
            Ok(Bytes::from_static(b"{")),
            Err(std::io::Error::other("connection reset")),
        ];
        let err = read_body(Body::from_stream(futures::stream::iter(chunks)))
            .await
            .err();
        assert_eq!(err.map(|e| e.code()), Some("BODY_UNREADABLE"));

        let big = Body::from(vec![b' '; BODY_LIMIT + 1]);
        assert_eq!(
            read_body(big).await.err().map(|e| e.code()),
            Some("BODY_TOO_LARGE")
        );
    }

    #[test]
    fn messages_never_repeat_values() {
        let secret = "kp_test_SECRETSECRETSECRET";
        for message in [
            format!("invalid type: string \"{secret}\", expected u32 at line 1 column 9"),
            format!("unknown field `{secret}`, expected one of `name`"),
            format!("unknown variant `{secret}`, expected `workspace` or `organization`"),
            format!("invalid value: integer `{secret}`, expected u64"),
            format!("something else {secret}"),
        ] {
            assert!(!describe(&message).contains("SECRET"), "{message}");
        }
        assert_eq!(
            describe("unknown field `colour`, expected `name`"),
            "unknown field `colour`"
        );
        assert_eq!(describe("missing field `name`"), "missing field `name`");
    }
}
