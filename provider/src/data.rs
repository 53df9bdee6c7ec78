//! Data sources: `keyplane_key` (a key's metadata, never its plaintext) and
//! `keyplane_workspace` (a workspace by name or id).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use async_trait::async_trait;
use keyplane_api::id::{KeyId, OrgId};
use keyplane_api::key::KeyScope;
use serde::{Deserialize, Serialize};
use tf_provider::schema::{AttributeType, Block, Description, Schema};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, DataSource, Diagnostics};

use crate::attr::{computed, optional_computed, required, string, string_map};
use crate::connection::Shared;
use crate::key::state::{format_instant, json_name, known};

fn schema(
    description: &str,
    attributes: HashMap<String, tf_provider::schema::Attribute>,
) -> Schema {
    Schema {
        version: 1,
        block: Block {
            version: 1,
            attributes,
            blocks: HashMap::new(),
            description: Description::markdown(description),
            deprecated: false,
        },
    }
}

/// `keyplane_key`.
#[derive(Debug)]
pub struct KeyData {
    connection: Shared,
}

impl KeyData {
    pub(crate) fn new(connection: Shared) -> Self {
        Self { connection }
    }
}

/// What `keyplane_key` shows of a key.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KeyDataState {
    pub id: Value<String>,
    pub organization_id: Value<String>,
    pub workspace_id: Value<String>,
    pub workspace_ids: Value<BTreeSet<String>>,
    pub name: Value<String>,
    #[serde(rename = "type")]
    pub key_type: Value<String>,
    pub role: Value<String>,
    pub permissions: Value<Vec<String>>,
    pub status: Value<String>,
    pub hint: Value<String>,
    pub expires_at: Value<String>,
    pub credits_remaining: Value<i64>,
    pub metadata: Value<BTreeMap<String, String>>,
    pub secret_arn: Value<String>,
    pub rotation: Value<bool>,
    pub created_at: Value<String>,
}

#[async_trait]
impl DataSource for KeyData {
    type State<'a> = KeyDataState;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        let list = AttributeType::List(Box::new(AttributeType::String));
        let set = AttributeType::Set(Box::new(AttributeType::String));
        Some(schema(
            "A key's metadata by id: scope, role, permissions, status, masked hint and the secret it is bound to. Never its plaintext.",
            HashMap::from([
                ("id".to_owned(), required(string(), "The key's id (`key_…`).")),
                ("organization_id".to_owned(), computed(string(), "The key's organization.")),
                ("workspace_id".to_owned(), computed(string(), "A workspace key's workspace; empty for organization keys.")),
                ("workspace_ids".to_owned(), computed(set, "An organization key's chosen workspaces; empty when it reaches them all.")),
                ("name".to_owned(), computed(string(), "The key's name.")),
                ("type".to_owned(), computed(string(), "`service` or `personal`.")),
                ("role".to_owned(), computed(string(), "`viewer`, `editor` or `owner`.")),
                ("permissions".to_owned(), computed(list, "Permission patterns.")),
                ("status".to_owned(), computed(string(), "`active`, `disabled`, `revoked`, `expired` or `pending`.")),
                ("hint".to_owned(), computed(string(), "The key, masked.")),
                ("expires_at".to_owned(), computed(string(), "Expiry (RFC 3339), if any.")),
                ("credits_remaining".to_owned(), computed(AttributeType::Number, "Credits left, for keys with credits.")),
                ("metadata".to_owned(), computed(string_map(), "Labels.")),
                ("secret_arn".to_owned(), computed(string(), "The Secrets Manager secret the key is bound to, if any.")),
                ("rotation".to_owned(), computed(AttributeType::Bool, "Whether the rotator Lambda may roll the key into its secret.")),
                ("created_at".to_owned(), computed(string(), "When the key was created (RFC 3339).")),
            ]),
        ))
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        config: KeyDataState,
        _meta: ValueEmpty,
    ) -> Option<KeyDataState> {
        let raw = known(&config.id)?.clone();
        let Ok(id) = KeyId::parse(&raw) else {
            diags.error(
                "Invalid id",
                format!("{raw:?} is not a key id (key_…)"),
                AttributePath::new("id"),
            );
            return None;
        };
        let connection = self.connection.get(diags)?;
        let view = match connection.keyplane.get_key(&id).await {
            Ok(view) => view,
            Err(err) => {
                diags.root_error("Cannot read the key", err.to_string());
                return None;
            }
        };
        let (workspace_id, workspace_ids) = match &view.scope {
            KeyScope::Workspace { workspace_id } => (workspace_id.to_string(), BTreeSet::new()),
            KeyScope::Organization => (String::new(), BTreeSet::new()),
            KeyScope::Workspaces { workspace_ids } => (
                String::new(),
                workspace_ids.iter().map(ToString::to_string).collect(),
            ),
        };
        let optional = |text: Option<String>| text.map_or(Value::Null, Value::Value);
        Some(KeyDataState {
            id: Value::Value(raw),
            organization_id: Value::Value(view.organization_id.to_string()),
            workspace_id: Value::Value(workspace_id),
            workspace_ids: Value::Value(workspace_ids),
            name: Value::Value(view.name.clone()),
            key_type: Value::Value(json_name(&view.key_type)),
            role: Value::Value(json_name(&view.role)),
            permissions: Value::Value(view.permissions.clone()),
            status: Value::Value(json_name(&view.status)),
            hint: Value::Value(view.hint.clone()),
            expires_at: optional(view.expires_at.map(format_instant)),
            credits_remaining: view
                .credits_remaining
                .and_then(|c| i64::try_from(c).ok())
                .map_or(Value::Null, Value::Value),
            metadata: Value::Value(view.metadata.clone()),
            secret_arn: optional(view.secret.as_ref().map(|s| s.arn.clone())),
            rotation: Value::Value(view.secret.as_ref().is_some_and(|s| s.rotation)),
            created_at: Value::Value(format_instant(view.created_at)),
        })
    }
}

