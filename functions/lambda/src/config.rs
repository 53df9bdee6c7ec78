//! Each function's configuration, read from the environment once, at cold
//! start. A problem is one [`ConfigError`] naming the variable, so a bad
//! deployment fails its first invocation with a message that says what to
//! fix, instead of misbehaving on some later request.
//!
//! The helpers ([`Env::required`], [`Env::optional`], [`Env::principals`])
//! are shared by every function's section.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;

use std::time::Duration;

use keyplane_core::key_format::KeyEnv;
use keyplane_core::principal::Principal;
use keyplane_core::service::{LastUseSettings, VerifyCacheSettings};
use keyplane_core::Keyplane;
use keyplane_http::{parse_rate, Limits, Rate};

use crate::authorizer::routes::RouteTable;

/// The DynamoDB table (name or ARN). Every function.
pub const KEYPLANE_TABLE: &str = "KEYPLANE_TABLE";
/// The region; Lambda sets it. Every function.
pub const AWS_REGION: &str = "AWS_REGION";
/// The `tracing` filter, e.g. `info` or `info,keyplane_core=debug`. Every function.
pub const KEYPLANE_LOG: &str = "KEYPLANE_LOG";
/// Platform admins, comma-separated IAM ARNs. `api`.
pub const KEYPLANE_ADMINS: &str = "KEYPLANE_ADMINS";
/// Principals that may report usage, comma-separated IAM ARNs. `api`.
pub const KEYPLANE_USAGE_REPORTERS: &str = "KEYPLANE_USAGE_REPORTERS";
/// `live` or `test`: the environment of minted keys. `api`.
pub const KEYPLANE_KEY_ENV: &str = "KEYPLANE_KEY_ENV";
/// The authorizer's route table, JSON. `authorizer`.
pub const KEYPLANE_ROUTE_PERMISSIONS: &str = "KEYPLANE_ROUTE_PERMISSIONS";

/// How long verify answers may be served from memory, in milliseconds
/// (default 5000, 0 turns the cache off, at most 300000). `api`, `authorizer`.
pub const KEYPLANE_VERIFY_CACHE_TTL_MS: &str = "KEYPLANE_VERIFY_CACHE_TTL_MS";
/// How many verify answers the cache keeps (default 10000). `api`, `authorizer`.
pub const KEYPLANE_VERIFY_CACHE_ENTRIES: &str = "KEYPLANE_VERIFY_CACHE_ENTRIES";
/// Least seconds between two writes of noted last uses (default 60, 0 turns
/// last-use recording of plain verifies off). `api`, `authorizer`.
pub const KEYPLANE_LAST_USED_FLUSH_SECS: &str = "KEYPLANE_LAST_USED_FLUSH_SECS";

/// Verify and whoami requests allowed per client address in one container:
/// `COUNT/s`, `COUNT/min` or `COUNT/h`, optionally `:BURST`, or `off`
/// (default `2000/s:4000`). `api`.
pub const KEYPLANE_RATE_DATA_PLANE: &str = "KEYPLANE_RATE_DATA_PLANE";
/// Leak reports allowed per client address in one container, in the same
/// form (default `60/min:30`). `api`.
pub const KEYPLANE_RATE_LEAK_REPORTS: &str = "KEYPLANE_RATE_LEAK_REPORTS";
/// Management requests allowed per IAM caller in one container, in the same
/// form (default `20/s:50`). `api`.
pub const KEYPLANE_RATE_MANAGEMENT: &str = "KEYPLANE_RATE_MANAGEMENT";
/// How long a request may take in the Router, in milliseconds (default
/// 10000). `api`.
pub const KEYPLANE_REQUEST_TIMEOUT_MS: &str = "KEYPLANE_REQUEST_TIMEOUT_MS";

/// The log filter when [`KEYPLANE_LOG`] is unset.
pub const DEFAULT_LOG_FILTER: &str = "info";

