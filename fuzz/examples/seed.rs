//! Writes the hand-made seeds of every target's corpus:
//! `cargo run --manifest-path fuzz/Cargo.toml --example seed`.
//!
//! Seeds name keys by placeholder, which the targets replace with freshly
//! minted keys (well-formed, so runs get past the checksum): `$LIVE`,
//! `$TEST`, `$TYPO` for the key format, the world's `$KEY`, `$UNKNOWN`, `$WS`,
//! … for requests. No key literal is committed. Files are named `seed-<what>`, so running
//! this again replaces them; what the fuzzer added is left alone.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use http::Request;
use keyplane_api::key_format::{ApiKey, KeyEnv};
use keyplane_fuzz::{credential, request_text, NOW_SECS};
use keyplane_local::testing::Signer;
use serde_json::{json, Value};

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    key_format(&root.join("key_format"))?;
    verify_body(&root.join("verify_body"))?;
    sigv4(&root.join("sigv4"))?;
    lambda_event(&root.join("lambda_event"))?;
    println!("seeds written under {}", root.display());
    Ok(())
}

fn write(dir: &Path, name: &str, data: impl AsRef<[u8]>) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    fs::write(dir.join(format!("seed-{name}")), data)
}

fn minted(env: KeyEnv) -> String {
    ApiKey::mint(env).expose().to_owned()
}

fn key_format(dir: &Path) -> std::io::Result<()> {
    // Keys by placeholder (the target mints them): no key literal is
    // committed.
    let (live, test) = ("$LIVE", "$TEST");
    let filler = &minted(KeyEnv::Live)[8..];
    let seeds = [
        ("live", live.to_owned()),
        ("test", test.to_owned()),
        ("typo", "$TYPO".to_owned()),
        ("in-text", format!("note: {live} was pasted here")),
        ("glued", format!("{live}{test}")),
        ("nested-prefix", format!("kp_live_{test}")),
        ("non-ascii", format!("kp_live_é{filler}ü")),
        ("short", "kp_test_abc".to_owned()),
        ("hash", "ab".repeat(32)),
        ("env", "live".to_owned()),
        // Crashes found, kept as seeds (and as unit tests in their crates).
        ("crash-hint-non-ascii", "kp_live_ééééééééé".to_owned()),
    ];
    for (name, text) in seeds {
        write(dir, name, text)?;
    }
    Ok(())
}

fn verify_body(dir: &Path) -> std::io::Result<()> {
    let unknown = "$UNKNOWN";
    let seeds = [
        ("key", json!({"key": "$KEY"})),
        (
            "workspace",
            json!({"key": "$KEY", "permissions": ["models:gpt-4o"], "workspace_id": "$WS"}),
        ),
        ("metered", json!({"key": "$METERED", "cost": 5})),
        ("pending", json!({"key": "$PENDING"})),
        (
            "org-key",
            json!({"key": "$ORGKEY", "workspace_id": "$WS", "permissions": ["models:gpt-4o"]}),
        ),
        (
            "forbidden",
            json!({"key": "$KEY", "permissions": ["billing:write"]}),
        ),
        ("unknown", json!({"key": unknown})),
        ("malformed", json!({"key": "kp_live_short"})),
        ("bad-cost", json!({"key": "$KEY", "cost": 0})),
        (
            "bad-permission",
            json!({"key": "$KEY", "permissions": ["no spaces"]}),
        ),
        (
            "other-workspace",
            json!({"key": "$KEY", "workspace_id": "ws_0000"}),
        ),
        ("extra-field", json!({"key": "$KEY", "colour": "blue"})),
    ];
    for (name, body) in seeds {
        write(dir, name, body.to_string())?;
    }
    write(dir, "not-json", "{\"key\": ")?;
    Ok(())
}

