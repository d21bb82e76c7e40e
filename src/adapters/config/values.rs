//! Values with rules of their own: the external id (a secret) and the session name.

use serde::Deserialize;
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// The external id of an assumed role: a shared secret between the accounts, kept out of
/// logs, `Debug` output and errors.
#[derive(Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(transparent)]
pub struct ExternalId(String);

impl ExternalId {
    /// The value, for the one place that needs it: the AssumeRole request.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ExternalId(<redacted>)")
    }
}

/// Why a string is not an external id (the value itself is never repeated).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("an external id must be 2-1224 characters of letters, digits and +=,.@:/-_")]
pub struct BadExternalId;

impl FromStr for ExternalId {
    type Err = BadExternalId;
    fn from_str(v: &str) -> Result<Self, BadExternalId> {
        let ok = (2..=1224).contains(&v.len())
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+=,.@:/-_".contains(&b));
        ok.then(|| ExternalId(v.to_string())).ok_or(BadExternalId)
    }
}

/// Where the invoker's HTTP routes are read at cold start: a file of the deployment package
/// (`XINVOKE_GATEWAY_CONFIG`), an SSM parameter (`XINVOKE_GATEWAY_CONFIG_SSM`: no 4 KB wall, a
/// SecureString for external ids) or the text itself (`XINVOKE_GATEWAY_CONFIG_TEXT`, YAML or
/// JSON; all of a function's variables share 4 KB).
#[derive(Clone, PartialEq, Eq)]
pub enum GatewaySource {
    File(std::path::PathBuf),
    /// The parameter's name (`/xinvoke/routes`) or ARN.
    Ssm(String),
    Text(String),
}

impl fmt::Debug for GatewaySource {
    // The text may hold an upstream's external id: its length only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GatewaySource::File(p) => f.debug_tuple("File").field(p).finish(),
            GatewaySource::Ssm(name) => f.debug_tuple("Ssm").field(name).finish(),
            GatewaySource::Text(t) => write!(f, "Text(<{} bytes>)", t.len()),
        }
    }
}

/// An assumed-role session name: 2-64 characters of `[\w+=,.@-]` (STS's `roleSessionName`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionName(pub(super) String);

/// Why a string is not a session name.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("a session name must be 2-64 characters of letters, digits and +=,.@_-")]
pub struct BadSessionName;

impl FromStr for SessionName {
    type Err = BadSessionName;
    fn from_str(s: &str) -> Result<Self, BadSessionName> {
        let ok = (2..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
        ok.then(|| SessionName(s.to_string())).ok_or(BadSessionName)
    }
}

impl SessionName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A session name from the Lambda function's name (or `cli`), made valid.
pub fn default_session_name(function_name: Option<&str>) -> String {
    let tail: String = function_name
        .unwrap_or("cli")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@_-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut s = format!("xinvoke-{tail}");
    s.truncate(64);
    s
}