/// A configuration problem: which variable, and what is wrong with it.
/// Messages never repeat a value that could be a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub variable: &'static str,
    /// What is wrong and, where it helps, what is expected.
    pub message: String,
}

impl ConfigError {
    /// A problem with `variable`.
    pub fn new(variable: &'static str, message: impl Into<String>) -> Self {
        Self {
            variable,
            message: message.into(),
        }
    }
}

/// Where configuration comes from: the process environment in Lambda, a
/// map in tests (so tests never change the environment other tests read).
pub struct Env {
    lookup: Lookup,
}

/// Reads one variable.
type Lookup = Box<dyn Fn(&str) -> Option<OsString> + Send + Sync>;

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Env").finish_non_exhaustive()
    }
}

impl Env {
    /// The process environment.
    pub fn process() -> Self {
        Self {
            lookup: Box::new(|name| std::env::var_os(name)),
        }
    }

    /// Exactly these variables.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let vars: HashMap<String, OsString> = pairs
            .into_iter()
            .map(|(name, value)| (name.to_owned(), OsString::from(value)))
            .collect();
        Self {
            lookup: Box::new(move |name| vars.get(name).cloned()),
        }
    }

    /// The value of `variable`; unset, blank or not UTF-8 is an error.
    pub fn required(&self, variable: &'static str) -> Result<String, ConfigError> {
        self.optional(variable)?
            .ok_or_else(|| ConfigError::new(variable, "is required but not set"))
    }

    /// The value of `variable`, trimmed; unset or blank is `None`, so an
    /// empty assignment left in a template means "use the default".
    pub fn optional(&self, variable: &'static str) -> Result<Option<String>, ConfigError> {
        let Some(raw) = (self.lookup)(variable) else {
            return Ok(None);
        };
        let text = raw
            .into_string()
            .map_err(|_| ConfigError::new(variable, "is not valid UTF-8"))?;
        let text = text.trim();
        Ok((!text.is_empty()).then(|| text.to_owned()))
    }

    /// A whole number in `range`; unset or blank is `None`.
    pub fn number(
        &self,
        variable: &'static str,
        range: std::ops::RangeInclusive<u128>,
    ) -> Result<Option<u128>, ConfigError> {
        let Some(text) = self.optional(variable)? else {
            return Ok(None);
        };
        let problem = || {
            ConfigError::new(
                variable,
                format!(
                    "must be a whole number from {} to {}",
                    range.start(),
                    range.end()
                ),
            )
        };
        let value: u128 = text.parse().map_err(|_| problem())?;
        range
            .contains(&value)
            .then_some(Some(value))
            .ok_or_else(problem)
    }

    /// A rate or `off`; unset or blank is `default`.
    pub fn rate(
        &self,
        variable: &'static str,
        default: Option<Rate>,
    ) -> Result<Option<Rate>, ConfigError> {
        match self.optional(variable)? {
            None => Ok(default),
            Some(text) => parse_rate(&text).map_err(|_| {
                ConfigError::new(
                    variable,
                    "must be COUNT/s, COUNT/min or COUNT/h, optionally :BURST (e.g. 100/s:200), or off",
                )
            }),
        }
    }

    /// A comma-separated list of IAM principal ARNs; unset is empty.
    /// Assumed-role session ARNs become their role.
    pub fn principals(&self, variable: &'static str) -> Result<Vec<Principal>, ConfigError> {
        let Some(list) = self.optional(variable)? else {
            return Ok(Vec::new());
        };
        let mut principals = Vec::new();
        for (index, item) in list.split(',').map(str::trim).enumerate() {
            if item.is_empty() {
                return Err(ConfigError::new(
                    variable,
                    format!(
                        "entry {} is empty; separate ARNs with single commas",
                        index + 1
                    ),
                ));
            }
            let principal = Principal::parse(item).map_err(|err| {
                // The parser's message never quotes its input: an entry
                // could be a pasted secret.
                ConfigError::new(variable, format!("entry {}: {}", index + 1, err.message))
            })?;
            if !principals.contains(&principal) {
                principals.push(principal);
            }
        }
        Ok(principals)
    }
}

