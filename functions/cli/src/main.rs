//! `keyplane`: run Keyplane locally on the embedded store, and bootstrap it.

mod admin;
mod data_dir;
mod logging;
mod serve;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "keyplane",
    version,
    about = "API keys for platform teams: mint, verify, roll and revoke"
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
    Serve(serve::ServeArgs),
    /// Administer a local data directory (the server must be stopped).
    #[command(subcommand)]
    Admin(admin::AdminCommand),
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
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    logging::init(cli.log_format);
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Admin(command) => admin::run(command).await,
    }
}
