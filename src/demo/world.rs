//! What both demos start from: the built-in scenario served in-process on a free port, and
//! account 1's callers of it.

use super::error::DemoError;
use crate::adapters::clients;
use crate::adapters::config::Timeouts;
use crate::local::{builtin, LocalServer, Scenario};
use aws_credential_types::Credentials;

/// The local endpoint with the built-in scenario, on a free loopback port.
pub(super) async fn start() -> Result<LocalServer, DemoError> {
    Ok(LocalServer::start(Scenario::builtin(), ([127, 0, 0, 1], 0).into()).await?)
}

/// The invoker's execution role in account 1 (`xinvoke-source`): a session's keys.
pub(super) fn source_credentials() -> Credentials {
    Credentials::new(
        builtin::SOURCE_ACCESS_KEY,
        builtin::SOURCE_SECRET_KEY,
        Some(builtin::SOURCE_SESSION_TOKEN.to_string()),
        None,
        "demo",
    )
}

/// An SDK configuration that reaches `server` with `credentials`.
pub(super) async fn caller(server: &LocalServer, credentials: Credentials) -> aws_config::SdkConfig {
    clients::endpoint_config(Timeouts::default(), server.url(), credentials, builtin::REGION).await
}
