//! The API's base URL, e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com/prod`
//! or `http://127.0.0.1:8787`.

use std::net::IpAddr;

use http::uri::{Authority, Scheme};
use http::Uri;

use crate::Error;

/// Where the API lives: scheme, host and an optional base path (an API
/// Gateway stage), which every route is appended to and which SigV4 covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    scheme: Scheme,
    authority: Authority,
    base_path: String,
}

impl Endpoint {
    /// Parses an endpoint URL. Plain `http` is accepted only for loopback
    /// hosts unless `allow_http` is set: create and roll answers carry
    /// plaintext keys.
    pub(crate) fn parse(raw: &str, allow_http: bool) -> Result<Self, Error> {
        // The URL itself is not repeated: it may hold user information.
        let invalid = |why: &str| {
            Error::configuration(format!(
                "invalid endpoint: {why} (expected e.g. https://abc123.execute-api.us-east-1.amazonaws.com/prod)"
            ))
        };
        let uri: Uri = raw.trim().parse().map_err(|_| invalid("not a URL"))?;
        let scheme = uri.scheme().cloned().ok_or_else(|| invalid("no scheme"))?;
        let authority = uri.authority().cloned().ok_or_else(|| invalid("no host"))?;
        if uri.query().is_some() {
            return Err(invalid("a query string is not allowed"));
        }
        if authority.as_str().contains('@') {
            return Err(invalid("user information is not allowed"));
        }
        if scheme == Scheme::HTTP {
            if !allow_http && !is_loopback(authority.host()) {
                return Err(invalid(
                    "plain http is only allowed to a loopback address; use https, or allow_http() if you must",
                ));
            }
        } else if scheme != Scheme::HTTPS {
            return Err(invalid("the scheme must be https or http"));
        }
        let base_path = uri.path().trim_end_matches('/').to_owned();
        Ok(Self {
            scheme,
            authority,
            base_path,
        })
    }

    /// Whether TLS is used.
    pub(crate) fn is_https(&self) -> bool {
        self.scheme == Scheme::HTTPS
    }

    /// The `Host` header value.
    pub(crate) fn authority(&self) -> &Authority {
        &self.authority
    }

    /// The full URL of `path` (already percent-encoded, starting with `/`)
    /// with an optional encoded query.
    pub(crate) fn url(&self, path: &str, query: Option<&str>) -> Result<Uri, Error> {
        let mut url = format!(
            "{}://{}{}{path}",
            self.scheme, self.authority, self.base_path
        );
        if let Some(query) = query.filter(|q| !q.is_empty()) {
            url.push('?');
            url.push_str(query);
        }
        url.parse()
            .map_err(|_| Error::configuration("cannot build a request URL from the endpoint"))
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::Endpoint;

    #[test]
    fn stage_paths_are_kept_and_joined() {
        let endpoint = Endpoint::parse(
            "https://abc.execute-api.us-east-1.amazonaws.com/prod/",
            false,
        )
        .expect("valid");
        assert_eq!(
            endpoint.url("/v1/keys", Some("limit=5")).expect("url"),
            "https://abc.execute-api.us-east-1.amazonaws.com/prod/v1/keys?limit=5"
        );
        let local = Endpoint::parse("http://127.0.0.1:8787", false).expect("valid");
        assert_eq!(
            local.url("/v1/keys", None).expect("url"),
            "http://127.0.0.1:8787/v1/keys"
        );
        assert!(Endpoint::parse("http://[::1]:8787", false).is_ok());
        assert!(Endpoint::parse("http://localhost:8787", false).is_ok());
    }

    #[test]
    fn plain_http_elsewhere_and_junk_are_refused() {
        for bad in [
            "http://keyplane.example.com",
            "ftp://example.com",
            "example.com",
            "https://example.com/prod?x=1",
            "https://user:pw@example.com",
            "",
        ] {
            assert!(Endpoint::parse(bad, false).is_err(), "{bad}");
        }
        assert!(Endpoint::parse("http://keyplane.internal:8787", true).is_ok());
    }
}
