//! The OpenAPI document, generated from the handlers' annotations and the
//! core's types so it cannot drift from the code.
//!
//! Three parts: the handlers' `#[utoipa::path]` annotations (routes, bodies,
//! every status an operation answers, its security), the problem responses
//! and security schemes below, and [`rules`]: the limits the server
//! enforces on input (id shapes, name and permission rules, numeric ranges),
//! written into the schemas from the same constants and character rules the
//! validation uses. `tests/conformance/run` holds the running server to the
//! result with schemathesis.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, ObjectBuilder, Ref, RefOr, Response, ResponseBuilder, Type,
};
use utoipa::{Modify, OpenApi};

use crate::error::PROBLEM_JSON;
use crate::routes::{audit, data_plane, keys, meta, organizations, usage};

mod rules;

/// The Keyplane API.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Keyplane", description = "API keys for platform teams: mint, verify, roll, revoke. Management routes are signed with AWS SigV4 (service execute-api); data-plane routes take the key itself. Every error is RFC 9457 `application/problem+json` with a stable `code`."),
    paths(
        organizations::create, organizations::get, organizations::update,
        organizations::create_workspace, organizations::list_workspaces,
        organizations::list_members, organizations::put_member, organizations::delete_member,
        keys::create, keys::list, keys::get, keys::patch, keys::revoke, keys::activate, keys::roll,
        usage::report, usage::key_usage, audit::list,
        data_plane::verify, data_plane::whoami, data_plane::report_leak,
        meta::healthz, meta::openapi,
    ),
    components(schemas(keyplane_api::problem::Problem)),
    modifiers(&Security, &Problems),
)]
pub struct ApiDoc;

/// The document as served: built once, on first use, with [`rules`]
/// applied.
pub fn document() -> &'static serde_json::Value {
    static DOCUMENT: OnceLock<serde_json::Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
        rules::apply(&mut doc);
        require_headers(&mut doc);
        doc
    })
}

/// Name of the SigV4 security scheme every management operation requires.
pub const SIGV4: &str = "sigv4";
/// Name of the bearer-key security scheme of `whoami`.
pub const BEARER_KEY: &str = "bearer_key";

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        // OpenAPI has no scheme for AWS SigV4. The truthful approximation is
        // what API Gateway's own exports use: an `Authorization` header,
        // described. The signature covers the method, path, query, the
        // signed headers and the body's SHA-256, so a client must sign the
        // final bytes it sends.
        components.add_security_scheme(
            SIGV4,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "AWS Signature Version 4 (`AWS4-HMAC-SHA256`), service `execute-api`, the \
                 deployment's region; `host` and `x-amz-date` signed, `x-amz-date` within 5 \
                 minutes of the server's clock, the body covered by the payload hash \
                 (`x-amz-content-sha256` may be sent and must then be that hash; unsigned \
                 payloads are refused). An `Idempotency-Key` header must be signed too. \
                 Only IAM principals authenticate this way: API keys can never manage keys.",
            ))),
        );
        components.add_security_scheme(
            BEARER_KEY,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("kp_live_… or kp_test_…")
                    .description(Some("a Keyplane API key"))
                    .build(),
            ),
        );
    }
}

