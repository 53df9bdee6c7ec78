//! The OpenAPI document tells the truth, pinned through the real Router:
//! unique operation ids, problem+json for every error, SigV4 on every
//! management operation, the ranges and patterns the server enforces, and
//! exactly the statuses each operation answers — with the refusals every
//! operation shares provoked for real. `tests/conformance/run` (schemathesis
//! against `keyplane serve`) holds the server to the rest.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{encode, Req, TestApp, ADMIN};
use keyplane_api::limits::{
    MAX_COST, MAX_CREDITS, MAX_GRACE_SECONDS, MAX_KEY_QUOTA, MAX_PAGE, MAX_TOKENS_PER_REPORT,
};
use keyplane_core::id::{KeyId, OrgId};
use keyplane_core::permission::{MAX_PERMISSIONS, MAX_PERMISSION_LEN};
use keyplane_core::validate::{MAX_METADATA_ENTRIES, MAX_NAME_CHARS};
use keyplane_http::{Limits, Rate, BODY_LIMIT, PROBLEM_JSON};
use serde_json::{json, Value};

async fn document(app: &TestApp) -> Value {
    let answer = app.call(None, "GET", "/openapi.json", None, &[]).await;
    answer.expect(200);
    answer.json
}

/// One operation of the document.
struct Operation {
    path: String,
    method: String,
    id: String,
    spec: Value,
}

impl Operation {
    /// The statuses it documents, `$ref`s resolved against `doc`.
    fn statuses(&self) -> BTreeSet<u16> {
        self.spec["responses"]
            .as_object()
            .unwrap()
            .keys()
            .map(|status| status.parse().unwrap())
            .collect()
    }

    /// The response documented for `status`, `$ref` resolved.
    fn response<'d>(&'d self, doc: &'d Value, status: u16) -> &'d Value {
        let response = &self.spec["responses"][status.to_string()];
        match response["$ref"].as_str() {
            Some(pointer) => doc.pointer(pointer.trim_start_matches('#')).unwrap(),
            None => response,
        }
    }

    fn security(&self) -> Option<&Value> {
        self.spec.get("security")
    }

    fn is_management(&self) -> bool {
        self.security() == Some(&json!([{"sigv4": []}]))
    }

    fn takes_body(&self) -> bool {
        self.spec.get("requestBody").is_some()
    }

    /// The path with well-formed ids of things that do not exist.
    fn concrete_path(&self) -> String {
        self.path
            .replace("{org}", OrgId::generate().as_str())
            .replace("{key_id}", KeyId::generate().as_str())
            .replace(
                "{principal}",
                &encode("arn:aws:iam::123456789012:user/nobody"),
            )
    }
}

fn operations(doc: &Value) -> Vec<Operation> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, spec) in item.as_object().unwrap() {
            out.push(Operation {
                path: path.clone(),
                method: method.to_uppercase(),
                id: spec["operationId"].as_str().unwrap_or_default().to_owned(),
                spec: spec.clone(),
            });
        }
    }
    out
}

fn schema<'d>(doc: &'d Value, name: &str) -> &'d Value {
    &doc["components"]["schemas"][name]
}

#[tokio::test]
async fn operation_ids_are_unique_and_name_what_they_do() {
    let app = TestApp::new();
    let doc = document(&app).await;
    let ops = operations(&doc);
    let ids: BTreeSet<&str> = ops.iter().map(|op| op.id.as_str()).collect();
    assert_eq!(ids.len(), ops.len(), "an operationId is used twice");
    assert!(!ids.contains(""), "an operation has no operationId");
    for vague in ["create", "get", "list", "update", "patch", "report"] {
        assert!(!ids.contains(vague), "`{vague}` does not say of what");
    }
}

