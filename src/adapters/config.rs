//! Configuration, read once at start and validated there, so a bad value fails the cold start
//! (or the command) with a message naming the setting and the fix. Two sources give typed
//! values ([`Given`]): the environment (`XINVOKE_*`, what the Lambdas read) and, for the CLI,
//! flags already parsed by clap; flags win. [`Settings::resolve`] then checks what only the
//! whole can tell (a role needs an external id, ...). An error names its setting as data
//! ([`Name`]): the variable in a Lambda, the flag and its variable on the command line. Secrets
//! (the external id) never appear in `Debug` output or errors.

use crate::core::arn::{ArnError, FunctionArn, RoleArn};
use crate::core::invocation::InvocationType;
use crate::core::retry::{RetryBudget, RetryPolicy};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;
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
    pub const TARGET_ARN: Key = key("XINVOKE_TARGET_ARN", Some("--target"));
    pub const ROLE_ARN: Key = key("XINVOKE_ROLE_ARN", Some("--role-arn"));
    pub const EXTERNAL_ID: Key = key("XINVOKE_EXTERNAL_ID", Some("--external-id"));
    pub const SESSION_NAME: Key = key("XINVOKE_SESSION_NAME", Some("--session-name"));
    pub const INVOCATION_TYPE: Key = key("XINVOKE_INVOCATION_TYPE", Some("--type"));
    pub const TARGETS: Key = key("XINVOKE_TARGETS", None);
    pub const TARGETS_FILE: Key = key("XINVOKE_TARGETS_FILE", None);
    pub const DEFAULT_TARGET: Key = key("XINVOKE_DEFAULT_TARGET", None);
    pub const RETRY: Key = key("XINVOKE_RETRY", None);
    pub const NO_RETRY: Key = key("XINVOKE_NO_RETRY", Some("--no-retry"));
    pub const IDEMPOTENT: Key = key("XINVOKE_IDEMPOTENT", Some("--idempotent"));
    pub const RETRY_BUDGET: Key = key("XINVOKE_RETRY_BUDGET", None);
    pub const CONNECT_TIMEOUT_MS: Key = key("XINVOKE_CONNECT_TIMEOUT_MS", Some("--connect-timeout-ms"));
    pub const ATTEMPT_TIMEOUT_MS: Key = key("XINVOKE_ATTEMPT_TIMEOUT_MS", Some("--attempt-timeout-ms"));
    pub const DEADLINE_MARGIN_MS: Key = key("XINVOKE_DEADLINE_MARGIN_MS", None);
    pub const PAYLOAD: Key = key("XINVOKE_PAYLOAD", None);
    pub const SQS_CONCURRENCY: Key = key("XINVOKE_SQS_CONCURRENCY", None);
    pub const FUNCTION_TIMEOUT_MS: Key = key("XINVOKE_FUNCTION_TIMEOUT_MS", None);
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
    fn of(key: Key, ctx: Context) -> Name {
        Name {
            var: Cow::Borrowed(key.var),
            flag: key.flag.filter(|_| ctx == Context::Cli),
        }
    }

    fn field(within: &str, target: &str, field: &str) -> Name {
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
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{name}: {source}")]
    Arn { name: Name, source: ArnError },
    #[error("{role} is set, so role chaining is on, but {external_id} is not: set {external_id} to the external id the role's trust policy requires (sts:ExternalId)")]
    MissingExternalId { role: Name, external_id: Name },
    #[error("{name} must be 2-1224 characters of letters, digits and +=,.@:/-; check the value given to the account-2 admin")]
    BadExternalId { name: Name },
    #[error("{name} is set without {role}: an external id is only used when assuming a role; set {role} too, or unset {name}")]
    ExternalIdWithoutRole { name: Name, role: Name },
    #[error(
        "{name} must be 2-64 characters of letters, digits and +=,.@_- (it becomes the assumed-role session name)"
    )]
    BadSessionName { name: Name },
    #[error("{name}: {detail}")]
    Invalid { name: Name, detail: String },
    #[error("no target is configured: set {target} to the target's full function ARN (e.g. arn:aws:lambda:us-east-1:222222222222:function:target:live), or XINVOKE_TARGETS / XINVOKE_TARGETS_FILE to named targets")]
    NoTarget { target: Name },
    #[error("cannot read {path} (XINVOKE_TARGETS_FILE): {detail}")]
    File { path: String, detail: String },
}

