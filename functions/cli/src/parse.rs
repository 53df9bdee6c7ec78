//! Command-line values parsed into the API's types, so that a bad id or
//! role is a usage error naming the option.

use std::collections::BTreeMap;

use keyplane_api::id::{KeyId, OrgId, WorkspaceId};
use keyplane_api::principal::Principal;
use serde::de::DeserializeOwned;

pub fn org(raw: &str) -> Result<OrgId, String> {
    OrgId::parse(raw).map_err(|e| e.message)
}

pub fn workspace(raw: &str) -> Result<WorkspaceId, String> {
    WorkspaceId::parse(raw).map_err(|e| e.message)
}

pub fn key(raw: &str) -> Result<KeyId, String> {
    KeyId::parse(raw).map_err(|e| e.message)
}

pub fn principal(raw: &str) -> Result<Principal, String> {
    Principal::parse(raw).map_err(|e| e.message)
}

/// An enum by its API name (`editor`, `service`, `active`…).
pub fn api_enum<T: DeserializeOwned>(raw: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(raw.to_owned()))
        .map_err(|_| format!("`{raw}` is not one of the values listed in --help"))
}

/// `NAME=VALUE`.
pub fn pair(raw: &str) -> Result<(String, String), String> {
    raw.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("`{raw}` is not NAME=VALUE"))
}

pub fn pairs(items: Vec<(String, String)>) -> BTreeMap<String, String> {
    items.into_iter().collect()
}

/// An RFC 3339 time, e.g. 2030-01-31T00:00:00Z.
pub fn time(raw: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(raw)
        .map(|t| t.to_utc())
        .map_err(|_| format!("`{raw}` is not an RFC 3339 time such as 2030-01-31T00:00:00Z"))
}
