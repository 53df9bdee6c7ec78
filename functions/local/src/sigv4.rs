//! AWS Signature Version 4 verification.
//!
//! Locally there is no API Gateway in front of us, so `keyplane serve`
//! checks SigV4 itself, as strictly as API Gateway's `AWS_IAM` authoriser
//! does: service `execute-api`, the deployment's region, `x-amz-date` within
//! ±5 minutes, `host` and `x-amz-date` signed and the payload hash covered.
//! The canonical request is rebuilt here; the HMAC chain is `aws_sigv4`'s.
//!
//! Only the `Authorization` header form is supported (no presigned URLs).

use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

use aws_sigv4::sign::v4::{calculate_signature, generate_signing_key};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use http::header::HOST;
use http::request::Parts;
use http::{HeaderMap, Uri};
use keyplane_core::principal::Principal;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

use keyplane_http::auth::authorization::{single_header, SigV4Authorization, ALGORITHM};
use keyplane_http::auth::{AuthError, Identify};

use crate::LocalCredentials;

/// The only service name API Gateway accepts in the credential scope.
pub const SERVICE: &str = "execute-api";
/// How far `x-amz-date` may be from the server clock, either way.
pub const MAX_CLOCK_SKEW: Duration = Duration::minutes(5);

const X_AMZ_DATE: &str = "x-amz-date";
const X_AMZ_CONTENT_SHA256: &str = "x-amz-content-sha256";
const X_AMZ_SECURITY_TOKEN: &str = "x-amz-security-token";
const AMZ_DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// Everything but the RFC 3986 unreserved characters `A-Za-z0-9-._~`:
/// the SigV4 `UriEncode` set.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// As [`ENCODE`], but path separators stay.
const ENCODE_PATH: &AsciiSet = &ENCODE.remove(b'/');

/// Verifies SigV4-signed management requests against local credentials.
#[derive(Debug, Clone)]
pub struct SigV4Identity {
    /// The access keys we accept.
    pub credentials: Arc<LocalCredentials>,
    /// The region clients must sign for, e.g. `us-east-1`.
    pub region: String,
}

impl SigV4Identity {
    /// A verifier accepting `credentials`, signed for `region`.
    pub fn new(credentials: impl Into<Arc<LocalCredentials>>, region: impl Into<String>) -> Self {
        Self {
            credentials: credentials.into(),
            region: region.into(),
        }
    }
}

impl Identify for SigV4Identity {
    fn identify(
        &self,
        parts: &Parts,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Principal, AuthError> {
        let headers = &parts.headers;
        let auth = SigV4Authorization::from_headers(headers)?;
        if auth.service != SERVICE || auth.region != self.region {
            return Err(AuthError::WrongScope {
                region: self.region.clone(),
            });
        }

        let (_, signed_at) = request_time(headers, &auth)?;
        if (now - signed_at).abs() > MAX_CLOCK_SKEW {
            return Err(AuthError::Expired);
        }

        for required in [HOST.as_str(), X_AMZ_DATE] {
            if !auth.signed_headers.contains(&required) {
                return Err(AuthError::malformed(format!(
                    "the {required} header must be signed"
                )));
            }
        }
        // A session token (temporary credentials) is covered like any other
        // signed header; locally it is not validated, the access key is.
        if headers.contains_key(X_AMZ_SECURITY_TOKEN)
            && !auth.signed_headers.contains(&X_AMZ_SECURITY_TOKEN)
        {
            return Err(AuthError::malformed(
                "the x-amz-security-token header must be signed",
            ));
        }

        let (secret, principal) = self
            .credentials
            .lookup(auth.access_key_id)
            .ok_or(AuthError::UnknownAccessKey)?;
        check_signature(parts, body, &auth, secret)?;
        Ok(principal.clone())
    }
}

/// `x-amz-date` as sent and as a time; its date must be the credential
/// scope's.
fn request_time<'h>(
    headers: &'h HeaderMap,
    auth: &SigV4Authorization<'_>,
) -> Result<(&'h str, DateTime<Utc>), AuthError> {
    let amz_date = single_header(headers, X_AMZ_DATE)?
        .ok_or_else(|| AuthError::malformed("the x-amz-date header is required"))?;
    let signed_at = NaiveDateTime::parse_from_str(amz_date, AMZ_DATE_FORMAT)
        .ok()
        .filter(|_| amz_date.len() == 16)
        .ok_or_else(|| AuthError::malformed("x-amz-date must look like 20240131T235959Z"))?
        .and_utc();
    if !amz_date.starts_with(auth.date) {
        return Err(AuthError::malformed(
            "the credential scope date is not the date of x-amz-date",
        ));
    }
    Ok((amz_date, signed_at))
}

