//! The Secrets Manager rotation function: see `keyplane_lambda::rotator`.

use keyplane_lambda::rotator::{RotationEvent, Rotator, RotatorConfig};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let table = std::env::var("KEYPLANE_TABLE").map_err(|_| "KEYPLANE_TABLE: required")?;
    let config = RotatorConfig::from_vars(|name| std::env::var(name).ok())?;
    let rotator = &Rotator::from_env(table, config).await;
    lambda_runtime::run(service_fn(|event: LambdaEvent<RotationEvent>| async move {
        rotator
            .handle(&event.payload, Some(event.context.request_id))
            .await
    }))
    .await
}
