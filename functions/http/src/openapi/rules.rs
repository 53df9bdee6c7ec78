//! The rules the server enforces on input, written into the document from
//! the very constants and character predicates the validation uses: id
//! shapes, principals, names, permissions, metadata, numeric ranges. A
//! client generated from the document refuses what the server refuses.
//!
//! What no schema can say is left to the descriptions and to `code`: that a
//! name must not contain an API key, that an expiry lies in the future, that
//! a cursor is one the server issued.

use serde_json::{json, Value};

use keyplane_api::id::{EventId, KeyId, OrgId, WorkspaceId, MAX_LEN as MAX_ID_LEN};
use keyplane_api::limits::{
    MAX_COST, MAX_CREDITS, MAX_GRACE_SECONDS, MAX_KEY_QUOTA, MAX_PAGE, MAX_TOKENS_PER_REPORT,
};
use keyplane_api::principal::MAX_ARN_LEN;
use keyplane_core::permission::{MAX_PERMISSIONS, MAX_PERMISSION_LEN};
use keyplane_core::service::{MAX_IDEMPOTENCY_KEY_LEN, MAX_MODEL_LEN};
use keyplane_core::validate::{
    is_hidden, MAX_METADATA_ENTRIES, MAX_METADATA_KEY_CHARS, MAX_METADATA_VALUE_CHARS,
    MAX_NAME_CHARS, MAX_SECRET_ARN_CHARS,
};

/// Writes every rule into `doc` (the serialized utoipa document).
pub(super) fn apply(doc: &mut Value) {
    ids(doc);
    ids_by_reference(doc);
    principal(doc);
    text(doc);
    permissions(doc);
    numbers(doc);
    parameters(doc);
    problem(doc);
    create_key(doc);
    optional_bodies(doc);
}

/// `org_…`, `ws_…`, `key_…`, `evt_…`: the prefix, then ASCII letters and
/// digits, [`MAX_ID_LEN`] characters at most.
fn id_pattern(prefix: &str) -> String {
    format!("^{prefix}[A-Za-z0-9]{{1,{}}}$", MAX_ID_LEN - prefix.len())
}

/// An IAM principal ARN as `Principal::parse` accepts it: printable ASCII;
/// a user, a role, the account root, or an STS assumed-role session (which
/// the server turns into its role).
const PRINCIPAL_PATTERN: &str = "^arn:aws(-cn|-us-gov)?:(iam::[0-9]{12}:(root|(user|role)/[!-~]+)|sts::[0-9]{12}:assumed-role/[!-.0-~]+/[!-~]*)$";

/// A permission pattern as `permission::validate` accepts it: segments of
/// `[A-Za-z0-9._/-]` joined by single colons, not starting with one,
/// optionally ending in `*` (`*` alone grants everything).
const PERMISSION_PATTERN: &str = r"^([A-Za-z0-9._/\-]+(:[A-Za-z0-9._/\-]+)*:?)?\*?$";

fn ids(doc: &mut Value) {
    for (name, prefix) in [
        ("OrgId", OrgId::PREFIX),
        ("WorkspaceId", WorkspaceId::PREFIX),
        ("KeyId", KeyId::PREFIX),
        ("EventId", EventId::PREFIX),
    ] {
        let example = format!("{prefix}7Hq2xVbK9mPz4sLwTnR3aE");
        constrain(
            doc,
            &schema(name),
            json!({"pattern": id_pattern(prefix), "example": example}),
        );
    }
}

fn ids_by_reference(doc: &mut Value) {
    constrain(
        doc,
        &property("PutMember", "workspace_roles"),
        json!({"propertyNames": {"$ref": "#/components/schemas/WorkspaceId"}}),
    );
}

fn principal(doc: &mut Value) {
    constrain(
        doc,
        &schema("Principal"),
        json!({"pattern": PRINCIPAL_PATTERN, "maxLength": MAX_ARN_LEN}),
    );
}

