//! What a change to a key's configuration means: done in place through
//! `PATCH /v1/keys/{id}`, or a replacement (a new key, a new secret). Pure
//! functions over [`KeyState`], so the decisions are unit-tested without
//! Terraform.

use chrono::{DateTime, Utc};
use tf_provider::value::Value;

use super::state::{known, parse_duration, parse_instant, string_map, strings, KeyState};

/// Attributes the API cannot change on an existing key: a new value means
/// a new key.
pub const REPLACE_ON_CHANGE: [&str; 8] = [
    "organization_id",
    "workspace_id",
    "workspace_ids",
    "type",
    "credits",
    "secret_kms_key_id",
    "secret_description",
    "secret_tags",
];

/// Statuses after which the key can never work again: such drift plans a
/// replacement.
const DEAD: [&str; 2] = ["revoked", "expired"];

/// The planned state of a new key: the configuration, with what only the
/// apply can know left unknown.
pub fn plan_create(proposed: &KeyState) -> KeyState {
    let mut planned = proposed.clone();
    for computed in [
        &mut planned.id,
        &mut planned.hint,
        &mut planned.status,
        &mut planned.secret_arn,
        &mut planned.secret_version_id,
        &mut planned.created_at,
        &mut planned.rolled_at,
    ] {
        *computed = Value::Unknown;
    }
    if planned.name.is_null() {
        planned.name = Value::Unknown;
    }
    if planned.key_type.is_null() {
        planned.key_type = Value::Value("service".to_owned());
    }
    planned
}

/// The planned state of an existing key at `now` and the attributes whose
/// change needs a replacement (empty: an update in place, or nothing). A
/// roll (new `keepers`, or `rotate_after` elapsed) is an update that leaves
/// the new secret's version and hint unknown.
pub fn plan_update(
    prior: &KeyState,
    proposed: &KeyState,
    now: DateTime<Utc>,
) -> (KeyState, Vec<&'static str>) {
    let mut replace: Vec<&'static str> = REPLACE_ON_CHANGE
        .into_iter()
        .filter(|attribute| differs(prior, proposed, attribute))
        .collect();
    if !same_destination(prior, proposed) {
        replace.extend(["secret_name", "secret_id"]);
    }
    if known(&prior.status).is_some_and(|status| DEAD.contains(&status.as_str())) {
        replace.push("status");
    }
    // Refresh found the secret, or the version holding this key, gone.
    if prior.secret_version_id.is_null() {
        replace.push("secret_version_id");
    }
    if !replace.is_empty() {
        return (plan_create(proposed), replace);
    }
    let mut planned = proposed.clone();
    if needs_roll(prior, proposed, now) {
        planned.hint = Value::Unknown;
        planned.secret_version_id = Value::Unknown;
        planned.rolled_at = Value::Unknown;
    }
    (planned, replace)
}

/// Whether the key gets a new secret: `keepers` changed, or `rotate_after`
/// has passed since the current secret was minted (or a roll failed to
/// store its secret, which leaves `rolled_at` null).
pub fn needs_roll(prior: &KeyState, proposed: &KeyState, now: DateTime<Utc>) -> bool {
    if prior.keepers != proposed.keepers {
        return true;
    }
    let Some(every) = known(&proposed.rotate_after).and_then(|text| parse_duration(text)) else {
        return false;
    };
    match known(&prior.rolled_at).and_then(|at| parse_instant(at)) {
        Some(rolled) => rolled + every <= now,
        None => true,
    }
}

fn differs(prior: &KeyState, proposed: &KeyState, attribute: &str) -> bool {
    match attribute {
        "organization_id" => prior.organization_id != proposed.organization_id,
        "workspace_id" => prior.workspace_id != proposed.workspace_id,
        "workspace_ids" => prior.workspace_ids != proposed.workspace_ids,
        "type" => prior.key_type != proposed.key_type,
        "credits" => prior.credits != proposed.credits,
        "secret_kms_key_id" => prior.secret_kms_key_id != proposed.secret_kms_key_id,
        "secret_description" => prior.secret_description != proposed.secret_description,
        "secret_tags" => prior.secret_tags != proposed.secret_tags,
        _ => false,
    }
}