/// A header a problem answer carries.
#[derive(Clone, Copy)]
enum ProblemHeader {
    /// `WWW-Authenticate: <scheme>`, on every answer of its kind.
    Challenge(&'static str),
    /// `Retry-After: <seconds>`, on every answer of its kind (`always`) or
    /// on some.
    RetryAfter { always: bool },
}

/// A problem+json answer: one per status (two for 401, whose challenge
/// differs), shared by reference as `#/components/responses/<name>`.
struct ProblemResponse {
    status: u16,
    name: &'static str,
    description: &'static str,
    headers: &'static [ProblemHeader],
}

const PROBLEMS: [ProblemResponse; 11] = [
    ProblemResponse {
        status: 400,
        name: "BadRequest",
        description: "Invalid input: a malformed id, body, query or header, a value out of range, \
                      or a rule of the use case broken (`code` says which; one status for all \
                      bad input).",
        headers: &[],
    },
    ProblemResponse {
        status: 401,
        name: "SignatureRejected",
        description: "No SigV4 signature, or one that does not verify: unknown access key, wrong \
                      scope, expired, body or headers not covered (`code` says which).",
        headers: &[ProblemHeader::Challenge("AWS4-HMAC-SHA256")],
    },
    ProblemResponse {
        status: 401,
        name: "KeyRejected",
        description: "No bearer key, or one that may not be used: `code` is the verify code \
                      (`MALFORMED`, `NOT_FOUND`, `REVOKED`, …) or `BEARER_REQUIRED`.",
        headers: &[ProblemHeader::Challenge("Bearer")],
    },
    ProblemResponse {
        status: 403,
        name: "Forbidden",
        description: "The caller is known but may not do this (or sent an API key to a \
                      management route: `API_KEY_NOT_ALLOWED`).",
        headers: &[],
    },
    ProblemResponse {
        status: 404,
        name: "NotFound",
        description: "The target does not exist, or is not visible to the caller.",
        headers: &[],
    },
    ProblemResponse {
        status: 409,
        name: "Conflict",
        description: "The target's state forbids the change (revoked, last owner, quota \
                      reached, an `Idempotency-Key` reused), a concurrent change won, or \
                      this very signed request was already received (`REQUEST_REPLAYED`: \
                      nothing was done; sign the request again to repeat it).",
        headers: &[],
    },
    ProblemResponse {
        status: 413,
        name: "PayloadTooLarge",
        description: "The body is over 64 KiB.",
        headers: &[],
    },
    ProblemResponse {
        status: 415,
        name: "UnsupportedMediaType",
        description: "A body that is not `application/json` (or another `+json` type).",
        headers: &[],
    },
    ProblemResponse {
        status: 429,
        name: "TooManyRequests",
        description: "Over the rate limit (`RATE_LIMITED`): per source address on the data \
                      plane, per signed caller on management routes. Nothing was done; retry \
                      after `Retry-After` seconds.",
        headers: &[ProblemHeader::RetryAfter { always: true }],
    },
    ProblemResponse {
        status: 431,
        name: "HeadersTooLarge",
        description: "The request line and headers are over the server's limit, 16 KiB by \
                      default (`HEADERS_TOO_LARGE`).",
        headers: &[],
    },
    ProblemResponse {
        status: 503,
        name: "Unavailable",
        description: "The key store failed (`STORE_UNAVAILABLE`), or the request did not \
                      finish within the server's deadline (`TIMED_OUT`, with `Retry-After`); \
                      nothing is known to have changed. Verify fails closed: never \
                      `valid: true`.",
        headers: &[ProblemHeader::RetryAfter { always: false }],
    },
];

impl ProblemResponse {
    fn response(&self) -> Response {
        let mut response = ResponseBuilder::new()
            .description(self.description)
            .content(
                PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            );
        for header in self.headers {
            let (name, schema, description) = match *header {
                ProblemHeader::Challenge(scheme) => (
                    "WWW-Authenticate",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some([scheme])),
                    "the scheme to authenticate with",
                ),
                ProblemHeader::RetryAfter { .. } => (
                    "Retry-After",
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(1)),
                    "whole seconds to wait before retrying",
                ),
            };
            response = response.header(
                name,
                HeaderBuilder::new()
                    .schema(schema)
                    .description(Some(description))
                    .build(),
            );
        }
        response.build()
    }

    /// The headers every answer of this kind carries.
    fn required_headers(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.headers.iter().filter_map(|header| match header {
            ProblemHeader::Challenge(_) => Some("WWW-Authenticate"),
            ProblemHeader::RetryAfter { always: true } => Some("Retry-After"),
            ProblemHeader::RetryAfter { always: false } => None,
        })
    }
}

/// utoipa's header object has no `required`: set it on the headers every
/// answer of a kind carries. `Idempotent-Replayed` is `true` when sent; a
/// replayed create always sends it, a roll only when it is a replay.
fn require_headers(doc: &mut serde_json::Value) {
    use serde_json::{json, Value};
    let mut required: Vec<String> = PROBLEMS
        .iter()
        .flat_map(|problem| {
            problem
                .required_headers()
                .map(|header| format!("/components/responses/{}/headers/{header}", problem.name))
        })
        .collect();
    required.push("/paths/~1v1~1keys/post/responses/200/headers/Idempotent-Replayed".to_owned());
    for pointer in required {
        if let Some(Value::Object(header)) = doc.pointer_mut(&pointer) {
            header.insert("required".to_owned(), Value::Bool(true));
        }
    }
    for pointer in [
        "/paths/~1v1~1keys/post/responses/200/headers/Idempotent-Replayed/schema",
        "/paths/~1v1~1keys~1{key_id}~1roll/post/responses/200/headers/Idempotent-Replayed/schema",
    ] {
        if let Some(schema) = doc.pointer_mut(pointer) {
            *schema = json!({"type": "string", "enum": ["true"]});
        }
    }
}

