//! Configuration from the environment: every problem is one error that
//! names its variable. Tests read from a map, never the process
//! environment, so they cannot disturb each other.

use keyplane_core::key_format::KeyEnv;
use keyplane_lambda::config::{ApiConfig, AuthorizerConfig, ConfigError, Env, FunctionConfig};
use keyplane_lambda::rotator::RotatorFunctionConfig;

const ROUTES: &str = r#"{"GET /orders/{id}": ["orders:read"], "ANY /health": []}"#;

fn base<'a>() -> Vec<(&'static str, &'a str)> {
    vec![
        ("KEYPLANE_TABLE", "keyplane-prod"),
        ("AWS_REGION", "eu-west-1"),
        ("KEYPLANE_ROUTE_PERMISSIONS", ROUTES),
    ]
}

/// `base()` with `changes` applied; an empty value removes the variable.
fn env(changes: &[(&'static str, &str)]) -> Env {
    let mut vars = base();
    for (name, value) in changes {
        vars.retain(|(n, _)| n != name);
        if !value.is_empty() {
            vars.push((name, value));
        }
    }
    Env::from_pairs(vars)
}

fn api(changes: &[(&'static str, &str)]) -> Result<ApiConfig, ConfigError> {
    <ApiConfig as FunctionConfig>::from(&env(changes))
}

fn authorizer(changes: &[(&'static str, &str)]) -> Result<AuthorizerConfig, ConfigError> {
    <AuthorizerConfig as FunctionConfig>::from(&env(changes))
}

#[test]
fn defaults_fill_what_is_optional() {
    let config = api(&[]).expect("valid");
    assert_eq!(config.common.table, "keyplane-prod");
    assert_eq!(config.common.region, "eu-west-1");
    assert_eq!(config.common.log_filter, "info");
    assert!(config.admins.is_empty() && config.usage_reporters.is_empty());
    assert_eq!(config.key_env, KeyEnv::Live);

    let config = authorizer(&[]).expect("valid");
    assert_eq!(config.routes.len(), 2);
}

#[test]
fn principals_are_parsed_and_assumed_roles_become_roles() {
    let config = api(&[
        (
            "KEYPLANE_ADMINS",
            "arn:aws:iam::111111111111:user/admin, arn:aws:sts::111111111111:assumed-role/ops/alice",
        ),
        ("KEYPLANE_USAGE_REPORTERS", "arn:aws:iam::111111111111:role/gateway"),
        ("KEYPLANE_KEY_ENV", "test"),
        ("KEYPLANE_LOG", "warn,keyplane_core=debug"),
    ])
    .expect("valid");
    let admins: Vec<&str> = config.admins.iter().map(|p| p.as_str()).collect();
    assert_eq!(
        admins,
        [
            "arn:aws:iam::111111111111:user/admin",
            "arn:aws:iam::111111111111:role/ops"
        ]
    );
    let core = config.core_config();
    assert_eq!(core.usage_reporters.len(), 1);
    assert_eq!(core.key_env, KeyEnv::Test);
    assert_eq!(config.common.log_filter, "warn,keyplane_core=debug");
}

#[test]
fn each_bad_variable_is_named() {
    let cases: [(&str, &str, &str); 12] = [
        ("KEYPLANE_TABLE", "", "is required"),
        ("KEYPLANE_TABLE", "   ", "is required"),
        ("KEYPLANE_TABLE", "no spaces allowed", "DynamoDB table name"),
        ("AWS_REGION", "", "is required"),
        ("AWS_REGION", "EU West", "region name"),
        ("KEYPLANE_LOG", "info,[[[", "tracing filter"),
        (
            "KEYPLANE_ADMINS",
            "arn:aws:iam::111111111111:user/a,,",
            "entry 2 is empty",
        ),
        (
            "KEYPLANE_ADMINS",
            "admin",
            "entry 1: not an IAM principal ARN",
        ),
        ("KEYPLANE_USAGE_REPORTERS", "arn:aws:s3:::bucket", "entry 1"),
        ("KEYPLANE_KEY_ENV", "prod", "must be live or test"),
        ("KEYPLANE_ROUTE_PERMISSIONS", "", "is required"),
        (
            "KEYPLANE_ROUTE_PERMISSIONS",
            r#"{"GET /a/{x": []}"#,
            r#"route "GET /a/{x" has an unclosed brace"#,
        ),
    ];
    for (variable, value, expected) in cases {
        let changes = [(variable, value)];
        let err = if variable == "KEYPLANE_ROUTE_PERMISSIONS" {
            authorizer(&changes).expect_err("invalid")
        } else {
            api(&changes).expect_err("invalid")
        };
        assert_eq!(err.variable, variable, "{err}");
        let text = err.to_string();
        assert!(text.starts_with(&format!("{variable}: ")), "{text}");
        assert!(text.contains(expected), "{variable}={value:?}: {text}");
    }
}

#[test]
fn the_route_error_reads_as_one_line() {
    let err =
        authorizer(&[("KEYPLANE_ROUTE_PERMISSIONS", r#"{"GET /a/{x": []}"#)]).expect_err("invalid");
    assert_eq!(
        err.to_string(),
        r#"KEYPLANE_ROUTE_PERMISSIONS: route "GET /a/{x" has an unclosed brace"#
    );
}

#[test]
fn errors_never_repeat_a_pasted_key() {
    let key = keyplane_core::key_format::ApiKey::mint(KeyEnv::Live);
    let key = key.expose();
    let routes = format!(r#"{{"GET /a": ["{key}"]}}"#);
    let admins = format!("arn:aws:iam::111111111111:user/{key}");
    let route_key = format!(r#"{{"GET /{key}{{": []}}"#);
    for (variable, value) in [
        ("KEYPLANE_ADMINS", admins.as_str()),
        ("KEYPLANE_KEY_ENV", key),
        ("KEYPLANE_TABLE", key),
    ] {
        let err = api(&[(variable, value)]).expect_err("invalid");
        assert!(!err.to_string().contains(&key[8..]), "{err}");
    }
    for value in [routes.as_str(), route_key.as_str()] {
        let err = authorizer(&[("KEYPLANE_ROUTE_PERMISSIONS", value)]).expect_err("invalid");
        assert!(!err.to_string().contains(&key[8..]), "{err}");
    }
}

#[test]
fn the_rotator_reads_the_same_admins_as_the_api() {
    let rotator = |changes: &[(&'static str, &str)]| {
        <RotatorFunctionConfig as FunctionConfig>::from(&env(changes))
    };
    let principal = (
        "KEYPLANE_ROTATION_PRINCIPAL",
        "arn:aws:iam::111111111111:role/keyplane-rotator",
    );
    let config = rotator(&[
        principal,
        (
            "KEYPLANE_ADMINS",
            "arn:aws:sts::111111111111:assumed-role/ops/alice",
        ),
    ])
    .expect("valid");
    let admins: Vec<&str> = config.admins.iter().map(|p| p.as_str()).collect();
    assert_eq!(admins, ["arn:aws:iam::111111111111:role/ops"]);
    assert_eq!(config.rotation.grace_seconds, 7200);

    let err = rotator(&[principal, ("KEYPLANE_ADMINS", "alice")]).expect_err("not an ARN");
    assert_eq!(err.variable, "KEYPLANE_ADMINS");
    let err = rotator(&[]).expect_err("no principal");
    assert_eq!(err.variable, "KEYPLANE_ROTATION_PRINCIPAL");
}

#[test]
fn the_verify_cache_and_last_use_default_and_can_be_tuned_or_turned_off() {
    use std::time::Duration;

    use keyplane_core::service::{LastUseSettings, VerifyCacheSettings};

    let defaults = api(&[]).expect("valid").hot_path;
    assert_eq!(defaults.cache, VerifyCacheSettings::default());
    assert_eq!(defaults.last_use, LastUseSettings::default());

    let tuned = authorizer(&[
        ("KEYPLANE_VERIFY_CACHE_TTL_MS", "250"),
        ("KEYPLANE_VERIFY_CACHE_ENTRIES", "50000"),
        ("KEYPLANE_LAST_USED_FLUSH_SECS", "0"),
    ])
    .expect("valid")
    .hot_path;
    assert_eq!(tuned.cache.ttl, Duration::from_millis(250));
    assert_eq!(tuned.cache.capacity, 50_000);
    assert!(!tuned.last_use.enabled());
    let off = api(&[("KEYPLANE_VERIFY_CACHE_TTL_MS", "0")]).expect("valid");
    assert!(!off.hot_path.cache.enabled());

    for (variable, value) in [
        ("KEYPLANE_VERIFY_CACHE_TTL_MS", "300001"),
        ("KEYPLANE_VERIFY_CACHE_TTL_MS", "5s"),
        ("KEYPLANE_VERIFY_CACHE_ENTRIES", "0"),
        ("KEYPLANE_LAST_USED_FLUSH_SECS", "-1"),
    ] {
        let err = api(&[(variable, value)]).expect_err(value);
        assert_eq!(err.variable, variable);
        assert!(
            err.message.starts_with("must be a whole number from "),
            "{err}"
        );
    }
}

#[test]
fn rate_limits_default_on_and_can_be_tuned_or_turned_off() {
    use std::time::Duration;

    use keyplane_http::Limits;

    assert_eq!(api(&[]).expect("valid").limits, Limits::default());

    let tuned = api(&[
        ("KEYPLANE_RATE_DATA_PLANE", "off"),
        ("KEYPLANE_RATE_LEAK_REPORTS", "5/min:10"),
        ("KEYPLANE_RATE_MANAGEMENT", "100/s"),
        ("KEYPLANE_REQUEST_TIMEOUT_MS", "2500"),
    ])
    .expect("valid")
    .limits;
    assert_eq!(tuned.data_plane, None);
    assert_eq!(
        tuned.leak_reports.map(|r| r.to_string()).as_deref(),
        Some("5/min:10")
    );
    assert_eq!(
        tuned.management.map(|r| r.to_string()).as_deref(),
        Some("100/s")
    );
    assert_eq!(tuned.request_timeout, Duration::from_millis(2500));

    for (variable, value) in [
        ("KEYPLANE_RATE_DATA_PLANE", "fast"),
        ("KEYPLANE_RATE_LEAK_REPORTS", "0/min"),
        ("KEYPLANE_RATE_MANAGEMENT", "10/s:0"),
    ] {
        let err = api(&[(variable, value)]).expect_err(value);
        assert_eq!(err.variable, variable);
        assert!(!err.message.contains(value), "{err}");
    }
    let err = api(&[("KEYPLANE_REQUEST_TIMEOUT_MS", "10")]).expect_err("too short");
    assert_eq!(err.variable, "KEYPLANE_REQUEST_TIMEOUT_MS");
}