fn text(doc: &mut Value) {
    let classes = Classes::new();
    let name = json!({
        "pattern": classes.trimmed(MAX_NAME_CHARS),
        "description": format!(
            "1 to {MAX_NAME_CHARS} characters once surrounding whitespace is trimmed; no control \
             or format characters (Unicode Cc, Cf, Zl, Zp); never an API key."
        ),
    });
    for (owner, field) in [
        ("CreateOrganization", "name"),
        ("UpdateOrganization", "name"),
        ("CreateWorkspace", "name"),
        ("CreateKey", "name"),
        ("PatchKey", "name"),
    ] {
        constrain(doc, &property(owner, field), name.clone());
    }

    let metadata = json!({
        "maxProperties": MAX_METADATA_ENTRIES,
        "propertyNames": {"type": "string", "pattern": classes.untrimmed(1, MAX_METADATA_KEY_CHARS)},
        "additionalProperties": {
            "type": "string",
            "pattern": classes.untrimmed(0, MAX_METADATA_VALUE_CHARS),
        },
        "description": format!(
            "Free-form labels: at most {MAX_METADATA_ENTRIES}; keys of 1 to \
             {MAX_METADATA_KEY_CHARS} characters, values of at most {MAX_METADATA_VALUE_CHARS}; \
             no control or format characters; never an API key."
        ),
    });
    for owner in ["CreateKey", "PatchKey"] {
        constrain(doc, &property(owner, "metadata"), metadata.clone());
    }

    constrain(
        doc,
        &property("ReportUsage", "model"),
        json!({
            "pattern": classes.trimmed(MAX_MODEL_LEN),
            "description": format!(
                "The model that served the request: 1 to {MAX_MODEL_LEN} characters once \
                 trimmed; no control or format characters; never an API key."
            ),
        }),
    );

    let secret_arn = json!({
        "pattern": format!(
            "^arn:aws[^:{h}]*:secretsmanager:[^:{h}]+:[0-9]{{12}}:secret:[^{h}]+$",
            h = class_body(&classes.hidden)
        ),
        "maxLength": MAX_SECRET_ARN_CHARS,
    });
    for owner in ["PatchKey", "ActivateKey"] {
        constrain(doc, &property(owner, "secret_arn"), secret_arn.clone());
    }
}

fn permissions(doc: &mut Value) {
    let item = json!({
        "type": "string",
        "pattern": PERMISSION_PATTERN,
        "minLength": 1,
        "maxLength": MAX_PERMISSION_LEN,
    });
    for owner in ["CreateKey", "PatchKey", "PutMember"] {
        constrain(
            doc,
            &property(owner, "permissions"),
            json!({"items": item, "maxItems": MAX_PERMISSIONS}),
        );
    }
    constrain(
        doc,
        &property("VerifyKey", "permissions"),
        json!({"items": item}),
    );
}

fn numbers(doc: &mut Value) {
    let tokens = MAX_TOKENS_PER_REPORT;
    for (owner, field, min, max) in [
        (
            "CreateOrganization",
            "key_quota",
            1,
            u64::from(MAX_KEY_QUOTA),
        ),
        (
            "UpdateOrganization",
            "key_quota",
            1,
            u64::from(MAX_KEY_QUOTA),
        ),
        ("CreateKey", "credits", 1, MAX_CREDITS),
        ("RollKey", "grace_seconds", 0, u64::from(MAX_GRACE_SECONDS)),
        ("VerifyKey", "cost", 1, MAX_COST),
        ("ReportUsage", "input_tokens", 0, tokens),
        ("ReportUsage", "output_tokens", 0, tokens),
        ("ReportUsage", "requests", 1, tokens),
        ("PatchKey", "if_version", 0, u64::MAX),
    ] {
        constrain(doc, &property(owner, field), range(min, max));
    }
}

/// Path and query parameters: ids by reference, `limit` by range.
fn parameters(doc: &mut Value) {
    for operation in operations(doc) {
        let Some(parameters) = operation
            .get_mut("parameters")
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        for parameter in parameters {
            let rule = match parameter["name"].as_str() {
                Some("limit") => range(1, MAX_PAGE as u64),
                Some("Idempotency-Key") => json!({
                    "type": "string",
                    "pattern": format!("^[!-~]{{1,{MAX_IDEMPOTENCY_KEY_LEN}}}$"),
                }),
                Some("cursor") => json!({"minLength": 1}),
                _ => continue,
            };
            if let Some(schema) = parameter.get_mut("schema") {
                merge(schema, rule);
            }
        }
    }
}

fn problem(doc: &mut Value) {
    constrain(
        doc,
        &property("Problem", "status"),
        json!({"minimum": 400, "maximum": 599, "format": null}),
    );
    constrain(
        doc,
        &property("Problem", "code"),
        json!({"pattern": "^[A-Z][A-Z0-9_]*$"}),
    );
    constrain(doc, &property("Problem", "type"), json!({"format": "uri"}));
}

/// A workspace key names its workspace and no list; an organization key
/// names no workspace, and a list only if it is not empty. The server
/// dedups the list, so repeats are allowed.
fn create_key(doc: &mut Value) {
    constrain(
        doc,
        &property("CreateKey", "workspace_ids"),
        json!({"uniqueItems": null, "minItems": 1}),
    );
    constrain(
        doc,
        &schema("CreateKey"),
        json!({
            "if": {"properties": {"scope": {"const": "workspace"}}, "required": ["scope"]},
            "then": {
                "required": ["workspace_id"],
                "properties": {
                    "workspace_id": {"$ref": "#/components/schemas/WorkspaceId"},
                    "workspace_ids": {"type": "null"},
                },
            },
            "else": {"properties": {"workspace_id": {"type": "null"}}},
        }),
    );
}

