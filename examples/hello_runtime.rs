//! The reference for the invoker's bootstrap: a hello-world `lambda_runtime` bootstrap, built with
//! the same profile as the invoker, so `scripts/bench.sh` can compare spawn-to-first-`/next`, RSS
//! and CPU per warm event. As `#[tokio::main]` builds it (tokio's multi-threaded runtime) by
//! default; with `HELLO_CURRENT_THREAD=1`, on one thread as the invoker runs, the floor of the
//! invoker's CPU per event: the Runtime API's two exchanges and nothing else.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

async fn hello(event: LambdaEvent<Value>) -> Result<Value, Error> {
    Ok(event.payload)
}

fn main() -> Result<(), Error> {
    let mut runtime = if std::env::var_os("HELLO_CURRENT_THREAD").is_some_and(|v| v == "1") {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    runtime
        .enable_all()
        .build()?
        .block_on(lambda_runtime::run(service_fn(hello)))
}
