//! A Lambda function of your own that calls a function in another account through xinvoke and
//! answers with the outcome: the class of what happened (`ok`, `throttled`,
//! `access_denied_resource`, ...), how many attempts it took, and the target's answer.
//!
//! Copy it into your crate (`xinvoke = { version = "0.1", default-features = false }`, plus
//! `lambda_runtime`, `serde_json` and `tokio`), then configure it as the `invoker` function is
//! (docs/configuration.md):
//!
//! - `XINVOKE_TARGET_ARN`: the target, e.g. `arn:aws:lambda:us-east-1:222222222222:function:target:live`;
//! - resource-based (the target's policy names this function's role): nothing else;
//! - role chaining: `XINVOKE_ROLE_ARN` (the role to assume in the target's account) and
//!   `XINVOKE_EXTERNAL_ID` (its trust policy's `sts:ExternalId`);
//! - optional: `XINVOKE_RETRY` (per-class retries), `XINVOKE_ATTEMPT_TIMEOUT_MS`,
//!   `XINVOKE_DEADLINE_MARGIN_MS`.
//!
//! Build it as any Rust function: `cargo lambda build --release --example cross_account`.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // Once per sandbox: configuration (a mistake fails the init and names the variable to fix),
    // the AWS config, the clients and, for role chaining, the assumed-role session.
    let settings = xinvoke::Settings::from_env()?;
    let base = xinvoke::base_config(settings.timeouts()).await;
    let service = xinvoke::Service::new(settings, &base).await;
    let service = &service;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        // The target gets the event as it came; its answer comes back in the record.
        let call = xinvoke::Call::payload(serde_json::to_vec(&event.payload)?);
        let record = service.invoke(call, Some(deadline(&event))).await?;
        Ok::<Value, Error>(json!({
            "class": record.class().name(),
            "attempts": record.attempts,
            "answer": record.payload,
        }))
    }))
    .await
}

/// This invocation's deadline as the retry loop reads it: no attempt starts, and no retry
/// waits, past it.
fn deadline(event: &LambdaEvent<Value>) -> tokio::time::Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let left = Duration::from_millis(event.context.deadline.saturating_sub(now_ms));
    tokio::time::Instant::now() + left
}
