//! `keyplane verify`: what your API would ask about a presented key. The
//! key comes from an environment variable or stdin, never from the command
//! line, where other users and shell history would see it.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use keyplane_api::id::WorkspaceId;
use keyplane_api::key_format::ApiKey;
use keyplane_api::verify::{Verdict, VerifyKey};
use zeroize::Zeroizing;

use crate::parse;
use crate::remote::{Remote, UsageError};
use crate::table::{self, Table};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  printf '%s' \"$KEY\" | keyplane verify --permission models:gpt-4o\n  KEYPLANE_KEY=\"$KEY\" keyplane verify --workspace ws_…\n\nExits 0 when the key is valid, 1 when it is not (the verdict is printed either way)."
)]
pub struct VerifyArgs {
    #[command(flatten)]
    remote: Remote,
    /// Environment variable holding the key; stdin is read when it is unset.
    #[arg(long, default_value = "KEYPLANE_KEY", value_name = "VAR")]
    key_env: String,
    /// Permission the caller needs (repeatable); all must be granted.
    #[arg(long = "permission", value_name = "PATTERN")]
    permissions: Vec<String>,
    /// The workspace being accessed.
    #[arg(long, value_parser = parse::workspace)]
    workspace: Option<WorkspaceId>,
    /// Credits to spend (metered keys).
    #[arg(long)]
    cost: Option<u64>,
}

pub async fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let key = read_key(&args.key_env)?;
    let client = args.remote.unsigned_client().await?;
    let verdict = client
        .verify(&VerifyKey {
            key,
            permissions: args.permissions,
            workspace_id: args.workspace,
            cost: args.cost,
        })
        .await?;
    args.remote.print(&verdict, verdict_table)?;
    if verdict.valid {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("the key is not valid: {}", table::label(&verdict.code));
        Ok(ExitCode::FAILURE)
    }
}

fn read_key(var: &str) -> anyhow::Result<ApiKey> {
    if let Some(value) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        let text = value
            .into_string()
            .map_err(|_| UsageError(format!("{var} is not valid UTF-8")))?;
        return Ok(ApiKey::from_plaintext(text.trim().to_owned()));
    }
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(UsageError(format!(
            "give the key on stdin (e.g. printf '%s' \"$KEY\" | keyplane verify) or in {var}; \
             never as an argument"
        ))
        .into());
    }
    let mut text = Zeroizing::new(String::new());
    stdin.read_to_string(&mut text)?;
    Ok(ApiKey::from_plaintext(text.trim().to_owned()))
}

fn verdict_table(v: &Verdict) -> String {
    let mut table = Table::new(&[
        "VALID",
        "CODE",
        "KEY",
        "ACTOR",
        "ROLE",
        "PERMISSIONS",
        "EXPIRES",
    ]);
    let code = match &v.reason {
        Some(reason) => format!("{} ({reason})", table::label(&v.code)),
        None => table::label(&v.code),
    };
    table.row(vec![
        v.valid.to_string(),
        code,
        v.key_id.as_ref().map_or("-", |k| k.as_str()).to_owned(),
        v.actor.clone().unwrap_or_else(|| "-".to_owned()),
        v.role.as_ref().map_or_else(|| "-".to_owned(), table::label),
        v.permissions
            .as_ref()
            .map_or_else(|| "-".to_owned(), table::list),
        table::time(v.expires_at.as_ref()),
    ]);
    table.render()
}
