//! How settings are named: the variable, and on the command line the flag that stands for it;
//! the errors, which carry those names as data.

use crate::domain::arn::ArnError;
use std::borrow::Cow;
use std::fmt;
use thiserror::Error;

/// Where settings are read, which decides how an error names a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// The Lambdas: variables only.
    Lambda,
    /// The CLI: a flag and the variable it stands for.
    Cli,
}

/// A setting's variable, and the flag that stands for it on the command line, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub var: &'static str,
    pub flag: Option<&'static str>,
}

/// The settings, by name.
pub mod keys {
    use super::Key;
    const fn key(var: &'static str, flag: Option<&'static str>) -> Key {
        Key { var, flag }
    }
    pub(crate) const TARGET_ARN: Key = key("XINVOKE_TARGET_ARN", Some("--target"));
    pub(crate) const ROLE_ARN: Key = key("XINVOKE_ROLE_ARN", Some("--role-arn"));
    pub const EXTERNAL_ID: Key = key("XINVOKE_EXTERNAL_ID", Some("--external-id"));
    pub(crate) const SESSION_NAME: Key = key("XINVOKE_SESSION_NAME", Some("--session-name"));
    pub(crate) const INVOCATION_TYPE: Key = key("XINVOKE_INVOCATION_TYPE", Some("--type"));
    pub(crate) const TENANT_ID: Key = key("XINVOKE_TENANT_ID", Some("--tenant-id"));
    pub const TARGETS: Key = key("XINVOKE_TARGETS", None);
    pub(crate) const TARGETS_FILE: Key = key("XINVOKE_TARGETS_FILE", None);
    pub(crate) const DEFAULT_TARGET: Key = key("XINVOKE_DEFAULT_TARGET", None);
    pub(crate) const RETRY: Key = key("XINVOKE_RETRY", None);
    pub(crate) const NO_RETRY: Key = key("XINVOKE_NO_RETRY", Some("--no-retry"));
    pub(crate) const IDEMPOTENT: Key = key("XINVOKE_IDEMPOTENT", Some("--idempotent"));
    pub(crate) const DURABLE: Key = key("XINVOKE_DURABLE", None);
    pub(crate) const ENVELOPE: Key = key("XINVOKE_ENVELOPE", None);
    pub const FAILURE_QUEUE_URL: Key = key("XINVOKE_FAILURE_QUEUE_URL", None);
    pub const LOAD_WORKER: Key = key("XINVOKE_LOAD_WORKER", None);
    pub(crate) const RETRY_BUDGET: Key = key("XINVOKE_RETRY_BUDGET", None);
    pub(crate) const CONNECT_TIMEOUT_MS: Key = key("XINVOKE_CONNECT_TIMEOUT_MS", Some("--connect-timeout-ms"));
    pub(crate) const ATTEMPT_TIMEOUT_MS: Key = key("XINVOKE_ATTEMPT_TIMEOUT_MS", Some("--attempt-timeout-ms"));
    pub(crate) const DEADLINE_MARGIN_MS: Key = key("XINVOKE_DEADLINE_MARGIN_MS", None);
    pub const PAYLOAD: Key = key("XINVOKE_PAYLOAD", None);
    pub(crate) const SQS_CONCURRENCY: Key = key("XINVOKE_SQS_CONCURRENCY", None);
    pub(crate) const FUNCTION_TIMEOUT_MS: Key = key("XINVOKE_FUNCTION_TIMEOUT_MS", None);
    pub const GATEWAY_CONFIG: Key = key("XINVOKE_GATEWAY_CONFIG", None);
    pub const GATEWAY_CONFIG_TEXT: Key = key("XINVOKE_GATEWAY_CONFIG_TEXT", None);
    pub const GATEWAY_CONFIG_SSM: Key = key("XINVOKE_GATEWAY_CONFIG_SSM", None);
}

/// How an error names a setting: `XINVOKE_ROLE_ARN` in a Lambda, `--role-arn /
/// XINVOKE_ROLE_ARN` on the command line, `XINVOKE_TARGETS.orders.role_arn` inside a JSON
/// setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    var: Cow<'static, str>,
    flag: Option<&'static str>,
}

impl Name {
    pub(super) fn of(key: Key, ctx: Context) -> Name {
        Name {
            var: Cow::Borrowed(key.var),
            flag: key.flag.filter(|_| ctx == Context::Cli),
        }
    }

    /// A setting known by a name of its own (e.g. `XINVOKE_TARGETS`, for a whole JSON value).
    pub(super) fn var(var: String) -> Name {
        Name {
            var: Cow::Owned(var),
            flag: None,
        }
    }

    pub(super) fn field(within: &str, target: &str, field: &str) -> Name {
        Name {
            var: Cow::Owned(format!("{within}.{target}.{field}")),
            flag: None,
        }
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.flag {
            Some(flag) => write!(f, "{flag} / {}", self.var),
            None => f.write_str(&self.var),
        }
    }
}

/// The name of a setting given by its flag on the command line.
pub fn flag_name(key: Key) -> Name {
    Name::of(key, Context::Cli)
}

