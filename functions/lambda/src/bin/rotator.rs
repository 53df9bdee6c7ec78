//! The Secrets Manager rotation function: see `keyplane_lambda::rotator`.

use std::process::ExitCode;

use keyplane_lambda::rotator::{RotationEvent, Rotator, RotatorFunctionConfig};
use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> ExitCode {
    let Ok(config) = keyplane_lambda::start::<RotatorFunctionConfig>() else {
        return ExitCode::FAILURE;
    };
    let rotator = &Rotator::from_config(&config).await;
    keyplane_lambda::exit(
        lambda_runtime::run(service_fn(|event: LambdaEvent<RotationEvent>| async move {
            rotator
                .handle(&event.payload, Some(event.context.request_id))
                .await
        }))
        .await,
    )
}
