//! What a request's signature covers, read from its `Authorization` header
//! after the identity is known, for idempotency and replay decisions.

use http::HeaderMap;
use sha2::{Digest, Sha256};

use super::SigV4Authorization;

/// What a request's SigV4 `Authorization` header says about what it
/// covers, for decisions after the identity is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureCoverage {
    /// The signed header names, lower case.
    pub signed_headers: Vec<String>,
    /// SHA-256 of the signature, hex: names this exact signed request
    /// without repeating the signature.
    pub digest: String,
}

impl SignatureCoverage {
    /// Reads the `Authorization` header; `None` when it is absent or not
    /// SigV4. Behind API Gateway the header reaches us unchanged, so this
    /// works wherever the identity came from.
    pub fn of(headers: &HeaderMap) -> Option<Self> {
        let auth = SigV4Authorization::from_headers(headers).ok()?;
        Some(Self {
            signed_headers: auth
                .signed_headers
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            digest: hex::encode(Sha256::digest(auth.signature.as_bytes())),
        })
    }

    /// Is header `name` (lower case) covered by the signature?
    pub fn covers(&self, name: &str) -> bool {
        self.signed_headers.iter().any(|h| h == name)
    }
}

#[cfg(test)]
mod tests {
    use http::header::AUTHORIZATION;

    use super::*;

    #[test]
    fn names_signed_headers_and_digests_the_signature() {
        let signature = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
        let mut headers = HeaderMap::new();
        let value = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;idempotency-key;x-amz-date, Signature={signature}"
        );
        headers.insert(AUTHORIZATION, value.parse().expect("value"));
        let coverage = SignatureCoverage::of(&headers).expect("SigV4");
        assert!(coverage.covers("idempotency-key"));
        assert!(!coverage.covers("content-type"));
        assert_eq!(coverage.digest, hex::encode(Sha256::digest(signature)));
        assert!(!coverage.digest.contains(signature));
    }

    #[test]
    fn absent_or_other_authorization_covers_nothing() {
        assert_eq!(SignatureCoverage::of(&HeaderMap::new()), None);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, "Bearer kp_live_abc".parse().expect("value"));
        assert_eq!(SignatureCoverage::of(&headers), None);
    }
}