/// Whether the configured destination is the secret the key already went
/// to: the same settings, or `secret_id` naming that secret by ARN or name
/// (as after an import, which records the secret's name).
fn same_destination(prior: &KeyState, proposed: &KeyState) -> bool {
    if prior.secret_name == proposed.secret_name && prior.secret_id == proposed.secret_id {
        return true;
    }
    match known(&proposed.secret_id) {
        Some(id) => known(&prior.secret_arn) == Some(id) || known(&prior.secret_name) == Some(id),
        None => false,
    }
}

/// The in-place changes from `prior` to `planned`, as the API's patch.
pub fn patch(prior: &KeyState, planned: &KeyState) -> Changes {
    Changes {
        name: (prior.name != planned.name)
            .then(|| known(&planned.name).cloned())
            .flatten(),
        role: (prior.role != planned.role)
            .then(|| known(&planned.role).cloned())
            .flatten(),
        permissions: (prior.permissions != planned.permissions).then(|| {
            known(&planned.permissions)
                .and_then(strings)
                .unwrap_or_default()
        }),
        expires_at: (prior.expires_at != planned.expires_at)
            .then(|| known(&planned.expires_at).cloned()),
        metadata: (prior.metadata != planned.metadata).then(|| {
            known(&planned.metadata)
                .and_then(string_map)
                .unwrap_or_default()
        }),
    }
}

