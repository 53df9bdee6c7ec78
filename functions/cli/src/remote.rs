//! What every client command shares: the options that say which Keyplane
//! to talk to and how to print, the client built from them, and how errors
//! are reported.

use std::process::ExitCode;

use keyplane_client::{Client, Credentials};
use serde::Serialize;

/// Options of every client command (`keys`, `orgs`, `workspaces`,
/// `members`, `audit`, `verify`), accepted anywhere after the command name.
#[derive(Debug, Clone, clap::Args)]
pub struct Remote {
    /// Output format: aligned columns of the useful fields, or the API's JSON.
    #[arg(long, global = true, value_enum, default_value_t = Output::Table, env = "KEYPLANE_OUTPUT")]
    pub output: Output,
    /// The Keyplane API's base URL, with the stage of an API Gateway
    /// deployment, e.g. http://127.0.0.1:8787 for `keyplane serve`.
    #[arg(long, global = true, env = "KEYPLANE_ENDPOINT", value_name = "URL")]
    pub endpoint: Option<String>,
    /// AWS profile whose credentials sign the requests (default: AWS_PROFILE,
    /// else `default`). Also used for --to-secrets-manager.
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// AWS region requests are signed for (default: AWS_REGION or the
    /// profile's). Also used for --to-secrets-manager.
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Aligned columns.
    Table,
    /// The API's JSON.
    Json,
}

/// A usage error found after parsing (exit status 2, like clap's own).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl Remote {
    fn endpoint(&self) -> anyhow::Result<&str> {
        self.endpoint
            .as_deref()
            .filter(|e| !e.trim().is_empty())
            .ok_or_else(|| {
                UsageError(
                    "no Keyplane endpoint: pass --endpoint URL or set KEYPLANE_ENDPOINT".to_owned(),
                )
                .into()
            })
    }

    /// A client signing with the AWS chain (or `--profile`). Only the
    /// region and credentials come from the AWS configuration:
    /// `AWS_ENDPOINT_URL` never redirects Keyplane calls.
    pub async fn client(&self) -> anyhow::Result<Client> {
        let mut builder = Client::builder().endpoint(self.endpoint()?);
        if let Some(profile) = &self.profile {
            builder = builder.profile(profile);
        }
        if let Some(region) = &self.region {
            builder = builder.region(region);
        }
        Ok(builder.build().await?)
    }

    /// A client for the data plane, which is never signed: it needs no AWS
    /// configuration at all.
    pub async fn unsigned_client(&self) -> anyhow::Result<Client> {
        let unused = Credentials::new("unused", "unused", None, None, "keyplane-verify");
        Ok(Client::builder()
            .endpoint(self.endpoint()?)
            .credentials(unused)
            .region(self.region.as_deref().unwrap_or("us-east-1"))
            .build()
            .await?)
    }

    /// Prints `value` as JSON, or as the table `table` makes of it.
    pub fn print<T: Serialize>(
        &self,
        value: &T,
        table: impl FnOnce(&T) -> String,
    ) -> anyhow::Result<()> {
        match self.output {
            Output::Json => println!("{}", serde_json::to_string_pretty(value)?),
            Output::Table => print!("{}", table(value)),
        }
        Ok(())
    }
}

/// Prints `err` to stderr and returns the exit status: 2 for usage
/// errors, 1 for everything else. API errors read
/// `error: <detail> (<code>, request <id>)`.
pub fn report(err: &anyhow::Error) -> ExitCode {
    if let Some(usage) = err.downcast_ref::<UsageError>() {
        eprintln!("error: {usage}");
        return ExitCode::from(2);
    }
    match err
        .downcast_ref::<keyplane_client::Error>()
        .and_then(keyplane_client::Error::api)
    {
        Some(api) => eprintln!(
            "error: {} ({}, request {})",
            api.detail(),
            api.code(),
            api.request_id().unwrap_or("unknown")
        ),
        None => eprintln!("error: {err:#}"),
    }
    ExitCode::FAILURE
}
