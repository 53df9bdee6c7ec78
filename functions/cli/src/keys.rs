//! `keyplane keys …`: create, list, read, change, roll and revoke keys.

use std::collections::BTreeSet;
use std::process::ExitCode;

use futures::{StreamExt, TryStreamExt};
use keyplane_api::id::{KeyId, OrgId, WorkspaceId};
use keyplane_api::key::{DisplayStatus, KeyRole, KeyType};
use keyplane_api::keys::{
    CreateKey, KeyView, KeyWithSecret, ListKeys, PatchKey, RollKey, ScopeKind,
};
use keyplane_api::usage::{KeyUsage, UsageRange};
use keyplane_client::{IdempotencyKey, Minted};

use crate::parse;
use crate::plaintext::{Sink, SinkArgs};
use crate::remote::{Output, Remote};
use crate::table::{self, Table};

#[derive(Debug, clap::Args)]
pub struct KeysArgs {
    #[command(flatten)]
    remote: Remote,
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Debug, clap::Subcommand)]
enum KeysCommand {
    /// Create a key; its plaintext is shown once (stdout, --secret-file or
    /// --to-secrets-manager).
    #[command(
        after_help = "Example:\n  KEY=$(keyplane keys create --org org_… --workspace ws_… \\\n      --name billing-sync --role editor --permission 'models:*')\n\nWith --output table only the plaintext goes to stdout; the key's details go to stderr."
    )]
    Create(Box<CreateArgs>),
    /// List keys of an organization, masked, newest first.
    #[command(
        after_help = "Example:\n  keyplane keys list --org org_… --workspace ws_… --status active"
    )]
    List {
        /// Organization.
        #[arg(long, value_parser = parse::org)]
        org: OrgId,
        /// Only keys reaching this workspace.
        #[arg(long, value_parser = parse::workspace)]
        workspace: Option<WorkspaceId>,
        /// Only keys with this status: pending, active, disabled, revoked, expired.
        #[arg(long, value_parser = parse::api_enum::<DisplayStatus>)]
        status: Option<DisplayStatus>,
        /// Show at most this many keys.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Show one key, masked.
    #[command(after_help = "Example:\n  keyplane keys get key_… --output json")]
    Get {
        #[arg(value_parser = parse::key)]
        key: KeyId,
    },
    /// Change a key's name, role, permissions, expiry or labels.
    #[command(
        after_help = "Example:\n  keyplane keys update key_… --name billing-sync-v2 --permission models:gpt-4o --expires-at 2030-01-31T00:00:00Z"
    )]
    Update(UpdateArgs),
    /// Disable a key: it stops verifying until enabled.
    #[command(after_help = "Example:\n  keyplane keys disable key_…")]
    Disable {
        #[arg(value_parser = parse::key)]
        key: KeyId,
    },
    /// Enable a disabled key.
    #[command(after_help = "Example:\n  keyplane keys enable key_…")]
    Enable {
        #[arg(value_parser = parse::key)]
        key: KeyId,
    },
    /// Give a key a new secret; the old one works for --grace-seconds.
    #[command(
        after_help = "Example:\n  keyplane keys roll key_… --grace-seconds 3600 --secret-file billing-sync.key"
    )]
    Roll {
        #[arg(value_parser = parse::key)]
        key: KeyId,
        /// How long the previous secret keeps working (0 to 86400).
        #[arg(long, default_value_t = 0)]
        grace_seconds: u32,
        /// Idempotency-Key to send: a repeat with the same value is a
        /// replay, never a second roll (default: a fresh one).
        #[arg(long, value_name = "TOKEN")]
        idempotency_key: Option<String>,
        #[command(flatten)]
        sink: SinkArgs,
    },
    /// Revoke a key, at once and for good.
    #[command(after_help = "Example:\n  keyplane keys revoke key_…")]
    Revoke {
        #[arg(value_parser = parse::key)]
        key: KeyId,
    },
    /// A key's usage per day and model.
    #[command(
        after_help = "Example:\n  keyplane keys usage key_… --from 2030-01-01 --to 2030-01-31"
    )]
    Usage {
        #[arg(value_parser = parse::key)]
        key: KeyId,
        /// First UTC day (default: 30 days before --to).
        #[arg(long)]
        from: Option<chrono::NaiveDate>,
        /// Last UTC day (default: today).
        #[arg(long)]
        to: Option<chrono::NaiveDate>,
    },
}

