//! Shared set-up for the wire tests: the local account 2 on a free loopback port, a tiny HTTP
//! client for its control API, and services built as the invoker builds them.
#![allow(dead_code)]

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use std::collections::HashMap;
use xinvoke::adapters::clients;
use xinvoke::adapters::config::{Settings, Timeouts};
use xinvoke::adapters::service::Service;
use xinvoke::local::client::ControlClient;
use xinvoke::local::{builtin, LocalServer, Scenario};

pub async fn start_local() -> LocalServer {
    LocalServer::start(Scenario::builtin(), "127.0.0.1:0".parse().unwrap())
        .await
        .expect("local account 2 starts")
}

/// The control API of a running local account 2.
pub fn control(server: &LocalServer) -> ControlClient {
    ControlClient::new(server.addr())
}

/// Inject a fault; panics if the control API refuses it.
pub async fn fault(server: &LocalServer, spec: serde_json::Value) {
    control(server)
        .fault(&spec)
        .await
        .unwrap_or_else(|e| panic!("fault {spec} refused: {e}"));
}

pub fn source_credentials() -> Credentials {
    Credentials::new(
        builtin::SOURCE_ACCESS_KEY,
        builtin::SOURCE_SECRET_KEY,
        None,
        None,
        "test",
    )
}

pub fn stranger_credentials() -> Credentials {
    Credentials::new(
        builtin::STRANGER_ACCESS_KEY,
        builtin::STRANGER_SECRET_KEY,
        None,
        None,
        "test",
    )
}

/// The base SDK config of an account-1 caller pointed at the local account 2.
pub async fn base(server: &LocalServer, creds: Credentials, timeouts: Timeouts) -> SdkConfig {
    clients::endpoint_config(timeouts, server.url(), creds, builtin::REGION).await
}

/// Fast retries for tests: every retryable class retries `retries` times after 10 ms.
pub fn fast_retry(retries: u32) -> String {
    let classes: Vec<String> = xinvoke::core::Class::ALL
        .iter()
        .map(|c| {
            format!(
                r#""{}": {{"interval_s": 0.01, "backoff_rate": 1.0, "max_retries": {retries}, "max_delay_s": 0.01, "full_jitter": false, "cost": 1}}"#,
                c.name()
            )
        })
        .collect();
    format!(r#"{{"classes": {{{}}}}}"#, classes.join(", "))
}

/// A service configured by `vars` (as the invoker reads its environment).
pub async fn service(server: &LocalServer, creds: Credentials, vars: &[(&str, &str)]) -> Service {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let settings = Settings::from_lookup(|k| map.get(k).cloned()).expect("valid test settings");
    let base = base(server, creds, settings.timeouts).await;
    Service::new(settings, &base).await
}

/// Resource-based: the source role invokes `target:live` with its own credentials.
pub async fn resource_service(server: &LocalServer, extra: &[(&str, &str)]) -> Service {
    let mut vars = vec![("XINVOKE_TARGET_ARN", builtin::TARGET_ALIAS_ARN)];
    vars.extend_from_slice(extra);
    service(server, source_credentials(), &vars).await
}

/// Role chaining: the source role assumes `xinvoke-invoke` and invokes `target`.
pub async fn role_service(server: &LocalServer, extra: &[(&str, &str)]) -> Service {
    let mut vars = vec![
        ("XINVOKE_TARGET_ARN", builtin::TARGET_FUNCTION_ARN),
        ("XINVOKE_ROLE_ARN", builtin::INVOKE_ROLE_ARN),
        ("XINVOKE_EXTERNAL_ID", builtin::EXTERNAL_ID),
    ];
    vars.extend_from_slice(extra);
    service(server, source_credentials(), &vars).await
}
