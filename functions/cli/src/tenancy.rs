//! `keyplane orgs …`, `keyplane workspaces …` and `keyplane members …`.

use std::process::ExitCode;

use keyplane_api::id::{OrgId, WorkspaceId};
use keyplane_api::principal::Principal;
use keyplane_api::tenancy::{
    CreateOrganization, CreateWorkspace, Member, OrgRole, Organization, PutMember, Workspace,
    WorkspaceRole,
};

use crate::parse;
use crate::remote::Remote;
use crate::table::{self, Table};

#[derive(Debug, clap::Args)]
pub struct OrgsArgs {
    #[command(flatten)]
    remote: Remote,
    #[command(subcommand)]
    command: OrgsCommand,
}

#[derive(Debug, clap::Subcommand)]
enum OrgsCommand {
    /// Create an organization (platform admins).
    #[command(
        after_help = "Example:\n  ORG=$(keyplane orgs create --name Acme --output json | jq -r .id)"
    )]
    Create {
        /// Display name.
        #[arg(long)]
        name: String,
        /// Most keys that may exist at once (default 1000).
        #[arg(long)]
        key_quota: Option<u32>,
    },
    /// Show an organization (members).
    #[command(after_help = "Example:\n  keyplane orgs get org_…")]
    Get {
        #[arg(value_parser = parse::org)]
        org: OrgId,
    },
}

#[derive(Debug, clap::Args)]
pub struct WorkspacesArgs {
    #[command(flatten)]
    remote: Remote,
    #[command(subcommand)]
    command: WorkspacesCommand,
}

#[derive(Debug, clap::Subcommand)]
enum WorkspacesCommand {
    /// Create a workspace (owners).
    #[command(after_help = "Example:\n  keyplane workspaces create --org org_… --name prod")]
    Create {
        /// Organization.
        #[arg(long, value_parser = parse::org)]
        org: OrgId,
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// List an organization's workspaces (members).
    #[command(after_help = "Example:\n  keyplane workspaces list --org org_…")]
    List {
        /// Organization.
        #[arg(long, value_parser = parse::org)]
        org: OrgId,
    },
}

#[derive(Debug, clap::Args)]
pub struct MembersArgs {
    #[command(flatten)]
    remote: Remote,
    #[command(subcommand)]
    command: MembersCommand,
}

#[derive(Debug, clap::Subcommand)]
enum MembersCommand {
    /// Add a member or set their roles and permissions (owners).
    #[command(
        after_help = "Example:\n  keyplane members put --org org_… --principal arn:aws:iam::123456789012:user/alice \\\n      --workspace-role ws_…=editor --permission 'models:*'"
    )]
    Put {
        /// Organization.
        #[arg(long, value_parser = parse::org)]
        org: OrgId,
        /// The member's ARN.
        #[arg(long, value_parser = parse::principal)]
        principal: Principal,
        /// Role in the organization: member or owner.
        #[arg(long, default_value = "member", value_parser = parse::api_enum::<OrgRole>)]
        role: OrgRole,
        /// Role in a workspace, WORKSPACE=viewer|editor (repeatable).
        #[arg(long = "workspace-role", value_name = "WS=ROLE", value_parser = workspace_role)]
        workspace_roles: Vec<(WorkspaceId, WorkspaceRole)>,
        /// Permission pattern the member may give keys (repeatable;
        /// default: everything the caller may grant).
        #[arg(long = "permission", value_name = "PATTERN")]
        permissions: Vec<String>,
    },
    /// List an organization's members (owners).
    #[command(after_help = "Example:\n  keyplane members list --org org_…")]
    List {
        /// Organization.
        #[arg(long, value_parser = parse::org)]
        org: OrgId,
    },
    /// Remove a member; their personal keys are disabled first (owners).
    #[command(
        after_help = "Example:\n  keyplane members remove --org org_… --principal arn:aws:iam::123456789012:user/alice"
    )]
    Remove {
        /// Organization.
        #[arg(long, value_parser = parse::org)]
        org: OrgId,
        /// The member's ARN.
        #[arg(long, value_parser = parse::principal)]
        principal: Principal,
    },
}