/// An event or command names a target that is not configured.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TargetError {
    #[error("unknown target {name:?}: configured targets are {known}")]
    Unknown { name: String, known: String },
    #[error("the event names no target and there is no default: add \"target\": one of {known}, or set XINVOKE_DEFAULT_TARGET")]
    NoDefault { known: String },
}

/// The external id of an assumed role: a shared secret between the accounts, kept out of
/// logs, `Debug` output and errors.
#[derive(Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(transparent)]
pub struct ExternalId(String);

impl ExternalId {
    /// The value, for the one place that needs it: the AssumeRole request.
    pub fn expose(&self) -> &str {
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

/// An assumed-role session name: 2-64 characters of `[\w+=,.@-]` (STS's `roleSessionName`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionName(String);

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

/// How the invoker is allowed to call a target.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Auth {
    /// Resource-based: the invoker's own credentials; the target's resource policy names it.
    ExecutionRole,
    /// Role chaining: assume a role in the target's account first.
    AssumeRole(AssumeRole),
}

/// The role to assume and how.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AssumeRole {
    pub role_arn: RoleArn,
    pub external_id: ExternalId,
    pub session_name: String,
}

/// One named target.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetConfig {
    pub name: String,
    pub arn: FunctionArn,
    pub auth: Auth,
    pub invocation_type: InvocationType,
}

/// Timeouts chosen on purpose (aws-config sets only a connect timeout by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    /// One attempt, from send to the last byte of the answer.
    pub attempt: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_millis(2_000),
            attempt: Duration::from_secs(30),
        }
    }
}

/// Everything configured, checked.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Targets by name.
    pub targets: BTreeMap<String, TargetConfig>,
    /// The target used when an event names none.
    pub default_target: Option<String>,
    pub retry: RetryPolicy,
    pub budget_capacity: u32,
    pub timeouts: Timeouts,
    /// Kept free at the end of the Lambda's time: no attempt runs and no retry waits into it.
    pub deadline_margin: Duration,
    /// The payload a scheduled event sends (`XINVOKE_PAYLOAD`, default `{}`).
    pub scheduled_payload: Vec<u8>,
    /// How many records of an SQS batch run at once (`XINVOKE_SQS_CONCURRENCY`; default: all).
    pub sqs_concurrency: Option<usize>,
    /// The function's timeout, for runtimes that give no usable deadline
    /// (`XINVOKE_FUNCTION_TIMEOUT_MS`): emulators such as `cargo lambda watch` send a fixed
    /// deadline in 1970. Lambda always gives a real one, which wins.
    pub function_timeout: Option<Duration>,
}

/// A target of `XINVOKE_TARGETS`, as given (the role's parts checked together).
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTarget {
    pub arn: FunctionArn,
    pub role: Option<AssumeRole>,
    pub invocation_type: Option<InvocationType>,
}

/// Settings as one source gives them: typed, each optional. [`Given::or`] layers sources
/// (flags over the environment); [`Settings::resolve`] checks the whole.
#[derive(Debug, Clone, Default)]
pub struct Given {
    pub target_arn: Option<FunctionArn>,
    pub role_arn: Option<RoleArn>,
    pub external_id: Option<ExternalId>,
    pub session_name: Option<SessionName>,
    pub invocation_type: Option<InvocationType>,
    pub targets: Option<BTreeMap<String, NamedTarget>>,
    pub default_target: Option<String>,
    pub retry: Option<RetryPolicy>,
    pub no_retry: Option<bool>,
    pub idempotent: Option<bool>,
    pub budget_capacity: Option<u32>,
    pub connect_timeout: Option<Duration>,
    pub attempt_timeout: Option<Duration>,
    pub deadline_margin: Option<Duration>,
    pub scheduled_payload: Option<Vec<u8>>,
    pub sqs_concurrency: Option<usize>,
    pub function_timeout: Option<Duration>,
    /// `AWS_LAMBDA_FUNCTION_NAME`, for the default session name.
    pub function_name: Option<String>,
}