/// Checks that `auth.signature` signs this request, with `secret`, for the
/// scope `auth` names. This is the cryptographic check alone: which
/// service, region, time window and signed headers are acceptable is
/// [`SigV4Identity::identify`]'s to decide first. Kept apart so AWS's
/// published test vectors, signed for service `service` in 2015, can run
/// through exactly the code that checks our requests.
fn check_signature(
    parts: &Parts,
    body: &[u8],
    auth: &SigV4Authorization<'_>,
    secret: &SecretString,
) -> Result<(), AuthError> {
    let (amz_date, signed_at) = request_time(&parts.headers, auth)?;
    let payload_hash = payload_hash(&parts.headers, body)?;
    let canonical_headers = canonical_headers(parts, &auth.signed_headers)?;
    let uri = original_uri(parts);
    let query = canonical_query(uri.query().unwrap_or_default());
    let signed_headers = auth.signed_headers.join(";");
    let scope = format!(
        "{}/{}/{}/aws4_request",
        auth.date, auth.region, auth.service
    );
    let signing_key = generate_signing_key(
        secret.expose_secret(),
        SystemTime::from(signed_at),
        auth.region,
        auth.service,
    );

    let mut matched = Choice::from(0);
    for path in canonical_paths(uri.path()) {
        let canonical_request = format!(
            "{}\n{path}\n{query}\n{canonical_headers}\n{signed_headers}\n{payload_hash}",
            parts.method.as_str()
        );
        let string_to_sign = format!(
            "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
            hex::encode(Sha256::digest(canonical_request.as_bytes()))
        );
        let expected = calculate_signature(signing_key.as_ref(), string_to_sign.as_bytes());
        matched |= expected.as_bytes().ct_eq(auth.signature.as_bytes());
    }
    if bool::from(matched) {
        Ok(())
    } else {
        Err(AuthError::BadSignature)
    }
}

/// The hex SHA-256 of the body. A client-sent `x-amz-content-sha256` must
/// agree with it: unsigned and streaming payloads are refused, because the
/// body must be covered by the signature.
fn payload_hash(headers: &HeaderMap, body: &[u8]) -> Result<String, AuthError> {
    let computed = hex::encode(Sha256::digest(body));
    match single_header(headers, X_AMZ_CONTENT_SHA256)? {
        None => Ok(computed),
        Some(claimed) if claimed.eq_ignore_ascii_case(&computed) => Ok(computed),
        Some(claimed) if claimed.len() == 64 && claimed.bytes().all(|b| b.is_ascii_hexdigit()) => {
            // The body is not the one that was signed.
            Err(AuthError::BadSignature)
        }
        Some(_) => Err(AuthError::malformed(
            "x-amz-content-sha256 must be the hex SHA-256 of the body; unsigned payloads are not accepted",
        )),
    }
}

