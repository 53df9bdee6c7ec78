//! `keyplane admin …`: bootstrap a local deployment. These commands open the
//! store directly, so the server must be stopped.

use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;
use keyplane_core::clock::SystemClock;
use keyplane_core::principal::Principal;
use keyplane_core::service::{CreateOrganization, PutMember};
use keyplane_core::tenancy::OrgRole;
use keyplane_core::{Caller, Keyplane};
use keyplane_local::LocalCredentials;
use keyplane_store::{DynamoStore, EmbeddedStore};
use secrecy::ExposeSecret;

use crate::data_dir::DataDir;
use crate::DataDirArg;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an IAM-style credential for a principal and add it to the
    /// credentials file (as a new profile).
    AddPrincipal {
        #[command(flatten)]
        data_dir: DataDirArg,
        /// The principal's ARN, e.g. arn:aws:iam::123456789012:user/alice.
        #[arg(long)]
        arn: String,
        /// Profile name in the credentials file.
        #[arg(long)]
        profile: String,
        /// Also make the principal a platform admin.
        #[arg(long)]
        platform_admin: bool,
        /// Also allow the principal to report usage.
        #[arg(long)]
        usage_reporter: bool,
    },
    /// Create an organization, optionally with a first owner.
    CreateOrg {
        #[command(flatten)]
        data_dir: DataDirArg,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Key quota (default 1000).
        #[arg(long)]
        key_quota: Option<u32>,
        /// ARN of the first owner.
        #[arg(long)]
        owner: Option<String>,
    },
    /// Create the DynamoDB table (with its indexes and TTL) that
    /// `keyplane serve --store dynamodb` and the Lambda functions use.
    /// Endpoint, region and credentials come from the standard AWS environment.
    CreateTable {
        /// Table name.
        #[arg(long, env = "KEYPLANE_TABLE")]
        table: String,
    },
    /// Print `ACCESS_KEY_ID:SECRET` of a profile, for `curl --aws-sigv4 --user`.
    CurlUser {
        #[command(flatten)]
        data_dir: DataDirArg,
        /// Profile name.
        #[arg(long, default_value = "keyplane-admin")]
        profile: String,
    },
}

pub async fn run(command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::AddPrincipal {
            data_dir,
            arn,
            profile,
            platform_admin,
            usage_reporter,
        } => {
            let dir = DataDir::new(data_dir.data_dir);
            let mut opened = dir.open_or_init()?;
            let principal = Principal::parse(&arn)?;
            let generated = LocalCredentials::append_profile(
                dir.credentials_path(),
                &profile,
                principal.clone(),
            )
            .with_context(|| format!("cannot add profile {profile}"))?;
            if platform_admin && !opened.config.admins.contains(&principal) {
                opened.config.admins.push(principal.clone());
            }
            if usage_reporter && !opened.config.usage_reporters.contains(&principal) {
                opened.config.usage_reporters.push(principal.clone());
            }
            dir.save_config(&opened.config)?;
            println!(
                "Added profile {profile} for {principal} (access key id {}) to {}",
                generated.access_key_id,
                dir.credentials_path().display()
            );
            Ok(())
        }
        AdminCommand::CreateOrg {
            data_dir,
            name,
            key_quota,
            owner,
        } => {
            let dir = DataDir::new(data_dir.data_dir);
            let opened = dir.open_or_init()?;
            let admin = opened
                .config
                .admins
                .first()
                .cloned()
                .context("config.json names no platform admin")?;
            let store = EmbeddedStore::open(dir.store_path()).with_context(|| {
                format!(
                    "cannot open {}; stop `keyplane serve` first",
                    dir.store_path().display()
                )
            })?;
            let keyplane = Keyplane::new(
                Arc::new(store),
                Arc::new(SystemClock),
                opened.config.core_config(),
            );
            let caller = Caller {
                principal: admin,
                source: Some("keyplane-cli".to_owned()),
                request_id: None,
            };
            let org = keyplane
                .create_organization(&caller, CreateOrganization { name, key_quota })
                .await?;
            if let Some(owner) = owner {
                let owner = Principal::parse(&owner)?;
                let member = PutMember {
                    org_role: OrgRole::Owner,
                    workspace_roles: Default::default(),
                    permissions: None,
                };
                keyplane
                    .put_member(&caller, &org.id, &owner, member)
                    .await?;
            }
            println!("{}", serde_json::to_string_pretty(&org)?);
            Ok(())
        }
        AdminCommand::CreateTable { table } => {
            // An operator waits on this, not an API request. The profile
            // bounds each call; waiting for the table has its own limit.
            let config = keyplane_aws::load(keyplane_aws::Profile::Interactive).await;
            let store = DynamoStore::from_sdk_config(&config, &table);
            keyplane_store::dynamo::schema::create_table(store.client(), &table)
                .await
                .with_context(|| format!("cannot create table {table}"))?;
            println!("Created DynamoDB table {table} with its indexes and TTL on `ttl`.");
            Ok(())
        }
        AdminCommand::CurlUser { data_dir, profile } => {
            let dir = DataDir::new(data_dir.data_dir);
            let credentials = LocalCredentials::load(dir.credentials_path())
                .with_context(|| format!("cannot load {}", dir.credentials_path().display()))?;
            let (access_key_id, secret) = credentials.profile(&profile).with_context(|| {
                format!(
                    "no profile {profile} in {}",
                    dir.credentials_path().display()
                )
            })?;
            // Printing the operator's own secret is the point of this command.
            println!("{access_key_id}:{}", secret.expose_secret());
            Ok(())
        }
    }
}