macro_rules! or_fields {
    ($hi:ident, $lo:ident; $($f:ident),*) => {
        Given { $($f: $hi.$f.or($lo.$f)),* }
    };
}

impl Given {
    /// These values, and `lower`'s where these have none.
    pub fn or(self, lower: Given) -> Given {
        let hi = self;
        or_fields!(hi, lower; target_arn, role_arn, external_id, session_name, invocation_type, targets,
            default_target, retry, no_retry, idempotent, budget_capacity, connect_timeout, attempt_timeout,
            deadline_margin, scheduled_payload, sqs_concurrency, function_timeout, function_name)
    }

    /// Read the `XINVOKE_*` variables (and `AWS_LAMBDA_FUNCTION_NAME`) from `get`; a bad value
    /// is an error naming its variable.
    pub fn from_env(get: impl Fn(&str) -> Option<String>, ctx: Context) -> Result<Given, ConfigError> {
        let env = Env { get: &get, ctx };
        let mut given = Given {
            function_name: get("AWS_LAMBDA_FUNCTION_NAME"),
            ..Given::default()
        };
        env.read_target(&mut given)?;
        given.targets = env.read_named_targets()?;
        given.default_target = get(keys::DEFAULT_TARGET.var);
        env.read_retry(&mut given)?;
        env.read_timeouts(&mut given)?;
        env.read_lambda(&mut given)?;
        Ok(given)
    }
}

/// Variables and how errors name them.
struct Env<'a, F: Fn(&str) -> Option<String>> {
    get: &'a F,
    ctx: Context,
}

