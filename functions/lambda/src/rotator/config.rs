//! The rotator's settings, read from the environment at cold start.

use keyplane_api::limits::MAX_GRACE_SECONDS;
use keyplane_core::principal::Principal;

use crate::config::{Common, ConfigError, Env, FunctionConfig, KEYPLANE_ADMINS};

/// How long the previous secret keeps working after `finishSecret`, unless
/// configured: twice the default refresh interval of AWS's secret caching
/// clients (one hour), so every cached copy is refreshed before it stops.
pub const DEFAULT_GRACE_SECONDS: u32 = 7200;

/// The rotation principal's variable.
pub const KEYPLANE_ROTATION_PRINCIPAL: &str = "KEYPLANE_ROTATION_PRINCIPAL";
/// The grace's variable.
pub const KEYPLANE_ROTATION_GRACE_SECONDS: &str = "KEYPLANE_ROTATION_GRACE_SECONDS";

/// What the rotator needs besides the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotatorConfig {
    /// `KEYPLANE_ROTATION_PRINCIPAL`: the IAM principal the rotator acts as
    /// (its execution role's ARN), named in the audit log.
    pub principal: Principal,
    /// `KEYPLANE_ROTATION_GRACE_SECONDS`: the old secret's grace, 0–86400.
    pub grace_seconds: u32,
}

/// A setting that is missing or malformed, named so the operator can fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct RotatorConfigError {
    /// The environment variable.
    pub variable: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl RotatorConfig {
    /// Reads the settings through `var` (the process environment in
    /// production, a map in tests).
    pub fn from_vars(
        var: impl Fn(&'static str) -> Option<String>,
    ) -> Result<Self, RotatorConfigError> {
        const PRINCIPAL: &str = KEYPLANE_ROTATION_PRINCIPAL;
        const GRACE: &str = KEYPLANE_ROTATION_GRACE_SECONDS;
        let fail = |variable, message: String| RotatorConfigError { variable, message };
        let principal = var(PRINCIPAL)
            .filter(|value| !value.trim().is_empty())
            .ok_or_else(|| {
                fail(
                    PRINCIPAL,
                    "required: the rotator's IAM role ARN, as the audit log should name it"
                        .to_owned(),
                )
            })?;
        let principal = Principal::parse(principal.trim())
            .map_err(|err| fail(PRINCIPAL, format!("not an IAM principal ARN: {err}")))?;
        let grace_seconds = match var(GRACE) {
            None => DEFAULT_GRACE_SECONDS,
            Some(raw) => raw
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|grace| *grace <= MAX_GRACE_SECONDS)
                .ok_or_else(|| {
                    fail(
                        GRACE,
                        format!("must be a whole number of seconds from 0 to {MAX_GRACE_SECONDS}"),
                    )
                })?,
        };
        Ok(Self {
            principal,
            grace_seconds,
        })
    }
}

/// The whole configuration of the `rotator` function.
#[derive(Debug, Clone)]
pub struct RotatorFunctionConfig {
    /// Table, region, logs.
    pub common: Common,
    /// Principal and grace.
    pub rotation: RotatorConfig,
    /// Platform admins, from `KEYPLANE_ADMINS`: the same list as the `api`
    /// function's. Rotation acts for whoever turned it on, and checks that
    /// they may still create the key; an admin may only because they are
    /// one, so the rotator must know who is.
    pub admins: Vec<Principal>,
}

impl FunctionConfig for RotatorFunctionConfig {
    fn from(env: &Env) -> Result<Self, ConfigError> {
        let common = Common::from(env)?;
        let rotation = RotatorConfig::from_vars(|name| env.optional(name).ok().flatten())
            .map_err(|err| ConfigError::new(err.variable, err.message))?;
        let admins = env.principals(KEYPLANE_ADMINS)?;
        Ok(Self {
            common,
            rotation,
            admins,
        })
    }

    fn common(&self) -> &Common {
        &self.common
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(pairs: &[(&str, &str)]) -> Result<RotatorConfig, RotatorConfigError> {
        let vars: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        RotatorConfig::from_vars(|name: &'static str| vars.get(name).cloned())
    }

    const ROLE: &str = "arn:aws:iam::123456789012:role/keyplane-rotator";

    #[test]
    fn defaults_the_grace() {
        let config = read(&[("KEYPLANE_ROTATION_PRINCIPAL", ROLE)]).expect("valid");
        assert_eq!(config.principal.as_str(), ROLE);
        assert_eq!(config.grace_seconds, DEFAULT_GRACE_SECONDS);
    }

    #[test]
    fn each_bad_setting_is_named() {
        let missing = read(&[]).expect_err("principal is required");
        assert_eq!(missing.variable, "KEYPLANE_ROTATION_PRINCIPAL");
        let bad = read(&[("KEYPLANE_ROTATION_PRINCIPAL", "rotator")]).expect_err("not an ARN");
        assert!(bad.to_string().starts_with("KEYPLANE_ROTATION_PRINCIPAL: "));
        for grace in ["-1", "86401", "1h", ""] {
            let err = read(&[
                ("KEYPLANE_ROTATION_PRINCIPAL", ROLE),
                ("KEYPLANE_ROTATION_GRACE_SECONDS", grace),
            ])
            .expect_err("out of range");
            assert_eq!(err.variable, "KEYPLANE_ROTATION_GRACE_SECONDS", "{grace}");
        }
        let zero = read(&[
            ("KEYPLANE_ROTATION_PRINCIPAL", ROLE),
            ("KEYPLANE_ROTATION_GRACE_SECONDS", "0"),
        ])
        .expect("zero is allowed");
        assert_eq!(zero.grace_seconds, 0);
    }
}
