//! The `provider "keyplane"` block: where Keyplane is, and which AWS
//! credentials sign its management calls and write Secrets Manager.

use std::collections::HashMap;

use async_trait::async_trait;
use keyplane_aws::Profile;
use keyplane_secrets::SecretsClient;
use serde::{Deserialize, Serialize};
use tf_provider::schema::{Block, Description, Schema};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics, DynamicDataSource, DynamicResource, Provider};

use crate::attr::{optional, string};
use crate::connection::{Connection, Shared};
use crate::data::{KeyData, WorkspaceData};
use crate::key::{KeyResource, Scope};

/// The provider's settings, as Terraform sends them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProviderConfig {
    /// The Keyplane API's base URL.
    pub endpoint: Value<String>,
    /// The AWS region of Keyplane and of the secrets.
    pub region: Value<String>,
    /// A named profile of the AWS shared configuration.
    pub profile: Value<String>,
    /// Another Secrets Manager endpoint (VPC endpoint, emulator).
    pub secretsmanager_endpoint: Value<String>,
}

/// The provider. Resources reach the clients `configure` makes through a
/// shared cell.
#[derive(Debug, Default)]
pub struct KeyplaneProvider {
    connection: Shared,
}

/// `value` when the practitioner set it, else the environment variable's.
fn or_env(value: &Value<String>, variable: &str) -> Option<String> {
    value
        .as_ref_option()
        .cloned()
        .or_else(|| std::env::var(variable).ok())
        .filter(|value| !value.trim().is_empty())
}

/// A plan-time check of a URL setting: `https://…`, or `http://` (which
/// the client allows only to a loopback address).
fn check_url(diags: &mut Diagnostics, attribute: &'static str, value: &Value<String>) {
    if let Value::Value(url) = value {
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        if rest.is_none_or(|rest| rest.is_empty() || rest.starts_with('/')) {
            diags.error(
                format!("Invalid {attribute}"),
                format!("{attribute} must be an http(s) URL such as https://abc123.execute-api.us-east-1.amazonaws.com/prod, not {url:?}"),
                AttributePath::new(attribute),
            );
        }
    }
}

#[async_trait]
impl Provider for KeyplaneProvider {
    type Config<'a> = ProviderConfig;
    type MetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        let attributes = HashMap::from([
            (
                "endpoint".to_owned(),
                optional(string(), "Base URL of the Keyplane API, e.g. the `api_endpoint` output of the infra module. Defaults to `$KEYPLANE_ENDPOINT`. Plain `http` only to a loopback address."),
            ),
            (
                "region".to_owned(),
                optional(string(), "AWS region of the Keyplane deployment and of the secrets; used to sign management calls. Defaults to the AWS configuration (`AWS_REGION`, the profile)."),
            ),
            (
                "profile".to_owned(),
                optional(string(), "Named profile of the AWS shared configuration. Credentials come from the standard AWS chain and both sign management calls and write Secrets Manager."),
            ),
            (
                "secretsmanager_endpoint".to_owned(),
                optional(string(), "Secrets Manager endpoint to use instead of the regional one: a VPC endpoint, or an emulator in tests."),
            ),
        ]);
        Some(Schema {
            version: 1,
            block: Block {
                version: 1,
                attributes,
                blocks: HashMap::new(),
                description: Description::markdown(
                    "Keyplane API keys as code. Each new key's plaintext is written straight into AWS Secrets Manager: never into plan, state or logs.",
                ),
                deprecated: false,
            },
        })
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: ProviderConfig) -> Option<()> {
        check_url(diags, "endpoint", &config.endpoint);
        check_url(
            diags,
            "secretsmanager_endpoint",
            &config.secretsmanager_endpoint,
        );
        for (attribute, value) in [("region", &config.region), ("profile", &config.profile)] {
            if matches!(value, Value::Value(v) if v.trim().is_empty()) {
                diags.error(
                    format!("Invalid {attribute}"),
                    format!(
                        "{attribute} must not be empty; leave it out to use the AWS configuration"
                    ),
                    AttributePath::new(attribute),
                );
            }
        }
        Some(())
    }

    async fn configure<'a>(
        &self,
        diags: &mut Diagnostics,
        _terraform_version: String,
        config: ProviderConfig,
    ) -> Option<()> {
        let Some(endpoint) = or_env(&config.endpoint, keyplane_client::ENDPOINT_ENV) else {
            diags.error(
                "Missing endpoint",
                format!(
                    "set `endpoint` in the provider block or ${}",
                    keyplane_client::ENDPOINT_ENV
                ),
                AttributePath::new("endpoint"),
            );
            return None;
        };
        let region = config.region.as_ref_option().cloned();
        let profile = config.profile.as_ref_option().cloned();

        let mut builder = keyplane_client::Client::builder().endpoint(endpoint);
        if let Some(region) = &region {
            builder = builder.region(region.clone());
        }
        if let Some(profile) = &profile {
            builder = builder.profile(profile.clone());
        }
        let keyplane = match builder.build().await {
            Ok(client) => client,
            Err(err) => {
                diags.root_error("Cannot configure the Keyplane client", err.to_string());
                return None;
            }
        };

        let mut loader = keyplane_aws::loader(Profile::Interactive);
        if let Some(profile) = &profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = region {
            loader = loader.region(aws_config::Region::new(region));
        }
        if let Value::Value(url) = &config.secretsmanager_endpoint {
            loader = loader.endpoint_url(url);
        }
        let secrets = SecretsClient::from_sdk_config(&loader.load().await);

        if !self.connection.set(Connection { keyplane, secrets }) {
            tracing::debug!("provider configured again; keeping the first configuration");
        }
        Some(())
    }

    fn get_resources(
        &self,
        _diags: &mut Diagnostics,
    ) -> Option<HashMap<String, Box<dyn DynamicResource>>> {
        let resource = |scope| -> Box<dyn DynamicResource> {
            Box::new(KeyResource::new(scope, self.connection.clone()))
        };
        // tf-provider prefixes the provider's name: `keyplane_workspace_key`.
        Some(HashMap::from([
            ("organization_key".to_owned(), resource(Scope::Organization)),
            ("workspace_key".to_owned(), resource(Scope::Workspace)),
        ]))
    }

    fn get_data_sources(
        &self,
        _diags: &mut Diagnostics,
    ) -> Option<HashMap<String, Box<dyn DynamicDataSource>>> {
        Some(HashMap::from([
            (
                "key".to_owned(),
                Box::new(KeyData::new(self.connection.clone())) as Box<dyn DynamicDataSource>,
            ),
            (
                "workspace".to_owned(),
                Box::new(WorkspaceData::new(self.connection.clone())),
            ),
        ]))
    }
}