/// Every status of every operation, as documented.
#[tokio::test]
async fn each_operation_documents_exactly_the_statuses_it_answers() {
    let app = TestApp::new();
    let doc = document(&app).await;
    let signed = [400, 401, 403, 413, 429, 431, 503];
    let with = |extra: &[u16]| -> BTreeSet<u16> { signed.iter().chain(extra).copied().collect() };
    let expected: BTreeMap<&str, BTreeSet<u16>> = BTreeMap::from([
        ("create_organization", with(&[201, 409, 415])),
        ("get_organization", with(&[200, 404])),
        ("update_organization", with(&[200, 404, 409, 415])),
        ("create_workspace", with(&[201, 404, 409, 415])),
        ("list_workspaces", with(&[200, 404])),
        ("list_members", with(&[200, 404])),
        ("put_member", with(&[200, 404, 409, 415])),
        ("delete_member", with(&[204, 404, 409])),
        ("list_audit_events", with(&[200, 404])),
        ("create_key", with(&[200, 201, 404, 409, 415])),
        ("list_keys", with(&[200, 404])),
        ("get_key", with(&[200, 404])),
        ("patch_key", with(&[200, 404, 409, 415])),
        ("revoke_key", with(&[200, 404, 409])),
        ("activate_key", with(&[200, 404, 409, 415])),
        ("roll_key", with(&[200, 404, 409, 415])),
        ("report_usage", with(&[204, 404, 409, 415])),
        ("get_key_usage", with(&[200, 404])),
        (
            "verify",
            BTreeSet::from([200, 400, 413, 415, 429, 431, 503]),
        ),
        ("whoami", BTreeSet::from([200, 401, 429, 431, 503])),
        (
            "report_leak",
            BTreeSet::from([202, 400, 413, 415, 429, 431, 503]),
        ),
        ("healthz", BTreeSet::from([200, 431])),
        ("openapi", BTreeSet::from([200, 431])),
    ]);
    let documented: BTreeMap<String, BTreeSet<u16>> = operations(&doc)
        .iter()
        .map(|op| (op.id.clone(), op.statuses()))
        .collect();
    let expected: BTreeMap<String, BTreeSet<u16>> = expected
        .into_iter()
        .map(|(id, statuses)| (id.to_owned(), statuses))
        .collect();
    assert_eq!(documented, expected);
}

#[tokio::test]
async fn every_error_is_problem_json_with_a_stable_code() {
    let app = TestApp::new();
    let doc = document(&app).await;
    for op in operations(&doc) {
        for status in op.statuses().into_iter().filter(|s| *s >= 400) {
            let content = &op.response(&doc, status)["content"];
            assert_eq!(
                content,
                &json!({PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}),
                "{} {} {status}",
                op.method,
                op.path
            );
        }
        for status in op.statuses().into_iter().filter(|s| *s < 400) {
            let content = op.response(&doc, status)["content"].as_object();
            let types: Vec<&String> = content.map(|c| c.keys().collect()).unwrap_or_default();
            assert!(
                types.iter().all(|t| *t == "application/json"),
                "{} {} {status}: {types:?}",
                op.method,
                op.path
            );
        }
    }
    let problem = schema(&doc, "Problem");
    let required: BTreeSet<&str> = problem["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        required,
        BTreeSet::from(["type", "title", "status", "detail", "code"])
    );
    assert_eq!(
        problem["properties"]["code"]["pattern"],
        "^[A-Z][A-Z0-9_]*$"
    );
    assert_eq!(problem["properties"]["status"]["minimum"], 400);
    assert_eq!(problem["properties"]["status"]["maximum"], 599);

    // The headers every answer of a kind carries are required.
    let responses = &doc["components"]["responses"];
    for (response, header) in [
        ("SignatureRejected", "WWW-Authenticate"),
        ("KeyRejected", "WWW-Authenticate"),
        ("TooManyRequests", "Retry-After"),
    ] {
        assert_eq!(
            responses[response]["headers"][header]["required"], true,
            "{response}"
        );
    }
    // A store failure has none; a missed deadline does.
    assert!(responses["Unavailable"]["headers"]["Retry-After"]["required"].is_null());
}

#[tokio::test]
async fn management_is_sigv4_and_whoami_takes_a_bearer_key() {
    let app = TestApp::new();
    let doc = document(&app).await;
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["sigv4"]["type"], "apiKey");
    assert_eq!(schemes["sigv4"]["in"], "header");
    assert_eq!(schemes["sigv4"]["name"], "Authorization");
    assert!(schemes["sigv4"]["description"]
        .as_str()
        .unwrap()
        .contains("execute-api"));
    assert_eq!(schemes["bearer_key"]["type"], "http");
    assert_eq!(schemes["bearer_key"]["scheme"], "bearer");
    assert!(doc.get("security").is_none(), "no document-wide default");

    let data_plane = ["/v1/keys/verify", "/v1/keys/report-leak", "/v1/whoami"];
    for op in operations(&doc) {
        let security = op.security().cloned();
        let expected = if op.path == "/v1/whoami" {
            Some(json!([{"bearer_key": []}]))
        } else if op.path.starts_with("/v1/") && !data_plane.contains(&op.path.as_str()) {
            Some(json!([{"sigv4": []}]))
        } else {
            // verify and report-leak take the key in the body; health and
            // the document are public.
            None
        };
        assert_eq!(security, expected, "{} {}", op.method, op.path);
    }
}