fn sigv4(dir: &Path) -> std::io::Result<()> {
    let at = UNIX_EPOCH + Duration::from_secs(NOW_SECS.unsigned_abs());
    let signer = || {
        Signer::new(
            credential::ACCESS_KEY_ID,
            credential::SECRET,
            credential::REGION,
        )
    };
    let request = |method: &str, uri: &str, body: &str| {
        Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "keyplane.test")
            .header("content-type", "application/json")
            .body(body.as_bytes().to_vec())
            .expect("a request")
    };
    let mut signed = Vec::new();
    let mut get = request("GET", "/v1/organizations/org_0000", "");
    signer().sign(&mut get, at);
    signed.push(("get", get));
    let mut create = request("POST", "/v1/keys", r#"{"name":"ci"}"#);
    create
        .headers_mut()
        .insert("idempotency-key", http::HeaderValue::from_static("retry-1"));
    signer().sign(&mut create, at);
    signed.push(("post-idempotent", create));
    let mut query = request(
        "GET",
        "/v1/keys?status=active&organization_id=org_1&x=a+b%2F",
        "",
    );
    signer().sign(&mut query, at);
    signed.push(("query", query));
    let mut member = request(
        "PUT",
        "/v1/organizations/org_1/members/arn%3Aaws%3Aiam%3A%3A1%3Auser%2Fbob",
        "{}",
    );
    signer().single_encode_path().sign(&mut member, at);
    signed.push(("single-encoded-path", member));
    let mut token = request("DELETE", "/v1/keys/key_1", "");
    signer()
        .session_token("session")
        .content_sha256_header()
        .sign(&mut token, at);
    signed.push(("session-token", token));
    for (name, request) in signed {
        write(dir, name, request_text::render(&request))?;
    }
    write(
        dir,
        "parameters",
        format!(
            "Credential={}/20250101/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature={}",
            credential::ACCESS_KEY_ID,
            "0a".repeat(32)
        ),
    )?;
    write(dir, "credentials-file", credential::file())?;
    Ok(())
}

fn lambda_event(dir: &Path) -> std::io::Result<()> {
    let fixtures =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../functions/lambda/tests/fixtures");
    let mut names: Vec<PathBuf> = fs::read_dir(&fixtures)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    names.sort();
    let unknown = "$UNKNOWN_LIVE";
    for path in names {
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let text = fs::read_to_string(&path)?;
        // Compact JSON: shorter inputs run faster and mutate better.
        let compact = |text: &str| -> std::io::Result<String> {
            let value: Value = serde_json::from_str(text).map_err(std::io::Error::other)?;
            Ok(value.to_string())
        };
        if text.contains("PLACEHOLDER") {
            write(dir, stem, compact(&text.replace("PLACEHOLDER", "$KEY"))?)?;
            write(
                dir,
                &format!("{stem}-pending"),
                compact(&text.replace("PLACEHOLDER", "$PENDING"))?,
            )?;
            write(
                dir,
                &format!("{stem}-unknown"),
                compact(&text.replace("PLACEHOLDER", unknown))?,
            )?;
        } else {
            write(dir, stem, compact(&text)?)?;
        }
    }
    // The data plane through the api function.
    let verify = fs::read_to_string(fixtures.join("http-api-v2-public.json"))?;
    let mut verify: Value = serde_json::from_str(&verify).map_err(std::io::Error::other)?;
    verify["body"] = Value::String(json!({"key": "$KEY"}).to_string());
    write(dir, "http-api-v2-verify", verify.to_string())?;
    verify["rawPath"] = Value::String("/prod/v1/whoami".to_owned());
    verify["requestContext"]["stage"] = Value::String("prod".to_owned());
    verify["requestContext"]["http"]["method"] = Value::String("GET".to_owned());
    verify["headers"]["authorization"] = Value::String("Bearer $KEY".to_owned());
    write(dir, "http-api-v2-whoami-stage", verify.to_string())?;

    // Route tables, for the authorizer's configuration parser.
    let routes = json!({
        "GET /orders/{id}": ["orders:read"],
        "ANY /health": [],
        "GET /files/**": ["files:read"],
        "POST /models/*/invoke": ["models:gpt-4o"],
    });
    write(dir, "routes", routes.to_string())?;

    // Crashes found, kept as seeds (and as unit tests in keyplane-lambda):
    // events lambda_http panicked on converting.
    let public = fs::read_to_string(fixtures.join("http-api-v2-public.json"))?;
    let public: Value = serde_json::from_str(&public).map_err(std::io::Error::other)?;
    let crashes = [
        (
            "x-forwarded-proto",
            "/headers/x-forwarded-proto",
            json!("ht(tps"),
        ),
        ("host-port", "/headers/host", json!("example.com:99999")),
        ("raw-query", "/rawQueryString", json!("a=\"b\"")),
        ("base64-body", "/isBase64Encoded", json!(true)),
    ];
    for (name, pointer, value) in crashes {
        let mut event = public.clone();
        if let Some(slot) = event.pointer_mut(pointer) {
            *slot = value;
        }
        write(dir, &format!("crash-{name}"), event.to_string())?;
    }
    Ok(())
}