/// utoipa writes an optional body (`Option<T>`) as "`T` or `null`". The
/// server takes no body at all for the default, but refuses a JSON `null`:
/// the body is optional (`required` is not set), its schema `T` alone.
fn optional_bodies(doc: &mut Value) {
    for operation in operations(doc) {
        let Some(body) = operation.get_mut("requestBody") else {
            continue;
        };
        if body.get("required") == Some(&Value::Bool(true)) {
            continue;
        }
        let Some(contents) = body.get_mut("content").and_then(Value::as_object_mut) else {
            continue;
        };
        for content in contents.values_mut() {
            let inner = content["schema"]["oneOf"]
                .as_array()
                .filter(|alternatives| alternatives.len() == 2)
                .and_then(|alternatives| {
                    alternatives
                        .iter()
                        .find(|schema| schema.get("type") != Some(&json!("null")))
                })
                .cloned();
            if let Some(inner) = inner {
                content["schema"] = inner;
            }
        }
    }
}

/// Every operation of the document.
fn operations(doc: &mut Value) -> impl Iterator<Item = &mut Value> {
    doc.get_mut("paths")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
}

fn schema(name: &str) -> String {
    format!("/components/schemas/{name}")
}

fn property(owner: &str, field: &str) -> String {
    format!("/components/schemas/{owner}/properties/{field}")
}

/// A whole number from `min` to `max`. The Rust integer type says nothing
/// more (`format: int64` would even be wrong for a `u64`), so it goes.
fn range(min: u64, max: u64) -> Value {
    json!({"minimum": min, "maximum": max, "format": null})
}

/// Merges `rule` into the schema at `pointer`, if it is there (the test of
/// the document checks that every rule landed).
fn constrain(doc: &mut Value, pointer: &str, rule: Value) {
    if let Some(target) = doc.pointer_mut(pointer) {
        merge(target, rule);
    }
}

/// Sets each of `rule`'s keys on `target`; a `null` removes the key.
fn merge(target: &mut Value, rule: Value) {
    let (Some(target), Value::Object(rule)) = (target.as_object_mut(), rule) else {
        return;
    };
    for (key, value) in rule {
        if value.is_null() {
            target.remove(&key);
        } else {
            target.insert(key, value);
        }
    }
}

/// The character classes of the text rules, computed once per document.
struct Classes {
    /// [`is_hidden`]: never in stored text.
    hidden: Vec<(char, char)>,
    /// Unicode White_Space, which `str::trim` removes.
    space: Vec<(char, char)>,
}

impl Classes {
    fn new() -> Self {
        Self {
            hidden: ranges(is_hidden),
            space: ranges(char::is_whitespace),
        }
    }

    /// Text as `validate::name` takes it: surrounding whitespace is
    /// trimmed; what remains is 1 to `max` characters, none hidden, and
    /// neither starts nor ends with whitespace.
    fn trimmed(&self, max: usize) -> String {
        let space = class_body(&self.space);
        let hidden = class_body(&self.hidden);
        let mut either = self.hidden.clone();
        either.extend_from_slice(&self.space);
        let visible = class_body(&union(either));
        format!(
            "^[{space}]*[^{visible}]([^{hidden}]{{0,{inner}}}[^{visible}])?[{space}]*$",
            inner = max.saturating_sub(2)
        )
    }

    /// `min` to `max` characters, none hidden; nothing trimmed.
    fn untrimmed(&self, min: usize, max: usize) -> String {
        format!("^[^{}]{{{min},{max}}}$", class_body(&self.hidden))
    }
}

/// The characters `chosen` picks, as inclusive ranges in order.
fn ranges(chosen: impl Fn(char) -> bool) -> Vec<(char, char)> {
    let mut out: Vec<(char, char)> = Vec::new();
    for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
        if !chosen(c) {
            continue;
        }
        match out.last_mut() {
            Some((_, to)) if u32::from(*to) + 1 == u32::from(c) => *to = c,
            _ => out.push((c, c)),
        }
    }
    out
}

/// Sorts and joins overlapping or touching ranges.
fn union(mut all: Vec<(char, char)>) -> Vec<(char, char)> {
    all.sort();
    let mut out: Vec<(char, char)> = Vec::new();
    for (from, to) in all {
        match out.last_mut() {
            Some((_, end)) if u32::from(from) <= u32::from(*end) + 1 => *end = (*end).max(to),
            _ => out.push((from, to)),
        }
    }
    out
}

/// The body of a regex character class holding exactly `ranges`.
/// Characters of the Basic Multilingual Plane are written `\uXXXX`, which
/// ECMA-262, Python and Rust regexes all read; those beyond it appear as
/// themselves (unescaped, one code point to all three).
fn class_body(ranges: &[(char, char)]) -> String {
    let mut body = String::new();
    for &(from, to) in ranges {
        body.push_str(&escape(from));
        if to != from {
            body.push('-');
            body.push_str(&escape(to));
        }
    }
    body
}

fn escape(c: char) -> String {
    match u32::from(c) {
        code @ 0..=0xFFFF => format!("\\u{code:04X}"),
        _ => c.to_string(),
    }
}
