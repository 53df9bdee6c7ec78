//! The three authorizer events API Gateway sends, reduced to what a
//! decision needs: the method, the path, the presented key, and what the
//! answer must look like.

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerRequestTypeRequest,
    ApiGatewayV2CustomAuthorizerV2Request,
};
use http::HeaderMap;
use keyplane_core::key_format::ApiKey;
use serde_json::Value;

/// An authorizer invocation.
#[derive(Debug, Clone)]
pub enum AuthorizerEvent {
    /// REST API `TOKEN` authorizer: the identity source's value and the
    /// method ARN. Answered with an IAM policy.
    Token(Box<ApiGatewayCustomAuthorizerRequest>),
    /// REST API `REQUEST` authorizer (also an HTTP API authorizer on
    /// payload 1.0): the request's method, path and headers. Answered with
    /// an IAM policy.
    Request(Box<ApiGatewayCustomAuthorizerRequestTypeRequest>),
    /// HTTP API `REQUEST` authorizer on payload 2.0. Answered with a
    /// simple response: the authorizer must have simple responses enabled.
    HttpApi(Box<ApiGatewayV2CustomAuthorizerV2Request>),
}

/// Why an invocation is not an authorizer event we can answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported authorizer event: {0}")]
pub struct UnsupportedEvent(pub String);

impl AuthorizerEvent {
    /// Recognises the event by its `version` and `type`.
    pub fn from_value(event: Value) -> Result<Self, UnsupportedEvent> {
        let field = |name: &str| event.get(name).and_then(Value::as_str).map(str::to_owned);
        let (version, kind) = (field("version"), field("type"));
        let unsupported = |what: &str, err: serde_json::Error| {
            // Say where, never what: a field's value may be a key.
            UnsupportedEvent(format!(
                "a {what} event whose fields do not fit (line {}, column {})",
                err.line(),
                err.column()
            ))
        };
        match (version.as_deref(), kind.as_deref()) {
            (Some("2.0"), Some("REQUEST")) => serde_json::from_value(event)
                .map(Self::HttpApi)
                .map_err(|err| unsupported("payload 2.0 REQUEST", err)),
            (Some("2.0"), _) => Err(UnsupportedEvent(
                "payload 2.0 events must be of type REQUEST".to_owned(),
            )),
            (_, Some("TOKEN")) => serde_json::from_value(event)
                .map(Self::Token)
                .map_err(|err| unsupported("TOKEN", err)),
            (_, Some("REQUEST")) => serde_json::from_value(event)
                .map(Self::Request)
                .map_err(|err| unsupported("REQUEST", err)),
            _ => Err(UnsupportedEvent(
                "expected an API Gateway authorizer event of type TOKEN or REQUEST".to_owned(),
            )),
        }
    }

    /// Does API Gateway expect an IAM policy (REST), rather than a simple
    /// response (HTTP API, payload 2.0)?
    pub fn wants_policy(&self) -> bool {
        !matches!(self, Self::HttpApi(_))
    }

    /// The ARN the policy must name: exactly the invoked method, so that a
    /// cached Allow never covers another route.
    pub fn method_arn(&self) -> Option<&str> {
        match self {
            Self::Token(event) => event.method_arn.as_deref(),
            Self::Request(event) => event.method_arn.as_deref(),
            Self::HttpApi(event) => event.route_arn.as_deref(),
        }
    }

    /// The HTTP method and the path, without the stage.
    pub fn method_and_path(&self) -> Option<(String, String)> {
        match self {
            Self::Token(event) => parse_method_arn(event.method_arn.as_deref()?),
            Self::Request(event) => {
                let method = event.http_method.as_ref()?.as_str().to_owned();
                Some((method, event.path.clone()?))
            }
            Self::HttpApi(event) => {
                let method = event.request_context.http.method.as_str().to_owned();
                let raw_path = event.raw_path.as_deref()?;
                let stage = event.request_context.stage.as_deref();
                Some((method, crate::stage::strip(stage, raw_path).to_owned()))
            }
        }
    }

    /// The presented key, if any: `Authorization: Bearer <key>` or
    /// `x-api-key`, or a TOKEN authorizer's token with or without `Bearer `.
    pub fn key(&self) -> Option<ApiKey> {
        let text = match self {
            Self::Token(event) => {
                let token = event.authorization_token.as_deref()?.trim();
                bearer(token).unwrap_or(token).to_owned()
            }
            Self::Request(event) => from_headers(&event.headers)?,
            Self::HttpApi(event) => from_headers(&event.headers)?,
        };
        (!text.is_empty()).then(|| ApiKey::from_plaintext(text))
    }
}

/// The token of a `Bearer` credential (scheme case-insensitive, RFC 9110).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// `Authorization: Bearer` first, then `x-api-key`. A header given twice
/// is ambiguous and counts as absent.
fn from_headers(headers: &HeaderMap) -> Option<String> {
    let single = |name: &str| {
        let mut values = headers.get_all(name).iter();
        match (values.next(), values.next()) {
            (Some(value), None) => value.to_str().ok(),
            _ => None,
        }
    };
    single("authorization")
        .and_then(bearer)
        .or_else(|| single("x-api-key").map(str::trim))
        .map(str::to_owned)
}

/// `arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/path…` → method
/// and `/path…`.
fn parse_method_arn(arn: &str) -> Option<(String, String)> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let mut parts = resource.splitn(4, '/');
    let (_api, _stage, method) = (parts.next()?, parts.next()?, parts.next()?);
    if method.is_empty() {
        return None;
    }
    let path = format!("/{}", parts.next().unwrap_or(""));
    Some((method.to_owned(), path))
}

#[cfg(test)]
mod tests {
    use super::parse_method_arn;

    #[test]
    fn method_arns_give_method_and_path() {
        let parsed = |arn: &str| parse_method_arn(arn).map(|(m, p)| format!("{m} {p}"));
        assert_eq!(
            parsed("arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/orders/42")
                .as_deref(),
            Some("GET /orders/42")
        );
        assert_eq!(
            parsed("arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/").as_deref(),
            Some("GET /")
        );
        assert_eq!(
            parsed("arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/POST").as_deref(),
            Some("POST /")
        );
        assert_eq!(
            parsed("arn:aws:execute-api:eu-west-1:123456789012:abc123"),
            None
        );
        assert_eq!(parsed("not an arn"), None);
    }
}