#[tokio::test]
async fn numbers_carry_the_ranges_the_server_enforces() {
    let app = TestApp::new();
    let doc = document(&app).await;
    let tokens = MAX_TOKENS_PER_REPORT;
    for (owner, field, min, max) in [
        (
            "CreateOrganization",
            "key_quota",
            1,
            u64::from(MAX_KEY_QUOTA),
        ),
        (
            "UpdateOrganization",
            "key_quota",
            1,
            u64::from(MAX_KEY_QUOTA),
        ),
        ("CreateKey", "credits", 1, MAX_CREDITS),
        ("RollKey", "grace_seconds", 0, u64::from(MAX_GRACE_SECONDS)),
        ("VerifyKey", "cost", 1, MAX_COST),
        ("ReportUsage", "input_tokens", 0, tokens),
        ("ReportUsage", "output_tokens", 0, tokens),
        ("ReportUsage", "requests", 1, tokens),
        ("PatchKey", "if_version", 0, u64::MAX),
    ] {
        let property = &schema(&doc, owner)["properties"][field];
        assert_eq!(property["minimum"], json!(min), "{owner}.{field}");
        assert_eq!(property["maximum"], json!(max), "{owner}.{field}");
        // A u64 is not an int64; the range says all there is.
        assert!(property.get("format").is_none(), "{owner}.{field}");
    }
    for op in ["list_keys", "list_audit_events"] {
        let op = operations(&doc).into_iter().find(|o| o.id == op).unwrap();
        let limit = op.spec["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "limit")
            .unwrap();
        assert_eq!(limit["schema"]["minimum"], 1);
        assert_eq!(limit["schema"]["maximum"], json!(MAX_PAGE));
    }
}

#[tokio::test]
async fn ids_names_and_permissions_carry_their_patterns() {
    let app = TestApp::new();
    let doc = document(&app).await;
    for (name, pattern) in [
        ("OrgId", "^org_[A-Za-z0-9]{1,60}$"),
        ("WorkspaceId", "^ws_[A-Za-z0-9]{1,61}$"),
        ("KeyId", "^key_[A-Za-z0-9]{1,60}$"),
        ("EventId", "^evt_[A-Za-z0-9]{1,60}$"),
    ] {
        assert_eq!(schema(&doc, name)["pattern"], pattern, "{name}");
    }
    // Path parameters are those ids, not any string.
    for op in operations(&doc) {
        for parameter in op.spec["parameters"].as_array().into_iter().flatten() {
            let expected = match parameter["name"].as_str().unwrap() {
                "org" => "OrgId",
                "key_id" => "KeyId",
                "principal" => "Principal",
                _ => continue,
            };
            assert_eq!(
                parameter["schema"]["$ref"],
                format!("#/components/schemas/{expected}"),
                "{} {}",
                op.method,
                op.path
            );
        }
    }
    assert!(schema(&doc, "Principal")["pattern"]
        .as_str()
        .unwrap()
        .starts_with("^arn:aws"));

    let inner = format!("{{0,{}}}", MAX_NAME_CHARS - 2);
    for owner in [
        "CreateOrganization",
        "UpdateOrganization",
        "CreateWorkspace",
        "CreateKey",
        "PatchKey",
    ] {
        let pattern = schema(&doc, owner)["properties"]["name"]["pattern"]
            .as_str()
            .unwrap_or_default();
        assert!(pattern.contains(&inner), "{owner}.name: {pattern}");
        // Control characters (here NUL and ESC) are outside every class a
        // name may use.
        assert!(pattern.contains(r"[^\u0000-"), "{owner}.name: {pattern}");
    }
    for owner in ["CreateKey", "PatchKey", "PutMember"] {
        let permissions = &schema(&doc, owner)["properties"]["permissions"];
        assert_eq!(permissions["maxItems"], json!(MAX_PERMISSIONS), "{owner}");
        assert_eq!(
            permissions["items"]["maxLength"],
            json!(MAX_PERMISSION_LEN),
            "{owner}"
        );
        assert!(permissions["items"]["pattern"].is_string(), "{owner}");
    }
    assert_eq!(
        schema(&doc, "CreateKey")["properties"]["metadata"]["maxProperties"],
        json!(MAX_METADATA_ENTRIES)
    );
}

/// The refusals operations share, provoked on every operation that
/// documents them: each answer is documented for its operation and is
/// problem+json.
#[tokio::test]
async fn the_shared_refusals_are_real_and_documented() {
    let app = TestApp::new();
    let doc = document(&app).await;
    let unknown_org = OrgId::generate();
    let unknown_key = KeyId::generate();
    let body_of = |id: &str| -> Option<Value> {
        Some(match id {
            "create_organization" => json!({"name": "acme"}),
            "update_organization" | "patch_key" | "activate_key" | "roll_key" => json!({}),
            "create_workspace" => json!({"name": "prod"}),
            "put_member" => json!({"org_role": "member"}),
            "create_key" => json!({
                "organization_id": unknown_org.as_str(), "scope": "organization",
                "type": "service", "role": "viewer",
            }),
            "report_usage" => json!({"key_id": unknown_key.as_str(), "model": "m"}),
            "verify" | "report_leak" => json!({"key": "kp_test_x"}),
            _ => return None,
        })
    };
    for op in operations(&doc) {
        let documented = op.statuses();
        let path = match op.id.as_str() {
            "list_keys" => format!("{}?organization_id={unknown_org}", op.path),
            _ => op.concrete_path(),
        };
        let base = || Req::new(&op.method, &path);
        let mut probes: Vec<(&str, Req, u16)> = Vec::new();
        if op.is_management() {
            probes.push(("unsigned", base(), 401));
            probes.push((
                "an API key",
                base().header("authorization", "Bearer kp_test_AAAA"),
                403,
            ));
        }
        if op.is_management() || op.takes_body() {
            let big = base()
                .by(ADMIN)
                .raw(vec![b' '; BODY_LIMIT + 1])
                .content_type(Some("application/json"));
            probes.push(("a body over the limit", big, 413));
        }
        if op.takes_body() {
            let text = base().by(ADMIN).raw("{}").content_type(Some("text/plain"));
            probes.push(("a body that is not JSON", text, 415));
            let broken = base()
                .by(ADMIN)
                .raw("{")
                .content_type(Some("application/json"));
            probes.push(("broken JSON", broken, 400));
        }
        if documented.contains(&404) {
            let mut req = base().by(ADMIN);
            if let Some(body) = body_of(&op.id) {
                req = req.json(&body);
            }
            probes.push(("ids of nothing", req, 404));
        }
        if op.id == "whoami" {
            probes.push(("no key", base(), 401));
        }
        let huge = "x".repeat(Limits::MAX_HEADER_BYTES);
        probes.push((
            "headers over the limit",
            base().header("x-padding", &huge),
            431,
        ));
        for (what, req, status) in probes {
            let answer = app.send(req).await;
            let label = format!("{} {} with {what}", op.method, op.path);
            assert_eq!(
                answer.status.as_u16(),
                status,
                "{label}: {}",
                answer.body_text
            );
            assert!(
                documented.contains(&status),
                "{label}: {status} undocumented"
            );
            assert_eq!(answer.header("content-type"), Some(PROBLEM_JSON), "{label}");
            if status == 401 {
                let challenge = if op.is_management() {
                    "AWS4-HMAC-SHA256"
                } else {
                    "Bearer"
                };
                assert_eq!(
                    answer.header("www-authenticate"),
                    Some(challenge),
                    "{label}"
                );
            }
        }
    }
}

/// Every rate-limited operation documents 429, with `Retry-After`: with a
/// budget of one request an hour, the second of each is refused.
#[tokio::test]
async fn rate_limited_operations_document_429() {
    let one_an_hour: Rate = "1/h".parse().unwrap();
    let app = TestApp::with_limits(Limits {
        data_plane: Some(one_an_hour),
        leak_reports: Some(one_an_hour),
        management: Some(one_an_hour),
        ..Limits::default()
    });
    let doc = document(&app).await;
    for op in operations(&doc) {
        if ["healthz", "openapi"].contains(&op.id.as_str()) {
            continue;
        }
        let req = || {
            let req = Req::new(&op.method, &op.concrete_path());
            if op.is_management() {
                req.by(ADMIN)
            } else {
                req
            }
        };
        app.send(req()).await;
        let answer = app.send(req()).await;
        let label = format!("{} {}", op.method, op.path);
        answer.expect_problem(429, "RATE_LIMITED");
        assert!(op.statuses().contains(&429), "{label}: 429 undocumented");
        assert!(answer.header("retry-after").is_some(), "{label}");
    }
}
