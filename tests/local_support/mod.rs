//! Shared helpers of the `local_*` integration tests: start a server, build real SDK clients
//! pointed at it, call the control API.
#![allow(dead_code)]

use aws_credential_types::Credentials;
use aws_sdk_lambda::config::{BehaviorVersion, Region};
use aws_smithy_types::retry::RetryConfig;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use xinvoke::local::{builtin, LocalServer, Scenario};

pub async fn start() -> LocalServer {
    start_with(Scenario::builtin()).await
}

pub async fn start_with(scenario: Scenario) -> LocalServer {
    LocalServer::start(scenario, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("server starts")
}

pub fn scenario_file(name: &str) -> Scenario {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scenarios")
        .join(name);
    Scenario::from_path(&path).expect("scenario parses")
}

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
    lambda_with(server, Credentials::new(akid, secret, None, None, "test"))
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
        .credentials_provider(Credentials::new(akid, secret, None, None, "test"))
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
