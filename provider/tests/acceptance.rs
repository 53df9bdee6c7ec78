//! The provider through the real Terraform CLI, against `keyplane serve`
//! and moto: the whole lifecycle of a workspace key, each step checked
//! against the API and Secrets Manager, and everything Terraform, the
//! provider and the server left behind scanned for the plaintexts
//! ([`assert_no_plaintext_anywhere`]).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use keyplane_api::id::{KeyId, OrgId, WorkspaceId};
use keyplane_api::key::DisplayStatus;
use keyplane_api::key_format::{ApiKey, KeyEnv};
use keyplane_api::keys::ListKeys;
use keyplane_api::verify::{VerifyCode, VerifyKey};
use keyplane_client::Client;
use keyplane_secrets::{Recovery, SecretsClient, Stage};
use support::leak_scan::LeakScan;
use support::{
    moto_endpoint, moto_rotation_function, org_and_workspace, secrets, Server, Terraform,
};

struct Fixture {
    server: Server,
    admin: Client,
    secrets: SecretsClient,
    moto: String,
    org: OrgId,
    ws: WorkspaceId,
    /// Unique per test, so secrets on the shared moto never collide.
    prefix: String,
    /// The leak scans' control: a plaintext every configuration outputs,
    /// so it is in every plan and state the scans read.
    control: ApiKey,
}

impl Fixture {
    async fn new(test: &str) -> Option<Self> {
        let moto = moto_endpoint(test)?;
        let server = Server::start();
        let admin = server.admin().await;
        let (org, ws) = org_and_workspace(&admin).await;
        Some(Self {
            secrets: secrets(&moto).await,
            server,
            admin,
            moto,
            org,
            ws,
            prefix: format!("keyplane-tf-{:08x}", rand::random::<u32>()),
            control: ApiKey::mint(KeyEnv::Test),
        })
    }

    fn provider_block(&self) -> String {
        format!(
            r#"terraform {{
  required_providers {{
    keyplane = {{ source = "keyplane/keyplane" }}
  }}
}}

provider "keyplane" {{
  endpoint                = "{}"
  region                  = "us-east-1"
  secretsmanager_endpoint = "{}"
}}

output "leak_scan_control" {{
  value = "{}"
}}
"#,
            self.server.endpoint,
            self.moto,
            self.control.expose()
        )
    }

    /// A workspace key with these extra attribute lines.
    fn workspace_key(&self, body: &str) -> String {
        format!(
            r#"{}
resource "keyplane_workspace_key" "ci" {{
  organization_id = "{}"
  workspace_id    = "{}"
  role            = "editor"
{body}
}}
"#,
            self.provider_block(),
            self.org,
            self.ws
        )
    }

    async fn verify(&self, key: &ApiKey) -> VerifyCode {
        self.admin
            .verify(&VerifyKey::new(ApiKey::from_plaintext(key.expose())))
            .await
            .unwrap()
            .code
    }

    async fn current_secret(&self, arn: &str) -> ApiKey {
        self.secrets
            .read(arn, Stage::Current)
            .await
            .unwrap()
            .expect("the secret has a current version")
            .value
    }

    async fn status(&self, id: &str) -> DisplayStatus {
        self.admin
            .get_key(&KeyId::parse(id).unwrap())
            .await
            .unwrap()
            .status
    }
}

fn text(value: &serde_json::Value, attribute: &str) -> String {
    value[attribute]
        .as_str()
        .unwrap_or_else(|| panic!("{attribute} missing in {value}"))
        .to_owned()
}

/// `terraform plan` shows no change.
fn assert_no_changes(tf: &Terraform, after: &str) {
    let plan = tf.plan();
    assert_eq!(
        plan.code, 0,
        "after {after}, plan shows changes:\n{}\n{}",
        plan.stdout, plan.stderr
    );
}

