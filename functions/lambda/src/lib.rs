//! Keyplane's AWS Lambda functions: `api` (the Router behind API Gateway),
//! `authorizer` (API Gateway Lambda authorizer for customers' APIs) and
//! `rotator` (Secrets Manager rotation of keys bound to a secret).
//!
//! The binaries in `src/bin` only read their configuration, start logging,
//! build their state and hand a handler from this library to the Lambda
//! runtime; everything they run is here and tested in-process.

pub mod api;
pub mod authorizer;
pub mod config;
pub mod logging;
pub mod rotator;
mod stage;

use std::process::ExitCode;

use config::{ConfigError, Env, FunctionConfig};

/// Cold start: reads the function's configuration and starts logging with
/// its filter. A bad configuration is logged (with the default filter) as
/// one error naming the variable, and returned so `main` can exit non-zero
/// before the runtime asks for an event.
pub fn start<C: FunctionConfig>() -> Result<C, ConfigError> {
    start_with(&Env::process())
}

/// [`start`] with configuration from `env`.
pub fn start_with<C: FunctionConfig>(env: &Env) -> Result<C, ConfigError> {
    let config = C::from(env);
    let directives = match &config {
        Ok(config) => config.common().log_filter.as_str(),
        Err(_) => config::DEFAULT_LOG_FILTER,
    };
    if let Err(err) = logging::init(directives) {
        // Unreachable in practice (the filter was checked while reading the
        // configuration), but a function must not run without logs.
        eprintln!("cannot start logging: {err}");
        return Err(ConfigError::new(config::KEYPLANE_LOG, err.to_string()));
    }
    if let Err(err) = &config {
        tracing::error!(variable = err.variable, error = %err, "invalid configuration");
    }
    config
}

/// The process exit status once the runtime stops: it only returns on a
/// failure to talk to the Lambda runtime API.
pub fn exit(result: Result<(), lambda_runtime::Error>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "the Lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}
