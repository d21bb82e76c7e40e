//! The reference for invoker init: a hello-world `lambda_runtime` bootstrap, built with the same
//! profile as the invoker, so `scripts/bench.sh` can compare spawn-to-first-`/next` and RSS.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

async fn hello(event: LambdaEvent<Value>) -> Result<Value, Error> {
    Ok(event.payload)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(hello)).await
}
