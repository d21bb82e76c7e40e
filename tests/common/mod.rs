//! Shared set-up of the integration tests: the local endpoint on a free loopback port, its
//! control API (typed, and raw for tests of the API itself), real SDK clients pointed at it,
//! and services built as the invoker builds them.
#![allow(dead_code)]

pub mod runtime_api;

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_sdk_lambda::config::{BehaviorVersion, Region};
use aws_smithy_types::retry::RetryConfig;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::collections::HashMap;
use xinvoke::adapters::clients;
use xinvoke::adapters::config::{Settings, Timeouts};
use xinvoke::adapters::signed::InvokePath;
use xinvoke::invoke::service::Service;
use xinvoke::local::client::ControlClient;
use xinvoke::local::{builtin, LocalServer, Scenario};

/// The local endpoint with the built-in scenario.
pub async fn start() -> LocalServer {
    start_with(Scenario::builtin()).await
}

pub async fn start_with(scenario: Scenario) -> LocalServer {
    LocalServer::start(scenario, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("local endpoint starts")
}

/// A scenario of `tests/scenarios`.
pub fn scenario_file(name: &str) -> Scenario {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scenarios")
        .join(name);
    Scenario::from_path(&path).expect("scenario parses")
}

/// The control API of a running local endpoint.
pub fn control_client(server: &LocalServer) -> ControlClient {
    ControlClient::new(server.addr())
}

/// Inject a fault; panics if the control API refuses it.
pub async fn fault(server: &LocalServer, spec: serde_json::Value) {
    control_client(server)
        .fault(&spec)
        .await
        .unwrap_or_else(|e| panic!("fault {spec} refused: {e}"));
}

/// The credentials of `akid`: a role session's (`ASIA`) carry its session token, which is the
/// built-in source's [`builtin::SOURCE_SESSION_TOKEN`], or, in the scenarios the tests write,
/// the secret followed by `-token`; a user's long-term key (`AKIA`) has none.
pub fn credentials(akid: &str, secret: &str) -> Credentials {
    let token = match akid {
        builtin::SOURCE_ACCESS_KEY => Some(builtin::SOURCE_SESSION_TOKEN.to_string()),
        k if k.starts_with("ASIA") => Some(format!("{secret}-token")),
        _ => None,
    };
    Credentials::new(akid, secret, token, None, "test")
}

/// A session of the invoker's execution role, `xinvoke-source` (ASIA key and token, as
/// Lambda hands them to a function).
pub fn source_credentials() -> Credentials {
    credentials(builtin::SOURCE_ACCESS_KEY, builtin::SOURCE_SECRET_KEY)
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

/// The base SDK config of an account-1 caller pointed at the local endpoint.
pub async fn base(server: &LocalServer, creds: Credentials, timeouts: Timeouts) -> SdkConfig {
    clients::endpoint_config(timeouts, server.url(), creds, builtin::REGION).await
}

/// Fast retries for tests: every retryable class retries `retries` times after 10 ms.
pub fn fast_retry(retries: u32) -> String {
    let classes: Vec<String> = xinvoke::core::Class::ALL
        .iter()
        .map(|c| {
            format!(
                r#""{}": {{"interval_s": 0.01, "backoff_rate": 1.0, "max_retries": {retries}, "max_delay_s": 0.01, "jitter": "none", "cost": 1}}"#,
                c.name()
            )
        })
        .collect();
    format!(r#"{{"classes": {{{}}}}}"#, classes.join(", "))
}

/// A service configured by `vars` (as the invoker reads its environment), built as the invoker
/// builds it (`invoker::service`: the signed path, the SDK where it cannot be built).
pub async fn service(server: &LocalServer, creds: Credentials, vars: &[(&str, &str)]) -> Service {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let settings = Settings::from_lookup(|k| map.get(k).cloned()).expect("valid test settings");
    let base = base(server, creds, settings.timeouts).await;
    xinvoke::lambdas::invoker::service(settings, &base).await
}

/// As [`service`], sending invokes on `path`.
pub async fn service_on(server: &LocalServer, creds: Credentials, vars: &[(&str, &str)], path: InvokePath) -> Service {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let settings = Settings::from_lookup(|k| map.get(k).cloned()).expect("valid test settings");
    let base = base(server, creds, settings.timeouts).await;
    Service::with_path(settings, &base, path).await
}

/// Resource-based: the source role invokes `target:live` with its own credentials.
pub async fn resource_service(server: &LocalServer, extra: &[(&str, &str)]) -> Service {
    let mut vars = vec![("XINVOKE_TARGET_ARN", builtin::TARGET_ALIAS_ARN)];
    vars.extend_from_slice(extra);
    service(server, source_credentials(), &vars).await
}

/// Role chaining: the source role assumes `xinvoke-invoke` and invokes `target`.
pub async fn role_service(server: &LocalServer, extra: &[(&str, &str)]) -> Service {
    service(server, source_credentials(), &role_vars(extra)).await
}

/// As [`role_service`] with the default settings, sending invokes on `path`.
pub async fn role_service_on(server: &LocalServer, path: InvokePath) -> Service {
    service_on(server, source_credentials(), &role_vars(&[]), path).await
}

fn role_vars<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut vars = vec![
        ("XINVOKE_TARGET_ARN", builtin::TARGET_FUNCTION_ARN),
        ("XINVOKE_ROLE_ARN", builtin::INVOKE_ROLE_ARN),
        ("XINVOKE_EXTERNAL_ID", builtin::EXTERNAL_ID),
    ];
    vars.extend_from_slice(extra);
    vars
}

/// Run `f` on every item at once, each in its own task; the results in order.
pub async fn concurrently<T, R, F, Fut>(items: Vec<T>, f: F) -> Vec<R>
where
    T: Send + Sync + 'static,
    R: Send + 'static,
    F: Fn(std::sync::Arc<T>) -> Fut,
    Fut: std::future::Future<Output = R> + Send + 'static,
{
    let tasks: Vec<_> = items
        .into_iter()
        .map(|item| tokio::spawn(f(std::sync::Arc::new(item))))
        .collect();
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await.expect("the task did not panic"));
    }
    out
}