#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("reach").required(true).args(["workspace", "all_workspaces", "workspaces"]))]
struct CreateArgs {
    /// Organization that will own the key.
    #[arg(long, value_parser = parse::org)]
    org: OrgId,
    /// A workspace key for this workspace.
    #[arg(long, value_parser = parse::workspace)]
    workspace: Option<WorkspaceId>,
    /// An organization key reaching every workspace, now and later.
    #[arg(long)]
    all_workspaces: bool,
    /// An organization key reaching these workspaces (comma-separated).
    #[arg(long, value_delimiter = ',', value_parser = parse::workspace)]
    workspaces: Vec<WorkspaceId>,
    /// personal (acts as you) or service (acts as its name).
    #[arg(long = "type", default_value = "service", value_parser = parse::api_enum::<KeyType>)]
    key_type: KeyType,
    /// Name (default: the key id).
    #[arg(long)]
    name: Option<String>,
    /// viewer, editor or owner; never above your own.
    #[arg(long, value_parser = parse::api_enum::<KeyRole>)]
    role: KeyRole,
    /// Permission pattern, e.g. models:gpt-4o or models:* (repeatable).
    #[arg(long = "permission", value_name = "PATTERN")]
    permissions: Vec<String>,
    /// When the key stops working (RFC 3339).
    #[arg(long, value_parser = parse::time)]
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Credit limit, spent by verify with a cost.
    #[arg(long)]
    credits: Option<u64>,
    /// Label NAME=VALUE (repeatable).
    #[arg(long = "metadata", value_name = "NAME=VALUE", value_parser = parse::pair)]
    metadata: Vec<(String, String)>,
    /// Create the key pending, to be activated later (two-phase create).
    #[arg(long)]
    pending: bool,
    /// Idempotency-Key to send: a repeat with the same value is a replay,
    /// never a second key (default: a fresh one).
    #[arg(long, value_name = "TOKEN")]
    idempotency_key: Option<String>,
    #[command(flatten)]
    sink: SinkArgs,
}

#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("change").required(true).multiple(true)
    .args(["name", "role", "permissions", "expires_at", "no_expiry", "metadata"]))]
struct UpdateArgs {
    #[arg(value_parser = parse::key)]
    key: KeyId,
    /// New name.
    #[arg(long)]
    name: Option<String>,
    /// New role: viewer, editor or owner.
    #[arg(long, value_parser = parse::api_enum::<KeyRole>)]
    role: Option<KeyRole>,
    /// New permission patterns, replacing the old ones (repeatable).
    #[arg(long = "permission", value_name = "PATTERN")]
    permissions: Vec<String>,
    /// New expiry (RFC 3339).
    #[arg(long, value_parser = parse::time, conflicts_with = "no_expiry")]
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Remove the expiry.
    #[arg(long)]
    no_expiry: bool,
    /// New labels NAME=VALUE, replacing the old ones (repeatable).
    #[arg(long = "metadata", value_name = "NAME=VALUE", value_parser = parse::pair)]
    metadata: Vec<(String, String)>,
    /// Apply only if the key is still at this version.
    #[arg(long)]
    if_version: Option<u64>,
}