impl<F: Fn(&str) -> Option<String>> Env<'_, F> {
    fn value(&self, key: Key) -> Option<String> {
        (self.get)(key.var)
    }

    fn name(&self, key: Key) -> Name {
        Name::of(key, self.ctx)
    }

    fn invalid(&self, key: Key, detail: String) -> ConfigError {
        ConfigError::Invalid {
            name: self.name(key),
            detail,
        }
    }

    /// The default target's parts: `XINVOKE_TARGET_ARN`, the role, its external id and
    /// session name, the invocation type.
    fn read_target(&self, given: &mut Given) -> Result<(), ConfigError> {
        given.target_arn = self
            .value(keys::TARGET_ARN)
            .map(|v| {
                v.parse().map_err(|source| ConfigError::Arn {
                    name: self.name(keys::TARGET_ARN),
                    source,
                })
            })
            .transpose()?;
        given.role_arn = self
            .value(keys::ROLE_ARN)
            .map(|v| {
                v.parse().map_err(|source| ConfigError::Arn {
                    name: self.name(keys::ROLE_ARN),
                    source,
                })
            })
            .transpose()?;
        given.external_id = self
            .value(keys::EXTERNAL_ID)
            .map(|v| {
                v.parse().map_err(|_| ConfigError::BadExternalId {
                    name: self.name(keys::EXTERNAL_ID),
                })
            })
            .transpose()?;
        given.session_name = self
            .value(keys::SESSION_NAME)
            .map(|v| {
                v.parse().map_err(|_| ConfigError::BadSessionName {
                    name: self.name(keys::SESSION_NAME),
                })
            })
            .transpose()?;
        given.invocation_type = self
            .value(keys::INVOCATION_TYPE)
            .map(|v| {
                v.parse().map_err(|e: crate::core::invocation::InvocationTypeError| {
                    self.invalid(keys::INVOCATION_TYPE, e.to_string())
                })
            })
            .transpose()?;
        Ok(())
    }

    /// `XINVOKE_TARGETS` (JSON) or the file `XINVOKE_TARGETS_FILE` names.
    fn read_named_targets(&self) -> Result<Option<BTreeMap<String, NamedTarget>>, ConfigError> {
        let (within, json) = match (self.value(keys::TARGETS), self.value(keys::TARGETS_FILE)) {
            (Some(json), _) => (keys::TARGETS.var.to_string(), json),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::File {
                    path: path.clone(),
                    detail: e.to_string(),
                })?;
                (format!("XINVOKE_TARGETS_FILE ({path})"), text)
            }
            (None, None) => return Ok(None),
        };
        let whole = || Name {
            var: Cow::Owned(within.clone()),
            flag: None,
        };
        let specs: BTreeMap<String, TargetSpec> = serde_json::from_str(&json).map_err(|e| ConfigError::Invalid {
            name: whole(),
            detail: format!(
                "not a JSON object of named targets ({e}); expected e.g. {{\"orders\": {{\"arn\": \"arn:aws:lambda:us-east-1:222222222222:function:orders:live\", \"role_arn\": \"arn:aws:iam::222222222222:role/xinvoke-invoke\", \"external_id\": \"...\"}}}}"
            ),
        })?;
        let mut targets = BTreeMap::new();
        for (name, spec) in specs {
            if !valid_target_name(&name) {
                return Err(ConfigError::Invalid {
                    name: whole(),
                    detail: format!("target name {name:?} must be 1-64 letters, digits, - or _"),
                });
            }
            let target = named_target(spec, |field| Name::field(&within, &name, field))?;
            targets.insert(name, target);
        }
        Ok(Some(targets))
    }

    /// `XINVOKE_RETRY`, `XINVOKE_NO_RETRY`, `XINVOKE_IDEMPOTENT`, `XINVOKE_RETRY_BUDGET`.
    fn read_retry(&self, given: &mut Given) -> Result<(), ConfigError> {
        given.retry = self
            .value(keys::RETRY)
            .map(|json| {
                serde_json::from_str::<RetryPolicy>(&json).map_err(|e| self.invalid(keys::RETRY, format!("not a retry policy ({e}); expected e.g. {{\"classes\": {{\"throttled\": {{\"interval_s\": 1, \"backoff_rate\": 2, \"max_retries\": 3, \"max_delay_s\": 20, \"jitter\": \"full\", \"cost\": 5}}}}}}")))
            })
            .transpose()?;
        given.no_retry = self
            .value(keys::NO_RETRY)
            .map(|v| self.boolean(keys::NO_RETRY, &v))
            .transpose()?;
        given.idempotent = self
            .value(keys::IDEMPOTENT)
            .map(|v| self.boolean(keys::IDEMPOTENT, &v))
            .transpose()?;
        given.budget_capacity = self
            .value(keys::RETRY_BUDGET)
            .map(|v| {
                self.number(keys::RETRY_BUDGET, &v, 0, u64::from(u32::MAX))
                    .map(|n| n as u32)
            })
            .transpose()?;
        Ok(())
    }

    /// `XINVOKE_CONNECT_TIMEOUT_MS`, `XINVOKE_ATTEMPT_TIMEOUT_MS`, `XINVOKE_DEADLINE_MARGIN_MS`.
    fn read_timeouts(&self, given: &mut Given) -> Result<(), ConfigError> {
        given.connect_timeout = self.millis(keys::CONNECT_TIMEOUT_MS, 1, 60_000)?;
        given.attempt_timeout = self.millis(keys::ATTEMPT_TIMEOUT_MS, 1, 900_000)?;
        given.deadline_margin = self.millis(keys::DEADLINE_MARGIN_MS, 0, 60_000)?;
        Ok(())
    }

    /// What only the invoker Lambda reads: the scheduled payload, SQS concurrency, the
    /// stand-in function timeout.
    fn read_lambda(&self, given: &mut Given) -> Result<(), ConfigError> {
        given.scheduled_payload = self
            .value(keys::PAYLOAD)
            .map(|p| {
                serde_json::from_str::<serde_json::Value>(&p)
                    .map(|_| p.into_bytes())
                    .map_err(|e| self.invalid(keys::PAYLOAD, format!("must be a JSON document ({e})")))
            })
            .transpose()?;
        given.sqs_concurrency = self
            .value(keys::SQS_CONCURRENCY)
            .map(|v| self.number(keys::SQS_CONCURRENCY, &v, 1, 10_000).map(|n| n as usize))
            .transpose()?;
        given.function_timeout = self.millis(keys::FUNCTION_TIMEOUT_MS, 1, 900_000)?;
        Ok(())
    }

    fn boolean(&self, key: Key, v: &str) -> Result<bool, ConfigError> {
        match v.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err(self.invalid(key, format!("{v:?} is not a boolean: use true or false"))),
        }
    }

    fn number(&self, key: Key, v: &str, min: u64, max: u64) -> Result<u64, ConfigError> {
        v.trim()
            .parse::<u64>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| self.invalid(key, format!("{v:?} must be a whole number from {min} to {max}")))
    }

    fn millis(&self, key: Key, min: u64, max: u64) -> Result<Option<Duration>, ConfigError> {
        self.value(key)
            .map(|v| self.number(key, &v, min, max).map(Duration::from_millis))
            .transpose()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetSpec {
    arn: String,
    role_arn: Option<String>,
    external_id: Option<String>,
    session_name: Option<String>,
    invocation_type: Option<String>,
}

/// One target of `XINVOKE_TARGETS`, its fields checked together; `name(field)` names them.
fn named_target(spec: TargetSpec, name: impl Fn(&str) -> Name) -> Result<NamedTarget, ConfigError> {
    let arn = spec.arn.parse().map_err(|source| ConfigError::Arn {
        name: name("arn"),
        source,
    })?;
    let role = match (spec.role_arn, spec.external_id) {
        (Some(role), Some(id)) => Some(AssumeRole {
            role_arn: role.parse().map_err(|source| ConfigError::Arn {
                name: name("role_arn"),
                source,
            })?,
            external_id: id.parse().map_err(|_| ConfigError::BadExternalId {
                name: name("external_id"),
            })?,
            session_name: match spec.session_name {
                Some(s) => {
                    s.parse::<SessionName>()
                        .map_err(|_| ConfigError::BadSessionName {
                            name: name("session_name"),
                        })?
                        .0
                }
                None => String::new(),
            },
        }),
        (Some(_), None) => {
            return Err(ConfigError::MissingExternalId {
                role: name("role_arn"),
                external_id: name("external_id"),
            })
        }
        (None, Some(_)) => {
            return Err(ConfigError::ExternalIdWithoutRole {
                name: name("external_id"),
                role: name("role_arn"),
            })
        }
        (None, None) => None,
    };
    let invocation_type = spec
        .invocation_type
        .map(|t| {
            t.parse()
                .map_err(|e: crate::core::invocation::InvocationTypeError| ConfigError::Invalid {
                    name: name("invocation_type"),
                    detail: e.to_string(),
                })
        })
        .transpose()?;
    Ok(NamedTarget {
        arn,
        role,
        invocation_type,
    })
}

/// A variable of this process; set to the empty string counts as unset.
pub fn process_env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}