/// A configuration error: always names the setting (or file) and what to set.
///
/// ```
/// use xinvoke::{ConfigError, Settings};
/// // A role to assume, but not the external id its trust policy asks for.
/// let vars = [
///     ("XINVOKE_TARGET_ARN", "arn:aws:lambda:us-east-1:222222222222:function:target:live"),
///     ("XINVOKE_ROLE_ARN", "arn:aws:iam::222222222222:role/xinvoke-invoke"),
/// ];
/// let get = |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string());
/// let err = Settings::from_lookup(get).unwrap_err();
/// assert!(matches!(err, ConfigError::MissingExternalId { .. }));
/// assert!(err.to_string().contains("set XINVOKE_EXTERNAL_ID"), "{err}");
///
/// // Nothing to invoke: the message says which variable to set, with an example.
/// let err = Settings::from_lookup(|_| None).unwrap_err();
/// assert!(matches!(err, ConfigError::NoTarget { .. }));
/// assert!(err.to_string().contains("set XINVOKE_TARGET_ARN"), "{err}");
/// ```
#[derive(Debug, Error)]
pub enum ConfigError {
    /// A setting that must be an ARN is not a usable one.
    #[error("{name}: {source}")]
    Arn {
        /// The setting.
        name: Name,
        /// What is wrong with the ARN.
        source: ArnError,
    },
    /// A role to assume is set without the external id its trust requires.
    #[error("{role} is set, so role chaining is on, but {external_id} is not: set {external_id} to the external id the role's trust policy requires (sts:ExternalId)")]
    MissingExternalId {
        /// The role setting.
        role: Name,
        /// The external id's setting, which is missing.
        external_id: Name,
    },
    /// The external id is not one STS takes.
    #[error("{name} must be 2-1224 characters of letters, digits and +=,.@:/-; check the value given to the account-2 admin")]
    BadExternalId {
        /// The setting.
        name: Name,
    },
    /// An external id is set without a role to assume.
    #[error("{name} is set without {role}: an external id is only used when assuming a role; set {role} too, or unset {name}")]
    ExternalIdWithoutRole {
        /// The external id's setting.
        name: Name,
        /// The role setting, which is missing.
        role: Name,
    },
    /// The session name is not one STS takes.
    #[error(
        "{name} must be 2-64 characters of letters, digits and +=,.@_- (it becomes the assumed-role session name)"
    )]
    BadSessionName {
        /// The setting.
        name: Name,
    },
    /// A setting's value is wrong.
    #[error("{name}: {detail}")]
    Invalid {
        /// The setting.
        name: Name,
        /// What it must be.
        detail: String,
    },
    /// No target is configured.
    #[error("no target is configured: set {target} to the target's full function ARN (e.g. arn:aws:lambda:us-east-1:222222222222:function:target:live), or XINVOKE_TARGETS / XINVOKE_TARGETS_FILE to named targets")]
    NoTarget {
        /// The setting that names a target.
        target: Name,
    },
    /// The targets file cannot be read.
    #[error("cannot read {path} (XINVOKE_TARGETS_FILE): {detail}")]
    File {
        /// The file.
        path: String,
        /// Why it cannot be read.
        detail: String,
    },
}

impl ConfigError {
    /// The variable `var` (a setting read outside `Settings`, e.g. the invoker's metrics) is
    /// wrong: `detail` says what it must be.
    pub(crate) fn invalid_var(var: &'static str, detail: &str) -> ConfigError {
        ConfigError::Invalid {
            name: Name {
                var: Cow::Borrowed(var),
                flag: None,
            },
            detail: detail.to_string(),
        }
    }
}

/// An event or command names a target that is not configured: the message lists the
/// configured names.
///
/// ```
/// use xinvoke::{Service, Settings, TargetError, Timeouts};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let targets = r#"{"orders": {"arn": "arn:aws:lambda:us-east-1:222222222222:function:orders:live"},
///                   "billing": {"arn": "arn:aws:lambda:us-east-1:222222222222:function:billing:live"}}"#;
/// let settings = Settings::from_lookup(|name| (name == "XINVOKE_TARGETS").then(|| targets.to_string()))?;
/// // No request is sent: the name is checked against the settings.
/// let keys = aws_credential_types::Credentials::from_keys("AKIDEXAMPLE", "example", None);
/// let base = xinvoke::endpoint_config(Timeouts::default(), "http://127.0.0.1:9", keys, "us-east-1").await;
/// let service = Service::new(settings, &base).await;
///
/// let err = service.rerun_safe(Some("shipping")).unwrap_err();
/// assert!(matches!(&err, TargetError::Unknown { name, .. } if name == "shipping"));
/// assert_eq!(err.to_string(), r#"unknown target "shipping": configured targets are "billing", "orders""#);
/// // Two targets and no XINVOKE_DEFAULT_TARGET: a call must name one.
/// let err = service.rerun_safe(None).unwrap_err();
/// assert!(matches!(err, TargetError::NoDefault { .. }));
/// assert!(err.to_string().contains("set XINVOKE_DEFAULT_TARGET"), "{err}");
/// # Ok(()) }
/// ```
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TargetError {
    /// The name is not a configured target.
    #[error("unknown target {name:?}: configured targets are {known}")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The configured names.
        known: String,
    },
    /// No target named and no default configured.
    #[error("the event names no target and there is no default: add \"target\": one of {known}, or set XINVOKE_DEFAULT_TARGET")]
    NoDefault {
        /// The configured names.
        known: String,
    },
}