fn workspace_role(raw: &str) -> Result<(WorkspaceId, WorkspaceRole), String> {
    let (ws, role) = parse::pair(raw)?;
    Ok((parse::workspace(&ws)?, parse::api_enum(&role)?))
}

pub async fn orgs(args: OrgsArgs) -> anyhow::Result<ExitCode> {
    let remote = &args.remote;
    let client = remote.client().await?;
    let org = match args.command {
        OrgsCommand::Create { name, key_quota } => {
            client
                .create_organization(&CreateOrganization { name, key_quota })
                .await?
        }
        OrgsCommand::Get { org } => client.get_organization(&org).await?,
    };
    remote.print(&org, |org| org_table(std::slice::from_ref(org)))?;
    Ok(ExitCode::SUCCESS)
}

pub async fn workspaces(args: WorkspacesArgs) -> anyhow::Result<ExitCode> {
    let remote = &args.remote;
    let client = remote.client().await?;
    match args.command {
        WorkspacesCommand::Create { org, name } => {
            let ws = client
                .create_workspace(&org, &CreateWorkspace { name })
                .await?;
            remote.print(&ws, |ws| workspace_table(std::slice::from_ref(ws)))?;
        }
        WorkspacesCommand::List { org } => {
            let list = client.list_workspaces(&org).await?;
            remote.print(&list, |list| workspace_table(&list.items))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn members(args: MembersArgs) -> anyhow::Result<ExitCode> {
    let remote = &args.remote;
    let client = remote.client().await?;
    match args.command {
        MembersCommand::Put {
            org,
            principal,
            role,
            workspace_roles,
            permissions,
        } => {
            let req = PutMember {
                org_role: role,
                workspace_roles: workspace_roles.into_iter().collect(),
                permissions: (!permissions.is_empty()).then_some(permissions),
            };
            let member = client.put_member(&org, &principal, &req).await?;
            remote.print(&member, |m| member_table(std::slice::from_ref(m)))?;
        }
        MembersCommand::List { org } => {
            let list = client.list_members(&org).await?;
            remote.print(&list, |list| member_table(&list.items))?;
        }
        MembersCommand::Remove { org, principal } => {
            client.remove_member(&org, &principal).await?;
            eprintln!("Removed {principal} from {org}.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn org_table(orgs: &[Organization]) -> String {
    let mut table = Table::new(&["ID", "NAME", "KEYS", "QUOTA", "CREATED"]);
    for org in orgs {
        table.row(vec![
            org.id.as_str().to_owned(),
            org.name.clone(),
            org.key_count.to_string(),
            org.key_quota.to_string(),
            table::time(Some(&org.created_at)),
        ]);
    }
    table.render()
}

fn workspace_table(workspaces: &[Workspace]) -> String {
    let mut table = Table::new(&["ID", "NAME", "ORGANIZATION", "CREATED"]);
    for ws in workspaces {
        table.row(vec![
            ws.id.as_str().to_owned(),
            ws.name.clone(),
            ws.organization_id.as_str().to_owned(),
            table::time(Some(&ws.created_at)),
        ]);
    }
    table.render()
}

fn member_table(members: &[Member]) -> String {
    let mut table = Table::new(&["PRINCIPAL", "ROLE", "WORKSPACES", "PERMISSIONS", "UPDATED"]);
    for m in members {
        table.row(vec![
            m.principal.as_str().to_owned(),
            table::label(&m.org_role),
            table::list(
                m.workspace_roles
                    .iter()
                    .map(|(ws, role)| format!("{}={}", ws.as_str(), table::label(role))),
            ),
            table::list(&m.permissions),
            table::time(Some(&m.updated_at)),
        ]);
    }
    table.render()
}
