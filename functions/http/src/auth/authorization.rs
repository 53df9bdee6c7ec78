//! The SigV4 `Authorization` header, parsed but not verified.
//!
//! Both hosts need it: behind API Gateway the identity is already checked
//! and only [`SignatureCoverage`](super::SignatureCoverage) reads the
//! header; locally, `keyplane-local`'s verifier parses it with this same
//! code before checking the signature.

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName};

use super::AuthError;

/// The one signing algorithm accepted.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The parts of `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
/// Signature=…`, borrowed from the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigV4Authorization<'a> {
    /// The access key id, first part of the credential scope.
    pub access_key_id: &'a str,
    /// The scope date, eight digits (`yyyymmdd`).
    pub date: &'a str,
    /// The scope region, e.g. `us-east-1`.
    pub region: &'a str,
    /// The scope service, e.g. `execute-api`.
    pub service: &'a str,
    /// The signed header names, valid and lower case, in the client's order.
    pub signed_headers: Vec<&'a str>,
    /// The signature: 64 lower-case hex digits.
    pub signature: &'a str,
}

impl<'a> SigV4Authorization<'a> {
    /// Reads the request's one `Authorization` header. A `Bearer` key is
    /// [`AuthError::ApiKeyNotAllowed`], no header is [`AuthError::Missing`].
    /// Errors never echo the header: it may carry an API key.
    pub fn from_headers(headers: &'a HeaderMap) -> Result<Self, AuthError> {
        let value = single_header(headers, AUTHORIZATION.as_str())?.ok_or(AuthError::Missing)?;
        let value = value.trim();
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        if scheme.eq_ignore_ascii_case("bearer") {
            Err(AuthError::ApiKeyNotAllowed)
        } else if scheme == ALGORITHM {
            Self::parse(rest)
        } else {
            Err(AuthError::malformed(format!(
                "the authorization scheme must be {ALGORITHM}"
            )))
        }
    }

    /// Parses the parameters after the scheme: `Credential=…,
    /// SignedHeaders=…, Signature=…`, in any order, each exactly once.
    pub fn parse(params: &'a str) -> Result<Self, AuthError> {
        let (mut credential, mut signed_headers, mut signature) = (None, None, None);
        for param in params.split(',').map(str::trim) {
            let (key, value) = param.split_once('=').ok_or_else(|| {
                AuthError::malformed("expected Credential=…, SignedHeaders=…, Signature=…")
            })?;
            let slot = match key {
                "Credential" => &mut credential,
                "SignedHeaders" => &mut signed_headers,
                "Signature" => &mut signature,
                _ => return Err(AuthError::malformed("unexpected authorization parameter")),
            };
            if slot.replace(value).is_some() {
                return Err(AuthError::malformed(format!("{key} is given twice")));
            }
        }
        let credential = credential.ok_or_else(|| AuthError::malformed("Credential is missing"))?;
        let signed_headers =
            signed_headers.ok_or_else(|| AuthError::malformed("SignedHeaders is missing"))?;
        let signature = signature.ok_or_else(|| AuthError::malformed("Signature is missing"))?;

        let bad_credential = || {
            AuthError::malformed(
                "Credential must be <access key id>/<yyyymmdd>/<region>/<service>/aws4_request",
            )
        };
        let scope: Vec<&str> = credential.split('/').collect();
        let [access_key_id, date, region, service, "aws4_request"] = scope[..] else {
            return Err(bad_credential());
        };
        if access_key_id.is_empty() || date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad_credential());
        }
        let signed_headers: Vec<&str> = signed_headers.split(';').collect();
        // Names must be valid and already lowercase, as the spec requires.
        if signed_headers.iter().any(|name| {
            HeaderName::from_bytes(name.as_bytes()).map_or(true, |h| h.as_str() != *name)
        }) {
            return Err(AuthError::malformed(
                "SignedHeaders must be lowercase header names separated by ';'",
            ));
        }
        if signature.len() != 64
            || !signature
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(AuthError::malformed(
                "Signature must be 64 lowercase hex digits",
            ));
        }
        Ok(Self {
            access_key_id,
            date,
            region,
            service,
            signed_headers,
            signature,
        })
    }
}

/// The one header `name`, as text, if present. More than one, or a value
/// that is not visible ASCII, is malformed; the value is never echoed.
pub fn single_header<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, AuthError> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthError::malformed(format!("more than one {name} header")));
    }
    value
        .to_str()
        .map(Some)
        .map_err(|_| AuthError::malformed(format!("the {name} header is not visible ASCII")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNATURE: &str = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";

    fn headers(authorization: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, authorization.parse().expect("value"));
        headers
    }

    #[test]
    fn parses_the_three_parameters_in_any_order() {
        let value = format!(
            "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature={SIGNATURE}, \
             Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"
        );
        let headers = headers(&value);
        assert_eq!(
            SigV4Authorization::from_headers(&headers),
            Ok(SigV4Authorization {
                access_key_id: "AKIDEXAMPLE",
                date: "20150830",
                region: "us-east-1",
                service: "service",
                signed_headers: vec!["host", "x-amz-date"],
                signature: SIGNATURE,
            })
        );
    }

    #[test]
    fn absent_bearer_and_other_schemes_are_told_apart() {
        assert_eq!(
            SigV4Authorization::from_headers(&HeaderMap::new()),
            Err(AuthError::Missing)
        );
        let bearer = headers("Bearer kp_live_abc");
        assert_eq!(
            SigV4Authorization::from_headers(&bearer),
            Err(AuthError::ApiKeyNotAllowed)
        );
        let basic = headers("Basic YWxpY2U6c2VjcmV0");
        let err = SigV4Authorization::from_headers(&basic).err();
        assert!(matches!(err, Some(AuthError::Malformed(_))), "{err:?}");
    }

    #[test]
    fn repeated_headers_are_malformed() {
        let mut headers = headers("Bearer a");
        headers.append(AUTHORIZATION, "Bearer b".parse().expect("value"));
        let err = SigV4Authorization::from_headers(&headers).err();
        assert!(matches!(err, Some(AuthError::Malformed(_))), "{err:?}");
    }
}
