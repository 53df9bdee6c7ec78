//! SigV4: the `Authorization` header parser (`keyplane-http`), the
//! signature coverage read behind API Gateway, and the local verifier
//! (`keyplane-local`'s `SigV4Identity`) on whole requests in the text form
//! of `keyplane_fuzz::request_text`. Corpus requests are signed with the
//! `keyplane_fuzz::credential` at `keyplane_fuzz::NOW_SECS`, so mutations start from
//! requests that verify.
//!
//! Properties, beyond "no panic": what the parser accepts has the shape
//! its documentation promises, and an accepted signature is always the
//! one fixed principal's.
#![no_main]

use std::path::Path;
use std::sync::LazyLock;

use keyplane_fuzz::{credential, request_text};
use keyplane_http::auth::{Identify, SigV4Authorization, SignatureCoverage};
use keyplane_local::{LocalCredentials, SigV4Identity};
use libfuzzer_sys::fuzz_target;

static IDENTITY: LazyLock<SigV4Identity> = LazyLock::new(|| {
    let credentials =
        LocalCredentials::parse(&credential::file(), Path::new("fuzz")).expect("valid credentials");
    SigV4Identity::new(credentials, credential::REGION)
});

fuzz_target!(|data: &[u8]| {
    let text = keyplane_fuzz::text(data);
    if let Ok(auth) = SigV4Authorization::parse(&text) {
        check_shape(&auth);
    }
    // The credentials file parser reads any text too.
    let _ = LocalCredentials::parse(&text, Path::new("fuzz"));

    let Some(request) = request_text::parse(data) else {
        return;
    };
    let (parts, body) = request.into_parts();
    if let Ok(auth) = SigV4Authorization::from_headers(&parts.headers) {
        check_shape(&auth);
    }
    if let Some(coverage) = SignatureCoverage::of(&parts.headers) {
        let _ = coverage.covers("idempotency-key");
    }
    if let Ok(principal) = IDENTITY.identify(&parts, &body, keyplane_fuzz::now()) {
        assert_eq!(principal.to_string(), credential::PRINCIPAL);
    }
});

fn check_shape(auth: &SigV4Authorization<'_>) {
    assert!(!auth.access_key_id.is_empty());
    assert!(auth.date.len() == 8 && auth.date.bytes().all(|b| b.is_ascii_digit()));
    assert!(
        auth.signature.len() == 64
            && auth
                .signature
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    );
    for name in &auth.signed_headers {
        assert!(http::HeaderName::from_bytes(name.as_bytes())
            .is_ok_and(|header| header.as_str() == *name));
    }
}
