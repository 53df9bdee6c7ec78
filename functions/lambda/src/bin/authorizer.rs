//! The `authorizer` Lambda function: API Gateway authorizer on Keyplane keys.

use std::process::ExitCode;

use keyplane_lambda::authorizer::Authorizer;
use keyplane_lambda::config::AuthorizerConfig;
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> ExitCode {
    let Ok(config) = keyplane_lambda::start::<AuthorizerConfig>() else {
        return ExitCode::FAILURE;
    };
    let authorizer = &Authorizer::from_config(&config).await;
    let handler = service_fn(|event: LambdaEvent<Value>| authorizer.handle(event.payload));
    keyplane_lambda::exit(lambda_runtime::run(handler).await)
}
