//! The two Lambda handlers: `invoker` (account 1) and `target` (account 2). Thin: decode the
//! event, call the core through the service (or, for HTTP requests, the gateway's routes),
//! encode the answer. Each binary's `main` is one call: [`run_invoker`], [`run_target`].
//! The handlers run in a process of your own too: [`invoker_handler`]'s example answers a
//! direct event against the local endpoint, [`target_handler`]'s runs the target's behaviour.

pub(crate) mod event;
pub(crate) mod http;
pub(crate) mod invoker;
pub(crate) mod metrics;
pub(crate) mod target;

use crate::adapters::failure_queue::FailureQueue;
use crate::adapters::{clients, config, config::Settings, logging};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

/// The `invoker` function (`src/bin/invoker.rs`): JSON logs, the configuration from the
/// environment (settings, HTTP routes, metrics, failure queue), clients built once, then events
/// served until the runtime stops. A configuration error is logged and returned, so the
/// function fails its init with the variable to fix.
///
/// ```no_run
/// #[tokio::main(flavor = "current_thread")]
/// async fn main() -> Result<(), lambda_runtime::Error> {
///     xinvoke::lambdas::run_invoker().await
/// }
/// ```
pub async fn run_invoker() -> Result<(), lambda_runtime::Error> {
    logging::init_json();
    let settings = Settings::from_env().inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    let metrics = metrics::Emf::from_lookup(&config::process_env)
        .inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    let base = clients::base_config(settings.timeouts).await;
    let routes = http::load_routes(settings.gateway.as_deref(), &config::process_env, Some(&base))
        .await
        .inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    let failures = settings
        .failure_queue_url
        .as_deref()
        .map(|url| FailureQueue::new(&base, url));
    let load_worker = settings.load_worker;
    let service = invoker::service(settings, &base).await;
    let service = &service;
    let extras = invoker::Extras {
        routes: routes.as_ref(),
        metrics: metrics.as_ref(),
        failures: failures.as_ref(),
        load_worker,
    };
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        invoker::handle_with(service, extras, event)
    }))
    .await
}

/// The `target` function (`src/bin/target.rs`): JSON logs, then [`target_handler`] for every
/// event.
///
/// ```no_run
/// #[tokio::main]
/// async fn main() -> Result<(), lambda_runtime::Error> {
///     xinvoke::lambdas::run_target().await
/// }
/// ```
pub async fn run_target() -> Result<(), lambda_runtime::Error> {
    logging::init_json();
    lambda_runtime::run(service_fn(target::handle)).await
}

pub use invoker::{handle as invoker_handler, service as invoker_service};
pub use target::handle as target_handler;
