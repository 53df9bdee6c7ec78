//! AWS's published SigV4 test suite against [`check_signature`], the check
//! `identify` runs once its policy (service `execute-api`, our region, the
//! clock window) has passed. The vectors are signed for service `service`
//! in 2015, which that policy refuses, so they go to the check directly.
//!
//! Vectors: `tests/fixtures/aws-sig-v4-test-suite/`, copied from
//! awslabs/aws-c-auth `tests/aws-signing-test-suite/v4` (Apache-2.0); the
//! README there says which were left out and why.

use http::request::Parts;
use http::{HeaderName, HeaderValue, Request};
use percent_encoding::{utf8_percent_encode, CONTROLS};

use super::*;

/// The suite's credentials, region, service and time (its `context.json`).
const ACCESS_KEY_ID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const REGION: &str = "us-east-1";
const SUITE_SERVICE: &str = "service";
const SIGNED_AT: &str = "20150830T123600Z";

/// What cannot travel raw in a request target here: controls, spaces and
/// (always, for `utf8_percent_encode`) non-ASCII bytes.
const NOT_ON_THE_WIRE: &AsciiSet = &CONTROLS.add(b' ');

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/aws-sig-v4-test-suite"
);

/// A request in the suite's text form, as an HTTP server would hand it
/// over: the target percent-encoded where raw bytes cannot travel, header
/// values with surrounding whitespace removed.
fn parse_request(text: &str) -> (Parts, Vec<u8>) {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let request_line = lines.next().expect("request line");
    let (method, rest) = request_line.split_once(' ').expect("method");
    let (target, _version) = rest.rsplit_once(' ').expect("HTTP version");
    let target = utf8_percent_encode(target, NOT_ON_THE_WIRE).to_string();
    let mut request = Request::builder().method(method).uri(target);
    for line in lines {
        let (name, value) = line.split_once(':').expect("header line");
        request = request.header(name, value.trim());
    }
    request
        .body(body.as_bytes().to_vec())
        .expect("request")
        .into_parts()
}

/// What the verifier says about the request, with the suite's secret.
fn verify(parts: &Parts, body: &[u8]) -> Result<(), AuthError> {
    let auth = SigV4Authorization::from_headers(&parts.headers)?;
    assert_eq!(
        (auth.access_key_id, auth.region, auth.service),
        (ACCESS_KEY_ID, REGION, SUITE_SERVICE)
    );
    check_signature(parts, body, &auth, &SecretString::from(SECRET))
}

/// `value` with one byte changed: its last digit, else the case of its
/// last letter, so the result is still a well-formed value.
fn one_byte_changed(value: &str) -> String {
    let mut bytes = value.as_bytes().to_vec();
    if let Some(digit) = bytes.iter_mut().rev().find(|b| b.is_ascii_digit()) {
        *digit = if *digit == b'9' { b'0' } else { *digit + 1 };
    } else if let Some(letter) = bytes.iter_mut().rev().find(|b| b.is_ascii_alphabetic()) {
        *letter ^= 0x20;
    } else {
        panic!("no digit or letter to change in {value:?}");
    }
    String::from_utf8(bytes).expect("ASCII")
}

/// `parts` with the last value of header `name` replaced by `edit(value)`.
fn with_header_edited(parts: &Parts, name: &str, edit: impl Fn(&str) -> String) -> Parts {
    let mut values: Vec<HeaderValue> = parts.headers.get_all(name).iter().cloned().collect();
    let last = values.last_mut().expect("the header is present");
    *last = edit(last.to_str().expect("ASCII"))
        .parse()
        .expect("header value");
    let mut edited = Request::new(()).into_parts().0;
    edited.method = parts.method.clone();
    edited.uri = parts.uri.clone();
    edited.headers = parts.headers.clone();
    edited.headers.remove(name);
    for value in values {
        edited.headers.append(
            HeaderName::from_bytes(name.as_bytes()).expect("name"),
            value,
        );
    }
    edited
}

/// The vector verifies; a changed signature or signed header does not.
fn check_vector(name: &str, text: &str) {
    let (parts, body) = parse_request(text);
    assert_eq!(
        parts.headers.get(X_AMZ_DATE).map(HeaderValue::as_bytes),
        Some(SIGNED_AT.as_bytes()),
        "{name}"
    );
    assert_eq!(
        verify(&parts, &body),
        Ok(()),
        "{name}: the known-good signature"
    );

    let tampered = with_header_edited(&parts, "authorization", |value| {
        let (before, signature) = value.rsplit_once("Signature=").expect("signature");
        let first = if signature.starts_with('0') { '1' } else { '0' };
        format!("{before}Signature={first}{}", &signature[1..])
    });
    assert_eq!(
        verify(&tampered, &body),
        Err(AuthError::BadSignature),
        "{name}: one byte of the signature changed"
    );

    let auth = SigV4Authorization::from_headers(&parts.headers).expect("authorization");
    assert!(auth.signed_headers.len() >= 2, "{name}");
    for signed in &auth.signed_headers {
        let tampered = with_header_edited(&parts, signed, one_byte_changed);
        assert_ne!(tampered.headers, parts.headers, "{name}: {signed}");
        assert_eq!(
            verify(&tampered, &body),
            Err(AuthError::BadSignature),
            "{name}: one byte of the signed {signed} header changed"
        );
    }
}

