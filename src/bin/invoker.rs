//! The `invoker` Lambda: read configuration, build clients once, serve events.

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use xinvoke::adapters::{clients, config::Settings, logging};
use xinvoke::invoke::service::Service;
use xinvoke::lambdas::invoker;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    logging::init_json();
    let settings = Settings::from_env().inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    let base = clients::base_config(settings.timeouts).await;
    let service = Service::new(settings, &base).await;
    let service = &service;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        invoker::handle(service, event)
    }))
    .await
}