/// A Lambda client with `creds`, no retries, on xinvoke's transport.
pub fn lambda_with(server: &LocalServer, creds: Credentials) -> aws_sdk_lambda::Client {
    let conf = aws_sdk_lambda::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(builtin::REGION))
        .http_client(xinvoke::adapters::transport::sdk_http_client())
        .credentials_provider(creds)
        .endpoint_url(server.url())
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_lambda::Client::from_conf(conf)
}

pub fn lambda(server: &LocalServer, akid: &str, secret: &str) -> aws_sdk_lambda::Client {
    lambda_with(server, credentials(akid, secret))
}

pub fn source_lambda(server: &LocalServer) -> aws_sdk_lambda::Client {
    lambda(server, builtin::SOURCE_ACCESS_KEY, builtin::SOURCE_SECRET_KEY)
}

pub fn admin_lambda(server: &LocalServer) -> aws_sdk_lambda::Client {
    lambda(server, builtin::ADMIN_ACCESS_KEY, builtin::ADMIN_SECRET_KEY)
}

pub fn sts(server: &LocalServer, akid: &str, secret: &str) -> aws_sdk_sts::Client {
    let conf = aws_sdk_sts::config::Builder::new()
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .region(aws_sdk_sts::config::Region::new(builtin::REGION))
        .http_client(xinvoke::adapters::transport::sdk_http_client())
        .credentials_provider(credentials(akid, secret))
        .endpoint_url(server.url())
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_sts::Client::from_conf(conf)
}

pub fn source_sts(server: &LocalServer) -> aws_sdk_sts::Client {
    sts(server, builtin::SOURCE_ACCESS_KEY, builtin::SOURCE_SECRET_KEY)
}

/// Assume the invoke role with the right ExternalId and return its credentials.
pub async fn assumed_credentials(server: &LocalServer) -> Credentials {
    let out = source_sts(server)
        .assume_role()
        .role_arn(builtin::INVOKE_ROLE_ARN)
        .role_session_name("xinvoke-test")
        .external_id(builtin::EXTERNAL_ID)
        .send()
        .await
        .expect("assume role");
    let c = out.credentials().expect("credentials");
    Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "assumed",
    )
}

/// Call the control API; returns the status and the JSON answer.
pub async fn control(
    server: &LocalServer,
    method: &str,
    path: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let client: Client<_, Full<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let req = axum::http::Request::builder()
        .method(method)
        .uri(format!("{}{path}", server.url()))
        .header("content-type", "application/json")
        .body(Full::new(bytes::Bytes::from(serde_json::to_vec(&body).unwrap())))
        .unwrap();
    let resp = client.request(req).await.expect("control call");
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

/// Wait until every event the endpoint accepted has run to its end (succeeded, or delivered
/// or dropped after its retries): an `Event` invoke's 202 only says it was queued.
pub async fn settle_events(server: &LocalServer) {
    for _ in 0..500 {
        let s = server.stats();
        let ended = s.events_succeeded + s.events_to_destination + s.events_to_dead_letter_queue + s.events_dropped;
        if s.events_waiting == 0 && ended == s.events_queued {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("queued events did not settle: {:?}", server.stats());
}

/// Whether a fault of this error applies when a queued event runs (a throttle or a 5xx), not
/// when the `Event` invoke is accepted.
pub fn applies_when_run(error: &str) -> bool {
    xinvoke::core::errors::lambda_error(error).is_some_and(|r| r.status >= 500 || r.status == 429)
}