struct Problems;

impl Modify for Problems {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        for problem in &PROBLEMS {
            components
                .responses
                .insert(problem.name.to_owned(), RefOr::T(problem.response()));
        }
    }
}

/// `responses` of the named problems, by reference.
fn problems(names: &[&str]) -> BTreeMap<String, RefOr<Response>> {
    PROBLEMS
        .iter()
        .filter(|p| names.contains(&p.name))
        .map(|p| {
            (
                p.status.to_string(),
                RefOr::Ref(Ref::from_response_name(p.name)),
            )
        })
        .collect()
}

/// The error answers operations document, in groups: the annotations
/// name them (`responses((status = 200, body = …), errors::Signed,
/// errors::NotFound)`), so each operation lists exactly what it answers.
pub mod errors {
    use std::collections::BTreeMap;

    use utoipa::openapi::{RefOr, Response};
    use utoipa::IntoResponses;

    /// The refusals every signed management call can get, whatever it does:
    /// 400 (a bad id, query or body, or one cut off), 401 (the signature),
    /// 403 (the caller's rights, or an API key sent where only IAM may go),
    /// 413 (the body is read before the signature is checked, on every
    /// method), 429 (the caller's rate), 431 (the headers), 503 (the store,
    /// or the deadline).
    #[derive(Debug)]
    pub struct Signed;

    impl IntoResponses for Signed {
        fn responses() -> BTreeMap<String, RefOr<Response>> {
            super::problems(&[
                "BadRequest",
                "SignatureRejected",
                "Forbidden",
                "PayloadTooLarge",
                "TooManyRequests",
                "HeadersTooLarge",
                "Unavailable",
            ])
        }
    }

    /// 415: the operation reads a JSON body.
    #[derive(Debug)]
    pub struct JsonBody;

    impl IntoResponses for JsonBody {
        fn responses() -> BTreeMap<String, RefOr<Response>> {
            super::problems(&["UnsupportedMediaType"])
        }
    }

    /// 404: the operation names something that may not exist.
    #[derive(Debug)]
    pub struct NotFound;

    impl IntoResponses for NotFound {
        fn responses() -> BTreeMap<String, RefOr<Response>> {
            super::problems(&["NotFound"])
        }
    }

    /// 409: the operation changes something whose state can forbid it.
    #[derive(Debug)]
    pub struct Conflict;

    impl IntoResponses for Conflict {
        fn responses() -> BTreeMap<String, RefOr<Response>> {
            super::problems(&["Conflict"])
        }
    }

    /// 409 `REQUEST_REPLAYED`: a signed write that is not idempotent by
    /// itself is handled once per signature; the same bytes again are
    /// refused and change nothing.
    #[derive(Debug)]
    pub struct Replayed;

    impl IntoResponses for Replayed {
        fn responses() -> BTreeMap<String, RefOr<Response>> {
            super::problems(&["Conflict"])
        }
    }

    /// The refusals of verify and report-leak, which read a JSON body and
    /// take no credential: 400, 413, 415, 429 (the source's rate), 431, 503.
    #[derive(Debug)]
    pub struct DataPlaneBody;

    impl IntoResponses for DataPlaneBody {
        fn responses() -> BTreeMap<String, RefOr<Response>> {
            super::problems(&[
                "BadRequest",
                "PayloadTooLarge",
                "UnsupportedMediaType",
                "TooManyRequests",
                "HeadersTooLarge",
                "Unavailable",
            ])
        }
    }

    /// The refusals of whoami: 401 (no usable key), 429, 431, 503.
    #[derive(Debug)]
    pub struct BearerKey;

    impl IntoResponses for BearerKey {
        fn responses() -> BTreeMap<String, RefOr<Response>> {
            super::problems(&[
                "KeyRejected",
                "TooManyRequests",
                "HeadersTooLarge",
                "Unavailable",
            ])
        }
    }

    /// The one refusal of health and the document, which every route
    /// shares: 431, headers over the limit.
    #[derive(Debug)]
    pub struct Public;

    impl IntoResponses for Public {
        fn responses() -> BTreeMap<String, RefOr<Response>> {
            super::problems(&["HeadersTooLarge"])
        }
    }
}