/// `keyplane_workspace`.
#[derive(Debug)]
pub struct WorkspaceData {
    connection: Shared,
}

impl WorkspaceData {
    pub(crate) fn new(connection: Shared) -> Self {
        Self { connection }
    }
}

/// A workspace, found by name or id.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WorkspaceDataState {
    pub organization_id: Value<String>,
    pub id: Value<String>,
    pub name: Value<String>,
    pub created_at: Value<String>,
}

#[async_trait]
impl DataSource for WorkspaceData {
    type State<'a> = WorkspaceDataState;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(schema(
            "A workspace of an organization, by name or by id, e.g. to feed `workspace_id` of a key.",
            HashMap::from([
                ("organization_id".to_owned(), required(string(), "The organization (`org_…`).")),
                ("id".to_owned(), optional_computed(string(), "The workspace's id (`ws_…`). Set exactly one of `id` and `name`.")),
                ("name".to_owned(), optional_computed(string(), "The workspace's name. Set exactly one of `id` and `name`.")),
                ("created_at".to_owned(), computed(string(), "When the workspace was created (RFC 3339).")),
            ]),
        ))
    }

    async fn validate<'a>(
        &self,
        diags: &mut Diagnostics,
        config: WorkspaceDataState,
    ) -> Option<()> {
        if config.id.is_null() == config.name.is_null() {
            diags.root_error(
                "Invalid keyplane_workspace",
                "set exactly one of id and name",
            );
        }
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        config: WorkspaceDataState,
        _meta: ValueEmpty,
    ) -> Option<WorkspaceDataState> {
        let raw = known(&config.organization_id)?.clone();
        let Ok(org) = OrgId::parse(&raw) else {
            diags.error(
                "Invalid organization_id",
                format!("{raw:?} is not an organization id (org_…)"),
                AttributePath::new("organization_id"),
            );
            return None;
        };
        let connection = self.connection.get(diags)?;
        let workspaces = match connection.keyplane.list_workspaces(&org).await {
            Ok(page) => page.items,
            Err(err) => {
                diags.root_error("Cannot list the workspaces", err.to_string());
                return None;
            }
        };
        let wanted_id = known(&config.id);
        let wanted_name = known(&config.name);
        let found = workspaces.into_iter().find(|ws| {
            wanted_id.is_some_and(|id| ws.id.to_string() == *id)
                || wanted_name.is_some_and(|name| ws.name == *name)
        });
        let Some(ws) = found else {
            diags.root_error(
                "No such workspace",
                format!(
                    "organization {org} has no workspace {}",
                    wanted_id.or(wanted_name).map_or("", String::as_str)
                ),
            );
            return None;
        };
        Some(WorkspaceDataState {
            organization_id: Value::Value(raw),
            id: Value::Value(ws.id.to_string()),
            name: Value::Value(ws.name),
            created_at: Value::Value(format_instant(ws.created_at)),
        })
    }
}
