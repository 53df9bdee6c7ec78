//! The provider's two-phase create when Secrets Manager fails: the real
//! Terraform CLI against `keyplane serve`, with Secrets Manager (moto)
//! behind a fault-injecting proxy (`keyplane_tests::fault_proxy`). Each
//! case fails one call of the create — refused (nothing written), or
//! applied with its answer lost and every retry refused — and then:
//!
//! - the apply fails, and no key is left active outside the state (the
//!   minted key is revoked, or kept in the state when it is usable);
//! - once Secrets Manager is back, the same configuration applies: exactly
//!   one active key, the one in the state, whose plaintext is the secret's
//!   current value, and every other key minted on the way revoked.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use keyplane_api::id::{KeyId, OrgId, WorkspaceId};
use keyplane_api::key::DisplayStatus;
use keyplane_api::key_format::{ApiKey, KeyEnv};
use keyplane_api::keys::{KeyView, ListKeys};
use keyplane_api::verify::{VerifyCode, VerifyKey};
use keyplane_client::Client;
use keyplane_secrets::{SecretsClient, Stage, KEY_ID_TAG};
use keyplane_tests::fault_proxy::FaultProxy;
use keyplane_tests::faults::Fault;
use support::{moto_endpoint, org_and_workspace, secrets, Server, Terraform};

const ADDRESS: &str = "keyplane_workspace_key.ci";

struct Fixture {
    server: Server,
    admin: Client,
    /// Secrets Manager on moto, directly.
    secrets: SecretsClient,
    /// The provider's way to Secrets Manager.
    proxy: FaultProxy,
    org: OrgId,
    ws: WorkspaceId,
    prefix: String,
}

impl Fixture {
    async fn new(test: &str) -> Option<Self> {
        let moto = moto_endpoint(test)?;
        let server = Server::start();
        let admin = server.admin().await;
        let (org, ws) = org_and_workspace(&admin).await;
        Some(Self {
            secrets: secrets(&moto).await,
            proxy: FaultProxy::start(&moto).await,
            server,
            admin,
            org,
            ws,
            prefix: format!("keyplane-tf-faults-{:08x}", rand::random::<u32>()),
        })
    }

