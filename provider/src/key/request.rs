//! From configuration to API requests, with the checks Terraform runs at
//! plan time: every error names its attribute.

use std::collections::{BTreeMap, BTreeSet};

use keyplane_api::id::{OrgId, WorkspaceId};
use keyplane_api::keys::{CreateKey, PatchKey, ScopeKind};
use serde::de::DeserializeOwned;
use tf_provider::value::Value;
use tf_provider::{AttributePath, Diagnostics};

use super::plan::Changes;
use super::state::{known, parse_duration, parse_instant, string_map, strings, KeyState};
use super::Scope;
use keyplane_api::limits::MAX_GRACE_SECONDS;

fn invalid(diags: &mut Diagnostics, attribute: &'static str, detail: String) {
    diags.error(
        format!("Invalid {attribute}"),
        detail,
        AttributePath::new(attribute),
    );
}

/// An enum value spelled as the API spells it.
fn api_enum<T: DeserializeOwned>(text: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).ok()
}

/// Checks every known attribute; unknown ones are checked at apply.
pub fn validate(diags: &mut Diagnostics, state: &KeyState) {
    if let Some(id) = known(&state.organization_id) {
        if OrgId::parse(id).is_err() {
            invalid(
                diags,
                "organization_id",
                format!("{id:?} is not an organization id (org_…)"),
            );
        }
    }
    if let Some(Value::Value(id)) = &state.workspace_id {
        if WorkspaceId::parse(id).is_err() {
            invalid(
                diags,
                "workspace_id",
                format!("{id:?} is not a workspace id (ws_…)"),
            );
        }
    }
    if let Some(Value::Value(ids)) = &state.workspace_ids {
        if ids.is_empty() {
            invalid(
                diags,
                "workspace_ids",
                "must name at least one workspace; leave it out for all of them".to_owned(),
            );
        }
        for id in ids
            .iter()
            .filter_map(known)
            .filter(|id| WorkspaceId::parse(id).is_err())
        {
            invalid(
                diags,
                "workspace_ids",
                format!("{id:?} is not a workspace id (ws_…)"),
            );
        }
    }
    if let Some(kind) = known(&state.key_type) {
        if api_enum::<keyplane_api::key::KeyType>(kind).is_none() {
            invalid(
                diags,
                "type",
                format!("{kind:?}: must be service or personal"),
            );
        }
    }
    if let Some(role) = known(&state.role) {
        if api_enum::<keyplane_api::key::KeyRole>(role).is_none() {
            invalid(
                diags,
                "role",
                format!("{role:?}: must be viewer, editor or owner"),
            );
        }
    }
    if let Some(at) = known(&state.expires_at) {
        if parse_instant(at).is_none() {
            invalid(
                diags,
                "expires_at",
                format!("{at:?} is not an RFC 3339 instant such as 2030-01-31T12:00:00Z"),
            );
        }
    }
    if let Some(credits) = known(&state.credits) {
        if *credits < 1 {
            invalid(diags, "credits", format!("{credits}: must be 1 or more"));
        }
    }
    if let Some(days) = known(&state.secret_recovery_window_days) {
        if *days != 0 && !(7..=30).contains(days) {
            invalid(
                diags,
                "secret_recovery_window_days",
                format!("{days}: must be 0 (delete at once) or 7 to 30"),
            );
        }
    }
    if let Some(grace) = known(&state.grace_seconds) {
        if !(0..=i64::from(MAX_GRACE_SECONDS)).contains(grace) {
            invalid(
                diags,
                "grace_seconds",
                format!("{grace}: must be 0 to {MAX_GRACE_SECONDS}"),
            );
        }
    }
    if let Some(every) = known(&state.rotate_after) {
        if parse_duration(every).is_none() {
            invalid(
                diags,
                "rotate_after",
                format!("{every:?} is not a duration such as 720h, 30d or 1h30m"),
            );
        }
    }
    if let Value::Value(rotation) = &state.rotation {
        let days = known(&rotation.automatically_after_days);
        let expression = known(&rotation.schedule_expression);
        if days.is_some() == expression.is_some()
            && !rotation.automatically_after_days.is_unknown()
            && !rotation.schedule_expression.is_unknown()
        {
            diags.error(
                "Invalid rotation",
                "set exactly one of automatically_after_days and schedule_expression",
                AttributePath::new("rotation"),
            );
        }
        if let Some(days) = days.filter(|days| !(1..=1000).contains(*days)) {
            diags.error(
                "Invalid rotation",
                format!("automatically_after_days is {days}: must be 1 to 1000"),
                AttributePath::new("rotation").attribute("automatically_after_days"),
            );
        }
    }
    let by_name = !state.secret_name.is_null();
    let by_id = !state.secret_id.is_null();
    if by_name && by_id {
        invalid(
            diags,
            "secret_id",
            "set either secret_name (a new secret) or secret_id (an existing one), not both"
                .to_owned(),
        );
    }
    if !by_name && !by_id {
        diags.root_error(
            "Missing secret destination",
            "set secret_name (a new Secrets Manager secret) or secret_id (an existing one): the key's plaintext goes there and nowhere else",
        );
    }
    if by_id {
        for (attribute, set) in [
            ("secret_kms_key_id", !state.secret_kms_key_id.is_null()),
            ("secret_description", !state.secret_description.is_null()),
            ("secret_tags", !state.secret_tags.is_null()),
            (
                "secret_recovery_window_days",
                !state.secret_recovery_window_days.is_null(),
            ),
        ] {
            if set {
                invalid(diags, attribute, format!("applies only to a new secret (secret_name); {attribute} of an existing secret is managed where it was created"));
            }
        }
    }
}

