//! The `api` Lambda function: Keyplane's Router behind API Gateway.

use std::process::ExitCode;

use keyplane_lambda::api;
use keyplane_lambda::config::ApiConfig;

#[tokio::main]
async fn main() -> ExitCode {
    let Ok(config) = keyplane_lambda::start::<ApiConfig>() else {
        return ExitCode::FAILURE;
    };
    let state = api::state(&config).await;
    keyplane_lambda::exit(api::run(state, config.limits).await)
}
