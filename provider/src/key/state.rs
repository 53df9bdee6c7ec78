//! A key resource as Terraform holds it. Never a plaintext: the fields are
//! ids, settings, the masked hint and where the secret went.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use keyplane_api::key::KeyScope;
use keyplane_api::keys::KeyView;
use serde::{Deserialize, Deserializer, Serialize};
use tf_provider::value::Value;

/// A list of strings whose elements may each be unknown at plan time
/// (e.g. ids from another resource).
pub type Strings = Vec<Value<String>>;
/// A map of strings whose values may each be unknown at plan time.
pub type StringMap = BTreeMap<String, Value<String>>;

/// The strings of a list or set, once every element is known.
pub fn strings<'a>(values: impl IntoIterator<Item = &'a Value<String>>) -> Option<Vec<String>> {
    values.into_iter().map(|v| known(v).cloned()).collect()
}

/// The map, once every value is known.
pub fn string_map(map: &StringMap) -> Option<BTreeMap<String, String>> {
    map.iter()
        .map(|(k, v)| known(v).map(|v| (k.clone(), v.clone())))
        .collect()
}

fn values<'a>(items: impl IntoIterator<Item = &'a String>) -> Strings {
    items.into_iter().cloned().map(Value::Value).collect()
}

/// One key, for both resource types. The scope attribute only one of them
/// has (`workspace_id` or `workspace_ids`) is an `Option`: `None` when the
/// resource's schema has no such attribute, so it is neither read nor
/// written; `Some(null)` when it has one that is not set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyState {
    pub id: Value<String>,
    pub organization_id: Value<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub workspace_id: Option<Value<String>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub workspace_ids: Option<Value<BTreeSet<Value<String>>>>,
    pub name: Value<String>,
    #[serde(rename = "type")]
    pub key_type: Value<String>,
    pub role: Value<String>,
    pub permissions: Value<Strings>,
    pub expires_at: Value<String>,
    pub credits: Value<i64>,
    pub metadata: Value<StringMap>,
    pub secret_name: Value<String>,
    pub secret_id: Value<String>,
    pub secret_kms_key_id: Value<String>,
    pub secret_description: Value<String>,
    pub secret_tags: Value<StringMap>,
    pub secret_recovery_window_days: Value<i64>,
    pub keepers: Value<StringMap>,
    pub rotate_after: Value<String>,
    pub grace_seconds: Value<i64>,
    pub hint: Value<String>,
    pub status: Value<String>,
    pub secret_arn: Value<String>,
    pub secret_version_id: Value<String>,
    pub created_at: Value<String>,
    pub rolled_at: Value<String>,
    #[serde(default, with = "tf_provider::value::serde_as_vec")]
    pub rotation: Value<RotationBlock>,
}

/// The `rotation` block: Secrets Manager rotates the secret with the
/// rotator Lambda on a schedule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RotationBlock {
    pub lambda_arn: Value<String>,
    pub automatically_after_days: Value<i64>,
    pub schedule_expression: Value<String>,
}

/// An attribute that is present deserializes to `Some`, even when null.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Value<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Value::<T>::deserialize(deserializer).map(Some)
}

/// `Some` of a known value.
pub fn known<T>(value: &Value<T>) -> Option<&T> {
    value.as_ref_option()
}

/// A list that is empty in the API but was left out of the configuration
/// stays null, so the plan after apply shows no change.
/// The configured order is kept when it holds the same permissions.
fn list_like(prior: &Value<Strings>, api: &[String]) -> Value<Strings> {
    if api.is_empty() && !matches!(prior, Value::Value(list) if list.is_empty()) {
        return Value::Null;
    }
    let same = known(prior).and_then(strings).is_some_and(|list| {
        list.iter().collect::<BTreeSet<_>>() == api.iter().collect::<BTreeSet<_>>()
    });
    if same {
        prior.clone()
    } else {
        Value::Value(values(api))
    }
}

fn map_like(prior: &Value<StringMap>, api: &BTreeMap<String, String>) -> Value<StringMap> {
    if api.is_empty() && !matches!(prior, Value::Value(map) if map.is_empty()) {
        Value::Null
    } else {
        Value::Value(
            api.iter()
                .map(|(k, v)| (k.clone(), Value::Value(v.clone())))
                .collect(),
        )
    }
}

/// The configured spelling of an instant when it denotes the API's one.
fn instant_like(prior: &Value<String>, api: Option<DateTime<Utc>>) -> Value<String> {
    match api {
        None => Value::Null,
        Some(api) => match known(prior) {
            Some(text) if parse_instant(text).is_some_and(|at| at == api) => {
                Value::Value(text.clone())
            }
            _ => Value::Value(api.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
        },
    }
}

/// An RFC 3339 instant.
pub(crate) fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

impl KeyState {
    /// Takes what the API says about the key into the state: its settings
    /// (so out-of-band changes show as drift) and the computed values.
    /// Leaves the secret attributes, which the API does not hold, alone.
    pub fn refresh_from(&mut self, view: &KeyView) {
        self.id = Value::Value(view.id.to_string());
        self.organization_id = Value::Value(view.organization_id.to_string());
        match &view.scope {
            KeyScope::Workspace { workspace_id } => {
                if self.workspace_id.is_some() {
                    self.workspace_id = Some(Value::Value(workspace_id.to_string()));
                }
            }
            KeyScope::Organization => {
                if self.workspace_ids.is_some() {
                    self.workspace_ids = Some(Value::Null);
                }
            }
            KeyScope::Workspaces { workspace_ids } => {
                if self.workspace_ids.is_some() {
                    self.workspace_ids = Some(Value::Value(
                        workspace_ids
                            .iter()
                            .map(|id| Value::Value(id.to_string()))
                            .collect(),
                    ));
                }
            }
        }
        self.name = Value::Value(view.name.clone());
        self.key_type = Value::Value(json_name(&view.key_type));
        self.role = Value::Value(json_name(&view.role));
        self.permissions = list_like(&self.permissions, &view.permissions);
        self.expires_at = instant_like(&self.expires_at, view.expires_at);
        self.credits = view
            .credits
            .and_then(|credits| i64::try_from(credits).ok())
            .map_or(Value::Null, Value::Value);
        self.metadata = map_like(&self.metadata, &view.metadata);
        self.hint = Value::Value(view.hint.clone());
        self.status = Value::Value(json_name(&view.status));
        self.created_at = Value::Value(format_instant(view.created_at));
    }
}

/// An instant as the state spells it.
pub fn format_instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A duration such as `720h`, `30d` or `1h30m` (units `d`, `h`, `m`, `s`).
pub(crate) fn parse_duration(text: &str) -> Option<chrono::Duration> {
    let mut total = chrono::Duration::zero();
    let mut digits = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let amount: i64 = digits.parse().ok()?;
        digits.clear();
        let part = match c {
            'd' => chrono::Duration::try_days(amount)?,
            'h' => chrono::Duration::try_hours(amount)?,
            'm' => chrono::Duration::try_minutes(amount)?,
            's' => chrono::Duration::try_seconds(amount)?,
            _ => return None,
        };
        total = total.checked_add(&part)?;
    }
    (digits.is_empty() && total > chrono::Duration::zero()).then_some(total)
}

/// The API's spelling of an enum value (`service`, `editor`, `active`).
pub fn json_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => String::new(),
    }
}
