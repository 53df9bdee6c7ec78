//! `keyplane audit`: an organization's audit log, newest first.

use std::process::ExitCode;

use futures::{StreamExt, TryStreamExt};
use keyplane_api::audit::{AuditEvent, AuditQuery};
use keyplane_api::id::OrgId;

use crate::parse;
use crate::remote::Remote;
use crate::table::{self, Table};

#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  keyplane audit --org org_… --limit 20")]
pub struct AuditArgs {
    #[command(flatten)]
    remote: Remote,
    /// Organization.
    #[arg(long, value_parser = parse::org)]
    org: OrgId,
    /// Show at most this many events.
    #[arg(long, default_value_t = 100)]
    limit: usize,
}

pub async fn run(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let client = args.remote.client().await?;
    let events: Vec<AuditEvent> = client
        .audit_log(&args.org, AuditQuery::default())
        .take(args.limit)
        .try_collect()
        .await?;
    args.remote.print(&events, |events| {
        let mut table = Table::new(&["AT", "ACTION", "TARGET", "ACTOR", "REQUEST"]);
        for e in events {
            table.row(vec![
                table::time(Some(&e.at)),
                e.action.clone(),
                e.target.clone(),
                e.actor.clone(),
                e.request_id.clone().unwrap_or_else(|| "-".to_owned()),
            ]);
        }
        table.render()
    })?;
    Ok(ExitCode::SUCCESS)
}
