//! The two key resources' schemas: the same attributes but for the scope.

use std::collections::HashMap;

use tf_provider::schema::{Attribute, AttributeType, Block, Description, NestedBlock, Schema};

use super::Scope;
use crate::attr::{computed, optional, optional_computed, required, string, string_map};

/// Bumped when the state's shape changes.
pub const VERSION: i64 = 1;

pub fn schema(scope: Scope) -> Schema {
    let mut attributes: HashMap<String, Attribute> = HashMap::from([
        ("id".to_owned(), computed(string(), "The key's id (`key_…`). Import by this id.")),
        ("organization_id".to_owned(), required(string(), "The organization (`org_…`) the key belongs to. Changing it replaces the key.")),
        ("name".to_owned(), optional_computed(string(), "A name for people and the audit log; for service keys it is also the actor. Defaults to one the service picks. Updated in place.")),
        ("type".to_owned(), optional_computed(string(), "`service` (default: acts as itself, its name is the actor) or `personal` (acts for its creator, and only while they may). Changing it replaces the key.")),
        ("role".to_owned(), required(string(), "`viewer`, `editor` or `owner`; never more than the creator holds. Updated in place.")),
        ("permissions".to_owned(), optional(AttributeType::List(Box::new(AttributeType::String)), "Permission patterns such as `orders:read` or `models:*`. Updated in place.")),
        ("expires_at".to_owned(), optional(string(), "RFC 3339 instant after which the key stops working. Updated in place; removing it removes the expiry.")),
        ("credits".to_owned(), optional(AttributeType::Number, "Usage credits the key starts with (1 or more); verify calls with a cost spend them. Changing it replaces the key.")),
        ("metadata".to_owned(), optional(string_map(), "Labels kept with the key. Updated in place.")),
        ("secret_name".to_owned(), optional(string(), "Name of a **new** Secrets Manager secret to hold the plaintext, tagged `keyplane:key-id`. Exactly one of `secret_name` and `secret_id`. Changing it replaces the key.")),
        ("secret_id".to_owned(), optional(string(), "ARN or name of an **existing** secret that gets the plaintext as a new `AWSCURRENT` version. Exactly one of `secret_name` and `secret_id`. Changing it to another secret replaces the key.")),
        ("secret_kms_key_id".to_owned(), optional(string(), "With `secret_name`: the KMS key (id, ARN or alias) that encrypts the new secret; default `aws/secretsmanager`. Changing it replaces the key.")),
        ("secret_description".to_owned(), optional(string(), "With `secret_name`: the new secret's description. Changing it replaces the key.")),
        ("secret_tags".to_owned(), optional(string_map(), "With `secret_name`: more tags for the new secret. Changing them replaces the key.")),
        ("secret_recovery_window_days".to_owned(), optional(AttributeType::Number, "With `secret_name`: when the key is destroyed (or replaced) the secret made for it is deleted at once (0, the default: its key is revoked, and a replacement needs the name), or after this many days (7–30).")),
        ("keepers".to_owned(), optional(string_map(), "Arbitrary values whose change **rolls** the key in place: a new plaintext under the same id, written as a new `AWSCURRENT` version of its secret, the old one valid for `grace_seconds`.")),
        ("rotate_after".to_owned(), optional(string(), "Rolls the key on the first apply after this long since its current plaintext was minted, e.g. `720h` or `30d` (units `d`, `h`, `m`, `s`).")),
        ("grace_seconds".to_owned(), optional(AttributeType::Number, "How long the previous plaintext keeps working after a roll, 0–86400 seconds (default 3600), so readers of the secret can pick up the new one.")),
        ("rolled_at".to_owned(), computed(string(), "When the current plaintext was minted (RFC 3339): at creation or the last roll.")),
        ("hint".to_owned(), computed(string(), "The key, masked (`kp_live_Ab3…x9Qz`): enough to recognise it, useless to use it.")),
        ("status".to_owned(), computed(string(), "`active`, `disabled`, `revoked`, `expired` or `pending`. A key revoked or expired outside Terraform is replaced on the next apply.")),
        ("secret_arn".to_owned(), computed(string(), "ARN of the secret holding the plaintext; the key is bound to it.")),
        ("secret_version_id".to_owned(), computed(string(), "The secret version holding this key's plaintext. If the secret or the version disappears outside Terraform, the key is replaced.")),
        ("created_at".to_owned(), computed(string(), "When the key was created (RFC 3339).")),
    ]);
    let description = match scope {
        Scope::Workspace => {
            attributes.insert(
                "workspace_id".to_owned(),
                required(
                    string(),
                    "The workspace (`ws_…`) the key works in. Changing it replaces the key.",
                ),
            );
            "A workspace API key. Its plaintext goes from Keyplane straight into AWS Secrets Manager and never into Terraform's plan, state or logs."
        }
        Scope::Organization => {
            attributes.insert(
                "workspace_ids".to_owned(),
                optional(AttributeType::Set(Box::new(AttributeType::String)), "The workspaces the key works in; leave it out for every workspace of the organization. Changing it replaces the key."),
            );
            "An organization API key, for every workspace or chosen ones. Its plaintext goes from Keyplane straight into AWS Secrets Manager and never into Terraform's plan, state or logs."
        }
    };
    let rotation = Block {
        version: VERSION,
        attributes: HashMap::from([
            ("lambda_arn".to_owned(), required(string(), "ARN of the Keyplane rotator Lambda (the infra module's `rotator_function_arn` output).")),
            ("automatically_after_days".to_owned(), optional(AttributeType::Number, "Rotate every this many days (1–1000). Exactly one of `automatically_after_days` and `schedule_expression`.")),
            ("schedule_expression".to_owned(), optional(string(), "Rotate on a `rate(…)` or `cron(…)` schedule expression, e.g. `rate(30 days)`.")),
        ]),
        blocks: HashMap::new(),
        description: Description::markdown("Turns on Secrets Manager rotation of the key's secret by the Keyplane rotator Lambda, and lets that rotator roll this key (and no other). Removing the block turns both off. Changes apply in place."),
        deprecated: false,
    };
    Schema {
        version: VERSION,
        block: Block {
            version: VERSION,
            attributes,
            blocks: HashMap::from([("rotation".to_owned(), NestedBlock::Optional(rotation))]),
            description: Description::markdown(description),
            deprecated: false,
        },
    }
}
