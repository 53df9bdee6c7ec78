//! The answers API Gateway reads: an IAM policy for REST authorizers, a
//! simple response for HTTP API authorizers on payload 2.0.

use serde::Serialize;
use serde_json::{json, Value};

use super::{AuthorizerEvent, Decision};

/// What an allowed request carries to the backend in the authorizer
/// context. Every value is a string: API Gateway refuses objects and
/// arrays there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    /// The key's organization.
    pub organization_id: String,
    /// A workspace key's workspace; empty for an organization key.
    pub workspace_id: String,
    /// The key id (also the policy's `principalId`).
    pub key_id: String,
    /// The creator (personal keys) or the key's name (service keys).
    pub actor: String,
    /// The key's permission patterns, comma-separated.
    pub permissions: String,
}

/// The policy version API Gateway requires.
const POLICY_VERSION: &str = "2012-10-17";
/// The principal of a denied request whose key was not found.
const ANONYMOUS: &str = "anonymous";

/// The JSON answer for `decision` in the shape `event` needs.
pub(super) fn render(event: &AuthorizerEvent, decision: &Decision) -> Value {
    let (allowed, principal, context) = match decision {
        Decision::Allow(grant) => (true, grant.key_id.as_str(), json!(grant)),
        Decision::Deny { reason, key_id } => (
            false,
            key_id.as_deref().unwrap_or(ANONYMOUS),
            json!({ "reason": reason }),
        ),
    };
    if !event.wants_policy() {
        return json!({ "isAuthorized": allowed, "context": context });
    }
    // Exactly the invoked method: with the authorizer cache, a broader
    // resource would let this answer through routes needing other
    // permissions. An event without a method ARN can only be denied, and
    // a Deny naming nothing grants nothing.
    let resource = event.method_arn().unwrap_or_default();
    let effect = if allowed && !resource.is_empty() {
        "Allow"
    } else {
        "Deny"
    };
    json!({
        "principalId": principal,
        "policyDocument": {
            "Version": POLICY_VERSION,
            "Statement": [{
                "Action": "execute-api:Invoke",
                "Effect": effect,
                "Resource": resource,
            }],
        },
        "context": context,
    })
}