/// In-place changes, each `None` when unchanged.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub name: Option<String>,
    pub role: Option<String>,
    pub permissions: Option<Vec<String>>,
    /// `Some(None)` removes the expiry.
    pub expires_at: Option<Option<String>>,
    pub metadata: Option<std::collections::BTreeMap<String, String>>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        parse_instant("2026-06-01T00:00:00Z").unwrap_or_default()
    }

    fn applied() -> KeyState {
        KeyState {
            id: Value::Value("key_1".into()),
            organization_id: Value::Value("org_1".into()),
            workspace_id: Some(Value::Value("ws_1".into())),
            workspace_ids: None,
            name: Value::Value("ci".into()),
            key_type: Value::Value("service".into()),
            role: Value::Value("editor".into()),
            secret_name: Value::Value("keyplane/ci".into()),
            hint: Value::Value("kp_live_Ab3…x9Qz".into()),
            status: Value::Value("active".into()),
            secret_arn: Value::Value(
                "arn:aws:secretsmanager:us-east-1:111111111111:secret:keyplane/ci-AbCdEf".into(),
            ),
            secret_version_id: Value::Value("v1".into()),
            created_at: Value::Value("2026-01-01T00:00:00Z".into()),
            rolled_at: Value::Value("2026-01-01T00:00:00Z".into()),
            ..KeyState::default()
        }
    }

    #[test]
    fn a_new_key_leaves_what_only_the_apply_knows_unknown() {
        let config = KeyState {
            name: Value::Null,
            key_type: Value::Null,
            ..applied()
        };
        let planned = plan_create(&config);
        assert_eq!(planned.id, Value::Unknown);
        assert_eq!(planned.secret_version_id, Value::Unknown);
        assert_eq!(planned.name, Value::Unknown);
        assert_eq!(planned.key_type, Value::Value("service".into()));
        assert_eq!(planned.role, config.role);
    }

    #[test]
    fn no_change_plans_nothing() {
        let (planned, replace) = plan_update(&applied(), &applied(), now());
        assert!(replace.is_empty());
        assert_eq!(planned, applied());
        assert!(patch(&applied(), &planned).is_empty());
    }

    #[test]
    fn settings_the_api_can_change_are_updated_in_place() {
        let proposed = KeyState {
            name: Value::Value("ci-2".into()),
            permissions: Value::Value(vec![Value::Value("orders:read".into())]),
            expires_at: Value::Value("2031-01-01T00:00:00Z".into()),
            ..applied()
        };
        let (planned, replace) = plan_update(&applied(), &proposed, now());
        assert!(replace.is_empty(), "{replace:?}");
        assert_eq!(planned.id, applied().id);
        let changes = patch(&applied(), &planned);
        assert_eq!(changes.name.as_deref(), Some("ci-2"));
        assert_eq!(changes.permissions, Some(vec!["orders:read".to_owned()]));
        assert_eq!(
            changes.expires_at,
            Some(Some("2031-01-01T00:00:00Z".to_owned()))
        );
        assert_eq!(changes.role, None);
        assert_eq!(changes.metadata, None);
    }

    #[test]
    fn removing_an_expiry_is_a_change_to_none() {
        let prior = KeyState {
            expires_at: Value::Value("2031-01-01T00:00:00Z".into()),
            ..applied()
        };
        let changes = patch(&prior, &applied());
        assert_eq!(changes.expires_at, Some(None));
    }

    #[test]
    fn scope_type_credits_and_secret_settings_replace_the_key() {
        for (attribute, proposed) in [
            (
                "workspace_id",
                KeyState {
                    workspace_id: Some(Value::Value("ws_2".into())),
                    ..applied()
                },
            ),
            (
                "type",
                KeyState {
                    key_type: Value::Value("personal".into()),
                    ..applied()
                },
            ),
            (
                "credits",
                KeyState {
                    credits: Value::Value(10),
                    ..applied()
                },
            ),
            (
                "secret_kms_key_id",
                KeyState {
                    secret_kms_key_id: Value::Value("alias/keys".into()),
                    ..applied()
                },
            ),
        ] {
            let (planned, replace) = plan_update(&applied(), &proposed, now());
            assert_eq!(replace, [attribute]);
            assert_eq!(planned.id, Value::Unknown, "{attribute}");
        }
    }

    #[test]
    fn another_secret_replaces_the_key_but_naming_the_same_one_does_not() {
        let elsewhere = KeyState {
            secret_name: Value::Value("keyplane/other".into()),
            ..applied()
        };
        assert_eq!(
            plan_update(&applied(), &elsewhere, now()).1,
            ["secret_name", "secret_id"]
        );
        let same_by_arn = KeyState {
            secret_name: Value::Null,
            secret_id: applied().secret_arn,
            ..applied()
        };
        assert!(plan_update(&applied(), &same_by_arn, now()).1.is_empty());
        let same_by_name = KeyState {
            secret_name: Value::Null,
            secret_id: Value::Value("keyplane/ci".into()),
            ..applied()
        };
        assert!(plan_update(&applied(), &same_by_name, now()).1.is_empty());
    }

    #[test]
    fn a_key_revoked_or_a_secret_deleted_out_of_band_is_replaced() {
        let revoked = KeyState {
            status: Value::Value("revoked".into()),
            ..applied()
        };
        assert_eq!(plan_update(&revoked, &revoked, now()).1, ["status"]);
        let disabled = KeyState {
            status: Value::Value("disabled".into()),
            ..applied()
        };
        assert!(plan_update(&disabled, &disabled, now()).1.is_empty());
        let secret_gone = KeyState {
            secret_version_id: Value::Null,
            ..applied()
        };
        assert_eq!(
            plan_update(&secret_gone, &secret_gone, now()).1,
            ["secret_version_id"]
        );
    }

    #[test]
    fn new_keepers_roll_the_key_in_place() {
        let proposed = KeyState {
            keepers: Value::Value([("version".to_owned(), Value::Value("2".to_owned()))].into()),
            ..applied()
        };
        let (planned, replace) = plan_update(&applied(), &proposed, now());
        assert!(replace.is_empty());
        assert_eq!(planned.id, applied().id);
        assert_eq!(planned.secret_version_id, Value::Unknown);
        assert_eq!(planned.hint, Value::Unknown);
    }

    #[test]
    fn rotate_after_rolls_once_the_duration_has_passed() {
        let every = |text: &str| KeyState {
            rotate_after: Value::Value(text.into()),
            ..applied()
        };
        // Minted 2026-01-01, now 2026-06-01: 151 days later.
        assert!(needs_roll(&applied(), &every("150d"), now()));
        assert!(!needs_roll(&applied(), &every("152d"), now()));
        assert!(needs_roll(&applied(), &every("3600h"), now()));
        assert!(!needs_roll(&applied(), &applied(), now()));
        let failed_roll = KeyState {
            rolled_at: Value::Null,
            ..every("152d")
        };
        assert!(needs_roll(&failed_roll, &every("152d"), now()));
    }

    #[test]
    fn durations_read_like_go_durations_with_days() {
        assert_eq!(parse_duration("1h30m"), chrono::Duration::try_minutes(90));
        assert_eq!(parse_duration("30d"), chrono::Duration::try_days(30));
        for bad in ["", "0s", "10", "h", "5w", "-1h"] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }
}
