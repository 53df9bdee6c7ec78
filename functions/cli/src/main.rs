//! `keyplane`: run Keyplane locally on the embedded store, and bootstrap it.

mod admin;
mod audit;
mod data_dir;
mod keys;
mod logging;
mod parse;
mod plaintext;
mod reload;
mod remote;
mod serve;
mod table;
mod tenancy;
mod verify;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "keyplane",
    version,
    about = "API keys for platform teams: mint, verify, roll and revoke",
    after_help = "Examples:\n  keyplane serve                                   # a local Keyplane on 127.0.0.1:8787\n  export KEYPLANE_ENDPOINT=http://127.0.0.1:8787 AWS_PROFILE=keyplane-admin\n  keyplane orgs create --name Acme                 # then workspaces, keys, verify…\n\nClient commands sign with the standard AWS credentials chain (or --profile)."
)]
struct Cli {
    /// Log format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Pretty, env = "KEYPLANE_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API on the embedded store (no AWS needed).
    #[command(
        after_help = "Example:\n  keyplane serve --data-dir keyplane-data --listen 127.0.0.1:8787"
    )]
    Serve(serve::ServeArgs),
    /// Administer a local data directory (the server must be stopped).
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Create, list, change, roll and revoke API keys.
    #[command(after_help = "Example:\n  keyplane keys list --org org_… --output json")]
    Keys(keys::KeysArgs),
    /// Create and read organizations.
    #[command(after_help = "Example:\n  keyplane orgs create --name Acme")]
    Orgs(tenancy::OrgsArgs),
    /// Create and list workspaces.
    #[command(after_help = "Example:\n  keyplane workspaces list --org org_…")]
    Workspaces(tenancy::WorkspacesArgs),
    /// Set, list and remove an organization's members.
    #[command(after_help = "Example:\n  keyplane members list --org org_…")]
    Members(tenancy::MembersArgs),
    /// Read an organization's audit log.
    Audit(audit::AuditArgs),
    /// Verify an API key read from stdin or $KEYPLANE_KEY.
    Verify(verify::VerifyArgs),
}

/// Where a local deployment keeps its state.
#[derive(Debug, Clone, clap::Args)]
struct DataDirArg {
    /// Data directory: store file, credentials and configuration.
    #[arg(long, default_value = "keyplane-data", env = "KEYPLANE_DATA_DIR")]
    data_dir: PathBuf,
}

/// Default listen address: loopback only, so a local server is never
/// reachable from the network by accident.
const DEFAULT_LISTEN: &str = "127.0.0.1:8787";

fn default_listen() -> SocketAddr {
    DEFAULT_LISTEN
        .parse()
        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8787)))
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // The server and admin commands log what they do; client commands keep
    // stderr for their own messages unless something goes wrong.
    let quiet = !matches!(cli.command, Command::Serve(_) | Command::Admin(_));
    logging::init(cli.log_format, if quiet { "warn" } else { "info" });
    let done = match cli.command {
        Command::Serve(args) => serve::run(args).await.map(|()| ExitCode::SUCCESS),
        Command::Admin(command) => admin::run(command).await.map(|()| ExitCode::SUCCESS),
        Command::Keys(args) => keys::run(args).await,
        Command::Orgs(args) => tenancy::orgs(args).await,
        Command::Workspaces(args) => tenancy::workspaces(args).await,
        Command::Members(args) => tenancy::members(args).await,
        Command::Audit(args) => audit::run(args).await,
        Command::Verify(args) => verify::run(args).await,
    };
    done.unwrap_or_else(|err| remote::report(&err))
}