impl Settings {
    /// Read the process environment (the Lambdas).
    pub fn from_env() -> Result<Settings, ConfigError> {
        Settings::from_lookup(process_env)
    }

    /// Read from any variable source (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        Settings::resolve(Given::from_env(get, Context::Lambda)?, Context::Lambda)
    }

    /// Check what only the whole can tell and fill in the defaults: the default target (with
    /// its role, which needs an external id), the named targets, which one is the default, the
    /// retry policy and timeouts.
    pub fn resolve(given: Given, ctx: Context) -> Result<Settings, ConfigError> {
        let name = |key: Key| Name::of(key, ctx);
        let default_session = default_session_name(given.function_name.as_deref());
        let default_type = given.invocation_type.unwrap_or_default();
        let mut targets = BTreeMap::new();
        let mut default_target = None;
        if let Some(arn) = given.target_arn {
            let auth = match (given.role_arn, given.external_id) {
                (Some(role_arn), Some(external_id)) => Auth::AssumeRole(AssumeRole {
                    role_arn,
                    external_id,
                    session_name: given
                        .session_name
                        .map(|s| s.0)
                        .unwrap_or_else(|| default_session.clone()),
                }),
                (Some(_), None) => {
                    return Err(ConfigError::MissingExternalId {
                        role: name(keys::ROLE_ARN),
                        external_id: name(keys::EXTERNAL_ID),
                    })
                }
                (None, Some(_)) => {
                    return Err(ConfigError::ExternalIdWithoutRole {
                        name: name(keys::EXTERNAL_ID),
                        role: name(keys::ROLE_ARN),
                    })
                }
                (None, None) => Auth::ExecutionRole,
            };
            targets.insert(
                "default".to_string(),
                TargetConfig {
                    name: "default".into(),
                    arn,
                    auth,
                    invocation_type: default_type,
                },
            );
            default_target = Some("default".to_string());
        } else if given.targets.is_none() {
            let stray = [
                (given.role_arn.is_some(), keys::ROLE_ARN),
                (given.external_id.is_some(), keys::EXTERNAL_ID),
                (given.session_name.is_some(), keys::SESSION_NAME),
            ];
            if let Some((_, key)) = stray.iter().find(|(set, _)| *set) {
                return Err(ConfigError::Invalid {
                    name: name(*key),
                    detail: format!(
                        "is set but {} is not: set {} to the target's full function ARN",
                        name(keys::TARGET_ARN),
                        name(keys::TARGET_ARN)
                    ),
                });
            }
        }
        for (target_name, t) in given.targets.unwrap_or_default() {
            if targets.contains_key(&target_name) {
                return Err(ConfigError::Invalid {
                    name: name(keys::TARGETS),
                    detail: format!(
                        "target {target_name:?} is also defined by {}: rename one",
                        name(keys::TARGET_ARN)
                    ),
                });
            }
            let auth = match t.role {
                Some(mut role) => {
                    if role.session_name.is_empty() {
                        role.session_name = default_session.clone();
                    }
                    Auth::AssumeRole(role)
                }
                None => Auth::ExecutionRole,
            };
            targets.insert(
                target_name.clone(),
                TargetConfig {
                    name: target_name,
                    arn: t.arn,
                    auth,
                    invocation_type: t.invocation_type.unwrap_or(default_type),
                },
            );
        }
        if targets.is_empty() {
            return Err(ConfigError::NoTarget {
                target: name(keys::TARGET_ARN),
            });
        }
        if let Some(d) = given.default_target {
            if !targets.contains_key(&d) {
                return Err(ConfigError::Invalid {
                    name: name(keys::DEFAULT_TARGET),
                    detail: format!("names {d:?}, which is not a configured target ({})", names(&targets)),
                });
            }
            default_target = Some(d);
        } else if default_target.is_none() && targets.len() == 1 {
            default_target = targets.keys().next().cloned();
        }
        let mut retry = given.retry.unwrap_or_default();
        if let Some(off) = given.no_retry {
            retry.disabled = off;
        }
        if let Some(idempotent) = given.idempotent {
            retry.idempotent = idempotent;
        }
        let defaults = Timeouts::default();
        Ok(Settings {
            targets,
            default_target,
            retry,
            budget_capacity: given.budget_capacity.unwrap_or(RetryBudget::DEFAULT_CAPACITY),
            timeouts: Timeouts {
                connect: given.connect_timeout.unwrap_or(defaults.connect),
                attempt: given.attempt_timeout.unwrap_or(defaults.attempt),
            },
            deadline_margin: given.deadline_margin.unwrap_or(Duration::from_millis(500)),
            scheduled_payload: given.scheduled_payload.unwrap_or_else(|| b"{}".to_vec()),
            sqs_concurrency: given.sqs_concurrency,
            function_timeout: given.function_timeout,
        })
    }

    /// The target an event names, or the default one.
    pub fn target(&self, name: Option<&str>) -> Result<&TargetConfig, TargetError> {
        match name.or(self.default_target.as_deref()) {
            Some(n) => self.targets.get(n).ok_or_else(|| TargetError::Unknown {
                name: n.to_string(),
                known: names(&self.targets),
            }),
            None => Err(TargetError::NoDefault {
                known: names(&self.targets),
            }),
        }
    }
}

