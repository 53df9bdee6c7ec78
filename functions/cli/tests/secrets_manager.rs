//! `--to-secrets-manager` against the moto emulator: the Secrets Manager
//! client goes to moto (AWS_ENDPOINT_URL) while Keyplane calls stay on the
//! local server (KEYPLANE_ENDPOINT). Skipped when KEYPLANE_MOTO_ENDPOINT is
//! unset, unless KEYPLANE_REQUIRE_MOTO is set.

#![allow(clippy::unwrap_used)]

mod support;

use aws_config::Region;
use keyplane_aws::Profile;
use keyplane_secrets::{SecretsClient, Stage};
use support::{text, Server};

fn moto_endpoint() -> Option<String> {
    match std::env::var("KEYPLANE_MOTO_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => Some(endpoint),
        _ if std::env::var_os("KEYPLANE_REQUIRE_MOTO").is_some() => {
            panic!("KEYPLANE_REQUIRE_MOTO is set but KEYPLANE_MOTO_ENDPOINT is not")
        }
        _ => {
            eprintln!("skipping: KEYPLANE_MOTO_ENDPOINT is not set (see tests/moto)");
            None
        }
    }
}

async fn current_value(moto: &str, name: &str) -> String {
    let config = keyplane_aws::loader(Profile::Interactive)
        .endpoint_url(moto)
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            "AKIDKEYPLANETEST",
            "keyplane-test-secret-access-key",
            None,
            None,
            "keyplane-tests",
        ))
        .load()
        .await;
    let value = SecretsClient::from_sdk_config(&config)
        .read(name, Stage::Current)
        .await
        .unwrap()
        .unwrap();
    value.value.expose().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn create_and_roll_write_the_plaintext_to_secrets_manager_only() {
    let Some(moto) = moto_endpoint() else { return };
    let server = Server::start();
    let (org, ws) = server.org_and_workspace();
    let name = format!("keyplane/cli-test/{}", rand::random::<u64>());

    let out = server
        .kp()
        .env("AWS_ENDPOINT_URL", &moto)
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
        .args(["--to-secrets-manager", &name])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let key = current_value(&moto, &name).await;
    assert!(key.starts_with("kp_test_"));
    assert!(!text(&out.stdout).contains(&key) && !text(&out.stderr).contains(&key));
    server
        .kp()
        .arg("verify")
        .env("KEYPLANE_KEY", &key)
        .assert()
        .success();

    // a roll puts a new current version into the existing secret
    let key_id = server.json(&["keys", "list", "--org", &org])[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = server
        .kp()
        .env("AWS_ENDPOINT_URL", &moto)
        .args(["keys", "roll", &key_id, "--to-secrets-manager", &name])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rolled = current_value(&moto, &name).await;
    assert_ne!(rolled, key);
    assert!(!text(&out.stdout).contains(&rolled) && !text(&out.stderr).contains(&rolled));
    server
        .kp()
        .arg("verify")
        .env("KEYPLANE_KEY", &rolled)
        .assert()
        .success();
    assert!(!server.log().contains(&key) && !server.log().contains(&rolled));
}