/// `name:value\n` for every signed header, in the client's order. Values
/// are trimmed with inner runs of spaces collapsed; repeated headers are
/// comma-joined.
fn canonical_headers(parts: &Parts, signed_headers: &[&str]) -> Result<String, AuthError> {
    let mut out = String::new();
    for &name in signed_headers {
        let values = parts
            .headers
            .get_all(name)
            .iter()
            .map(|value| {
                std::str::from_utf8(value.as_bytes())
                    .map(trim_all)
                    .map_err(|_| AuthError::malformed(format!("the {name} header is not UTF-8")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let joined = if !values.is_empty() {
            values.join(",")
        } else if name == HOST.as_str() {
            // HTTP/2 carries the host as `:authority`, which lands in the URI.
            original_uri(parts)
                .authority()
                .map(|a| a.as_str().to_owned())
                .ok_or_else(|| AuthError::malformed("the signed host header is missing"))?
        } else {
            return Err(AuthError::malformed(format!(
                "the signed {name} header is missing"
            )));
        };
        out.push_str(name);
        out.push(':');
        out.push_str(&joined);
        out.push('\n');
    }
    Ok(out)
}

/// Trims spaces and collapses runs of them, as the AWS signers do (spaces
/// only, not other whitespace).
fn trim_all(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for word in value.split(' ').filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// The URI the client sent: axum's `nest` strips prefixes from `parts.uri`
/// but keeps the original in an extension, and the client signed that one.
fn original_uri(parts: &Parts) -> &Uri {
    parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map_or(&parts.uri, |original| &original.0)
}

/// The canonical URIs a correct client may have signed for `raw_path`.
///
/// AWS signers for services other than S3 normalise the path (RFC 3986 dot
/// segments, empty segments) and percent-encode the already-encoded path a
/// second time (`%3A` → `%253A`); some clients, curl among them, sign the
/// path as sent. Accepting both is no weaker: each still covers the path.
fn canonical_paths(raw_path: &str) -> Vec<Cow<'_, str>> {
    let normalised = normalise_path(raw_path);
    let double: String = utf8_percent_encode(&normalised, ENCODE_PATH).collect();
    let mut paths = vec![Cow::Owned(double)];
    if !paths.contains(&normalised) {
        paths.push(normalised);
    }
    if !raw_path.is_empty() && !paths.iter().any(|p| p == raw_path) {
        paths.push(Cow::Borrowed(raw_path));
    }
    paths
}

/// Removes `.`/`..` and empty segments, keeping a trailing slash, as the
/// AWS SDK signers do.
fn normalise_path(path: &str) -> Cow<'_, str> {
    if path.is_empty() {
        return Cow::Borrowed("/");
    }
    if path.starts_with('/')
        && !path.contains("//")
        && !path.split('/').any(|s| s == "." || s == "..")
    {
        return Cow::Borrowed(path);
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut out = format!("/{}", segments.join("/"));
    let trailing = ["/", "/.", "/..", "/./", "/../"]
        .iter()
        .any(|end| path.ends_with(end));
    if trailing && !out.ends_with('/') {
        out.push('/');
    }
    Cow::Owned(out)
}

/// The canonical query string: each name and value decoded (`+` as space,
/// as `application/x-www-form-urlencoded` and the AWS SDK signers do), then
/// strictly percent-encoded, pairs sorted, `name=value` joined with `&`.
fn canonical_query(raw: &str) -> String {
    let decode_encode = |text: &str| {
        let spaced = text.replace('+', " ");
        let decoded = percent_decode_str(&spaced).decode_utf8_lossy();
        utf8_percent_encode(&decoded, ENCODE).to_string()
    };
    let mut pairs: Vec<(String, String)> = raw
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode_encode(name), decode_encode(value))
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod aws_test_suite;

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::{Duration as StdDuration, UNIX_EPOCH};

    use http::header::AUTHORIZATION;
    use http::Request;

    use super::*;
    use crate::credentials::GeneratedCredential;
    use crate::testing::{sign_request, Signer};

    const REGION: &str = "us-east-1";
    /// 2024-05-01T12:00:00Z
    const AT_SECS: u64 = 1_714_564_800;

    fn at() -> SystemTime {
        UNIX_EPOCH + StdDuration::from_secs(AT_SECS)
    }

    fn now() -> DateTime<Utc> {
        DateTime::from(at())
    }

    struct Fixture {
        identity: SigV4Identity,
        admin: GeneratedCredential,
    }

    impl Fixture {
        fn new() -> Self {
            let principal = Principal::parse("arn:aws:iam::123456789012:user/admin").expect("arn");
            let (credentials, admin) = LocalCredentials::generate_admin(principal);
            Self {
                identity: SigV4Identity::new(credentials, REGION),
                admin,
            }
        }

        fn signer(&self) -> Signer {
            Signer::new(
                &self.admin.access_key_id,
                self.admin.secret_access_key.expose_secret(),
                REGION,
            )
        }

        fn sign(&self, req: &mut Request<Vec<u8>>) {
            self.signer().sign(req, at());
        }

        fn verify(&self, req: Request<Vec<u8>>) -> Result<Principal, AuthError> {
            self.verify_at(req, now())
        }

        fn verify_at(
            &self,
            req: Request<Vec<u8>>,
            now: DateTime<Utc>,
        ) -> Result<Principal, AuthError> {
            let (parts, body) = req.into_parts();
            self.identity.identify(&parts, &body, now)
        }
    }

    fn get(uri: &str) -> Request<Vec<u8>> {
        Request::get(uri)
            .header("host", "keyplane.test")
            .body(Vec::new())
            .expect("request")
    }

    fn post_json(uri: &str, body: &str) -> Request<Vec<u8>> {
        Request::post(uri)
            .header("host", "keyplane.test")
            .header("content-type", "application/json")
            .body(body.as_bytes().to_vec())
            .expect("request")
    }

    const ALICE_PATH: &str = "/v1/principals/arn%3Aaws%3Aiam%3A%3A123456789012%3Auser%2Falice/keys";

    fn is_malformed(result: Result<Principal, AuthError>) -> bool {
        matches!(result, Err(AuthError::Malformed(_)))
    }

    #[test]
    fn signed_get_with_query_is_accepted() {
        let fx = Fixture::new();
        let mut req = get("/v1/keys?limit=10&cursor=a%2Fb&empty=&flag&q=two%20words");
        fx.sign(&mut req);
        assert_eq!(fx.verify(req), Ok(fx.admin.principal.clone()));
    }

    #[test]
    fn signed_post_with_json_body_is_accepted() {
        let fx = Fixture::new();
        let mut req = post_json("/v1/keys", r#"{"name":"ci","scope":"org"}"#);
        fx.sign(&mut req);
        assert_eq!(fx.verify(req), Ok(fx.admin.principal.clone()));
    }

    #[test]
    fn percent_encoded_path_segments_are_accepted() {
        let fx = Fixture::new();
        let mut req = get(ALICE_PATH);
        fx.sign(&mut req);
        assert_eq!(fx.verify(req), Ok(fx.admin.principal.clone()));
    }

    #[test]
    fn single_encoded_canonical_path_is_accepted() {
        // What curl does: sign the path exactly as sent.
        let fx = Fixture::new();
        let mut req = get(ALICE_PATH);
        fx.signer().single_encode_path().sign(&mut req, at());
        assert_eq!(fx.verify(req), Ok(fx.admin.principal.clone()));
    }

    #[test]
    fn content_sha256_header_is_accepted() {
        let fx = Fixture::new();
        let mut req = post_json("/v1/keys", r#"{"name":"ci"}"#);
        fx.signer().content_sha256_header().sign(&mut req, at());
        assert!(req.headers().contains_key(X_AMZ_CONTENT_SHA256));
        assert_eq!(fx.verify(req), Ok(fx.admin.principal.clone()));
    }

    #[test]
    fn signed_session_token_is_accepted() {
        let fx = Fixture::new();
        let mut req = post_json("/v1/keys", "{}");
        fx.signer()
            .session_token("token-from-sts")
            .sign(&mut req, at());
        assert!(req.headers().contains_key(X_AMZ_SECURITY_TOKEN));
        assert_eq!(fx.verify(req), Ok(fx.admin.principal.clone()));
    }

    #[test]
    fn repeated_headers_and_extra_spaces_are_canonicalised() {
        let fx = Fixture::new();
        let mut req = get("/v1/keys");
        let headers = req.headers_mut();
        headers.append("x-custom", "  a   b ".parse().expect("value"));
        headers.append("x-custom", "c".parse().expect("value"));
        fx.sign(&mut req);
        assert_eq!(fx.verify(req), Ok(fx.admin.principal.clone()));
    }

    #[test]
    fn helper_adds_host_from_uri_or_localhost() {
        let fx = Fixture::new();
        let mut req = Request::get("http://127.0.0.1:8080/v1/keys")
            .body(Vec::new())
            .expect("request");
        sign_request(
            &mut req,
            &fx.admin.access_key_id,
            fx.admin.secret_access_key.expose_secret(),
            REGION,
            at(),
        );
        assert_eq!(req.headers()[HOST], "127.0.0.1:8080");
        assert_eq!(fx.verify(req), Ok(fx.admin.principal.clone()));

        let mut req = Request::get("/v1/keys").body(Vec::new()).expect("request");
        fx.sign(&mut req);
        assert_eq!(req.headers()[HOST], "localhost");
        assert_eq!(fx.verify(req), Ok(fx.admin.principal.clone()));
    }

    #[test]
    fn nested_router_uri_is_verified_against_the_original() {
        let fx = Fixture::new();
        let mut req = get("/v1/keys?x=1");
        fx.sign(&mut req);
        let (mut parts, body) = req.into_parts();
        let original = parts.uri.clone();
        parts.uri = Uri::from_static("/keys?x=1");
        parts
            .extensions
            .insert(axum::extract::OriginalUri(original));
        assert_eq!(
            fx.identity.identify(&parts, &body, now()),
            Ok(fx.admin.principal.clone())
        );
    }

    #[test]
    fn unsigned_request_is_missing() {
        let fx = Fixture::new();
        assert_eq!(fx.verify(get("/v1/keys")), Err(AuthError::Missing));
    }

    #[test]
    fn bearer_api_key_is_not_allowed() {
        let fx = Fixture::new();
        let mut req = get("/v1/keys");
        req.headers_mut()
            .insert(AUTHORIZATION, "Bearer kp_live_abc".parse().expect("value"));
        assert_eq!(fx.verify(req), Err(AuthError::ApiKeyNotAllowed));
    }

    #[test]
    fn tampered_body_is_a_bad_signature() {
        let fx = Fixture::new();
        for signer in [fx.signer(), fx.signer().content_sha256_header()] {
            let mut req = post_json("/v1/keys", r#"{"name":"ci"}"#);
            signer.sign(&mut req, at());
            *req.body_mut() = br#"{"name":"evil"}"#.to_vec();
            assert_eq!(fx.verify(req), Err(AuthError::BadSignature));
        }
    }

    #[test]
    fn tampered_path_is_a_bad_signature() {
        let fx = Fixture::new();
        let mut req = get(ALICE_PATH);
        fx.sign(&mut req);
        *req.uri_mut() = Uri::from_static(
            "/v1/principals/arn%3Aaws%3Aiam%3A%3A123456789012%3Auser%2Fmallory/keys",
        );
        assert_eq!(fx.verify(req), Err(AuthError::BadSignature));
    }

    #[test]
    fn tampered_query_is_a_bad_signature() {
        let fx = Fixture::new();
        let mut req = get("/v1/keys?limit=10");
        fx.sign(&mut req);
        *req.uri_mut() = Uri::from_static("/v1/keys?limit=1000");
        assert_eq!(fx.verify(req), Err(AuthError::BadSignature));
    }

    #[test]
    fn tampered_signed_header_is_a_bad_signature() {
        let fx = Fixture::new();
        let mut req = post_json("/v1/keys", "{}");
        fx.sign(&mut req);
        req.headers_mut()
            .insert("content-type", "text/plain".parse().expect("value"));
        assert_eq!(fx.verify(req), Err(AuthError::BadSignature));
    }

    #[test]
    fn unknown_access_key_is_reported() {
        let fx = Fixture::new();
        let mut req = get("/v1/keys");
        Signer::new("KPAKNOTAREALKEY00000", "whatever", REGION).sign(&mut req, at());
        assert_eq!(fx.verify(req), Err(AuthError::UnknownAccessKey));
    }

    #[test]
    fn wrong_secret_is_a_bad_signature() {
        let fx = Fixture::new();
        let mut req = get("/v1/keys");
        Signer::new(&fx.admin.access_key_id, "not-the-secret", REGION).sign(&mut req, at());
        assert_eq!(fx.verify(req), Err(AuthError::BadSignature));
    }

    #[test]
    fn clock_skew_over_five_minutes_is_expired() {
        let fx = Fixture::new();
        for offset in [Duration::minutes(6), Duration::minutes(-6)] {
            let mut req = get("/v1/keys");
            fx.sign(&mut req);
            assert_eq!(
                fx.verify_at(req, now() + offset),
                Err(AuthError::Expired),
                "{offset}"
            );
        }
        for offset in [Duration::minutes(5), Duration::minutes(-5)] {
            let mut req = get("/v1/keys");
            fx.sign(&mut req);
            assert!(fx.verify_at(req, now() + offset).is_ok(), "{offset}");
        }
    }

    #[test]
    fn wrong_region_or_service_is_wrong_scope() {
        let fx = Fixture::new();
        let wrong_scope = Err(AuthError::WrongScope {
            region: REGION.to_owned(),
        });
        let mut req = get("/v1/keys");
        fx.signer().region("eu-west-1").sign(&mut req, at());
        assert_eq!(fx.verify(req), wrong_scope);

        let mut req = get("/v1/keys");
        fx.signer().service("s3").sign(&mut req, at());
        assert_eq!(fx.verify(req), wrong_scope);
    }

    #[test]
    fn unsigned_payload_is_malformed() {
        let fx = Fixture::new();
        let mut req = post_json("/v1/keys", "{}");
        fx.signer().unsigned_payload().sign(&mut req, at());
        assert_eq!(req.headers()[X_AMZ_CONTENT_SHA256], "UNSIGNED-PAYLOAD");
        assert!(is_malformed(fx.verify(req)));
    }

    #[test]
    fn malformed_authorization_headers_are_malformed() {
        let fx = Fixture::new();
        let mut signed = get("/v1/keys");
        fx.sign(&mut signed);
        let good = signed.headers()[AUTHORIZATION]
            .to_str()
            .expect("ascii")
            .to_owned();
        let signature = good
            .rsplit_once("Signature=")
            .map(|(_, s)| s)
            .expect("signature");
        let credential = format!(
            "Credential={}/20240501/{REGION}/execute-api/aws4_request",
            fx.admin.access_key_id
        );
        for bad in [
            "AWS4-HMAC-SHA256".to_owned(),
            "Basic YWxpY2U6c2VjcmV0".to_owned(),
            "AWS4-HMAC-SHA256 garbage".to_owned(),
            format!("AWS4-HMAC-SHA256 {credential}, SignedHeaders=host;x-amz-date"),
            format!("AWS4-HMAC-SHA256 {credential}, Signature={signature}"),
            format!("AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature={signature}"),
            format!("AWS4-HMAC-SHA256 {credential}, {credential}, SignedHeaders=host;x-amz-date, Signature={signature}"),
            format!("AWS4-HMAC-SHA256 Credential={}/20240501/{REGION}/execute-api, SignedHeaders=host;x-amz-date, Signature={signature}", fx.admin.access_key_id),
            format!("AWS4-HMAC-SHA256 Credential=/20240501/{REGION}/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature={signature}"),
            format!("AWS4-HMAC-SHA256 {credential}, SignedHeaders=Host;X-Amz-Date, Signature={signature}"),
            format!("AWS4-HMAC-SHA256 {credential}, SignedHeaders=host;x-amz-date, Signature=abc"),
            format!("AWS4-HMAC-SHA256 {credential}, SignedHeaders=host;x-amz-date, Signature={}", signature.to_uppercase()),
            // Scope date other than x-amz-date's date.
            format!("AWS4-HMAC-SHA256 Credential={}/20240430/{REGION}/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature={signature}", fx.admin.access_key_id),
            // A signed header that is not there.
            format!("AWS4-HMAC-SHA256 {credential}, SignedHeaders=host;x-amz-date;x-absent, Signature={signature}"),
        ] {
            let mut req = signed.clone();
            req.headers_mut().insert(AUTHORIZATION, bad.parse().expect("value"));
            let result = fx.verify(req);
            assert!(is_malformed(result.clone()), "{bad} gave {result:?}");
        }
    }

    #[test]
    fn missing_or_bad_x_amz_date_is_malformed() {
        let fx = Fixture::new();
        let mut req = get("/v1/keys");
        fx.sign(&mut req);
        let mut missing = req.clone();
        missing.headers_mut().remove(X_AMZ_DATE);
        assert!(is_malformed(fx.verify(missing)));
        req.headers_mut()
            .insert(X_AMZ_DATE, "2024-05-01T12:00:00Z".parse().expect("value"));
        assert!(is_malformed(fx.verify(req)));
    }

    #[test]
    fn host_not_signed_is_malformed() {
        let fx = Fixture::new();
        let mut req = get("/v1/keys");
        // Exclude host from signing, as a sloppy client might.
        fx.signer().exclude_header("host").sign(&mut req, at());
        let auth = req.headers()[AUTHORIZATION].to_str().expect("ascii");
        assert!(auth.contains("SignedHeaders=x-amz-date,"), "{auth}");
        let result = fx.verify(req);
        assert_eq!(
            result,
            Err(AuthError::Malformed(
                "the host header must be signed".into()
            ))
        );
    }

    #[test]
    fn unsigned_session_token_is_malformed() {
        let fx = Fixture::new();
        let mut req = get("/v1/keys");
        fx.sign(&mut req);
        req.headers_mut()
            .insert(X_AMZ_SECURITY_TOKEN, "token".parse().expect("value"));
        assert!(is_malformed(fx.verify(req)));
    }

    #[test]
    fn canonical_query_follows_the_spec() {
        assert_eq!(canonical_query(""), "");
        assert_eq!(
            canonical_query("b=2&a=1&a=0&flag&sp=a+b&enc=%7e%2f&&u=%C3%A9"),
            "a=0&a=1&b=2&enc=~%2F&flag=&sp=a%20b&u=%C3%A9"
        );
    }

    #[test]
    fn canonical_paths_cover_double_and_single_encoding() {
        assert_eq!(canonical_paths(""), vec!["/"]);
        assert_eq!(canonical_paths("/v1/keys"), vec!["/v1/keys"]);
        assert_eq!(
            canonical_paths("/a/%3A/./b//c/../d/"),
            vec!["/a/%253A/b/d/", "/a/%3A/b/d/", "/a/%3A/./b//c/../d/"]
        );
    }

    #[test]
    fn trim_all_collapses_spaces_only() {
        assert_eq!(trim_all("  a   b  c "), "a b c");
        assert_eq!(trim_all("a\tb"), "a\tb");
        assert_eq!(trim_all(""), "");
    }

    /// The request `curl --aws-sigv4` sends for `curl_args` to
    /// `path_and_query`, captured by a one-shot local listener; `None` if
    /// curl is not installed.
    fn capture_curl(
        fx: &Fixture,
        curl_args: &[&str],
        path_and_query: &str,
    ) -> Option<Request<Vec<u8>>> {
        use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
        use std::net::TcpListener;
        use std::process::{Command, Stdio};
        use std::time::Instant;

        let curl = Path::new("/usr/bin/curl");
        if !curl.exists() {
            println!("note: /usr/bin/curl not found; skipping the curl --aws-sigv4 test");
            return None;
        }
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let mut child = Command::new(curl)
            .args(["--silent", "--show-error", "--max-time", "20"])
            .arg("--aws-sigv4")
            .arg(format!("aws:amz:{REGION}:execute-api"))
            .arg("--user")
            .arg(format!(
                "{}:{}",
                fx.admin.access_key_id,
                fx.admin.secret_access_key.expose_secret()
            ))
            .args(curl_args)
            .arg(format!("http://127.0.0.1:{port}{path_and_query}"))
            .stdout(Stdio::null())
            .spawn()
            .expect("run curl");

        // Poll so that a curl that never connects fails the test, not hangs it.
        let started = Instant::now();
        let mut stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    let exited = child.try_wait().expect("curl status");
                    assert!(
                        exited.is_none(),
                        "curl exited without connecting: {exited:?}"
                    );
                    assert!(
                        started.elapsed() < StdDuration::from_secs(20),
                        "curl never connected"
                    );
                    std::thread::sleep(StdDuration::from_millis(10));
                }
                Err(e) => panic!("accept: {e}"),
            }
        };
        stream.set_nonblocking(false).expect("blocking");
        stream
            .set_read_timeout(Some(StdDuration::from_secs(20)))
            .expect("timeout");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut request_line = String::new();
        reader.read_line(&mut request_line).expect("request line");
        let mut fields = request_line.split_whitespace();
        let (method, target) = (
            fields.next().expect("method"),
            fields.next().expect("target"),
        );
        let mut builder = Request::builder().method(method).uri(target);
        let mut content_length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("header line");
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').expect("header");
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.parse().expect("length");
            }
            builder = builder.header(name, value);
        }
        let mut body = vec![0; content_length];
        reader.read_exact(&mut body).expect("body");
        stream
            .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
            .expect("respond");
        drop(stream);
        let status = child.wait().expect("curl exits");
        assert!(status.success(), "curl failed: {status}");
        Some(builder.body(body).expect("request"))
    }

    /// When the captured request was signed, per its `x-amz-date`.
    fn signed_at(req: &Request<Vec<u8>>) -> DateTime<Utc> {
        let amz_date = req.headers()[X_AMZ_DATE].to_str().expect("ascii");
        NaiveDateTime::parse_from_str(amz_date, AMZ_DATE_FORMAT)
            .expect("curl's x-amz-date")
            .and_utc()
    }

    /// Proves `curl --aws-sigv4` works against the verifier.
    #[test]
    fn curl_aws_sigv4_post_is_accepted() {
        let fx = Fixture::new();
        let body = r#"{"name":"ci key","scope":{"organization":"acme"}}"#;
        let args = [
            "-X",
            "POST",
            "-H",
            "content-type: application/json",
            "-d",
            body,
        ];
        let Some(req) = capture_curl(&fx, &args, "/v1/keys?x=1") else {
            return;
        };
        assert_eq!(req.body(), body.as_bytes());
        let at = signed_at(&req);
        assert_eq!(
            fx.verify_at(req.clone(), at),
            Ok(fx.admin.principal.clone())
        );

        // And the same request with its body changed is refused.
        let mut tampered = req;
        tampered.body_mut().push(b' ');
        assert_eq!(fx.verify_at(tampered, at), Err(AuthError::BadSignature));
    }

    /// curl signs percent-encoded paths as sent (single encoding).
    #[test]
    fn curl_aws_sigv4_encoded_path_is_accepted() {
        let fx = Fixture::new();
        let Some(req) = capture_curl(&fx, &[], ALICE_PATH) else {
            return;
        };
        assert_eq!(req.uri().path(), ALICE_PATH);
        let at = signed_at(&req);
        assert_eq!(fx.verify_at(req, at), Ok(fx.admin.principal.clone()));
    }
}
