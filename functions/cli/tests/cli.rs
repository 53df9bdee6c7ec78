//! The client commands end to end against a real `keyplane serve`.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use support::{mode, text, Server};

/// `keys create` in table mode prints the plaintext, alone, on stdout.
fn create_key(server: &Server, org: &str, ws: &str, extra: &[&str]) -> (String, String) {
    let out = server
        .kp()
        .args(["keys", "create", "--org", org, "--workspace", ws])
        .args([
            "--name",
            "billing-sync",
            "--role",
            "editor",
            "--permission",
            "models:*",
        ])
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    (text(&out.stdout), text(&out.stderr))
}

fn key_id_in(stderr: &str) -> String {
    stderr
        .split_whitespace()
        .find(|w| w.starts_with("key_"))
        .unwrap()
        .trim_end_matches(['.', ';'])
        .to_owned()
}

#[test]
fn walk_through_from_organization_to_revoked_key() {
    let server = Server::start();
    let (org, ws) = server.org_and_workspace();

    let (stdout, stderr) = create_key(&server, &org, &ws, &[]);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "stdout is the plaintext only: {stdout}");
    let key = lines[0].to_owned();
    assert!(key.starts_with("kp_test_"));
    assert!(!stderr.contains(&key));
    let key_id = key_id_in(&stderr);

    // list, as a table and as the API's JSON; masked either way
    let table = server
        .kp()
        .args(["keys", "list", "--org", &org])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let table = text(&table);
    assert!(table.starts_with("ID "), "{table}");
    assert!(table.contains(&key_id) && table.contains("billing-sync") && table.contains("active"));
    assert!(!table.contains(&key));
    let listed = server.json(&["keys", "list", "--org", &org, "--workspace", &ws]);
    assert_eq!(listed[0]["id"], key_id.as_str());
    assert!(!listed.to_string().contains(&key));

    // verify, the key on stdin
    let verdict = server
        .kp()
        .args([
            "verify",
            "--permission",
            "models:gpt-4o",
            "--output",
            "json",
        ])
        .write_stdin(format!("{key}\n"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let verdict: serde_json::Value = serde_json::from_slice(&verdict).unwrap();
    assert_eq!(verdict["code"], "VALID");
    assert_eq!(verdict["actor"], "billing-sync");

    // roll: a new plaintext, which verifies
    let out = server
        .kp()
        .args(["keys", "roll", &key_id])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rolled = text(&out.stdout).trim().to_owned();
    assert!(rolled.starts_with("kp_test_") && rolled != key);
    server
        .kp()
        .arg("verify")
        .env("KEYPLANE_KEY", &rolled)
        .assert()
        .success();

    // revoke: verify now fails, with exit status 1 and the verdict shown
    server
        .kp()
        .args(["keys", "revoke", &key_id])
        .assert()
        .success();
    let out = server
        .kp()
        .arg("verify")
        .write_stdin(rolled.clone())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("REVOKED"),
        "{}",
        text(&out.stdout)
    );

    let audit = server.json(&["audit", "--org", &org]);
    assert!(audit
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "key.revoke"));
    for secret in [&key, &rolled] {
        assert!(
            !server.log().contains(secret.as_str()),
            "plaintext in server log"
        );
    }
}

