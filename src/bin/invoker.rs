//! The `invoker` Lambda: read configuration (the HTTP routes, metrics and failure queue too),
//! build clients once, serve events.

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use xinvoke::adapters::failure_queue::FailureQueue;
use xinvoke::adapters::{clients, config, config::Settings, logging};
use xinvoke::lambdas::invoker::{self, Extras};
use xinvoke::lambdas::{http, metrics::Emf};

/// One thread: Lambda hands a sandbox one event at a time and, below 1,769 MB, less than one
/// vCPU. On tokio's multi-threaded runtime every event crossed threads (the runtime's loop on
/// the main thread, the connections' I/O on the workers) at several context switches each,
/// which cost more CPU than the invoke itself (3x the CPU per warm event, measured with
/// `xbench warm`). An SQS batch's records and a load event's requests still run concurrently,
/// as tasks on this thread.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    logging::init_json();
    let settings = Settings::from_env().inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    let metrics =
        Emf::from_lookup(&config::process_env).inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
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
    let extras = Extras {
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