/// What every function needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Common {
    /// The DynamoDB table, from [`KEYPLANE_TABLE`].
    pub table: String,
    /// The region, from [`AWS_REGION`]. The SDK reads it itself; it is
    /// checked here so that its absence fails at start, not on a request.
    pub region: String,
    /// The log filter, from [`KEYPLANE_LOG`].
    pub log_filter: String,
}

impl Common {
    /// Reads and checks the shared variables.
    pub fn from(env: &Env) -> Result<Self, ConfigError> {
        let table = env.required(KEYPLANE_TABLE)?;
        if keyplane_core::key_format::contains_key(&table) {
            return Err(ConfigError::new(
                KEYPLANE_TABLE,
                "holds an API key, not a table name; remove the key from the function's environment",
            ));
        }
        if !is_table_name(&table) && !table.starts_with("arn:") {
            return Err(ConfigError::new(
                KEYPLANE_TABLE,
                "must be a DynamoDB table name (3 to 255 characters of A-Z a-z 0-9 _ - .) or a table ARN",
            ));
        }
        let region = env.required(AWS_REGION)?;
        if !region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(ConfigError::new(
                AWS_REGION,
                "must be a region name such as eu-west-1",
            ));
        }
        let log_filter = env
            .optional(KEYPLANE_LOG)?
            .unwrap_or_else(|| DEFAULT_LOG_FILTER.to_owned());
        crate::logging::filter(&log_filter).map_err(|err| {
            ConfigError::new(
                KEYPLANE_LOG,
                format!("is not a tracing filter such as info or info,keyplane_core=debug: {err}"),
            )
        })?;
        Ok(Self {
            table,
            region,
            log_filter,
        })
    }
}

/// The verify path's memory: cache and last-use recording. Functions that
/// verify keys (`api`, `authorizer`) read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HotPath {
    /// From [`KEYPLANE_VERIFY_CACHE_TTL_MS`] and [`KEYPLANE_VERIFY_CACHE_ENTRIES`].
    pub cache: VerifyCacheSettings,
    /// From [`KEYPLANE_LAST_USED_FLUSH_SECS`].
    pub last_use: LastUseSettings,
}

impl HotPath {
    /// Reads and checks the variables; unset means the default.
    pub fn from(env: &Env) -> Result<Self, ConfigError> {
        let max_ms = VerifyCacheSettings::MAX_TTL.as_millis();
        let ttl_ms = env.number(KEYPLANE_VERIFY_CACHE_TTL_MS, 0..=max_ms)?;
        let entries = env.number(KEYPLANE_VERIFY_CACHE_ENTRIES, 1..=10_000_000)?;
        let flush = env.number(KEYPLANE_LAST_USED_FLUSH_SECS, 0..=86_400)?;
        let defaults = (VerifyCacheSettings::default(), LastUseSettings::default());
        Ok(Self {
            cache: VerifyCacheSettings {
                ttl: ttl_ms.map_or(defaults.0.ttl, |ms| {
                    Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
                }),
                capacity: entries.map_or(defaults.0.capacity, |n| {
                    usize::try_from(n).unwrap_or(usize::MAX)
                }),
            },
            last_use: LastUseSettings {
                interval: flush.map_or(defaults.1.interval, |secs| {
                    Duration::from_secs(u64::try_from(secs).unwrap_or(u64::MAX))
                }),
                ..defaults.1
            },
        })
    }

    /// `keyplane` with this cache and last-use recording.
    pub fn apply(&self, keyplane: Keyplane) -> Keyplane {
        keyplane
            .with_verify_cache(self.cache)
            .with_last_use(self.last_use)
    }
}