/// The create request for a planned key, `pending` until its secret is
/// written.
pub fn create_request(
    diags: &mut Diagnostics,
    scope: Scope,
    planned: &KeyState,
) -> Option<CreateKey> {
    validate(diags, planned);
    if !diags.errors.is_empty() {
        return None;
    }
    let organization_id = OrgId::parse(known(&planned.organization_id)?).ok()?;
    let (scope_kind, workspace_id, workspace_ids) = match scope {
        Scope::Workspace => {
            let id = match &planned.workspace_id {
                Some(Value::Value(id)) => WorkspaceId::parse(id).ok()?,
                _ => return None,
            };
            (ScopeKind::Workspace, Some(id), None)
        }
        Scope::Organization => {
            let chosen = match &planned.workspace_ids {
                Some(Value::Value(ids)) => Some(
                    strings(ids)?
                        .iter()
                        .map(|id| WorkspaceId::parse(id).ok())
                        .collect::<Option<BTreeSet<_>>>()?,
                ),
                _ => None,
            };
            (ScopeKind::Organization, None, chosen)
        }
    };
    Some(CreateKey {
        organization_id,
        scope: scope_kind,
        workspace_id,
        workspace_ids,
        key_type: api_enum(known(&planned.key_type).map_or("service", String::as_str))?,
        name: known(&planned.name).cloned(),
        role: api_enum(known(&planned.role)?)?,
        permissions: match known(&planned.permissions) {
            Some(list) => strings(list)?,
            None => Vec::new(),
        },
        expires_at: known(&planned.expires_at).and_then(|at| parse_instant(at)),
        credits: known(&planned.credits).and_then(|c| u64::try_from(*c).ok()),
        metadata: match known(&planned.metadata) {
            Some(map) => string_map(map)?,
            None => BTreeMap::new(),
        },
        activate: Some(false),
    })
}

/// The patch for in-place changes, fenced on nothing: Terraform's plan is
/// the intent, and the refresh before it showed the current values.
pub fn patch_request(diags: &mut Diagnostics, changes: Changes) -> Option<PatchKey> {
    let role = match changes.role {
        Some(role) => Some(api_enum(&role).or_else(|| {
            invalid(
                diags,
                "role",
                format!("{role:?}: must be viewer, editor or owner"),
            );
            None
        })?),
        None => None,
    };
    let expires_at = match changes.expires_at {
        Some(Some(at)) => Some(Some(parse_instant(&at).or_else(|| {
            invalid(
                diags,
                "expires_at",
                format!("{at:?} is not an RFC 3339 instant"),
            );
            None
        })?)),
        Some(None) => Some(None),
        None => None,
    };
    Some(PatchKey {
        if_version: None,
        enabled: None,
        name: changes.name,
        role,
        permissions: changes.permissions,
        expires_at,
        metadata: changes.metadata,
        secret_arn: None,
        rotation: None,
    })
}

/// The destroy-time recovery window of a new secret: none by default. The
/// key in it is revoked by then, so a window would keep nothing worth
/// restoring, while holding the name a replacement needs.
pub fn recovery_days(state: &KeyState) -> Option<u8> {
    known(&state.secret_recovery_window_days)
        .filter(|days| **days > 0)
        .and_then(|days| u8::try_from(*days).ok())
}

/// The previous plaintext's grace after a roll, unless configured.
pub const DEFAULT_GRACE_SECONDS: u32 = 3600;

/// The roll request for `state`.
pub fn roll_request(state: &KeyState) -> keyplane_api::keys::RollKey {
    keyplane_api::keys::RollKey {
        grace_seconds: known(&state.grace_seconds)
            .and_then(|grace| u32::try_from(*grace).ok())
            .unwrap_or(DEFAULT_GRACE_SECONDS),
    }
}
