//! The data plane: the key is the credential, nothing is signed.

use http::Method;
use keyplane_api::key_format::ApiKey;
use keyplane_api::verify::{LeakReceived, ReportLeak, Verdict, VerifyKey};

use crate::client::{Auth, Call};
use crate::{Client, Error};

impl Client {
    /// `POST /v1/keys/verify`. A bad key is a verdict (`valid: false` and a
    /// code), not an error. Retried like a read unless it has a `cost`:
    /// a metered verify spends credits, so it is not repeated after a
    /// timeout or 5xx.
    pub async fn verify(&self, req: &VerifyKey) -> Result<Verdict, Error> {
        let call = Call::new(
            Method::POST,
            "/v1/keys/verify",
            "/v1/keys/verify".to_owned(),
        )
        .json(req)?
        .auth(Auth::None);
        let call = if req.cost.is_some() {
            call.once()
        } else {
            call
        };
        self.send(call).await?.json()
    }

    /// `GET /v1/whoami` with `Authorization: Bearer <key>`: the key's
    /// verdict; an invalid key is a 401 error.
    pub async fn whoami(&self, key: &ApiKey) -> Result<Verdict, Error> {
        let call =
            Call::new(Method::GET, "/v1/whoami", "/v1/whoami".to_owned()).auth(Auth::Bearer(key));
        self.send(call).await?.json()
    }

    /// `POST /v1/keys/report-leak` (anyone): the same `202` whether or not
    /// the key exists. Reporting twice marks the secret leaked once, so
    /// retries are safe.
    pub async fn report_leak(&self, report: &ReportLeak) -> Result<LeakReceived, Error> {
        let call = Call::new(
            Method::POST,
            "/v1/keys/report-leak",
            "/v1/keys/report-leak".to_owned(),
        )
        .json(report)?
        .auth(Auth::None);
        self.send(call).await?.json()
    }
}