fn names(targets: &BTreeMap<String, TargetConfig>) -> String {
    targets.keys().map(|k| format!("{k:?}")).collect::<Vec<_>>().join(", ")
}

fn valid_target_name(n: &str) -> bool {
    (1..=64).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const ARN: &str = "arn:aws:lambda:us-east-1:222222222222:function:target:live";
    const ROLE: &str = "arn:aws:iam::222222222222:role/xinvoke-invoke";

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn target_arn_alone_is_resource_based_sync() {
        let s = settings(&[("XINVOKE_TARGET_ARN", ARN)]).unwrap();
        let t = s.target(None).unwrap();
        assert_eq!(t.arn.to_string(), ARN);
        assert_eq!(t.auth, Auth::ExecutionRole);
        assert_eq!(t.invocation_type, InvocationType::RequestResponse);
        assert!(!s.retry.disabled);
        assert_eq!(s.timeouts, Timeouts::default());
    }

    #[test]
    fn role_arn_needs_an_external_id_and_gets_a_default_session_name() {
        let e = settings(&[("XINVOKE_TARGET_ARN", ARN), ("XINVOKE_ROLE_ARN", ROLE)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("XINVOKE_EXTERNAL_ID"), "{e}");
        let s = settings(&[
            ("XINVOKE_TARGET_ARN", ARN),
            ("XINVOKE_ROLE_ARN", ROLE),
            ("XINVOKE_EXTERNAL_ID", "ext-123"),
            ("AWS_LAMBDA_FUNCTION_NAME", "my invoker"),
        ])
        .unwrap();
        let Auth::AssumeRole(a) = &s.target(None).unwrap().auth else {
            panic!("expected role chaining")
        };
        assert_eq!(a.session_name, "xinvoke-my-invoker");
        assert_eq!(a.external_id.expose(), "ext-123");
    }

    #[test]
    fn bad_values_name_their_variable_and_never_echo_the_external_id() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], "XINVOKE_TARGET_ARN"),
            (&[("XINVOKE_TARGET_ARN", "target")], "XINVOKE_TARGET_ARN"),
            (
                &[
                    ("XINVOKE_TARGET_ARN", ARN),
                    ("XINVOKE_ROLE_ARN", "arn:aws:iam::2:role/x"),
                    ("XINVOKE_EXTERNAL_ID", "abc"),
                ],
                "XINVOKE_ROLE_ARN",
            ),
            (
                &[
                    ("XINVOKE_TARGET_ARN", ARN),
                    ("XINVOKE_ROLE_ARN", ROLE),
                    ("XINVOKE_EXTERNAL_ID", "sec ret!"),
                ],
                "XINVOKE_EXTERNAL_ID",
            ),
            (
                &[("XINVOKE_TARGET_ARN", ARN), ("XINVOKE_EXTERNAL_ID", "secret-value")],
                "XINVOKE_EXTERNAL_ID",
            ),
            (
                &[
                    ("XINVOKE_TARGET_ARN", ARN),
                    ("XINVOKE_ROLE_ARN", ROLE),
                    ("XINVOKE_EXTERNAL_ID", "abc"),
                    ("XINVOKE_SESSION_NAME", "x"),
                ],
                "XINVOKE_SESSION_NAME",
            ),
            (
                &[("XINVOKE_TARGET_ARN", ARN), ("XINVOKE_INVOCATION_TYPE", "sync")],
                "XINVOKE_INVOCATION_TYPE",
            ),
            (
                &[("XINVOKE_TARGET_ARN", ARN), ("XINVOKE_ATTEMPT_TIMEOUT_MS", "soon")],
                "XINVOKE_ATTEMPT_TIMEOUT_MS",
            ),
            (
                &[("XINVOKE_TARGET_ARN", ARN), ("XINVOKE_NO_RETRY", "maybe")],
                "XINVOKE_NO_RETRY",
            ),
            (&[("XINVOKE_TARGET_ARN", ARN), ("XINVOKE_RETRY", "{")], "XINVOKE_RETRY"),
            (
                &[("XINVOKE_TARGET_ARN", ARN), ("XINVOKE_PAYLOAD", "{")],
                "XINVOKE_PAYLOAD",
            ),
            (&[("XINVOKE_TARGETS", "[1]")], "XINVOKE_TARGETS"),
            (&[("XINVOKE_ROLE_ARN", ROLE)], "XINVOKE_TARGET_ARN"),
        ];
        for (vars, named) in cases {
            let e = settings(vars).unwrap_err().to_string();
            assert!(e.contains(named), "{vars:?}: {e}");
            assert!(!e.contains("sec ret!") && !e.contains("secret-value"), "{e}");
        }
    }

    #[test]
    fn named_targets_each_have_their_own_arn_and_auth() {
        let json = format!(
            r#"{{"orders": {{"arn": "{ARN}"}}, "billing": {{"arn": "arn:aws:lambda:us-east-1:333333333333:function:billing:2", "role_arn": "{ROLE}", "external_id": "xyz-1", "invocation_type": "Event"}}}}"#
        );
        let s = settings(&[("XINVOKE_TARGETS", &json), ("XINVOKE_DEFAULT_TARGET", "orders")]).unwrap();
        assert_eq!(s.targets.len(), 2);
        assert_eq!(s.target(None).unwrap().name, "orders");
        let b = s.target(Some("billing")).unwrap();
        assert_eq!(b.invocation_type, InvocationType::Event);
        assert!(matches!(b.auth, Auth::AssumeRole(_)));
        let e = s.target(Some("nope")).unwrap_err().to_string();
        assert!(e.contains("\"billing\", \"orders\""), "{e}");
        let no_default = settings(&[("XINVOKE_TARGETS", &json)]).unwrap();
        assert!(no_default
            .target(None)
            .unwrap_err()
            .to_string()
            .contains("XINVOKE_DEFAULT_TARGET"));
    }

    #[test]
    fn debug_output_hides_the_external_id() {
        let s = settings(&[
            ("XINVOKE_TARGET_ARN", ARN),
            ("XINVOKE_ROLE_ARN", ROLE),
            ("XINVOKE_EXTERNAL_ID", "very-secret-id"),
        ])
        .unwrap();
        let d = format!("{s:?}");
        assert!(!d.contains("very-secret-id"));
        assert!(d.contains("<redacted>"));
    }

    #[test]
    fn retry_switches_and_timeouts_are_read() {
        let s = settings(&[
            ("XINVOKE_TARGET_ARN", ARN),
            ("XINVOKE_NO_RETRY", "true"),
            ("XINVOKE_IDEMPOTENT", "1"),
            ("XINVOKE_RETRY_BUDGET", "50"),
            ("XINVOKE_ATTEMPT_TIMEOUT_MS", "1500"),
            ("XINVOKE_CONNECT_TIMEOUT_MS", "250"),
        ])
        .unwrap();
        assert!(s.retry.disabled && s.retry.idempotent);
        assert_eq!(s.budget_capacity, 50);
        assert_eq!(
            s.timeouts,
            Timeouts {
                connect: Duration::from_millis(250),
                attempt: Duration::from_millis(1500)
            }
        );
    }
}