#[test]
fn a_secret_file_is_private_and_the_only_copy() {
    let server = Server::start();
    let (org, ws) = server.org_and_workspace();
    let path = server.dir.path().join("billing.key");
    let file = path.to_str().unwrap();

    let (stdout, stderr) = create_key(&server, &org, &ws, &["--secret-file", file]);
    assert_eq!(mode(&path), 0o600);
    let key = std::fs::read_to_string(&path).unwrap().trim().to_owned();
    assert!(key.starts_with("kp_test_"));
    assert!(!stdout.contains(&key) && !stderr.contains(&key));
    assert!(
        stdout.contains("billing-sync"),
        "the masked key is shown: {stdout}"
    );
    server
        .kp()
        .arg("verify")
        .env("KEYPLANE_KEY", &key)
        .assert()
        .success();

    // an existing file is never overwritten without --force, and no key is minted
    let out = server
        .kp()
        .args([
            "keys",
            "create",
            "--org",
            &org,
            "--workspace",
            &ws,
            "--role",
            "viewer",
        ])
        .args(["--secret-file", file])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--force"));
    assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), key);
    assert_eq!(
        server
            .json(&["keys", "list", "--org", &org])
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // a roll with --force replaces it, still 0600
    let key_id = server.json(&["keys", "list", "--org", &org])[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = server
        .kp()
        .args([
            "keys",
            "roll",
            &key_id,
            "--secret-file",
            file,
            "--force",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rolled = std::fs::read_to_string(&path).unwrap().trim().to_owned();
    assert_ne!(rolled, key);
    assert_eq!(mode(&path), 0o600);
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        answer.get("key").is_none(),
        "json output without the plaintext"
    );
    for secret in [&key, &rolled] {
        assert!(!text(&out.stdout).contains(secret.as_str()));
        assert!(!text(&out.stderr).contains(secret.as_str()));
        assert!(
            !server.log().contains(secret.as_str()),
            "plaintext in server log"
        );
    }
}

#[test]
fn a_replayed_create_says_no_plaintext_was_returned() {
    let server = Server::start();
    let (org, ws) = server.org_and_workspace();
    let token = ["--idempotency-key", "replay-test-1"];
    let (first, _) = create_key(&server, &org, &ws, &token);
    let (second, stderr) = create_key(&server, &org, &ws, &token);
    assert!(!second.contains(first.trim()));
    assert!(
        !second.contains("kp_test_") || second.contains('…'),
        "{second}"
    );
    assert!(stderr.contains("no plaintext was returned"), "{stderr}");
    assert!(stderr.contains("roll"), "{stderr}");
}

#[test]
fn exit_codes() {
    let server = Server::start();
    // usage errors: 2
    server.kp().args(["keys", "frobnicate"]).assert().code(2);
    server.kp().args(["keys", "list"]).assert().code(2);
    server
        .kp()
        .env_remove("KEYPLANE_ENDPOINT")
        .args(["orgs", "get", "org_x"])
        .assert()
        .code(2);
    // API errors: 1, with detail, code and request id
    let out = server
        .kp()
        .args(["keys", "get", "key_0000000000000000000000"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("error: ") && stderr.contains("KEY_NOT_FOUND, request "),
        "{stderr}"
    );
    // transport errors: 1
    server
        .kp()
        .args(["orgs", "get", "org_x", "--endpoint", "http://127.0.0.1:9"])
        .assert()
        .code(1);
}

#[test]
fn a_running_server_sees_added_principals() {
    let server = Server::start();
    let (org, _) = server.org_and_workspace();
    let alice = "arn:aws:iam::123456789012:user/alice";
    server
        .kp()
        .args([
            "admin",
            "add-principal",
            "--arn",
            alice,
            "--profile",
            "alice",
        ])
        .assert()
        .success();
    server
        .kp()
        .args([
            "members",
            "put",
            "--org",
            &org,
            "--principal",
            alice,
            "--role",
            "owner",
        ])
        .assert()
        .success();
    // at once: an unknown access key makes the server look at the file
    let out = server
        .kp()
        .env("AWS_PROFILE", "alice")
        .args(["orgs", "get", &org])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Acme"));
    assert!(server.log().contains("reloaded the credentials file"));
}

#[test]
fn the_first_start_explains_the_admin_credential_after_an_admin_command() {
    let dir = tempfile::tempdir().unwrap();
    assert_cmd::Command::new(support::BIN)
        .args([
            "admin",
            "add-principal",
            "--arn",
            "arn:aws:iam::123456789012:user/bob",
        ])
        .args(["--profile", "bob", "--data-dir"])
        .arg(dir.path().join("data"))
        .assert()
        .success();
    let server = Server::start_in(dir);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.stdout().contains("profile keyplane-admin") {
        assert!(
            Instant::now() < deadline,
            "no first-start message: {}",
            server.stdout()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A plain verify writes nothing on the request path; the server records
/// the key's last use off it, here in its final flush on SIGTERM.
#[test]
fn a_plain_verify_records_last_use_by_a_flush_not_on_the_request() {
    let server = Server::start();
    let (org, ws) = server.org_and_workspace();
    let (key, stderr) = create_key(&server, &org, &ws, &[]);
    let key_id = key_id_in(&stderr);
    server
        .kp()
        .arg("verify")
        .write_stdin(format!("{key}\n"))
        .assert()
        .success();
    let before = server.json(&["keys", "get", &key_id]);
    assert!(before["last_used_at"].is_null(), "{before}");

    let server = server.restart();
    let after = server.json(&["keys", "get", &key_id]);
    let used = after["last_used_at"].as_str().unwrap_or_default();
    assert!(used.starts_with("20"), "{after}");
}

/// One raw HTTP/1.1 POST of a verify: the status code and the whole answer.
/// (The client would retry a 429; this shows what the server says.)
fn raw_verify(server: &Server, key: &str) -> (u16, String) {
    use std::io::{Read, Write};

    let address = server.endpoint.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let body = format!(r#"{{"key":"{key}"}}"#);
    write!(
        stream,
        "POST /v1/keys/verify HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap();
    (status, answer)
}

#[test]
fn serve_limits_verifies_per_client_address_as_configured() {
    let server = Server::start_with(
        tempfile::tempdir().unwrap(),
        &["--rate-data-plane", "1/min:2"],
    );
    let (org, ws) = server.org_and_workspace();
    let (key, _) = create_key(&server, &org, &ws, &[]);
    let key = key.trim();

    assert_eq!(raw_verify(&server, key).0, 200);
    assert_eq!(raw_verify(&server, key).0, 200);
    let (status, answer) = raw_verify(&server, key);
    assert_eq!(status, 429, "{answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(lower.contains("\r\nretry-after: "), "{answer}");
    assert!(lower.contains("application/problem+json"), "{answer}");
    assert!(answer.contains(r#""code":"RATE_LIMITED""#), "{answer}");
    assert!(!answer.contains(key), "a refusal never echoes the key");
    // Management is a separate budget: the CLI still works.
    server.json(&["keys", "list", "--org", &org]);
}
