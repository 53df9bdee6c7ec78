//! AWS Signature Version 4 for management calls, with `aws-sigv4`: service
//! `execute-api`, the body's hash covered, and every header we send signed
//! (the AWS default leaves out `user-agent`; we sign it too, and the server
//! refuses an `Idempotency-Key` that is not signed).

use std::borrow::Cow;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4::SigningParams;
use aws_smithy_runtime_api::client::identity::Identity;
use http::header::AUTHORIZATION;
use http::Request;

use crate::Error;

/// The service name API Gateway expects in the credential scope.
const SERVICE: &str = "execute-api";

/// Signs `req` (whose body is `body`) in place: adds `x-amz-date`,
/// `Authorization` and, for temporary credentials, `x-amz-security-token`.
pub(crate) fn sign_request<B>(
    req: &mut Request<B>,
    body: &[u8],
    credentials: Credentials,
    region: &str,
    at: SystemTime,
) -> Result<(), Error> {
    let mut settings = SigningSettings::default();
    settings.excluded_headers = Some(vec![Cow::Borrowed(AUTHORIZATION.as_str())]);
    let identity: Identity = credentials.into();
    let params = SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SERVICE)
        .time(at)
        .settings(settings)
        .build()
        .map_err(|err| Error::configuration(format!("cannot sign the request: {err}")))?;
    let headers = req
        .headers()
        .iter()
        .map(|(name, value)| {
            value
                .to_str()
                .map(|value| (name.as_str(), value))
                .map_err(|_| Error::configuration(format!("header {name} is not visible ASCII")))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let signable = SignableRequest::new(
        req.method().as_str(),
        req.uri().to_string(),
        headers.into_iter(),
        SignableBody::Bytes(body),
    )
    .map_err(|err| Error::configuration(format!("cannot sign the request: {err}")))?;
    let (instructions, _signature) = sign(signable, &params.into())
        .map_err(|err| Error::configuration(format!("cannot sign the request: {err}")))?
        .into_parts();
    instructions.apply_to_request_http1x(req);
    Ok(())
}
