//! Signing requests in tests with the real AWS SigV4 signer (`aws_sigv4`),
//! so the verifier is tested against what AWS clients actually send.
//!
//! ```ignore
//! let mut req = http::Request::post("/v1/keys").body(b"{}".to_vec())?;
//! sign_request(&mut req, "KPAK…", "secret", "us-east-1", SystemTime::now());
//! ```
//!
//! These helpers panic on failure: they are for tests only.

use std::borrow::Cow;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
};
use aws_sigv4::sign::v4::SigningParams;
use aws_smithy_runtime_api::client::identity::Identity;
use http::header::HOST;
use http::{HeaderValue, Request};

use crate::sigv4::SERVICE;

/// Signs `req` in place for service `execute-api` in `region` at time `at`,
/// as an AWS SDK would: adds `x-amz-date` and `Authorization`, and a `host`
/// header (from the URI's authority, else `localhost`) if it has none.
pub fn sign_request<B: AsRef<[u8]>>(
    req: &mut Request<B>,
    access_key_id: &str,
    secret: &str,
    region: &str,
    at: SystemTime,
) {
    Signer::new(access_key_id, secret, region).sign(req, at);
}

/// A configurable signer, for tests of the less common cases.
#[derive(Debug, Clone)]
pub struct Signer {
    access_key_id: String,
    secret: String,
    region: String,
    service: String,
    session_token: Option<String>,
    content_sha256_header: bool,
    unsigned_payload: bool,
    single_encode_path: bool,
    excluded_headers: Vec<String>,
}

impl Signer {
    /// Signs as `access_key_id`/`secret` for `execute-api` in `region`.
    pub fn new(access_key_id: &str, secret: &str, region: &str) -> Self {
        Self {
            access_key_id: access_key_id.to_owned(),
            secret: secret.to_owned(),
            region: region.to_owned(),
            service: SERVICE.to_owned(),
            session_token: None,
            content_sha256_header: false,
            unsigned_payload: false,
            single_encode_path: false,
            excluded_headers: Vec::new(),
        }
    }

    /// Signs for another region.
    pub fn region(mut self, region: &str) -> Self {
        region.clone_into(&mut self.region);
        self
    }

    /// Signs for another service than `execute-api`.
    pub fn service(mut self, service: &str) -> Self {
        service.clone_into(&mut self.service);
        self
    }

    /// Temporary credentials: sends and signs `x-amz-security-token`.
    pub fn session_token(mut self, token: &str) -> Self {
        self.session_token = Some(token.to_owned());
        self
    }

    /// Also sends (and signs) `x-amz-content-sha256`, as S3-style clients do.
    pub fn content_sha256_header(mut self) -> Self {
        self.content_sha256_header = true;
        self
    }

    /// Signs `UNSIGNED-PAYLOAD` instead of the body hash (sent in
    /// `x-amz-content-sha256`).
    pub fn unsigned_payload(mut self) -> Self {
        self.unsigned_payload = true;
        self
    }

    /// Signs the path as sent instead of double-encoding it, as curl does.
    pub fn single_encode_path(mut self) -> Self {
        self.single_encode_path = true;
        self
    }

    /// Leaves header `name` (lowercase) out of the signature.
    pub fn exclude_header(mut self, name: &str) -> Self {
        self.excluded_headers.push(name.to_owned());
        self
    }

    /// Signs `req` in place at time `at`; see [`sign_request`].
    pub fn sign<B: AsRef<[u8]>>(&self, req: &mut Request<B>, at: SystemTime) {
        if !req.headers().contains_key(HOST) {
            let host = req
                .uri()
                .authority()
                .map_or("localhost", |authority| authority.as_str());
            let host = HeaderValue::from_str(host).expect("URI authority is a valid host header");
            req.headers_mut().insert(HOST, host);
        }

        let mut settings = SigningSettings::default();
        if self.content_sha256_header || self.unsigned_payload {
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        }
        if self.single_encode_path {
            settings.percent_encoding_mode = PercentEncodingMode::Single;
        }
        if let Some(excluded) = settings.excluded_headers.as_mut() {
            excluded.extend(self.excluded_headers.iter().cloned().map(Cow::Owned));
        }
        let identity: Identity = Credentials::new(
            &self.access_key_id,
            &self.secret,
            self.session_token.clone(),
            None,
            "keyplane-test",
        )
        .into();
        let params = SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(at)
            .settings(settings)
            .build()
            .expect("complete signing params");

        let body = if self.unsigned_payload {
            SignableBody::UnsignedPayload
        } else {
            SignableBody::Bytes(req.body().as_ref())
        };
        let headers = req.headers().iter().map(|(name, value)| {
            let value = value
                .to_str()
                .expect("test header values are visible ASCII");
            (name.as_str(), value)
        });
        let signable =
            SignableRequest::new(req.method().as_str(), req.uri().to_string(), headers, body)
                .expect("signable request");
        let (instructions, _signature) = sign(signable, &params.into())
            .expect("signing succeeds")
            .into_parts();
        instructions.apply_to_request_http1x(req);
    }
}
