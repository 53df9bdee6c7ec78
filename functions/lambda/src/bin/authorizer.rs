//! Placeholder `authorizer` Lambda: echoes its event, so the packaging and the
//! runtime tests have a real bootstrap to work on until the function lands.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    Ok(event.payload)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(handler)).await
}
