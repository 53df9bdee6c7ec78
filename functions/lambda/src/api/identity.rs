//! Who is calling, as API Gateway's `AWS_IAM` authorization established it.
//!
//! API Gateway checks the caller's SigV4 signature and writes the caller's
//! ARN into the event's request context: `requestContext.authorizer.iam.userArn`
//! for an HTTP API (payload 2.0), `requestContext.identity.userArn` for a
//! REST API (payload 1.0). lambda_http hands that context over in the
//! request's extensions, which no client can write. Headers are never read
//! here: a client can send any header, including a forged `Authorization`.

use chrono::{DateTime, Utc};
use keyplane_core::principal::Principal;
use keyplane_http::auth::{AuthError, Identify};
use lambda_http::request::RequestContext;

/// [`Identify`] from the API Gateway request context.
#[derive(Debug, Clone, Copy, Default)]
pub struct GatewayIdentity;

impl GatewayIdentity {
    /// The caller ARN API Gateway vouched for, if any.
    fn caller_arn(parts: &http::request::Parts) -> Option<&str> {
        let arn = match parts.extensions.get::<RequestContext>()? {
            RequestContext::ApiGatewayV2(context) => context
                .authorizer
                .as_ref()?
                .iam
                .as_ref()?
                .user_arn
                .as_deref(),
            RequestContext::ApiGatewayV1(context) => context.identity.user_arn.as_deref(),
            // Load balancers, VPC Lattice and WebSockets carry no IAM caller.
            _ => None,
        };
        arn.filter(|arn| !arn.is_empty())
    }
}

impl Identify for GatewayIdentity {
    fn identify(
        &self,
        parts: &http::request::Parts,
        _body: &[u8],
        _now: DateTime<Utc>,
    ) -> Result<Principal, AuthError> {
        let arn = Self::caller_arn(parts).ok_or(AuthError::NoIamContext)?;
        // Assumed-role sessions become their role, so a role's grants hold
        // for every session of it.
        Principal::parse(arn).map_err(|_| {
            AuthError::malformed("API Gateway named a caller that is not an IAM user or role ARN")
        })
    }
}