/// The actions a saved plan takes on `address`.
fn planned_actions(tf: &Terraform, address: &str) -> Vec<String> {
    let plan = tf.plan_json();
    plan["resource_changes"]
        .as_array()
        .and_then(|changes| changes.iter().find(|c| c["address"] == address))
        .map(|change| {
            change["change"]["actions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Every file in `dir` and below, concatenated.
fn files_under(dir: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            all.extend(files_under(&path));
        } else {
            all.extend(std::fs::read(&path).unwrap_or_default());
        }
    }
    all
}

/// No plaintext in `minted` anywhere the run left data: every plan and
/// state Terraform showed as JSON (a last plan and state, after a
/// refresh-only apply, are shown here too), the raw `terraform.tfstate` and its backup, Terraform's TRACE log
/// and the provider's log, everything any Terraform command printed, and
/// `keyplane serve`'s log and data directory (its embedded store's file).
/// Controls: the plaintext every configuration outputs
/// ([`Fixture::control`]) is found in each plan JSON, each state JSON and
/// the raw state; `key_id` is found in the server's data, so that scan
/// reads the store. The logs have no control of their own (nothing
/// outside the code under test writes to them): each must be at TRACE.
fn assert_no_plaintext_anywhere(fx: &Fixture, tf: &Terraform, minted: &[ApiKey], key_id: &str) {
    let scan = LeakScan::new(minted.iter().map(ApiKey::expose));
    let control = LeakScan::new([fx.control.expose()]);
    // A destroy leaves a state without outputs; this puts the control's
    // output back without creating anything.
    tf.run(&[
        "apply",
        "-refresh-only",
        "-auto-approve",
        "-input=false",
        "-no-color",
    ])
    .ok("refresh-only apply");
    tf.plan_json();
    tf.state_json();
    let (plans, states) = tf.shown_json();
    for (what, shown) in [("plan JSON", &plans), ("state JSON", &states)] {
        assert!(!shown.is_empty(), "no {what} was shown");
        for json in shown {
            control.assert_present(what, json);
            scan.assert_absent(what, json);
        }
    }
    let state = tf.file("terraform.tfstate");
    control.assert_present("terraform.tfstate", &state);
    scan.assert_absent("terraform.tfstate", &state);
    scan.assert_absent(
        "terraform.tfstate.backup",
        tf.file("terraform.tfstate.backup"),
    );
    for (what, log, trace) in [
        ("Terraform's log", tf.file("terraform.log"), "[TRACE]"),
        ("the provider's log", tf.file("provider.log"), " TRACE "),
    ] {
        assert!(
            String::from_utf8_lossy(&log).contains(trace),
            "{what} is not at TRACE"
        );
        scan.assert_absent(what, &log);
    }
    scan.assert_absent("Terraform's working directory", tf.everything_written());
    for ran in tf.transcript() {
        let what = format!("the output of terraform {}", ran.args.join(" "));
        scan.assert_absent(&what, format!("{}{}", ran.stdout, ran.stderr));
    }
    let server_log = fx.server.log();
    assert!(
        server_log.contains(r#""level":"TRACE""#) && server_log.contains(r#""status":201"#),
        "keyplane serve's log is not at TRACE, or has no access lines"
    );
    scan.assert_absent("keyplane serve's log", &server_log);
    let data = files_under(&fx.server.dir.path().join("data"));
    assert!(
        String::from_utf8_lossy(&data).contains(key_id),
        "the scan reads the server's store"
    );
    scan.assert_absent("keyplane serve's data directory", &data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workspace_key_from_apply_to_destroy() {
    let Some(fx) = Fixture::new("provider acceptance").await else {
        return;
    };
    let tf = Terraform::new(&fx.server);
    let secret_name = format!("{}/ci", fx.prefix);
    let mut plaintexts: Vec<ApiKey> = Vec::new();

    // Apply: a pending key, its plaintext into a new secret, activated.
    tf.config(&fx.workspace_key(&format!(
        "  name        = \"ci\"\n  permissions = [\"orders:read\"]\n  secret_name = \"{secret_name}\"\n  metadata    = {{ team = \"platform\" }}"
    )));
    tf.apply().ok("first apply");
    let created = tf.resource("keyplane_workspace_key.ci");
    let id = text(&created, "id");
    let arn = text(&created, "secret_arn");
    let key = fx.current_secret(&arn).await;
    assert_eq!(fx.verify(&key).await, VerifyCode::Valid);
    assert_eq!(text(&created, "status"), "active");
    assert_eq!(text(&created, "hint"), key.hint());
    let described = fx.secrets.describe(&arn).await.unwrap().unwrap();
    assert_eq!(described.tags.get("keyplane:key-id"), Some(&id));
    let view = fx.admin.get_key(&KeyId::parse(&id).unwrap()).await.unwrap();
    assert_eq!(
        view.secret.as_ref().map(|s| s.arn.as_str()),
        Some(arn.as_str())
    );
    plaintexts.push(key);
    assert_no_changes(&tf, "the first apply");

    // In place: name, permissions and metadata change, the key stays.
    tf.config(&fx.workspace_key(&format!(
        "  name        = \"ci-renamed\"\n  permissions = [\"orders:read\", \"orders:write\"]\n  secret_name = \"{secret_name}\""
    )));
    assert_eq!(
        planned_actions(&tf, "keyplane_workspace_key.ci"),
        ["update"]
    );
    tf.apply().ok("in-place update");
    let updated = tf.resource("keyplane_workspace_key.ci");
    assert_eq!(text(&updated, "id"), id);
    let view = fx.admin.get_key(&KeyId::parse(&id).unwrap()).await.unwrap();
    assert_eq!(view.name, "ci-renamed");
    assert_eq!(view.permissions, ["orders:read", "orders:write"]);
    assert!(view.metadata.is_empty());
    assert_no_changes(&tf, "the update");

    // Import: forgotten, then imported by id, with nothing to change.
    tf.run(&["state", "rm", "keyplane_workspace_key.ci"])
        .ok("state rm");
    tf.run(&[
        "import",
        "-input=false",
        "-no-color",
        "keyplane_workspace_key.ci",
        &id,
    ])
    .ok("import");
    assert_eq!(
        text(&tf.resource("keyplane_workspace_key.ci"), "secret_arn"),
        arn
    );
    assert_no_changes(&tf, "the import");

    // Rotation from Terraform: new keepers roll the key in place into a new
    // version of its secret; the old plaintext works for the grace.
    let old_key = fx.current_secret(&arn).await;
    tf.config(&fx.workspace_key(&format!(
        "  name          = \"ci-renamed\"\n  permissions   = [\"orders:read\", \"orders:write\"]\n  secret_name   = \"{secret_name}\"\n  keepers       = {{ rotation = \"2\" }}\n  grace_seconds = 600"
    )));
    assert_eq!(
        planned_actions(&tf, "keyplane_workspace_key.ci"),
        ["update"]
    );
    tf.apply().ok("rolling through keepers");
    let rolled = tf.resource("keyplane_workspace_key.ci");
    assert_eq!(text(&rolled, "id"), id);
    assert_ne!(
        text(&rolled, "secret_version_id"),
        text(&updated, "secret_version_id")
    );
    let new_key = fx.current_secret(&arn).await;
    assert_ne!(new_key.expose(), old_key.expose());
    assert_eq!(text(&rolled, "hint"), new_key.hint());
    assert_eq!(fx.verify(&new_key).await, VerifyCode::Valid);
    assert_eq!(
        fx.verify(&old_key).await,
        VerifyCode::Valid,
        "the old plaintext works during the grace"
    );
    plaintexts.push(new_key);
    assert_no_changes(&tf, "the roll");

    // Drift: revoked out of band, so the next apply replaces the key.
    fx.admin
        .revoke_key(&KeyId::parse(&id).unwrap())
        .await
        .unwrap();
    assert_eq!(
        planned_actions(&tf, "keyplane_workspace_key.ci"),
        ["delete", "create"]
    );
    tf.apply().ok("replacing a revoked key");
    let replaced = tf.resource("keyplane_workspace_key.ci");
    let id2 = text(&replaced, "id");
    assert_ne!(id2, id);
    let arn2 = text(&replaced, "secret_arn");
    let key2 = fx.current_secret(&arn2).await;
    assert_eq!(fx.verify(&key2).await, VerifyCode::Valid);
    plaintexts.push(key2);
    assert_no_changes(&tf, "replacing a revoked key");

    // Drift: the secret deleted out of band, so the key is replaced too,
    // and the old one revoked.
    fx.secrets.delete(&arn2, Recovery::Force).await.unwrap();
    assert_eq!(
        planned_actions(&tf, "keyplane_workspace_key.ci"),
        ["delete", "create"]
    );
    tf.apply().ok("replacing a key whose secret is gone");
    let id3 = text(&tf.resource("keyplane_workspace_key.ci"), "id");
    assert_ne!(id3, id2);
    assert_eq!(fx.status(&id2).await, DisplayStatus::Revoked);
    let arn3 = text(&tf.resource("keyplane_workspace_key.ci"), "secret_arn");
    let key3 = fx.current_secret(&arn3).await;
    assert_eq!(fx.verify(&key3).await, VerifyCode::Valid);
    plaintexts.push(key3);
    assert_no_changes(&tf, "replacing a key whose secret is gone");

    // rotate_after: once it has passed, the next plan rolls the key.
    tf.config(&fx.workspace_key(&format!(
        "  name          = \"ci-renamed\"\n  permissions   = [\"orders:read\", \"orders:write\"]\n  secret_name   = \"{secret_name}\"\n  keepers       = {{ rotation = \"2\" }}\n  grace_seconds = 600\n  rotate_after  = \"2s\""
    )));
    tf.apply().ok("adding rotate_after");
    let before = tf.resource("keyplane_workspace_key.ci");
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(
        planned_actions(&tf, "keyplane_workspace_key.ci"),
        ["update"]
    );
    tf.apply().ok("rolling after rotate_after");
    let after = tf.resource("keyplane_workspace_key.ci");
    assert_eq!(text(&after, "id"), id3);
    assert_ne!(
        text(&after, "secret_version_id"),
        text(&before, "secret_version_id")
    );
    let key4 = fx.current_secret(&arn3).await;
    assert_eq!(fx.verify(&key4).await, VerifyCode::Valid);
    plaintexts.push(key4);

    // Destroy: the key revoked, the secret made for it deleted.
    tf.run(&["destroy", "-auto-approve", "-input=false", "-no-color"])
        .ok("destroy");
    assert_eq!(fx.status(&id3).await, DisplayStatus::Revoked);
    assert!(fx.secrets.describe(&arn3).await.unwrap().is_none());

    // Never in a plan, a state, a log or the server's store.
    assert!(
        tf.everything_written().contains(&id3),
        "the scan must see what Terraform wrote"
    );
    assert_no_plaintext_anywhere(&fx, &tf, &plaintexts, &id3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_secret_write_leaves_no_active_key() {
    let Some(fx) = Fixture::new("provider secret failure").await else {
        return;
    };
    let tf = Terraform::new(&fx.server);
    // An existing secret that does not exist: the write fails.
    tf.config(&fx.workspace_key(&format!("  secret_id = \"{}/does-not-exist\"", fx.prefix)));
    let failed = tf.apply();
    assert_ne!(failed.code, 0, "{}", failed.stdout);
    assert!(
        failed
            .stderr
            .contains("Cannot write the key to Secrets Manager")
            && failed.stderr.contains("was revoked"),
        "{}",
        failed.stderr
    );
    let keys = fx
        .admin
        .list_keys_page(&ListKeys {
            organization_id: fx.org.clone(),
            workspace_id: None,
            status: None,
            cursor: None,
            limit: None,
        })
        .await
        .unwrap();
    assert!(!keys.items.is_empty(), "a key was created, then revoked");
    assert!(
        keys.items
            .iter()
            .all(|key| key.status == DisplayStatus::Revoked),
        "{:?}",
        keys.items.iter().map(|k| &k.status).collect::<Vec<_>>()
    );
    let state = tf.run(&["show", "-json"]).ok("show -json");
    assert!(
        !state.stdout.contains("keyplane_workspace_key"),
        "{}",
        state.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_time_errors_name_the_attribute() {
    let Some(fx) = Fixture::new("provider validation").await else {
        return;
    };
    let tf = Terraform::new(&fx.server);
    tf.config(&fx.workspace_key(
        "  role        = \"superuser\"\n  expires_at  = \"tomorrow\"\n  secret_name = \"a\"\n  secret_id   = \"b\"",
    ).replace("  role            = \"editor\"\n", ""));
    let plan = tf.plan();
    assert_eq!(plan.code, 1, "{}", plan.stdout);
    for expected in ["Invalid role", "Invalid expires_at", "Invalid secret_id"] {
        assert!(
            plan.stderr.contains(expected),
            "{expected}:\n{}",
            plan.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organization_key_for_chosen_workspaces_and_the_data_sources() {
    let Some(fx) = Fixture::new("provider organization key").await else {
        return;
    };
    let tf = Terraform::new(&fx.server);
    let existing = format!("{}/deployer", fx.prefix);
    // An existing secret (someone else's first version) gets the key as a
    // new version.
    let placeholder = ApiKey::from_plaintext("not-a-key-yet");
    fx.secrets
        .create(
            &existing,
            &placeholder,
            &format!("{:032x}", rand::random::<u128>()),
            None,
            &[],
        )
        .await
        .unwrap();
    let config = |extra: &str| {
        format!(
            r#"{provider}
data "keyplane_workspace" "prod" {{
  organization_id = "{org}"
  name            = "prod"
}}

resource "keyplane_organization_key" "deployer" {{
  organization_id = data.keyplane_workspace.prod.organization_id
  workspace_ids   = [data.keyplane_workspace.prod.id]
  role            = "viewer"
  permissions     = ["deployments:*"]
  secret_id       = "{existing}"
{extra}
}}

data "keyplane_key" "deployer" {{
  id = keyplane_organization_key.deployer.id
}}

output "status" {{
  value = data.keyplane_key.deployer.status
}}

output "scope" {{
  value = data.keyplane_key.deployer.workspace_ids
}}
"#,
            provider = fx.provider_block(),
            org = fx.org,
        )
    };
    tf.config(&config(""));
    tf.apply().ok("apply");
    let key = tf.resource("keyplane_organization_key.deployer");
    let arn = text(&key, "secret_arn");
    let plaintext = fx.current_secret(&arn).await;
    assert_eq!(fx.verify(&plaintext).await, VerifyCode::Valid);
    // Written under a label of its own, made current once the key was
    // active: the existing value is now AWSPREVIOUS, no label is left over.
    let described = fx.secrets.describe(&arn).await.unwrap().unwrap();
    assert_eq!(
        described.versions.get(&text(&key, "secret_version_id")),
        Some(&vec![Stage::Current]),
        "{:?}",
        described.versions
    );
    assert_eq!(described.versions.len(), 2, "{:?}", described.versions);
    let outputs = tf.run(&["output", "-json"]).ok("output");
    let outputs: serde_json::Value = serde_json::from_str(&outputs.stdout).unwrap();
    assert_eq!(outputs["status"]["value"], "active");
    assert_eq!(
        outputs["scope"]["value"],
        serde_json::json!([fx.ws.to_string()])
    );
    assert_no_changes(&tf, "apply");

    // A replacement with create_before_destroy: the new key becomes the
    // secret's AWSCURRENT version first; destroying the old key then takes
    // the labels off the old key's version only.
    let lifecycle = "  credits         = 100\n  lifecycle {\n    create_before_destroy = true\n  }";
    tf.config(&config(lifecycle));
    assert_eq!(
        planned_actions(&tf, "keyplane_organization_key.deployer"),
        ["create", "delete"]
    );
    tf.apply().ok("create before destroy");
    let old_id = text(&key, "id");
    let old_version = text(&key, "secret_version_id");
    let key = tf.resource("keyplane_organization_key.deployer");
    assert_ne!(text(&key, "id"), old_id);
    assert_eq!(fx.status(&old_id).await, DisplayStatus::Revoked);
    let replacement = fx.current_secret(&arn).await;
    assert_eq!(fx.verify(&replacement).await, VerifyCode::Valid);
    let described = fx.secrets.describe(&arn).await.unwrap().unwrap();
    assert_eq!(
        described.version_with(&Stage::Current),
        Some(text(&key, "secret_version_id").as_str())
    );
    assert!(
        described
            .versions
            .get(&old_version)
            .is_none_or(|stages| stages.is_empty()),
        "the old key's version keeps no label: {:?}",
        described.versions
    );
    assert_no_changes(&tf, "create before destroy");

    // Destroy: the key is revoked; the secret existed before, so it stays,
    // and the version holding the revoked key (still AWSCURRENT) is kept.
    let id = text(&key, "id");
    let destroyed = tf
        .run(&["destroy", "-auto-approve", "-input=false", "-no-color"])
        .ok("destroy");
    assert!(
        destroyed.stdout.contains("Secret version kept")
            || destroyed.stderr.contains("Secret version kept"),
        "{}\n{}",
        destroyed.stdout,
        destroyed.stderr
    );
    assert_eq!(fx.status(&id).await, DisplayStatus::Revoked);
    assert!(fx.secrets.describe(&arn).await.unwrap().is_some());
    assert_no_plaintext_anywhere(&fx, &tf, &[plaintext, replacement], &id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rotation_block_turns_secrets_manager_rotation_on_and_off() {
    let Some(fx) = Fixture::new("provider rotation block").await else {
        return;
    };
    let tf = Terraform::new(&fx.server);
    let lambda_arn = moto_rotation_function(&fx.moto, &format!("{}-rotator", fx.prefix));
    let secret_name = format!("{}/rotated", fx.prefix);
    let rotation = format!(
        "  rotation {{\n    lambda_arn               = \"{lambda_arn}\"\n    automatically_after_days = 30\n  }}"
    );
    tf.config(&fx.workspace_key(&format!("  secret_name = \"{secret_name}\"\n{rotation}")));
    tf.apply().ok("apply with rotation");
    let key = tf.resource("keyplane_workspace_key.ci");
    let arn = text(&key, "secret_arn");
    let id = KeyId::parse(&text(&key, "id")).unwrap();
    let described = fx.secrets.describe(&arn).await.unwrap().unwrap();
    assert!(described.rotation_enabled);
    let view = fx.admin.get_key(&id).await.unwrap();
    assert!(view.secret.as_ref().is_some_and(|bound| bound.rotation));
    assert_no_changes(&tf, "turning rotation on");

    tf.config(&fx.workspace_key(&format!("  secret_name = \"{secret_name}\"")));
    assert_eq!(
        planned_actions(&tf, "keyplane_workspace_key.ci"),
        ["update"]
    );
    tf.apply().ok("apply without rotation");
    let described = fx.secrets.describe(&arn).await.unwrap().unwrap();
    assert!(!described.rotation_enabled);
    let view = fx.admin.get_key(&id).await.unwrap();
    assert!(view.secret.as_ref().is_some_and(|bound| !bound.rotation));
    assert_eq!(
        text(&tf.resource("keyplane_workspace_key.ci"), "id"),
        id.to_string()
    );
    assert_no_changes(&tf, "turning rotation off");
    let minted = fx.current_secret(&arn).await;
    assert_no_plaintext_anywhere(&fx, &tf, &[minted], id.as_str());
}
