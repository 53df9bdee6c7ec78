//! Which endpoint a service client talks to, with blank settings ignored.
//!
//! The SDK takes an endpoint URL from code (`ConfigLoader::endpoint_url`),
//! else from `AWS_ENDPOINT_URL_<SERVICE>`, else from `AWS_ENDPOINT_URL`,
//! else from the profile file, else it uses AWS's own endpoint. A variable
//! that is set but blank — easy to leave behind in a shell, a `.env` or a
//! CI file — counts as set, and the SDK panics on the first request
//! ("URL was unset"). Here a blank value counts as unset, with a warning.

use aws_config::SdkConfig;

/// The general endpoint variable, for every service.
pub const GENERAL_ENDPOINT_VAR: &str = "AWS_ENDPOINT_URL";
/// Set to `true` to make the SDK ignore endpoints from the environment and
/// the profile file (an endpoint set in code still applies).
const IGNORE_CONFIGURED_VAR: &str = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS";

/// An AWS service Keyplane calls, as far as its endpoint is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Service {
    name: &'static str,
    endpoint_var: &'static str,
}

impl Service {
    /// Amazon DynamoDB: the key store.
    pub const DYNAMODB: Self = Self {
        name: "DynamoDB",
        endpoint_var: "AWS_ENDPOINT_URL_DYNAMODB",
    };
    /// AWS Secrets Manager: where the Terraform provider and the rotation
    /// Lambda keep plaintext keys.
    pub const SECRETS_MANAGER: Self = Self {
        name: "Secrets Manager",
        endpoint_var: "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    };

    /// The service's name, for messages.
    pub fn name(self) -> &'static str {
        self.name
    }

    /// `AWS_ENDPOINT_URL_<SERVICE>`, the service's own endpoint variable.
    pub fn endpoint_var(self) -> &'static str {
        self.endpoint_var
    }
}

/// The settings that can name an endpoint for one service, as found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EndpointSettings<'a> {
    /// Set in code (`ConfigLoader::endpoint_url`): a test's emulator, say.
    pub in_code: Option<&'a str>,
    /// The value of [`Service::endpoint_var`].
    pub service_var: Option<&'a str>,
    /// The value of [`GENERAL_ENDPOINT_VAR`].
    pub general_var: Option<&'a str>,
}

/// What a service client must be told about its endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointOverride {
    /// Use this URL: the first of code, service variable and general
    /// variable that is set and not blank.
    Url(String),
    /// Something was set, but only blank values: use no override, which
    /// means AWS's own endpoint for the region.
    Cleared,
    /// Nothing set in code or the environment: leave the endpoint to the
    /// SDK (the profile file's `endpoint_url`, else AWS's own endpoint).
    Unset,
}

impl EndpointSettings<'_> {
    /// The endpoint these settings give `service`, in the SDK's order of
    /// precedence (code, then the service's variable, then the general
    /// one), skipping blank values with a warning.
    pub fn resolve(&self, service: Service) -> EndpointOverride {
        let candidates = [
            ("the endpoint URL set in code", self.in_code),
            (service.endpoint_var, self.service_var),
            (GENERAL_ENDPOINT_VAR, self.general_var),
        ];
        let mut found_blank = false;
        for (source, value) in candidates {
            match value {
                Some(url) if url.trim().is_empty() => {
                    found_blank = true;
                    tracing::warn!(
                        service = service.name,
                        "ignoring a blank {source}: unset it instead"
                    );
                }
                Some(url) => return EndpointOverride::Url(url.to_owned()),
                None => {}
            }
        }
        if found_blank {
            EndpointOverride::Cleared
        } else {
            EndpointOverride::Unset
        }
    }
}

impl EndpointOverride {
    /// Applies the override to a service configuration builder, given its
    /// `set_endpoint_url`; [`Unset`](Self::Unset) leaves it alone. See
    /// the [crate] documentation for an example.
    pub fn apply(self, set_endpoint_url: impl FnOnce(Option<String>)) {
        match self {
            Self::Url(url) => set_endpoint_url(Some(url)),
            Self::Cleared => set_endpoint_url(None),
            Self::Unset => {}
        }
    }
}