    /// A workspace key whose plaintext goes to the secret `destination`
    /// names (`secret_name = …` or `secret_id = …`).
    fn config(&self, destination: &str) -> String {
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

resource "keyplane_workspace_key" "ci" {{
  organization_id = "{}"
  workspace_id    = "{}"
  role            = "editor"
  {destination}
}}
"#,
            self.server.endpoint,
            self.proxy.url(),
            self.org,
            self.ws
        )
    }

    async fn keys(&self) -> Vec<KeyView> {
        self.admin
            .list_keys_page(&ListKeys {
                organization_id: self.org.clone(),
                workspace_id: None,
                status: None,
                cursor: None,
                limit: Some(100),
            })
            .await
            .unwrap()
            .items
    }

    /// The key in the state, if any.
    fn in_state(tf: &Terraform) -> Option<String> {
        let state = tf.state_json();
        state["values"]["root_module"]["resources"]
            .as_array()
            .and_then(|resources| resources.iter().find(|r| r["address"] == ADDRESS))
            .and_then(|r| r["values"]["id"].as_str().map(str::to_owned))
    }

    /// Keys minted since `known` was taken.
    async fn new_keys(&self, known: &[KeyView]) -> Vec<KeyView> {
        let mut keys = self.keys().await;
        keys.retain(|key| known.iter().all(|old| old.id != key.id));
        keys
    }

    /// No key minted since `known` is active (or pending) but the one in
    /// the state.
    async fn no_orphan(&self, tf: &Terraform, known: &[KeyView], what: &str) {
        let kept = Self::in_state(tf);
        for key in self.new_keys(known).await {
            if key.status != DisplayStatus::Revoked {
                assert_eq!(
                    Some(key.id.to_string()),
                    kept,
                    "{what}: key {} is {:?} but not in the state",
                    key.id,
                    key.status
                );
            }
        }
    }

    /// After a successful apply: of the keys minted since `known`, one is
    /// active, the state's, and its plaintext is the secret's current
    /// value; the rest are revoked.
    async fn one_key_in_its_secret(&self, tf: &Terraform, known: &[KeyView], what: &str) {
        let resource = tf.resource(ADDRESS);
        let id = resource["id"].as_str().unwrap().to_owned();
        let arn = resource["secret_arn"].as_str().unwrap().to_owned();
        for key in self.new_keys(known).await {
            let expected = if key.id.to_string() == id {
                DisplayStatus::Active
            } else {
                DisplayStatus::Revoked
            };
            assert_eq!(key.status, expected, "{what}: key {}", key.id);
        }
        let current = self
            .secrets
            .read(&arn, Stage::Current)
            .await
            .unwrap()
            .expect("a current version");
        let verdict = self
            .admin
            .verify(&VerifyKey::new(ApiKey::from_plaintext(
                current.value.expose(),
            )))
            .await
            .unwrap();
        assert_eq!(verdict.code, VerifyCode::Valid, "{what}");
        assert_eq!(
            verdict.key_id.map(|k| k.to_string()),
            Some(id.clone()),
            "{what}"
        );
        let described = self.secrets.describe(&arn).await.unwrap().unwrap();
        assert_eq!(described.tags.get(KEY_ID_TAG), Some(&id), "{what}");
    }

    /// Applies `config` with `operation` failing (`fault` on its first
    /// call, every later one refused) until the apply ends; checks that it
    /// failed leaving no orphan; applies again with Secrets Manager back.
    /// Returns the failed apply's error output.
    async fn fail_then_recover(
        &self,
        config: &str,
        operation: &str,
        fault: Fault,
        what: &str,
    ) -> String {
        let known = self.keys().await;
        let tf = Terraform::new(&self.server);
        tf.config(config);
        self.proxy
            .faults()
            .fail_operation(operation, 1, None, fault);
        let failed = tf.apply();
        let struck = self.proxy.faults().failed();
        self.proxy.faults().heal();
        assert!(!struck.is_empty(), "{what}: {operation} was never called");
        assert_ne!(failed.code, 0, "{what}: the apply succeeded");
        self.no_orphan(&tf, &known, what).await;

        tf.apply().ok(&format!("{what}: the apply after the fault"));
        self.one_key_in_its_secret(&tf, &known, what).await;
        failed.stderr
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_secret_that_cannot_be_written_leaves_no_active_key_and_the_create_can_be_retried() {
    let Some(fx) = Fixture::new("provider faults, new secret").await else {
        return;
    };
    let name = format!("{}/refused", fx.prefix);
    let stderr = fx
        .fail_then_recover(
            &fx.config(&format!("secret_name = \"{name}\"")),
            "CreateSecret",
            Fault::Refuse,
            "CreateSecret refused",
        )
        .await;
    assert!(
        stderr.contains("Cannot write the key to Secrets Manager") && stderr.contains("revoked"),
        "{stderr}"
    );

    // The secret is made, holding the minted key, but the answer is lost:
    // the create is still retried to a single working key.
    let name = format!("{}/answer-lost", fx.prefix);
    fx.fail_then_recover(
        &fx.config(&format!("secret_name = \"{name}\"")),
        "CreateSecret",
        Fault::LoseAnswer,
        "CreateSecret applied, its answer lost",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_of_an_existing_secret_that_cannot_be_written_leaves_no_active_key() {
    let Some(fx) = Fixture::new("provider faults, existing secret").await else {
        return;
    };
    let existing = |label: &str| {
        let fx = &fx;
        let name = format!("{}/{label}", fx.prefix);
        async move {
            let before = ApiKey::mint(KeyEnv::Test);
            let token = format!("{:032x}", rand::random::<u128>());
            fx.secrets
                .create(&name, &before, &token, None, &[])
                .await
                .unwrap()
                .arn
        }
    };
    for (operation, fault) in [
        ("PutSecretValue", Fault::LoseAnswer),
        ("TagResource", Fault::Refuse),
    ] {
        let arn = existing(operation).await;
        fx.fail_then_recover(
            &fx.config(&format!("secret_id = \"{arn}\"")),
            operation,
            fault,
            &format!("{operation} {fault:?}"),
        )
        .await;
    }

    // The key is active, but AWSCURRENT cannot be moved onto it: the key
    // is kept in the state (tainted), readers still get the old value, and
    // the next apply replaces the key.
    let arn = existing("current").await;
    let before = fx
        .secrets
        .read(&arn, Stage::Current)
        .await
        .unwrap()
        .unwrap();
    let known = fx.keys().await;
    let tf = Terraform::new(&fx.server);
    tf.config(&fx.config(&format!("secret_id = \"{arn}\"")));
    fx.proxy
        .faults()
        .fail_operation("UpdateSecretVersionStage", 1, None, Fault::Refuse);
    let failed = tf.apply();
    fx.proxy.faults().heal();
    assert_ne!(failed.code, 0);
    assert!(
        failed
            .stderr
            .contains("not yet the secret's current version"),
        "{}",
        failed.stderr
    );
    fx.no_orphan(&tf, &known, "AWSCURRENT not moved").await;
    let kept = Fixture::in_state(&tf).expect("the active key is in the state");
    let now = fx
        .secrets
        .read(&arn, Stage::Current)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now.version_id, before.version_id);
    tf.apply().ok("replacing the tainted key");
    fx.one_key_in_its_secret(&tf, &known, "AWSCURRENT not moved")
        .await;
    assert_ne!(Fixture::in_state(&tf), Some(kept.clone()));
    let old = fx
        .admin
        .get_key(&KeyId::parse(&kept).unwrap())
        .await
        .unwrap();
    assert_eq!(old.status, DisplayStatus::Revoked);
}