pub async fn run(args: KeysArgs) -> anyhow::Result<ExitCode> {
    let remote = &args.remote;
    let client = remote.client().await?;
    match args.command {
        KeysCommand::Create(create) => {
            let create = *create;
            let token = idempotency_key(create.idempotency_key.as_deref())?;
            let (scope, workspace_id, workspace_ids) = match (create.workspace, create.workspaces) {
                (Some(ws), _) => (ScopeKind::Workspace, Some(ws), None),
                (None, list) if !list.is_empty() => (
                    ScopeKind::Organization,
                    None,
                    Some(list.into_iter().collect::<BTreeSet<_>>()),
                ),
                (None, _) => (ScopeKind::Organization, None, None),
            };
            let req = CreateKey {
                organization_id: create.org,
                scope,
                workspace_id,
                workspace_ids,
                key_type: create.key_type,
                name: create.name,
                role: create.role,
                permissions: create.permissions,
                expires_at: create.expires_at,
                credits: create.credits,
                metadata: parse::pairs(create.metadata),
                activate: create.pending.then_some(false),
            };
            let sink = create.sink.prepare(remote).await?;
            match client.create_key_with_idempotency_key(&req, &token).await? {
                keyplane_client::CreateOutcome::Created(minted) => {
                    deliver(remote, minted, sink, "Created").await
                }
                keyplane_client::CreateOutcome::Replayed(view) => replayed(remote, &view, "create"),
            }
        }
        KeysCommand::List {
            org,
            workspace,
            status,
            limit,
        } => {
            let query = ListKeys {
                organization_id: org,
                workspace_id: workspace,
                status,
                cursor: None,
                limit: None,
            };
            let keys: Vec<KeyView> = client
                .list_keys(query)
                .take(limit.unwrap_or(usize::MAX))
                .try_collect()
                .await?;
            remote.print(&keys, |keys| key_table(keys))?;
            Ok(ExitCode::SUCCESS)
        }
        KeysCommand::Get { key } => show(remote, &client.get_key(&key).await?),
        KeysCommand::Update(update) => {
            let patch = PatchKey {
                if_version: update.if_version,
                enabled: None,
                name: update.name,
                role: update.role,
                permissions: (!update.permissions.is_empty()).then_some(update.permissions),
                expires_at: if update.no_expiry {
                    Some(None)
                } else {
                    update.expires_at.map(Some)
                },
                metadata: (!update.metadata.is_empty()).then(|| parse::pairs(update.metadata)),
                secret_arn: None,
                rotation: None,
            };
            show(remote, &client.update_key(&update.key, &patch).await?)
        }
        KeysCommand::Disable { key } => set_enabled(remote, &client, &key, false).await,
        KeysCommand::Enable { key } => set_enabled(remote, &client, &key, true).await,
        KeysCommand::Roll {
            key,
            grace_seconds,
            idempotency_key: token,
            sink,
        } => {
            let token = idempotency_key(token.as_deref())?;
            let sink = sink.prepare(remote).await?;
            let req = RollKey { grace_seconds };
            match client
                .roll_key_with_idempotency_key(&key, &req, &token)
                .await?
            {
                keyplane_client::RollOutcome::Rolled(minted) => {
                    deliver(remote, minted, sink, "Rolled").await
                }
                keyplane_client::RollOutcome::Replayed(view) => replayed(remote, &view, "roll"),
            }
        }
        KeysCommand::Revoke { key } => show(remote, &client.revoke_key(&key).await?),
        KeysCommand::Usage { key, from, to } => {
            let usage = client.key_usage(&key, &UsageRange { from, to }).await?;
            remote.print(&usage, usage_table)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn idempotency_key(given: Option<&str>) -> anyhow::Result<IdempotencyKey> {
    Ok(match given {
        Some(token) => IdempotencyKey::new(token)
            .map_err(|err| crate::remote::UsageError(format!("--idempotency-key: {err}")))?,
        None => IdempotencyKey::generate(),
    })
}

async fn set_enabled(
    remote: &Remote,
    client: &keyplane_client::Client,
    key: &KeyId,
    enabled: bool,
) -> anyhow::Result<ExitCode> {
    let patch = PatchKey {
        enabled: Some(enabled),
        ..PatchKey::default()
    };
    show(remote, &client.update_key(key, &patch).await?)
}

fn show(remote: &Remote, view: &KeyView) -> anyhow::Result<ExitCode> {
    remote.print(view, |view| key_table(std::slice::from_ref(view)))?;
    Ok(ExitCode::SUCCESS)
}

/// A new plaintext: into its one sink, and the rest where it does not mix
/// with it.
async fn deliver(
    remote: &Remote,
    minted: Minted,
    sink: Sink,
    verb: &str,
) -> anyhow::Result<ExitCode> {
    let Minted {
        key,
        previous_expires_at,
        view,
    } = minted;
    let to_stdout = matches!(sink, Sink::Stdout);
    let answer = |key| KeyWithSecret {
        key,
        key_id: view.id.clone(),
        previous_expires_at,
        view: view.clone(),
    };
    if to_stdout && remote.output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&answer(Some(key)))?);
        return Ok(ExitCode::SUCCESS);
    }
    let id = view.id.clone();
    let place = sink.store(&key, &id).await.map_err(|err| {
        err.context(format!(
            "key {id} was {} but its plaintext could not be stored and was not shown; \
             roll it to get a new one (keyplane keys roll {id} …)",
            verb.to_lowercase()
        ))
    })?;
    drop(key);
    let grace = previous_expires_at
        .map(|at| {
            format!(
                "; the previous secret works until {}",
                table::time(Some(&at))
            )
        })
        .unwrap_or_default();
    if to_stdout {
        eprint!("{}", key_table(std::slice::from_ref(&view)));
        eprintln!(
            "{verb} key {id}{grace}. Its plaintext was printed on stdout and is never shown again: store it now."
        );
    } else {
        eprintln!("{verb} key {id}{grace}. Its plaintext was written to {place} only.");
        remote.print(&answer(None), |answer| {
            key_table(std::slice::from_ref(&answer.view))
        })?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A replay: no plaintext came back, and the caller must know it.
fn replayed(remote: &Remote, view: &KeyView, what: &str) -> anyhow::Result<ExitCode> {
    eprintln!(
        "This {what} was already done (same Idempotency-Key): the server answered with key {id}, \
         masked, and no plaintext was returned. If the plaintext was lost, roll the key: \
         keyplane keys roll {id}",
        id = view.id
    );
    show(remote, view)
}

fn key_table(keys: &[KeyView]) -> String {
    let mut table = Table::new(&[
        "ID",
        "NAME",
        "TYPE",
        "ROLE",
        "SCOPE",
        "STATUS",
        "HINT",
        "PERMISSIONS",
        "EXPIRES",
        "LAST USED",
    ]);
    for key in keys {
        table.row(vec![
            key.id.as_str().to_owned(),
            key.name.clone(),
            table::label(&key.key_type),
            table::label(&key.role),
            table::scope(&key.scope),
            table::label(&key.status),
            key.hint.clone(),
            table::list(&key.permissions),
            table::time(key.expires_at.as_ref()),
            table::time(key.last_used_at.as_ref()),
        ]);
    }
    table.render()
}

fn usage_table(usage: &KeyUsage) -> String {
    let mut table = Table::new(&["DAY", "MODEL", "REQUESTS", "INPUT TOKENS", "OUTPUT TOKENS"]);
    for row in &usage.items {
        table.row(vec![
            row.day.to_string(),
            row.model.clone(),
            row.requests.to_string(),
            row.input_tokens.to_string(),
            row.output_tokens.to_string(),
        ]);
    }
    table.render()
}
