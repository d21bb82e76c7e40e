//! The `invoker` Lambda: read configuration (the HTTP routes and metrics settings too), build
//! clients once, serve events.

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use xinvoke::adapters::{clients, config, config::Settings, logging};
use xinvoke::invoke::service::Service;
use xinvoke::lambdas::invoker::{self, Extras};
use xinvoke::lambdas::{http, metrics::Emf};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    logging::init_json();
    let settings = Settings::from_env().inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    let metrics =
        Emf::from_lookup(&config::process_env).inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    let base = clients::base_config(settings.timeouts).await;
    let routes = http::load_routes(settings.gateway.as_deref(), &config::process_env, Some(&base))
        .await
        .inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    let service = Service::new(settings, &base).await;
    let service = &service;
    let extras = Extras {
        routes: routes.as_ref(),
        metrics: metrics.as_ref(),
    };
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        invoker::handle_with(service, extras, event)
    }))
    .await
}