macro_rules! vectors {
    ($($test:ident => $vector:literal,)+) => {
        /// Every vector in the fixtures directory, by name.
        const VECTORS: &[&str] = &[$($vector),+];

        $(
            #[test]
            fn $test() {
                check_vector(
                    $vector,
                    include_str!(concat!(
                        "../../tests/fixtures/aws-sig-v4-test-suite/",
                        $vector,
                        "/header-signed-request.txt"
                    )),
                );
            }
        )+
    };
}

vectors! {
    get_header_key_duplicate => "get-header-key-duplicate",
    get_header_value_order => "get-header-value-order",
    get_header_value_trim => "get-header-value-trim",
    get_relative_normalized => "get-relative-normalized",
    get_relative_relative_normalized => "get-relative-relative-normalized",
    get_relative_relative_unnormalized => "get-relative-relative-unnormalized",
    get_relative_unnormalized => "get-relative-unnormalized",
    get_slash_dot_slash_normalized => "get-slash-dot-slash-normalized",
    get_slash_dot_slash_unnormalized => "get-slash-dot-slash-unnormalized",
    get_slash_normalized => "get-slash-normalized",
    get_slash_pointless_dot_normalized => "get-slash-pointless-dot-normalized",
    get_slash_pointless_dot_unnormalized => "get-slash-pointless-dot-unnormalized",
    get_slash_unnormalized => "get-slash-unnormalized",
    get_slashes_normalized => "get-slashes-normalized",
    get_slashes_unnormalized => "get-slashes-unnormalized",
    get_space_normalized => "get-space-normalized",
    get_space_unnormalized => "get-space-unnormalized",
    get_unreserved => "get-unreserved",
    get_utf8 => "get-utf8",
    get_vanilla => "get-vanilla",
    get_vanilla_empty_query_key => "get-vanilla-empty-query-key",
    get_vanilla_query => "get-vanilla-query",
    get_vanilla_query_order_encoded => "get-vanilla-query-order-encoded",
    get_vanilla_query_order_key_case => "get-vanilla-query-order-key-case",
    get_vanilla_query_unreserved => "get-vanilla-query-unreserved",
    get_vanilla_utf8_query => "get-vanilla-utf8-query",
    get_vanilla_with_session_token => "get-vanilla-with-session-token",
    post_header_key_case => "post-header-key-case",
    post_header_key_sort => "post-header-key-sort",
    post_header_value_case => "post-header-value-case",
    post_sts_header_after => "post-sts-header-after",
    post_sts_header_before => "post-sts-header-before",
    post_vanilla => "post-vanilla",
    post_vanilla_empty_query_value => "post-vanilla-empty-query-value",
    post_vanilla_query => "post-vanilla-query",
    post_x_www_form_urlencoded => "post-x-www-form-urlencoded",
    post_x_www_form_urlencoded_parameters => "post-x-www-form-urlencoded-parameters",
}

/// A fixture without a test above would be checked by nobody.
#[test]
fn every_fixture_has_a_test() {
    let mut on_disk: Vec<String> = std::fs::read_dir(FIXTURES)
        .expect("fixtures directory")
        .map(|entry| entry.expect("entry"))
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut tested: Vec<String> = VECTORS.iter().map(|&v| v.to_owned()).collect();
    tested.sort();
    assert_eq!(on_disk, tested);
}

/// The suite's scope is not ours: through `identify`, the same signed
/// request is refused for its service before any signature is computed,
/// even with the suite's key configured and the clock at its time.
#[test]
fn identify_refuses_the_suites_scope() {
    let text = format!(
        "[suite]\naws_access_key_id = {ACCESS_KEY_ID}\naws_secret_access_key = {SECRET}\n\
         principal_arn = arn:aws:iam::123456789012:user/suite\n"
    );
    let credentials =
        LocalCredentials::parse(&text, std::path::Path::new("suite")).expect("credentials");
    let identity = SigV4Identity::new(credentials, REGION);
    let (parts, body) = parse_request(include_str!(
        "../../tests/fixtures/aws-sig-v4-test-suite/get-vanilla/header-signed-request.txt"
    ));
    let now = NaiveDateTime::parse_from_str(SIGNED_AT, AMZ_DATE_FORMAT)
        .expect("time")
        .and_utc();
    assert_eq!(verify(&parts, &body), Ok(()));
    assert_eq!(
        identity.identify(&parts, &body, now),
        Err(AuthError::WrongScope {
            region: REGION.to_owned()
        })
    );
}
