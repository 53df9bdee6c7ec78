//! The `api` Lambda function: Keyplane's Router behind API Gateway.

use std::process::ExitCode;

use keyplane_lambda::api;
use keyplane_lambda::config::ApiConfig;

#[tokio::main]
async fn main() -> ExitCode {
    let Ok(config) = keyplane_lambda::start::<ApiConfig>() else {
        return ExitCode::FAILURE;
    };
    keyplane_lambda::exit(api::run(api::state(&config).await).await)
}