/// The Router's limits. API Gateway enforces its own header ceiling (10
/// KiB) and timeout in front of the function, so only rates and the
/// deadline are settings here.
fn limits(env: &Env) -> Result<Limits, ConfigError> {
    let timeout_ms = env.number(KEYPLANE_REQUEST_TIMEOUT_MS, 100..=300_000)?;
    Ok(Limits {
        data_plane: env.rate(KEYPLANE_RATE_DATA_PLANE, Some(Limits::DATA_PLANE))?,
        leak_reports: env.rate(KEYPLANE_RATE_LEAK_REPORTS, Some(Limits::LEAK_REPORTS))?,
        management: env.rate(KEYPLANE_RATE_MANAGEMENT, Some(Limits::MANAGEMENT))?,
        request_timeout: timeout_ms.map_or(Limits::REQUEST_TIMEOUT, |ms| {
            Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
        }),
        ..Limits::default()
    })
}

fn is_table_name(name: &str) -> bool {
    (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// A function's configuration: gives the shared part to the start-up code.
pub trait FunctionConfig: Sized {
    /// Reads the whole configuration from `env`.
    fn from(env: &Env) -> Result<Self, ConfigError>;
    /// The shared part.
    fn common(&self) -> &Common;
}

/// The `api` function.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Table, region, logs.
    pub common: Common,
    /// Platform admins, from [`KEYPLANE_ADMINS`].
    pub admins: Vec<Principal>,
    /// Usage reporters, from [`KEYPLANE_USAGE_REPORTERS`].
    pub usage_reporters: Vec<Principal>,
    /// The environment of minted keys, from [`KEYPLANE_KEY_ENV`] (default `live`).
    pub key_env: KeyEnv,
    /// Verify cache and last-use recording.
    pub hot_path: HotPath,
    /// Rate limits and the request deadline, per container.
    pub limits: Limits,
}

impl ApiConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        <Self as FunctionConfig>::from(&Env::process())
    }

    /// The use cases' settings.
    pub fn core_config(&self) -> keyplane_core::Config {
        keyplane_core::Config {
            admins: self.admins.clone(),
            usage_reporters: self.usage_reporters.clone(),
            key_env: self.key_env,
            rotators: Vec::new(),
        }
    }
}

impl FunctionConfig for ApiConfig {
    fn from(env: &Env) -> Result<Self, ConfigError> {
        let common = Common::from(env)?;
        let admins = env.principals(KEYPLANE_ADMINS)?;
        let usage_reporters = env.principals(KEYPLANE_USAGE_REPORTERS)?;
        let key_env = match env.optional(KEYPLANE_KEY_ENV)?.as_deref() {
            None | Some("live") => KeyEnv::Live,
            Some("test") => KeyEnv::Test,
            Some(_) => return Err(ConfigError::new(KEYPLANE_KEY_ENV, "must be live or test")),
        };
        Ok(Self {
            common,
            admins,
            usage_reporters,
            key_env,
            hot_path: HotPath::from(env)?,
            limits: limits(env)?,
        })
    }

    fn common(&self) -> &Common {
        &self.common
    }
}

/// The `authorizer` function.
#[derive(Debug, Clone)]
pub struct AuthorizerConfig {
    /// Table, region, logs.
    pub common: Common,
    /// Which permissions each route needs, from [`KEYPLANE_ROUTE_PERMISSIONS`].
    pub routes: RouteTable,
    /// Verify cache and last-use recording.
    pub hot_path: HotPath,
}

impl AuthorizerConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        <Self as FunctionConfig>::from(&Env::process())
    }
}

impl FunctionConfig for AuthorizerConfig {
    fn from(env: &Env) -> Result<Self, ConfigError> {
        let common = Common::from(env)?;
        let routes = RouteTable::parse(&env.required(KEYPLANE_ROUTE_PERMISSIONS)?)
            .map_err(|err| ConfigError::new(KEYPLANE_ROUTE_PERMISSIONS, err.to_string()))?;
        Ok(Self {
            common,
            routes,
            hot_path: HotPath::from(env)?,
        })
    }

    fn common(&self) -> &Common {
        &self.common
    }
}