/// The endpoint override a client of `service` built from `config` needs:
/// the endpoint set in code on `config`, else the service's and the
/// general endpoint variables of the process environment, blank values
/// skipped. Apply it to the service's configuration builder after
/// `Builder::from(config)`, which would otherwise take a blank variable as
/// a URL (see the [crate] documentation).
///
/// With `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` the variables are not
/// consulted, as in the SDK.
pub fn endpoint_override(config: &SdkConfig, service: Service) -> EndpointOverride {
    let in_code = config
        .endpoint_url()
        .filter(|_| config.get_origin("endpoint_url").is_client_config());
    let ignore_vars = std::env::var(IGNORE_CONFIGURED_VAR)
        .is_ok_and(|value| value.trim().eq_ignore_ascii_case("true"));
    let var = |name: &str| {
        if ignore_vars {
            None
        } else {
            std::env::var(name).ok()
        }
    };
    let (service_var, general_var) = (var(service.endpoint_var), var(GENERAL_ENDPOINT_VAR));
    EndpointSettings {
        in_code,
        service_var: service_var.as_deref(),
        general_var: general_var.as_deref(),
    }
    .resolve(service)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOTO: &str = "http://127.0.0.1:5000";
    const OTHER: &str = "http://127.0.0.1:6000";

    fn resolve(
        in_code: Option<&str>,
        service_var: Option<&str>,
        general_var: Option<&str>,
    ) -> EndpointOverride {
        EndpointSettings {
            in_code,
            service_var,
            general_var,
        }
        .resolve(Service::DYNAMODB)
    }

    fn url(url: &str) -> EndpointOverride {
        EndpointOverride::Url(url.to_owned())
    }

    #[test]
    fn nothing_set_leaves_the_endpoint_to_the_sdk() {
        assert_eq!(resolve(None, None, None), EndpointOverride::Unset);
    }

    #[test]
    fn a_blank_service_variable_is_ignored() {
        assert_eq!(resolve(None, Some(""), None), EndpointOverride::Cleared);
        assert_eq!(resolve(None, Some("  "), Some(MOTO)), url(MOTO));
    }

    #[test]
    fn a_blank_general_variable_is_ignored() {
        assert_eq!(resolve(None, None, Some("")), EndpointOverride::Cleared);
        assert_eq!(resolve(None, Some(MOTO), Some("")), url(MOTO));
        assert_eq!(
            resolve(None, Some("\t"), Some(" ")),
            EndpointOverride::Cleared
        );
    }

    #[test]
    fn the_service_variable_wins_over_the_general_one() {
        assert_eq!(resolve(None, Some(MOTO), Some(OTHER)), url(MOTO));
        assert_eq!(resolve(None, None, Some(OTHER)), url(OTHER));
    }

    #[test]
    fn an_endpoint_set_in_code_wins() {
        assert_eq!(resolve(Some(MOTO), Some(OTHER), Some(OTHER)), url(MOTO));
        assert_eq!(resolve(Some(MOTO), Some(""), Some("")), url(MOTO));
        assert_eq!(resolve(Some(MOTO), None, None), url(MOTO));
        // A blank one in code is as good as none.
        assert_eq!(resolve(Some(""), Some(OTHER), None), url(OTHER));
        assert_eq!(resolve(Some(" "), None, None), EndpointOverride::Cleared);
    }

    #[test]
    fn services_name_their_own_variable() {
        assert_eq!(
            Service::DYNAMODB.endpoint_var(),
            "AWS_ENDPOINT_URL_DYNAMODB"
        );
        assert_eq!(
            Service::SECRETS_MANAGER.endpoint_var(),
            "AWS_ENDPOINT_URL_SECRETS_MANAGER"
        );
    }

    #[test]
    fn apply_sets_only_what_needs_setting() {
        let applied = |over: EndpointOverride| {
            let mut set = None;
            over.apply(|url| set = Some(url));
            set
        };
        assert_eq!(applied(url(MOTO)), Some(Some(MOTO.to_owned())));
        assert_eq!(applied(EndpointOverride::Cleared), Some(None));
        assert_eq!(applied(EndpointOverride::Unset), None);
    }
}
